/**
 * Forward pass of modulated deformable RoI pooling:
 *
 *   out[r, c, i, j] = mask[r, 0, i, j] * (sum of the bin's bilinear samples of input[b_r, c]) / count_r
 *
 * Per RoI, the plan (each bin's pixels and their summed bilinear weights, see roi-pool-plan.ts) is built
 * once and then every channel walks it, reading one H x W plane of the RoI's batch image. Sums are
 * float64. A bin that the plan's capacity cut into several chunks carries its per-channel partial sums in
 * `carry` and adds the next entries to them in order, so the result does not depend on where the cut fell.
 *
 * Speed (R1: 256 RoIs x 256 channels, 7x7 bins, ratio 2): whole-bin chunks walk the plan once per EIGHT
 * channels, so each entry's pixel index and weight are loaded once for eight planes and the eight float64
 * sums are independent addition chains; and each channel is read through its own plane view
 * (`ChannelPlanes`), indexed by the plan's in-plane index directly. Both keep the additions of every
 * channel in plan order, so the output is bitwise that of one channel at a time.
 */
import type { RoiPoolGeometry, RoiPoolInputs } from '@dcnv2/core';
import { createRoiPoolPlan, RoiPlanBuilder, SEG_FIRST, SEG_LAST, SEG_POISONED, type RoiPoolPlan } from './roi-pool-plan.js';

/** Channels that one walk of a whole-bin plan chunk pools together. */
const CHANNEL_BLOCK = 8;

export function roiPoolForward(g: RoiPoolGeometry, d: RoiPoolInputs<Float32Array>, workspaceBytes: number): Float32Array {
  const { channels: C, rois: R } = g;
  const bins = g.pooledH * g.pooledW;
  const out = new Float32Array(R * C * bins);
  if (out.length === 0) return out;

  const plan = createRoiPoolPlan(g, d.rois, workspaceBytes, false);
  const builder = new RoiPlanBuilder(g, d.offset);
  const carry = new Float64Array(C);
  const planes = new ChannelPlanes(d.input, C, g.inHeight * g.inWidth);
  for (let r = 0; r < R; r++) {
    const f = builder.begin(d.rois, r);
    const x = planes.of(f.batchIndex);
    let done = false;
    while (!done) {
      done = builder.fill(plan);
      let c = 0;
      if (plan.wholeBins) {
        for (; c + CHANNEL_BLOCK <= C; c += CHANNEL_BLOCK) poolEightChannelsWholeBins(plan, x, c, out, (r * C + c) * bins, bins, d.mask, r * bins, f.count);
        for (; c < C; c++) poolChannelWholeBins(plan, x[c], out, (r * C + c) * bins, d.mask, r * bins, f.count);
      } else {
        for (; c < C; c++) poolChannel(plan, x[c], out, (r * C + c) * bins, d.mask, r * bins, f.count, carry, c);
      }
    }
  }
  return out;
}

/**
 * Views of the H x W planes of one batch image's channels, rebuilt only when the batch image changes (RoIs
 * are usually grouped by image): the kernels index a view by the plan's in-plane pixel index, which V8
 * compiles to tighter code than `input[planeBase + index]`. Holds C views, like the carries.
 */
class ChannelPlanes {
  readonly #input: Float32Array;
  readonly #channels: number;
  readonly #planeSize: number;
  #batch = -1;
  #views: Float32Array[] = [];

  constructor(input: Float32Array, channels: number, planeSize: number) {
    this.#input = input;
    this.#channels = channels;
    this.#planeSize = planeSize;
  }

  /** The channel planes of batch image `batch`, indexed by channel. */
  of(batch: number): readonly Float32Array[] {
    if (batch !== this.#batch) {
      const C = this.#channels;
      const size = this.#planeSize;
      const views: Float32Array[] = [];
      for (let c = 0; c < C; c++) {
        const start = (batch * C + c) * size;
        views.push(this.#input.subarray(start, start + size));
      }
      this.#views = views;
      this.#batch = batch;
    }
    return this.#views;
  }
}

/**
 * Channels c .. c + 7 (planes x[c] ..) of a chunk made of whole, unpoisoned bins (plan.wholeBins), in one
 * walk of the plan. Channel by channel the arithmetic is that of `poolChannelWholeBins`, in the same
 * order. The mask is 1 when absent: (v / count) * 1 is v exactly, NaN included.
 */
function poolEightChannelsWholeBins(
  plan: RoiPoolPlan,
  x: readonly Float32Array[],
  c: number,
  out: Float32Array,
  outBase: number,
  bins: number,
  mask: Float32Array | null,
  maskBase: number,
  count: number,
): void {
  const { index, w, segBin, segEnd } = plan;
  const x0 = x[c];
  const x1 = x[c + 1];
  const x2 = x[c + 2];
  const x3 = x[c + 3];
  const x4 = x[c + 4];
  const x5 = x[c + 5];
  const x6 = x[c + 6];
  const x7 = x[c + 7];
  let e = 0;
  for (let s = 0; s < plan.segments; s++) {
    const end = segEnd[s];
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    let s4 = 0;
    let s5 = 0;
    let s6 = 0;
    let s7 = 0;
    for (; e < end; e++) {
      const k = index[e];
      const we = w[e];
      s0 += we * x0[k];
      s1 += we * x1[k];
      s2 += we * x2[k];
      s3 += we * x3[k];
      s4 += we * x4[k];
      s5 += we * x5[k];
      s6 += we * x6[k];
      s7 += we * x7[k];
    }
    const bin = segBin[s];
    const o = outBase + bin;
    // The reference's order: (sum / count) * mask, so a NaN or infinite mask propagates as it does there.
    const m = mask === null ? 1 : mask[maskBase + bin];
    out[o] = (s0 / count) * m;
    out[o + bins] = (s1 / count) * m;
    out[o + 2 * bins] = (s2 / count) * m;
    out[o + 3 * bins] = (s3 / count) * m;
    out[o + 4 * bins] = (s4 / count) * m;
    out[o + 5 * bins] = (s5 / count) * m;
    out[o + 6 * bins] = (s6 / count) * m;
    out[o + 7 * bins] = (s7 / count) * m;
  }
}

/**
 * One channel (plane x) of a chunk made of whole, unpoisoned bins (plan.wholeBins): each segment is one
 * bin, summed and written. Same arithmetic as `poolChannel`, without the partial-sum bookkeeping, which
 * costs about a third of the forward time when bins hold ten or so entries.
 */
function poolChannelWholeBins(
  plan: RoiPoolPlan,
  x: Float32Array,
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
    for (; e < end; e++) sum += w[e] * x[index[e]];
    const bin = segBin[s];
    const v = sum / count;
    out[outBase + bin] = mask === null ? v : v * mask[maskBase + bin];
  }
}

/** One channel (plane x) of any plan chunk: every segment's samples summed, finished bins written to `out`. */
function poolChannel(
  plan: RoiPoolPlan,
  x: Float32Array,
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
    for (; e < end; e++) sum += w[e] * x[index[e]];
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
