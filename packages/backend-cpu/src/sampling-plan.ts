/**
 * The sampling plan of one tile: for one offset group, every (tap, output pixel) of the tile gets its
 * bilinear corners and weights computed ONCE, then every input channel of that offset group reuses them
 * (im2col forward, col2im backward). Geometry is per (offset group, tap, pixel); the per-channel loops
 * only read memory and multiply.
 *
 * Entry `e = tap * P + p` (tap-major), so the plan has the same layout as one channel's K x P block of the
 * column buffer and both are walked with one index.
 *
 * Semantics are torchvision's (csrc/ops/cpu/deform_conv2d_kernel.cpp), float32 coordinates included:
 * - y = fround(oy*sh - padTop + i*dh + dy) (torchvision adds the float offset in float32, so rounding
 *   the coordinate the same way keeps floor() and the range test on the same side of every integer);
 * - the sampled VALUE is 0 when y <= -1 || y >= H || x <= -1 || x >= W ("in range" flag), else the
 *   bilinear sum over the corners inside the image; the module multiplies it by the mask;
 * - the COORDINATE gradient has no range test: it uses every in-image corner of floor(y), floor(y)+1. This
 *   differs from the value only at exactly y == -1 (or x == -1), where row 0 is a valid corner: torchvision
 *   gives a non-zero d/dy there (v[0] - 0) although the value is 0, and so do we;
 * - grad_input goes to in-image corners at distance |y - yp| < 1 and |x - xp| < 1 computed in float32
 *   (torchvision's col2im rule): at an integer coordinate the far corner has weight 0 and is skipped.
 *
 * Corners outside the image are never read: a flag bit says which corners are in the image, and the loops
 * test it instead of multiplying a weight 0 into a value that might be NaN or Inf. Non-finite offsets need
 * nothing special: floor(NaN) fails every comparison, the weights come out NaN, and the arithmetic in the
 * loops yields NaN exactly as a direct evaluation of torchvision's formulas would.
 *
 * The mask is stored next to the weights, not folded into them: torchvision computes mask * (sum of w*v),
 * and folding would turn mask=Inf times a weight 0 (integer coordinate) into NaN where torchvision gives
 * Inf. It costs one multiply per column element.
 */
import type { ConvGeometry } from '@dcnv2/core';

/** Corner (floor(y), floor(x)) is inside the image. */
export const C00 = 1;
/** Corner (floor(y), floor(x)+1). */
export const C01 = 2;
/** Corner (floor(y)+1, floor(x)). */
export const C10 = 4;
/** Corner (floor(y)+1, floor(x)+1). */
export const C11 = 8;
/** All four corners inside (implies in range): the branch-free fast path. */
export const ALL_CORNERS = 15;
/** -1 < y < H and -1 < x < W (or a NaN coordinate): the sampled value is the bilinear sum, else 0. */
export const IN_RANGE = 16;

/** Bytes per entry of a forward plan: base 4 + flags 1 + mask 8 + weights 32 (rounded up). */
export const PLAN_BYTES_FORWARD = 48;
/** Bytes per entry of a backward plan: forward + fractions 16 + scatter bits 1 + three accumulators 24. */
export const PLAN_BYTES_BACKWARD = 96;

export class SamplingPlan {
  /** Flat index floor(y)*W + floor(x) within one channel (only meaningful where a corner bit is set). */
  readonly base: Int32Array;
  /** Corner bits C00..C11 and IN_RANGE. */
  readonly flags: Uint8Array;
  /** Mask value (1 without a mask). */
  readonly mask: Float64Array;
  /** Bilinear weights (1-ly)(1-lx), (1-ly)lx, ly(1-lx), ly*lx per entry. */
  readonly w: Float64Array;
  // Backward only (length 0 in a forward plan):
  /** Fractional parts ly = y - floor(y) and lx = x - floor(x) (NaN for a non-finite coordinate). */
  readonly fy: Float64Array;
  readonly fx: Float64Array;
  /** Corner bits of the corners that receive grad_input (torchvision's |y - yp| < 1 rule). */
  readonly scatter: Uint8Array;
  /** Accumulators over the offset group's channels: d/d(dy), d/d(dx), d/d(mask). */
  readonly gy: Float64Array;
  readonly gx: Float64Array;
  readonly gm: Float64Array;

