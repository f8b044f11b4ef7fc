/**
 * The float64 oracle of modulated deformable RoI pooling (DCNv2 section 2.2): direct loops over RoIs,
 * bins and samples, written to be checked line by line against the semantics below (those of
 * shared/reference/gen_deform_roi_pool.py, i.e. mmcv's deformable RoI pooling times a per-bin mask),
 * not to be fast. It shares no code with any backend, nor with the convolution's oracle: the RoI
 * sampler clamps where the convolution's reads zeros.
 *
 * Semantics:
 * - rois[r] = (batch_index, x1, y1, x2, y2); start = (x1, y1) * spatial_scale - 0.5, end likewise (no
 *   rounding); roi_w = end_x - start_x, roi_h = end_y - start_y; bin = roi / pooled size;
 * - grid_h = sampling_ratio if > 0 else ceil(roi_h / ph) (likewise w); a grid <= 0 (degenerate RoI) has no
 *   samples; count = max(grid_h * grid_w, 1);
 * - offset[r, 0, i, j] moves bin (i, j) along x by gamma * roi_w * offset, offset[r, 1, i, j] along y by
 *   gamma * roi_h * offset (x FIRST, unlike the convolution);
 * - sample y = start_y + dy + i*bin_h + (iy + 0.5) * bin_h / grid_h (likewise x), read with RoIAlign's
 *   bilinear rule: 0 if y < -1, y > H, x < -1 or x > W; a coordinate <= 0 becomes 0; a low corner >= H-1
 *   (W-1) puts both corners on H-1 (W-1) and the coordinate on it;
 * - out[r, c, i, j] = mask[r, 0, i, j] * (sum of samples) / count (mask absent: 1; offset absent: 0).
 * Gradients of L = sum(out * gradOutput) are the exact derivatives of that forward: a coordinate that was
 * clamped (set to 0 or to H-1) has derivative 0 along its axis, and outside samples contribute nothing.
 * The RoIs themselves are not differentiated.
 */
import type { RoiPoolGeometry } from '@dcnv2/core';
import type { Values } from './deform-conv2d-f64.js';

export interface RoiPoolTensors {
  /** `[N, C, H, W]` */
  readonly input: Values;
  /** `[R, 5]` = (batch index, x1, y1, x2, y2) */
  readonly rois: Values;
  /** `[R, 2, ph, pw]` (x first), or null for no offset. */
  readonly offset: Values | null;
  /** `[R, 1, ph, pw]`, or null for mask 1. */
  readonly mask: Values | null;
}

/** Gradients of L = sum(output * gradOutput); offset and mask are null where those inputs are. */
export interface RoiPoolGradsF64 {
  readonly input: Float64Array;
  readonly offset: Float64Array | null;
  readonly mask: Float64Array | null;
}

/** Where one RoI lies on the feature map and how its bins are sampled, in float64. */
export interface RoiFrame {
  readonly batchIndex: number;
  readonly startY: number;
  readonly startX: number;
  readonly roiH: number;
  readonly roiW: number;
  readonly binH: number;
  readonly binW: number;
  /** Samples per bin along y and x; <= 0 means none (a degenerate RoI under adaptive sampling). */
  readonly gridH: number;
  readonly gridW: number;
  /** The divisor of every bin's sum: max(gridH * gridW, 1). */
  readonly count: number;
}

/** The frame of RoI `r`. */
export function roiFrame(g: RoiPoolGeometry, rois: Values, r: number): RoiFrame {
  const startX = rois[r * 5 + 1] * g.spatialScale - 0.5;
  const startY = rois[r * 5 + 2] * g.spatialScale - 0.5;
  const roiW = rois[r * 5 + 3] * g.spatialScale - 0.5 - startX;
  const roiH = rois[r * 5 + 4] * g.spatialScale - 0.5 - startY;
  const binH = roiH / g.pooledH;
  const binW = roiW / g.pooledW;
  const gridH = g.samplingRatio > 0 ? g.samplingRatio : Math.ceil(roiH / g.pooledH);
  const gridW = g.samplingRatio > 0 ? g.samplingRatio : Math.ceil(roiW / g.pooledW);
  return { batchIndex: rois[r * 5], startY, startX, roiH, roiW, binH, binW, gridH, gridW, count: Math.max(gridH * gridW, 1) };
}

