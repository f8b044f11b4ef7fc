/**
 * Forward pass of modulated deformable RoI pooling:
 *
 *   out[r, c, i, j] = mask[r, 0, i, j] * (sum of the bin's bilinear samples of input[b_r, c]) / count_r
 *
 * Per RoI, the plan (each bin's pixels and their summed bilinear weights, see roi-pool-plan.ts) is built
 * once and then every channel walks it, reading one H x W plane of the RoI's batch image. Sums are
 * float64. A bin that the plan's capacity cut into several chunks carries its per-channel partial sums in
 * `carry` and adds the next entries to them in order, so the result does not depend on where the cut fell.
 */
import type { RoiPoolGeometry, RoiPoolInputs } from '@dcnv2/core';
import { createRoiPoolPlan, RoiPlanBuilder, SEG_FIRST, SEG_LAST, SEG_POISONED, type RoiPoolPlan } from './roi-pool-plan.js';

export function roiPoolForward(g: RoiPoolGeometry, d: RoiPoolInputs<Float32Array>, workspaceBytes: number): Float32Array {
  const { channels: C, rois: R } = g;
  const bins = g.pooledH * g.pooledW;
  const out = new Float32Array(R * C * bins);
  if (out.length === 0) return out;

  const plan = createRoiPoolPlan(g, d.rois, workspaceBytes, false);
  const builder = new RoiPlanBuilder(g, d.offset);
  const carry = new Float64Array(C);
  const planeStride = g.inHeight * g.inWidth;
  for (let r = 0; r < R; r++) {
    const f = builder.begin(d.rois, r);
    const inBase = f.batchIndex * C * planeStride;
    let done = false;
    while (!done) {
      done = builder.fill(plan);
      for (let c = 0; c < C; c++) {
        if (plan.wholeBins) poolChannelWholeBins(plan, d.input, inBase + c * planeStride, out, (r * C + c) * bins, d.mask, r * bins, f.count);
        else poolChannel(plan, d.input, inBase + c * planeStride, out, (r * C + c) * bins, d.mask, r * bins, f.count, carry, c);
      }
    }
  }
  return out;
}

/**
 * One channel of a chunk made of whole, unpoisoned bins (plan.wholeBins): each segment is one bin, summed
 * and written. Same arithmetic as `poolChannel`, without the partial-sum bookkeeping, which costs about a
 * third of the forward time when bins hold ten or so entries.
 */
function poolChannelWholeBins(
  plan: RoiPoolPlan,
  input: Float32Array,
  plane: number,
  out: Float32Array,
  outBase: number,
  mask: Float32Array | null,
  maskBase: number,
  count: number,
): void {
  const { index, w, segBin, segEnd } = plan;
  let e = 0;
  for (let s = 0; s < plan.segments; s++) {
    const end = segEnd[s];
    let sum = 0;
    for (; e < end; e++) sum += w[e] * input[plane + index[e]];
    const bin = segBin[s];
    const v = sum / count;
    out[outBase + bin] = mask === null ? v : v * mask[maskBase + bin];
  }
}

/** One channel of any plan chunk: every segment's samples summed, finished bins written to `out`. */
function poolChannel(
  plan: RoiPoolPlan,
  input: Float32Array,
  plane: number,
  out: Float32Array,
  outBase: number,
  mask: Float32Array | null,
  maskBase: number,
  count: number,
  carry: Float64Array,
  c: number,
): void {
  const { index, w, segBin, segEnd, segFlags } = plan;
  let e = 0;
  for (let s = 0; s < plan.segments; s++) {
    const flags = segFlags[s];
    const end = segEnd[s];
    let sum = (flags & SEG_FIRST) !== 0 ? 0 : carry[c];
    for (; e < end; e++) sum += w[e] * input[plane + index[e]];
    if ((flags & SEG_LAST) === 0) {
      carry[c] = sum;
      continue;
    }
    const bin = segBin[s];
    // The reference's order: (sum / count) * mask, so a NaN or infinite mask propagates as it does there.
    const v = (flags & SEG_POISONED) !== 0 ? NaN : sum / count;
    out[outBase + bin] = mask === null ? v : v * mask[maskBase + bin];
  }
}
