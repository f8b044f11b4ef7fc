/** Dawn for Node (the `webgpu` devDependency); the SwiftShader environment comes from vitest.config.ts. */
import { create } from 'webgpu';

let gpu: GPU | null = null;
export function nodeGpu(): GPU {
  gpu ??= create([]);
  return gpu;
}