/** The (y, x) of every sample of bin (i, j) of a RoI whose bins are displaced by (dy, dx), row-major. */
export function binSamplePositions(f: RoiFrame, i: number, j: number, dy: number, dx: number): { y: number; x: number }[] {
  const out: { y: number; x: number }[] = [];
  for (let iy = 0; iy < f.gridH; iy++) {
    const y = f.startY + dy + i * f.binH + ((iy + 0.5) * f.binH) / f.gridH;
    for (let ix = 0; ix < f.gridW; ix++) {
      const x = f.startX + dx + j * f.binW + ((ix + 0.5) * f.binW) / f.gridW;
      out.push({ y, x });
    }
  }
  return out;
}

/**
 * One sample's bilinear stencil after RoIAlign's clamping: the two rows and columns it reads, the four
 * corner weights (in the order [low,low], [low,high], [high,low], [high,high]) and whether each coordinate
 * was clamped, in which case it does not move with the offset and its derivative is 0.
 */
interface Stencil {
  readonly yLow: number;
  readonly yHigh: number;
  readonly xLow: number;
  readonly xHigh: number;
  readonly ly: number;
  readonly lx: number;
  readonly clampedY: boolean;
  readonly clampedX: boolean;
}

/** One axis of a stencil: the two pixels it reads, the fraction towards the high one, whether it was clamped. */
interface AxisStencil {
  readonly low: number;
  readonly high: number;
  readonly frac: number;
  readonly clamped: boolean;
}

/**
 * RoIAlign's clamping of coordinate `c` along an axis of `n` pixels (the caller has checked -1 <= c <= n): at or
 * below 0 it reads pixel 0, from the last pixel on it reads the last pixel twice; both are clamps.
 */
function axisStencil(n: number, c: number): AxisStencil {
  let clamped = false;
  let cc = c;
  if (cc <= 0) {
    cc = 0;
    clamped = true;
  }
  let low = Math.floor(cc);
  let high: number;
  if (low >= n - 1) {
    low = high = n - 1;
    cc = low;
    clamped = true;
  } else {
    high = low + 1;
  }
  return { low, high, frac: cc - low, clamped };
}

/** The stencil of a sample at (y, x) of an H x W plane, or null when the sample is outside (value 0). */
function stencil(H: number, W: number, y: number, x: number): Stencil | null {
  // A NaN position cannot be placed: it reads nothing (its bin is NaN, see nanBins).
  if (Number.isNaN(y) || Number.isNaN(x)) return null;
  if (y < -1 || y > H || x < -1 || x > W) return null;
  const sy = axisStencil(H, y);
  const sx = axisStencil(W, x);
  return { yLow: sy.low, yHigh: sy.high, xLow: sx.low, xHigh: sx.high, ly: sy.frac, lx: sx.frac, clampedY: sy.clamped, clampedX: sx.clamped };
}

/** The four corner values of a stencil in the plane starting at `base`. */
function cornerValues(v: Values, base: number, W: number, s: Stencil): [number, number, number, number] {
  return [v[base + s.yLow * W + s.xLow], v[base + s.yLow * W + s.xHigh], v[base + s.yHigh * W + s.xLow], v[base + s.yHigh * W + s.xHigh]];
}

function cornerWeights(s: Stencil): [number, number, number, number] {
  const hy = 1 - s.ly;
  const hx = 1 - s.lx;
  return [hy * hx, hy * s.lx, s.ly * hx, s.ly * s.lx];
}

function interpolate(v: Values, base: number, W: number, s: Stencil): number {
  const c = cornerValues(v, base, W, s);
  const w = cornerWeights(s);
  return w[0] * c[0] + w[1] * c[1] + w[2] * c[2] + w[3] * c[3];
}

