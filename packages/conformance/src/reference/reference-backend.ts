/**
 * The float64 references (deformable convolution and deformable RoI pooling, forward and backward)
 * wrapped as a `Backend<Float32Array>` named 'reference': it computes in float64 and rounds once to
 * float32 at the end. It lets the suite test itself (golden vectors must pass on it,
 * deliberately broken wrappers of it must fail) and serves as a known-good backend for `cross`.
 */
import type {
  Backend,
  BackendCapabilities,
  BackendProvider,
  ConvGeometry,
  ConvGradRequest,
  ConvGrads,
  ConvInputs,
  RoiPoolGeometry,
  RoiPoolGradRequest,
  RoiPoolGrads,
  RoiPoolInputs,
} from '@dcnv2/core';
import { deformConv2dBackwardF64, deformConv2dF64 } from './deform-conv2d-f64.js';
import { deformRoiPoolBackwardF64, deformRoiPoolF64 } from './deform-roi-pool-f64.js';

const capabilities: BackendCapabilities = {
  backward: true,
  roiPool: true,
  threads: 1,
  float16: false,
  resident: false,
  externalBuffers: false,
};

const f32 = (a: Float64Array | null, wanted: boolean) => (wanted && a !== null ? Float32Array.from(a) : null);

/** A fresh reference backend (stateless: handles are plain Float32Array copies). */
export function createReferenceBackend(): Backend<Float32Array> {
  return {
    name: 'reference',
    capabilities,
    async init() {},
    upload: (data) => Float32Array.from(data),
    download: async (handle) => Float32Array.from(handle),
    release() {},
    deformConv2d(g: ConvGeometry, x: ConvInputs<Float32Array>) {
      return Float32Array.from(deformConv2dF64(g, x));
    },
    deformConv2dBackward(g: ConvGeometry, x: ConvInputs<Float32Array>, gradOutput: Float32Array, want: ConvGradRequest): ConvGrads<Float32Array> {
      const r = deformConv2dBackwardF64(g, x, gradOutput);
      return {
        input: f32(r.input, want.input),
        offset: f32(r.offset, want.offset),
        mask: f32(r.mask, want.mask),
        weight: f32(r.weight, want.weight),
        bias: f32(r.bias, want.bias),
      };
    },
    deformRoiPool(g: RoiPoolGeometry, x: RoiPoolInputs<Float32Array>) {
      return Float32Array.from(deformRoiPoolF64(g, x));
    },
    deformRoiPoolBackward(g: RoiPoolGeometry, x: RoiPoolInputs<Float32Array>, gradOutput: Float32Array, want: RoiPoolGradRequest): RoiPoolGrads<Float32Array> {
      const r = deformRoiPoolBackwardF64(g, x, gradOutput);
      return { input: f32(r.input, want.input), offset: f32(r.offset, want.offset), mask: f32(r.mask, want.mask) };
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
