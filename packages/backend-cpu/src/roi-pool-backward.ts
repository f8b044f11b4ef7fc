/**
 * Backward pass of modulated deformable RoI pooling: gradients of L = sum(out * gradOutput), each computed
 * only when requested. With g = gradOutput[r, c, i, j], m = mask[r, 0, i, j], n = count_r and the bin's
 * samples v_s (of channel c of the RoI's batch image):
 *
 *   grad_input  += g * m / n * (each pixel's summed bilinear weight in the bin)
 *   grad_offset[r, 0, i, j] = gamma * roi_w * m / n * sum_c g * sum_s dv_s/dx     ([r, 1]: roi_h, dv/dy)
 *   grad_mask[r, 0, i, j]   = sum_c g * (sum_s v_s) / n
 *
 * Per RoI the plan is built once and every channel walks it (roi-pool-plan.ts), as in the forward pass.
 * The channel sums of grad_offset and grad_mask are float64 accumulators per bin of the RoI, complete when
 * the RoI's last chunk has been walked. RoIs get no gradient. grad_input accumulates in its float32 output.
 */
import type { RoiPoolGeometry, RoiPoolGradRequest, RoiPoolInputs } from '@dcnv2/core';
import { createRoiPoolPlan, RoiPlanBuilder, SEG_POISONED, type RoiFrame, type RoiPoolPlan } from './roi-pool-plan.js';

export interface RoiPoolGradArrays {
  readonly input: Float32Array | null;
  readonly offset: Float32Array | null;
  readonly mask: Float32Array | null;
}

/** Per-bin float64 sums over channels of g * (sum dv/dx), g * (sum dv/dy) and g * (sum v). */
interface BinSums {
  readonly dx: Float64Array;
  readonly dy: Float64Array;
  readonly v: Float64Array;
}

export function roiPoolBackward(
  g: RoiPoolGeometry,
  d: RoiPoolInputs<Float32Array>,
  gradOut: Float32Array,
  want: RoiPoolGradRequest,
  workspaceBytes: number,
): RoiPoolGradArrays {
  const { channels: C, rois: R } = g;
  const bins = g.pooledH * g.pooledW;
  const wantOffset = want.offset && d.offset !== null;
  const wantMask = want.mask && d.mask !== null;
  const grads: RoiPoolGradArrays = {
    input: want.input ? new Float32Array(d.input.length) : null,
    offset: wantOffset ? new Float32Array(R * 2 * bins) : null,
    mask: wantMask ? new Float32Array(R * bins) : null,
  };
  const reduce = wantOffset || wantMask;
  if (R === 0 || C === 0 || (!reduce && grads.input === null)) return grads;

  const plan = createRoiPoolPlan(g, d.rois, workspaceBytes, true);
  const builder = new RoiPlanBuilder(g, d.offset);
  const sums: BinSums = { dx: new Float64Array(bins), dy: new Float64Array(bins), v: new Float64Array(bins) };
  const planeStride = g.inHeight * g.inWidth;
  for (let r = 0; r < R; r++) {
    const f = builder.begin(d.rois, r);
    const inBase = f.batchIndex * C * planeStride;
    sums.dx.fill(0);
    sums.dy.fill(0);
    sums.v.fill(0);
    let done = false;
    while (!done) {
      done = builder.fill(plan);
      for (let c = 0; c < C; c++) {
        const plane = inBase + c * planeStride;
        const goBase = (r * C + c) * bins;
        if (grads.input !== null && reduce) scatterReduceChannel(plan, grads.input, d.input, plane, gradOut, goBase, d.mask, r * bins, f.count, sums);
        else if (grads.input !== null) scatterChannel(plan, grads.input, plane, gradOut, goBase, d.mask, r * bins, f.count);
        else reduceChannel(plan, d.input, plane, gradOut, goBase, sums);
      }
      if (reduce) poisonBins(plan, sums);
    }
    if (reduce) writeBinGrads(g, f, r, d.mask, sums, grads);
  }
  return grads;
}

/** grad_input of one channel of one chunk: each pixel's summed bilinear weight times g * m / n. */
function scatterChannel(
  plan: RoiPoolPlan,
  gradIn: Float32Array,
  plane: number,
  gradOut: Float32Array,
  goBase: number,
  mask: Float32Array | null,
  maskBase: number,
  count: number,
): void {
  const { index, w, segBin, segEnd } = plan;
  let e = 0;
  for (let s = 0; s < plan.segments; s++) {
    const end = segEnd[s];
    const bin = segBin[s];
    const go = gradOut[goBase + bin];
    const k = mask === null ? go / count : (go / count) * mask[maskBase + bin];
    for (; e < end; e++) gradIn[plane + index[e]] += k * w[e];
  }
}

