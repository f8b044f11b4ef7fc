/**
 * Deliberately broken RoI pooling backends, each wrapping the float64 reference with one classic kernel
 * bug. The RoI suites are only trustworthy if they fail every one of them.
 */
import type { Backend, RoiPoolGeometry, RoiPoolGradRequest, RoiPoolGrads, RoiPoolInputs } from '@dcnv2/core';
import { bilinear, binSamplePositions, createReferenceBackend, roiFrame } from '../src/index.js';
import { kernelOf, withKernelHooks } from './kernel-hooks.js';

type Inputs = RoiPoolInputs<Float32Array>;
type Forward = (g: RoiPoolGeometry, x: Inputs) => Float32Array;
type Backward = (g: RoiPoolGeometry, x: Inputs, gradOutput: Float32Array, want: RoiPoolGradRequest) => RoiPoolGrads<Float32Array>;

const honest = kernelOf(createReferenceBackend());
const honestForward: Forward = (g, x) => honest.deformRoiPool(g, x) as Float32Array;
const honestBackward: Backward = (g, x, go, want) => honest.deformRoiPoolBackward(g, x, go, want) as RoiPoolGrads<Float32Array>;

export function wrapRoiReference(name: string, hooks: { forward?: Forward; backward?: Backward }): Backend<Float32Array> {
  return withKernelHooks(createReferenceBackend(), name, { deformRoiPool: hooks.forward ?? honestForward, deformRoiPoolBackward: hooks.backward ?? honestBackward });
}

/** Swaps the x and y planes of an [R, 2, ph, pw] tensor. */
function swapXY(t: Float32Array, g: RoiPoolGeometry): Float32Array {
  const bins = g.pooledH * g.pooledW;
  const out = new Float32Array(t.length);
  for (let r = 0; r < g.rois; r++) {
    out.set(t.subarray((r * 2 + 1) * bins, (r * 2 + 2) * bins), (r * 2 + 0) * bins);
    out.set(t.subarray((r * 2 + 0) * bins, (r * 2 + 1) * bins), (r * 2 + 1) * bins);
  }
  return out;
}

/** RoIs moved by half a feature pixel, so that `coord * scale - 0.5` computes what `coord * scale` should. */
function unshifted(rois: Float32Array, g: RoiPoolGeometry): Float32Array {
  return rois.map((v, k) => (k % 5 === 0 ? v : v + 0.5 / g.spatialScale));
}

/** Offsets along y rescaled from roi_h to roi_w units: the y displacement computed with roi_w. */
function yScaledByWidth(off: Float32Array, g: RoiPoolGeometry, rois: Float32Array): Float32Array {
  const bins = g.pooledH * g.pooledW;
  const out = off.slice();
  for (let r = 0; r < g.rois; r++) {
    const f = roiFrame(g, rois, r);
    const k = f.roiH === 0 ? 0 : f.roiW / f.roiH;
    for (let b = 0; b < bins; b++) out[(r * 2 + 1) * bins + b] *= k;
  }
  return out;
}

/**
 * The convolution's bilinear sampler (corners outside the image read 0, nothing clamped) in place of
 * RoIAlign's (coordinates <= 0 clamp to 0, a low corner >= H-1 clamps to H-1): the borders fade out.
 */
const convSamplerForward: Forward = (g, x) => {
  const bins = g.pooledH * g.pooledW;
  const plane = g.inHeight * g.inWidth;
  const out = new Float32Array(g.rois * g.channels * bins);
  for (let r = 0; r < g.rois; r++) {
    const f = roiFrame(g, x.rois, r);
    for (let i = 0; i < g.pooledH; i++) {
      for (let j = 0; j < g.pooledW; j++) {
        const bin = i * g.pooledW + j;
        const dx = x.offset ? g.gamma * f.roiW * x.offset[(r * 2 + 0) * bins + bin] : 0;
        const dy = x.offset ? g.gamma * f.roiH * x.offset[(r * 2 + 1) * bins + bin] : 0;
        const m = x.mask ? x.mask[r * bins + bin] : 1;
        for (let c = 0; c < g.channels; c++) {
          let acc = 0;
          for (const p of binSamplePositions(f, i, j, dy, dx)) acc += bilinear(x.input, (f.batchIndex * g.channels + c) * plane, g.inHeight, g.inWidth, p.y, p.x);
          out[(r * g.channels + c) * bins + bin] = (m * acc) / f.count;
        }
      }
    }
  }
  return out;
};

/** Divides by grid_h * grid_w without max(.., 1): a degenerate adaptive RoI pools 0 / 0. */
const countWithoutMaxForward: Forward = (g, x) => {
  const out = honestForward(g, x);
  const per = g.channels * g.pooledH * g.pooledW;
  for (let r = 0; r < g.rois; r++) {
    const f = roiFrame(g, x.rois, r);
    if (f.gridH * f.gridW === 0) out.fill(NaN, r * per, (r + 1) * per);
  }
  return out;
};

export const ROI_MUTANTS: Record<string, Backend<Float32Array>> = {
  'offsets-y-first': wrapRoiReference('offsets-y-first', {
    forward: (g, x) => honestForward(g, { ...x, offset: x.offset && swapXY(x.offset, g) }),
    backward: (g, x, go, want) => {
      const r = honestBackward(g, { ...x, offset: x.offset && swapXY(x.offset, g) }, go, want);
      return { ...r, offset: r.offset && swapXY(r.offset, g) };
    },
  }),
  'no-half-pixel-shift': wrapRoiReference('no-half-pixel-shift', {
    forward: (g, x) => honestForward(g, { ...x, rois: unshifted(x.rois, g) }),
    backward: (g, x, go, want) => honestBackward(g, { ...x, rois: unshifted(x.rois, g) }, go, want),
  }),
  'mask-applied-twice': wrapRoiReference('mask-applied-twice', {
    forward: (g, x) => honestForward(g, { ...x, mask: x.mask && x.mask.map((m) => m * m) }),
  }),
  'conv-sampler-at-borders': wrapRoiReference('conv-sampler-at-borders', { forward: convSamplerForward }),
  'count-without-max': wrapRoiReference('count-without-max', { forward: countWithoutMaxForward }),
  'negated-grad-offset': wrapRoiReference('negated-grad-offset', {
    backward: (g, x, go, want) => {
      const r = honestBackward(g, x, go, want);
      return { ...r, offset: r.offset && r.offset.map((v) => -v) };
    },
  }),
  'offset-y-scaled-by-roi-width': wrapRoiReference('offset-y-scaled-by-roi-width', {
    forward: (g, x) => honestForward(g, { ...x, offset: x.offset && yScaledByWidth(x.offset, g, x.rois) }),
  }),
  'ignores-batch-index': wrapRoiReference('ignores-batch-index', {
    forward: (g, x) => honestForward(g, { ...x, rois: x.rois.map((v, k) => (k % 5 === 0 ? 0 : v)) }),
    backward: (g, x, go, want) => honestBackward(g, { ...x, rois: x.rois.map((v, k) => (k % 5 === 0 ? 0 : v)) }, go, want),
  }),
};
