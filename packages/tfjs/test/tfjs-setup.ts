/**
 * The tfjs backends the tests run on in Node: cpu, wasm with its .wasm files from its own package, and
 * webgpu on Dawn over SwiftShader (tfjs-webgpu-node.ts).
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { prepareDcnv2 } from '../src/index.js';
import { registerNodeWebGpu } from './tfjs-webgpu-node.js';

setWasmPaths(`${dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm'))}/`);

export const TFJS_BACKENDS = ['cpu', 'wasm', 'webgpu'] as const;

/** Switches tfjs to `name` and prepares the dcnv2 backend that runs the kernels there. */
export async function useBackend(name: string): Promise<void> {
  if (name === 'webgpu') await registerNodeWebGpu();
  await tf.setBackend(name);
  await tf.ready();
  await prepareDcnv2(name);
}
