/**
 * Deformable im2col of one input channel over one tile: col[e] = mask * bilinear(input, y, x) for every
 * entry e = tap*P + p of the sampling plan, i.e. the channel's K x P block of the column buffer. Called
 * once per channel with the plan of the channel's offset group, so the per-channel cost is 4 reads and
 * a few multiply-adds per element; the geometry was paid for once in `buildPlan`.
 */
import { ALL_CORNERS, C00, C01, C10, C11, IN_RANGE, type SamplingPlan } from './sampling-plan.js';

/**
 * @param count  K*P, the number of plan entries of the tile
 * @param x      the input tensor; `xOff` is the start of this (batch, channel) plane
 * @param col    destination; the block starts at `colOff` and is `count` long
 */
export function im2colChannel(
  plan: SamplingPlan,
  count: number,
  x: Float32Array,
  xOff: number,
  W: number,
  col: Float32Array,
  colOff: number,
): void {
  const { base, flags, mask, w } = plan;
  for (let e = 0; e < count; e++) {
    const f = flags[e];
    const b = xOff + base[e];
    const e4 = 4 * e;
    let v: number;
    if ((f & ALL_CORNERS) === ALL_CORNERS) {
      // Interior sample: no guards. torchvision's order: mask * (w1*v1 + w2*v2 + w3*v3 + w4*v4).
      v = mask[e] * (w[e4] * x[b] + w[e4 + 1] * x[b + 1] + w[e4 + 2] * x[b + W] + w[e4 + 3] * x[b + W + 1]);
    } else if ((f & IN_RANGE) !== 0) {
      // Border sample: corners outside the image read 0 and are never loaded.
      const v00 = (f & C00) !== 0 ? x[b] : 0;
      const v01 = (f & C01) !== 0 ? x[b + 1] : 0;
      const v10 = (f & C10) !== 0 ? x[b + W] : 0;
      const v11 = (f & C11) !== 0 ? x[b + W + 1] : 0;
      v = mask[e] * (w[e4] * v00 + w[e4 + 1] * v01 + w[e4 + 2] * v10 + w[e4 + 3] * v11);
    } else {
      // Out of range: torchvision's bilinear returns 0, then mask * 0 (NaN for a NaN or infinite mask).
      v = mask[e] * 0;
    }
    col[colOff + e] = v;
  }
}
