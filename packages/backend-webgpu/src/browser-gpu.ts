/**
 * Finding a `GPU` when the caller injected none, in browsers and bundles made for them: `navigator.gpu`.
 * The package maps `#node-gpu` here for every environment without the `node` export condition (see
 * package.json `imports`), so a browser bundle never sees node-gpu.ts's `node:fs`, `node:os` or `webgpu`.
 * Same exports as node-gpu.ts; the Node adapter choice is ignored.
 */
import { BackendError } from '@dcnv2/core';
import type { GpuNeeds, NodeAdapterOptions } from './node-adapter.js';

export type { GpuNeeds, NodeAdapterOptions } from './node-adapter.js';

/** The `GPU` entry point of this environment: `navigator.gpu` (`needs` and `nodeAdapter` play no part here). */
export async function defaultGpu(needs: GpuNeeds = {}, nodeAdapter?: NodeAdapterOptions): Promise<GPU> {
  void needs;
  void nodeAdapter;
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu !== undefined) return nav.gpu;
  throw new BackendError(
    { argument: 'backend', expected: 'a WebGPU-capable environment (navigator.gpu)', actual: 'none' },
    'this browser offers no WebGPU (navigator.gpu is missing; WebGPU needs a secure context: https or localhost); in Node, the package\'s "node" export condition selects Dawn (the "webgpu" package)',
  );
}

/** Why `gpu.requestAdapter()` gave no adapter, for the BackendError the backend throws. */
export function noAdapterHint(gpu: GPU): string {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu !== gpu) return 'requestAdapter() returned null';
  return 'navigator.gpu.requestAdapter() returned null: the browser offers no WebGPU adapter (WebGPU disabled, or the GPU blocklisted; headless Chromium without a GPU needs --enable-unsafe-webgpu --use-webgpu-adapter=swiftshader)';
}