  constructor(readonly capacity: number, readonly backward: boolean) {
    this.base = new Int32Array(capacity);
    this.flags = new Uint8Array(capacity);
    this.mask = new Float64Array(capacity);
    this.w = new Float64Array(4 * capacity);
    const b = backward ? capacity : 0;
    this.fy = new Float64Array(b);
    this.fx = new Float64Array(b);
    this.scatter = new Uint8Array(b);
    this.gy = new Float64Array(b);
    this.gx = new Float64Array(b);
    this.gm = new Float64Array(b);
  }
}

/**
 * Fills `plan` for batch image `n`, offset group `og`, output pixels [p0, p0 + P) (flat oy*Wo + ox).
 * Backward plans also get the fractions, the scatter bits and zeroed accumulators.
 */
export function buildPlan(
  plan: SamplingPlan,
  g: ConvGeometry,
  n: number,
  og: number,
  p0: number,
  P: number,
  offset: Float32Array,
  mask: Float32Array | null,
): void {
  const { inHeight: H, inWidth: W, kernelH: kh, kernelW: kw, outWidth: Wo } = g;
  const K = kh * kw;
  const HoWo = g.outHeight * Wo;
  const { base, flags, w, backward } = plan;
  const pm = plan.mask;
  const offBase = (n * g.offsetGroups + og) * 2 * K * HoWo;
  const maskBase = (n * g.offsetGroups + og) * K * HoWo;
  const fround = Math.fround;
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const t = i * kw + j;
      const dyRow = offBase + 2 * t * HoWo;
      const dxRow = dyRow + HoWo;
      const mRow = maskBase + t * HoWo;
      const yTap = i * g.dilationH - g.padTop;
      const xTap = j * g.dilationW - g.padLeft;
      let oy = Math.floor(p0 / Wo);
      let ox = p0 - oy * Wo;
      for (let p = 0; p < P; p++) {
        const e = t * P + p;
        const q = p0 + p;
        const y = fround(oy * g.strideH + yTap + offset[dyRow + q]);
        const x = fround(ox * g.strideW + xTap + offset[dxRow + q]);
        const y0 = Math.floor(y);
        const x0 = Math.floor(x);
        const r0 = y0 >= 0 && y0 < H;
        const r1 = y0 >= -1 && y0 < H - 1;
        const k0 = x0 >= 0 && x0 < W;
        const k1 = x0 >= -1 && x0 < W - 1;
        let f = (r0 && k0 ? C00 : 0) | (r0 && k1 ? C01 : 0) | (r1 && k0 ? C10 : 0) | (r1 && k1 ? C11 : 0);
        if (!(y <= -1 || y >= H || x <= -1 || x >= W)) f |= IN_RANGE;
        flags[e] = f;
        // A corner bit implies -1 <= floor <= H-1, so the index fits an int32 whenever it is used.
        base[e] = (f & ALL_CORNERS) !== 0 ? y0 * W + x0 : 0;
        const ly = y - y0;
        const lx = x - x0;
        const hy = 1 - ly;
        const hx = 1 - lx;
        const e4 = 4 * e;
        w[e4] = hy * hx;
        w[e4 + 1] = hy * lx;
        w[e4 + 2] = ly * hx;
        w[e4 + 3] = ly * lx;
        pm[e] = mask === null ? 1 : mask[mRow + q];
        if (backward) {
          plan.fy[e] = ly;
          plan.fx[e] = lx;
          // torchvision: 1 - |y - yp| in float32 must stay > 0, i.e. fround(|y - yp|) < 1.
          const s0 = r0 && Math.abs(fround(y - y0)) < 1;
          const s1 = r1 && Math.abs(fround(y - (y0 + 1))) < 1;
          const t0 = k0 && Math.abs(fround(x - x0)) < 1;
          const t1 = k1 && Math.abs(fround(x - (x0 + 1))) < 1;
          plan.scatter[e] = (s0 && t0 ? C00 : 0) | (s0 && t1 ? C01 : 0) | (s1 && t0 ? C10 : 0) | (s1 && t1 ? C11 : 0);
          plan.gy[e] = 0;
          plan.gx[e] = 0;
          plan.gm[e] = 0;
        }
        if (++ox === Wo) {
          ox = 0;
          oy++;
        }
      }
    }
  }
}