/** One sample's place in the problem: its RoI, bin and position. */
interface RoiSample {
  readonly r: number;
  readonly frame: RoiFrame;
  /** Bin index i * pw + j. */
  readonly bin: number;
  readonly stencil: Stencil | null;
}

/**
 * The displacement (dy, dx) in feature-map pixels of bin `bin` (i * pw + j) of RoI r, whose frame is `f`:
 * offset channel 0 is x, channel 1 is y; (0, 0) without offset.
 */
export function binDisplacement(g: RoiPoolGeometry, offset: Values | null, f: RoiFrame, r: number, bin: number): [number, number] {
  if (offset === null) return [0, 0];
  const bins = g.pooledH * g.pooledW;
  const dx = g.gamma * f.roiW * offset[(r * 2 + 0) * bins + bin];
  const dy = g.gamma * f.roiH * offset[(r * 2 + 1) * bins + bin];
  return [dy, dx];
}

/**
 * Visits every sample of every bin of every RoI once: the single place where RoIs, offsets and sampling
 * positions are decoded, shared by forward and backward.
 */
function forEachSample(g: RoiPoolGeometry, t: RoiPoolTensors, visit: (s: RoiSample) => void): void {
  for (let r = 0; r < g.rois; r++) {
    const frame = roiFrame(g, t.rois, r);
    for (let i = 0; i < g.pooledH; i++) {
      for (let j = 0; j < g.pooledW; j++) {
        const bin = i * g.pooledW + j;
        const [dy, dx] = binDisplacement(g, t.offset, frame, r, bin);
        for (const p of binSamplePositions(frame, i, j, dy, dx)) {
          visit({ r, frame, bin, stencil: stencil(g.inHeight, g.inWidth, p.y, p.x) });
        }
      }
    }
  }
}

/**
 * The bins `r * ph*pw + bin` whose displacement is NaN (a NaN offset, or an infinite one times a zero RoI
 * side) and that have samples: their samples cannot be placed, so they read nothing, and their outputs
 * (every channel), offset gradients and mask gradient are NaN. This is the rule every backend follows:
 * NaN propagates as arithmetic would, never into values that do not depend on it.
 */
function nanBins(g: RoiPoolGeometry, t: RoiPoolTensors): number[] {
  const out: number[] = [];
  if (t.offset === null) return out;
  const bins = g.pooledH * g.pooledW;
  for (let r = 0; r < g.rois; r++) {
    const frame = roiFrame(g, t.rois, r);
    if (frame.gridH <= 0 || frame.gridW <= 0) continue;
    for (let bin = 0; bin < bins; bin++) {
      const [dy, dx] = binDisplacement(g, t.offset, frame, r, bin);
      if (Number.isNaN(dy) || Number.isNaN(dx)) out.push(r * bins + bin);
    }
  }
  return out;
}

/** Sum of the samples of every bin and channel, unmodulated and undivided: `[R, C, ph*pw]`. */
function binSums(g: RoiPoolGeometry, t: RoiPoolTensors): Float64Array {
  const bins = g.pooledH * g.pooledW;
  const plane = g.inHeight * g.inWidth;
  const sums = new Float64Array(g.rois * g.channels * bins);
  forEachSample(g, t, (s) => {
    if (s.stencil === null) return;
    for (let c = 0; c < g.channels; c++) {
      const base = (s.frame.batchIndex * g.channels + c) * plane;
      sums[(s.r * g.channels + c) * bins + s.bin] += interpolate(t.input, base, g.inWidth, s.stencil);
    }
  });
  return sums;
}

/** Forward pass: `[R, C, ph, pw]` in float64. */
export function deformRoiPoolF64(g: RoiPoolGeometry, t: RoiPoolTensors): Float64Array {
  const bins = g.pooledH * g.pooledW;
  const sums = binSums(g, t);
  const out = new Float64Array(sums.length);
  for (let r = 0; r < g.rois; r++) {
    const count = roiFrame(g, t.rois, r).count;
    for (let c = 0; c < g.channels; c++) {
      for (let bin = 0; bin < bins; bin++) {
        const k = (r * g.channels + c) * bins + bin;
        const m = t.mask === null ? 1 : t.mask[r * bins + bin];
        out[k] = (m * sums[k]) / count;
      }
    }
  }
  for (const rb of nanBins(g, t)) {
    const r = Math.floor(rb / bins);
    for (let c = 0; c < g.channels; c++) out[(r * g.channels + c) * bins + (rb % bins)] = NaN;
  }
  return out;
}

