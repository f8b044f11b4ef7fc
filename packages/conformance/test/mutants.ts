/**
 * Deliberately broken backends, each wrapping the float64 reference with one classic kernel bug. The
 * suite is only trustworthy if it fails every one of them.
 */
import type { Backend, ConvGeometry, ConvGradRequest, ConvGrads, ConvInputs } from '@dcnv2/core';
import { createReferenceBackend, deformConv2dBackwardF64, deformConv2dF64, type ConvTensors } from '../src/index.js';
import { kernelOf, withKernelHooks } from './kernel-hooks.js';

type Forward = (g: ConvGeometry, x: ConvInputs<Float32Array>) => Float32Array;
type Backward = (g: ConvGeometry, x: ConvInputs<Float32Array>, gradOutput: Float32Array, want: ConvGradRequest) => ConvGrads<Float32Array>;

const honest = kernelOf(createReferenceBackend());
const honestForward: Forward = (g, x) => honest.deformConv2d(g, x) as Float32Array;
const honestBackward: Backward = (g, x, go, want) => honest.deformConv2dBackward(g, x, go, want) as ConvGrads<Float32Array>;

export function wrapReference(name: string, hooks: { forward?: Forward; backward?: Backward }): Backend<Float32Array> {
  return withKernelHooks(createReferenceBackend(), name, { deformConv2d: hooks.forward ?? honestForward, deformConv2dBackward: hooks.backward ?? honestBackward });
}

const f32 = (a: Float64Array) => Float32Array.from(a);

/** Swaps each (dy, dx) pair of an offset-like tensor. */
function swapPairs(off: Float32Array, g: ConvGeometry): Float32Array {
  const P = g.outHeight * g.outWidth;
  const out = new Float32Array(off.length);
  for (let k = 0; k < off.length; k++) {
    const ch = Math.floor(k / P);
    const partner = ch % 2 === 0 ? k + P : k - P;
    out[k] = off[partner];
  }
  return out;
}

/** Rotates offset-group blocks: block k takes block (k + shift) mod og. `per` = channels per group. */
function rotateGroups(t: Float32Array, g: ConvGeometry, perGroup: number, shift: number): Float32Array {
  const P = g.outHeight * g.outWidth;
  const og = g.offsetGroups;
  const block = perGroup * P;
  const out = new Float32Array(t.length);
  for (let n = 0; n < g.batch; n++) {
    for (let k = 0; k < og; k++) {
      const src = (n * og + (((k + shift) % og) + og) % og) * block;
      out.set(t.subarray(src, src + block), (n * og + k) * block);
    }
  }
  return out;
}

/** Clamp-to-edge sampling instead of zero padding: the reference run on an edge-replicated image. */
const clampForward: Forward = (g, x) => {
  let maxOff = 0;
  for (const v of x.offset) maxOff = Math.max(maxOff, Math.abs(v));
  const M = Math.min(512, Math.ceil(maxOff) + Math.max(g.padTop, g.padLeft, g.padBottom, g.padRight) + Math.max(g.kernelH * g.dilationH, g.kernelW * g.dilationW) + 2);
  const H = g.inHeight + 2 * M;
  const W = g.inWidth + 2 * M;
  const big = new Float64Array(g.batch * g.inChannels * H * W);
  for (let plane = 0; plane < g.batch * g.inChannels; plane++) {
    for (let y = 0; y < H; y++) {
      for (let xx = 0; xx < W; xx++) {
        const sy = Math.min(g.inHeight - 1, Math.max(0, y - M));
        const sx = Math.min(g.inWidth - 1, Math.max(0, xx - M));
        big[(plane * H + y) * W + xx] = x.input[(plane * g.inHeight + sy) * g.inWidth + sx];
      }
    }
  }
  const gBig = { ...g, inHeight: H, inWidth: W, padTop: g.padTop - M, padLeft: g.padLeft - M, padBottom: g.padBottom - M, padRight: g.padRight - M };
  return f32(deformConv2dF64(gBig, { ...x, input: big }));
};

