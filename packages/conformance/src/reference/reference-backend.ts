/**
 * The float64 references (deformable convolution and deformable RoI pooling, forward and backward)
 * wrapped as a `Backend<Float32Array>` named 'reference': it computes in float64 and rounds once to
 * float32 at the end. It lets the suite test itself (golden vectors must pass on it,
 * deliberately broken wrappers of it must fail) and serves as a known-good backend for `cross`.
 */
import type { Backend, BackendCapabilities, BackendProvider } from '@dcnv2/core';
import { deformConv2dBackwardF64, deformConv2dF64 } from './deform-conv2d-f64.js';
import { deformRoiPoolBackwardF64, deformRoiPoolF64 } from './deform-roi-pool-f64.js';

const capabilities: BackendCapabilities = {
  threads: 1,
  float16: false,
  resident: false,
  externalBuffers: false,
};

/** The requested gradients of a float64 result, rounded once to float32 (null where not requested or absent). */
function wantedF32<K extends string>(r: { readonly [P in K]: Float64Array | null }, want: { readonly [P in K]: boolean }): { [P in K]: Float32Array | null } {
  const out = {} as { [P in K]: Float32Array | null };
  for (const k of Object.keys(want) as K[]) out[k] = want[k] && r[k] !== null ? Float32Array.from(r[k]!) : null;
  return out;
}

/** A fresh reference backend (stateless: handles are plain Float32Array copies). */
export function createReferenceBackend(): Backend<Float32Array> {
  return {
    name: 'reference',
    capabilities,
    async init() {},
    upload: (data) => Float32Array.from(data),
    download: async (handle) => Float32Array.from(handle),
    release() {},
    kernels: {
      deform_conv2d: {
        forward: ({ geometry, inputs }) => Float32Array.from(deformConv2dF64(geometry, inputs)),
        backward: ({ geometry, inputs, gradOutput, want }) => wantedF32(deformConv2dBackwardF64(geometry, inputs, gradOutput), want),
      },
      deform_roi_pool: {
        forward: ({ geometry, inputs }) => Float32Array.from(deformRoiPoolF64(geometry, inputs)),
        backward: ({ geometry, inputs, gradOutput, want }) => wantedF32(deformRoiPoolBackwardF64(geometry, inputs, gradOutput), want),
      },
    },
    dispose() {},
  };
}

/** A shared instance; it holds no state, so sharing it is safe. */
export const referenceBackend: Backend<Float32Array> = createReferenceBackend();

/** Provider form, as backend packages export it (`dcnBackend`), for tools that create backends by name. */
export const referenceProvider: BackendProvider = {
  name: 'reference',
  create: () => createReferenceBackend(),
};
