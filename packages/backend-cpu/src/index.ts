/**
 * @dcnv2/backend-cpu: a pure TypeScript backend for @dcnv2/core. Forward and backward of modulated
 * deformable convolution (DCNv2) as sampling plan + deformable im2col tiles + blocked GEMM, matching
 * torchvision.ops.deform_conv2d in float32; and of modulated deformable RoI pooling, as a per-RoI plan of
 * weighted pixels walked by every channel.
 */
import type { BackendProvider } from '@dcnv2/core';
import { CpuBackend, type CpuBackendOptions } from './cpu-backend.js';

export { CpuBackend, DEFAULT_CPU_MAX_MEMORY_BYTES, type CpuBackendOptions } from './cpu-backend.js';
export { gemm, GemmScratch, GEMM_SCRATCH_BYTES, type MatView } from './gemm.js';
export { chooseTiling, tilingBytes, DEFAULT_WORKSPACE_BYTES, type Tiling, type TilingLimits } from './tiling.js';

/** Creates a cpu backend. Pass it to `registerBackend('cpu', () => createCpuBackend())` or use it directly. */
export function createCpuBackend(options?: CpuBackendOptions | null): CpuBackend {
  return new CpuBackend(options);
}

/** For tools that create backends by name (the conformance CLI, benchmarks). */
export const dcnBackend: BackendProvider = {
  name: 'cpu',
  create: (o) => createCpuBackend(o as CpuBackendOptions | null | undefined),
};