/** Backward pass: the gradients of L = sum(output * gradOutput) with respect to input, offset and mask. */
export function deformRoiPoolBackwardF64(g: RoiPoolGeometry, t: RoiPoolTensors, gradOutput: Values): RoiPoolGradsF64 {
  const bins = g.pooledH * g.pooledW;
  const plane = g.inHeight * g.inWidth;
  const gradInput = new Float64Array(g.batch * g.channels * plane);
  const gradOffset = t.offset === null ? null : new Float64Array(g.rois * 2 * bins);
  const gradMask = t.mask === null ? null : new Float64Array(g.rois * bins);

  if (gradMask !== null) {
    // dL/dmask = sum over channels of gradOutput * (sum of samples) / count.
    const sums = binSums(g, t);
    for (let r = 0; r < g.rois; r++) {
      const count = roiFrame(g, t.rois, r).count;
      for (let bin = 0; bin < bins; bin++) {
        let acc = 0;
        for (let c = 0; c < g.channels; c++) acc += gradOutput[(r * g.channels + c) * bins + bin] * sums[(r * g.channels + c) * bins + bin];
        gradMask[r * bins + bin] = acc / count;
      }
    }
  }

  forEachSample(g, t, (s) => {
    const st = s.stencil;
    if (st === null) return;
    const m = t.mask === null ? 1 : t.mask[s.r * bins + s.bin];
    const w = cornerWeights(st);
    const corners = [
      [st.yLow, st.xLow],
      [st.yLow, st.xHigh],
      [st.yHigh, st.xLow],
      [st.yHigh, st.xHigh],
    ] as const;
    let dLdy = 0;
    let dLdx = 0;
    for (let c = 0; c < g.channels; c++) {
      const base = (s.frame.batchIndex * g.channels + c) * plane;
      // dL/d(sample) of this channel: every sample of the bin enters its output with weight m / count.
      const coef = (gradOutput[(s.r * g.channels + c) * bins + s.bin] * m) / s.frame.count;
      for (let k = 0; k < 4; k++) gradInput[base + corners[k][0] * g.inWidth + corners[k][1]] += coef * w[k];
      if (gradOffset === null) continue;
      const [v00, v01, v10, v11] = cornerValues(t.input, base, g.inWidth, st);
      // d(value)/dy and d(value)/dx of the bilinear form; 0 along an axis whose coordinate was clamped.
      if (!st.clampedY) dLdy += coef * ((1 - st.lx) * (v10 - v00) + st.lx * (v11 - v01));
      if (!st.clampedX) dLdx += coef * ((1 - st.ly) * (v01 - v00) + st.ly * (v11 - v10));
    }
    if (gradOffset !== null) {
      // y = ... + gamma * roi_h * offset[r, 1], x = ... + gamma * roi_w * offset[r, 0].
      gradOffset[(s.r * 2 + 0) * bins + s.bin] += g.gamma * s.frame.roiW * dLdx;
      gradOffset[(s.r * 2 + 1) * bins + s.bin] += g.gamma * s.frame.roiH * dLdy;
    }
  });

  // With no channels nothing depends on the bin, so its gradients stay 0.
  if (g.channels > 0) {
    for (const rb of nanBins(g, t)) {
      const r = Math.floor(rb / bins);
      const bin = rb % bins;
      if (gradOffset !== null) gradOffset[(r * 2 + 0) * bins + bin] = gradOffset[(r * 2 + 1) * bins + bin] = NaN;
      if (gradMask !== null) gradMask[rb] = NaN;
    }
  }
  return { input: gradInput, offset: gradOffset, mask: gradMask };
}
