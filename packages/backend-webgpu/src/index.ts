// The declarations name WebGPU's types (GPUDevice, GPUBuffer, ...): consumers get them from @webgpu/types,
// a dependency of this package. `preserve` keeps the reference in the emitted index.d.ts (TypeScript 5.5+).
/// <reference types="@webgpu/types" preserve="true" />
// The public API only: kernels, shaders, tiling constants and the GPU lookup stay internal (the package's
// tests import them from src/).
import type { BackendProvider } from '@dcnv2/core';
import { WebGpuBackend, type WebGpuBackendOptions } from './webgpu-backend.js';

export {
  createWebGpuBackend, DEFAULT_WEBGPU_MAX_MEMORY_BYTES, WebGpuBackend, WebGpuTensor, type WebGpuAdapterDescription, type WebGpuBackendOptions,
} from './webgpu-backend.js';
export { ENV_ADAPTER_NAME, ENV_VULKAN_ICD, type NodeAdapterOptions } from './node-adapter.js';

/** Provider for the conformance CLI and benchmarks; `threads` is accepted and ignored. */
export const dcnBackend: BackendProvider<WebGpuBackendOptions> = {
  name: 'webgpu',
  create: (options?: WebGpuBackendOptions) => new WebGpuBackend(options),
};
export type { ConvBackwardBufferSet, ConvForwardBufferSet, RoiPoolBackwardBufferSet, RoiPoolForwardBufferSet } from './buffer-calls.js';
