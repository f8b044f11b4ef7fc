/**
 * @dcnv2/backend-wasm: modulated deformable convolution (DCNv2) and modulated deformable RoI pooling for
 * @dcnv2/core in WebAssembly SIMD (relaxed-SIMD FMA where available), multi-threaded over shared memory,
 * forward and backward; the convolution matches torchvision.ops.deform_conv2d in float32.
 */
import type { BackendProvider } from '@dcnv2/core';
import { WasmBackend, type WasmBackendOptions } from './wasm-backend.js';

export { WasmBackend, WasmTensor, type SimdChoice, type WasmBackendInfo, type WasmBackendOptions } from './wasm-backend.js';
export { setWasmPaths, wasmEnv, type UrlLike, type WasmPaths } from './wasm-paths.js';
export { WASM_FILES, type WasmFileName } from './wasm-urls.js';

/** Creates a wasm backend (call `init()`, or let the registry do it). */
export function createWasmBackend(options?: WasmBackendOptions | null): WasmBackend {
  return new WasmBackend(options);
}

/** For tools that create backends by name (the conformance CLI, benchmarks). */
export const dcnBackend: BackendProvider = {
  name: 'wasm',
  create: (o) => createWasmBackend(o as WasmBackendOptions | null | undefined),
};