/**
 * One channel of one chunk: per bin, g times the sums of v, dv/dy and dv/dx over the bin's samples. As in
 * the reference (autograd), a bin without samples still gets g * 0 in grad_mask (NaN for an infinite g)
 * but nothing in grad_offset, which it does not depend on.
 */
function reduceChannel(plan: RoiPoolPlan, input: Float32Array, plane: number, gradOut: Float32Array, goBase: number, sums: BinSums): void {
  const { index, w, wx, wy, segBin, segEnd } = plan;
  const sumV = sums.v;
  const sumDx = sums.dx;
  const sumDy = sums.dy;
  let e = 0;
  for (let s = 0; s < plan.segments; s++) {
    const start = e;
    const end = segEnd[s];
    let sv = 0;
    let sdx = 0;
    let sdy = 0;
    for (; e < end; e++) {
      const v = input[plane + index[e]];
      sv += w[e] * v;
      sdy += wy[e] * v;
      sdx += wx[e] * v;
    }
    const bin = segBin[s];
    const go = gradOut[goBase + bin];
    sumV[bin] += go * sv;
    if (end > start) {
      sumDx[bin] += go * sdx;
      sumDy[bin] += go * sdy;
    }
  }
}

/**
 * `scatterChannel` and `reduceChannel` in one walk of the plan, for calls that want grad_input and grad_offset
 * or grad_mask (training): each entry's pixel index and value are loaded once for both.
 */
function scatterReduceChannel(
  plan: RoiPoolPlan,
  gradIn: Float32Array,
  input: Float32Array,
  plane: number,
  gradOut: Float32Array,
  goBase: number,
  mask: Float32Array | null,
  maskBase: number,
  count: number,
  sums: BinSums,
): void {
  const { index, w, wx, wy, segBin, segEnd } = plan;
  const sumV = sums.v;
  const sumDx = sums.dx;
  const sumDy = sums.dy;
  let e = 0;
  for (let s = 0; s < plan.segments; s++) {
    const start = e;
    const end = segEnd[s];
    const bin = segBin[s];
    const go = gradOut[goBase + bin];
    const k = mask === null ? go / count : (go / count) * mask[maskBase + bin];
    let sv = 0;
    let sdx = 0;
    let sdy = 0;
    for (; e < end; e++) {
      const p = plane + index[e];
      const v = input[p];
      const we = w[e];
      sv += we * v;
      sdy += wy[e] * v;
      sdx += wx[e] * v;
      gradIn[p] += k * we;
    }
    sumV[bin] += go * sv;
    if (end > start) {
      sumDx[bin] += go * sdx;
      sumDy[bin] += go * sdy;
    }
  }
}

/** A bin with a NaN sampling coordinate has NaN value, hence NaN offset and mask gradients. */
function poisonBins(plan: RoiPoolPlan, sums: BinSums): void {
  if (plan.wholeBins) return;
  for (let s = 0; s < plan.segments; s++) {
    if ((plan.segFlags[s] & SEG_POISONED) !== 0) sums.dx[plan.segBin[s]] = sums.dy[plan.segBin[s]] = sums.v[plan.segBin[s]] = NaN;
  }
}

/** Turns a finished RoI's channel sums into its grad_offset and grad_mask entries. */
function writeBinGrads(g: RoiPoolGeometry, f: RoiFrame, r: number, mask: Float32Array | null, sums: BinSums, grads: RoiPoolGradArrays): void {
  const bins = g.pooledH * g.pooledW;
  const kx = g.gamma * f.roiW;
  const ky = g.gamma * f.roiH;
  for (let b = 0; b < bins; b++) {
    if (grads.mask !== null) grads.mask[r * bins + b] = sums.v[b] / f.count;
    if (grads.offset !== null) {
      const mn = (mask === null ? 1 : mask[r * bins + b]) / f.count;
      grads.offset[(2 * r) * bins + b] = kx * mn * sums.dx[b];
      grads.offset[(2 * r + 1) * bins + b] = ky * mn * sums.dy[b];
    }
  }
}
