import type { BackendProvider } from '@dcnv2/core';
import { WebGpuBackend, type WebGpuBackendOptions } from './webgpu-backend.js';

export {
  createWebGpuBackend, DEFAULT_WEBGPU_MAX_MEMORY_BYTES, WebGpuBackend, WebGpuTensor, type WebGpuAdapterDescription, type WebGpuBackendOptions,
} from './webgpu-backend.js';
export { forwardShader, TILE_CO, TILE_P, WORKGROUP, WORKGROUP_BYTES } from './forward-shader.js';
export { defaultGpu } from './node-gpu.js';

/** Provider for the conformance CLI and benchmarks; `threads` is accepted and ignored. */
export const dcnBackend: BackendProvider<WebGpuBackendOptions> = {
  name: 'webgpu',
  create: (options?: WebGpuBackendOptions) => new WebGpuBackend(options),
};