/** The coordinate derivative at integer coordinates taken from the cell below (ceil) instead of floor. */
const ceilAtIntegersBackward: Backward = (g, x, go, want) => {
  const honestGrads = honestBackward(g, x, go, want);
  const nudged = Float64Array.from(x.offset, (v) => (Number.isInteger(v) ? v - 1e-9 : v));
  const r = deformConv2dBackwardF64(g, { ...x, offset: nudged } as ConvTensors, go);
  return { ...honestGrads, offset: want.offset ? f32(r.offset) : null };
};

/** mmcv's rule instead of torchvision's: no coordinate gradient for any sample with y <= -1 or x <= -1 etc. */
const mmcvBorderBackward: Backward = (g, x, go, want) => {
  const grads = honestBackward(g, x, go, want);
  if (!grads.offset) return grads;
  const off = grads.offset.slice();
  const taps = g.kernelH * g.kernelW;
  const P = g.outHeight * g.outWidth;
  for (let n = 0; n < g.batch; n++) {
    for (let slot = 0; slot < g.offsetGroups * taps; slot++) {
      const tap = slot % taps;
      const [i, j] = [Math.floor(tap / g.kernelW), tap % g.kernelW];
      for (let p = 0; p < P; p++) {
        const [oy, ox] = [Math.floor(p / g.outWidth), p % g.outWidth];
        const iy = ((n * g.offsetGroups * taps + slot) * 2) * P + p;
        const ix = iy + P;
        const y = oy * g.strideH - g.padTop + i * g.dilationH + x.offset[iy];
        const xx = ox * g.strideW - g.padLeft + j * g.dilationW + x.offset[ix];
        if (y <= -1 || y >= g.inHeight || xx <= -1 || xx >= g.inWidth) off[iy] = off[ix] = 0;
      }
    }
  }
  return { ...grads, offset: off };
};

export const MUTANTS: Record<string, Backend<Float32Array>> = {
  'clamps-at-borders': wrapReference('clamps-at-borders', { forward: clampForward }),
  'swaps-dy-dx': wrapReference('swaps-dy-dx', {
    forward: (g, x) => honestForward(g, { ...x, offset: swapPairs(x.offset, g) }),
    backward: (g, x, go, want) => {
      const r = honestBackward(g, { ...x, offset: swapPairs(x.offset, g) }, go, want);
      return { ...r, offset: r.offset && swapPairs(r.offset, g) };
    },
  }),
  'ignores-mask': wrapReference('ignores-mask', { forward: (g, x) => honestForward({ ...g, hasMask: false }, { ...x, mask: null }) }),
  'offset-group-off-by-one': wrapReference('offset-group-off-by-one', {
    forward: (g, x) => {
      const taps = g.kernelH * g.kernelW;
      return honestForward(g, { ...x, offset: rotateGroups(x.offset, g, 2 * taps, 1), mask: x.mask && rotateGroups(x.mask, g, taps, 1) });
    },
  }),
  'negated-grad-offset': wrapReference('negated-grad-offset', {
    backward: (g, x, go, want) => {
      const r = honestBackward(g, x, go, want);
      return { ...r, offset: r.offset && r.offset.map((v) => -v) };
    },
  }),
  'ceil-derivative-at-integers': wrapReference('ceil-derivative-at-integers', { backward: ceilAtIntegersBackward }),
  'mmcv-border-gradient': wrapReference('mmcv-border-gradient', { backward: mmcvBorderBackward }),
  'bias-added-twice': wrapReference('bias-added-twice', {
    forward: (g, x) => {
      const out = honestForward(g, x);
      if (!x.bias) return out;
      const P = g.outHeight * g.outWidth;
      return out.map((v, k) => v + x.bias![Math.floor(k / P) % g.outChannels]);
    },
  }),
  'nan-inputs-read-as-zero': wrapReference('nan-inputs-read-as-zero', {
    forward: (g, x) => honestForward(g, { ...x, input: x.input.map((v) => (Number.isNaN(v) ? 0 : v)) }),
  }),
};
