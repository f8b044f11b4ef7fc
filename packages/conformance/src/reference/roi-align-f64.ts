/**
 * torchvision `roi_align(input, rois, output_size, spatial_scale, sampling_ratio, aligned=True)` in float64,
 * written from torchvision's definition and deliberately independent of `deform-roi-pool-f64.ts`: it is
 * what the properties suite holds deformable RoI pooling without offset and mask to ("no offset and no
 * mask is RoIAlign aligned=True"), so sharing code with the deformable oracle would let one bug hide in
 * both. It follows torchvision's CPU kernel structure instead: the bilinear stencils of a bin's sampling
 * grid are precomputed once per RoI ("pre_calc") and then applied to every channel.
 *
 * torchvision's definition (aligned=True: a half-pixel shift, and no minimum RoI size of 1):
 *   roi_start = coord * spatial_scale - 0.5, roi_size = (end - start), bin = roi_size / pooled
 *   grid = sampling_ratio > 0 ? sampling_ratio : ceil(roi_size / pooled); count = max(grid_h*grid_w, 1)
 *   output = (sum over the grid of bilinear(y, x)) / count, with
 *   bilinear: 0 when y < -1 || y > H || x < -1 || x > W; y = max(y, 0); y_low = (int) y; if y_low >= H-1,
 *   y_low = y_high = H-1 and y = y_low, else y_high = y_low + 1 (likewise x); then the four-corner blend.
 */
import type { Values } from './deform-conv2d-f64.js';

export interface RoiAlignParams {
  readonly batch: number;
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  readonly pooledH: number;
  readonly pooledW: number;
  readonly spatialScale: number;
  readonly samplingRatio: number;
}

/** One precomputed sample: four flat pixel offsets within a plane and their weights (all 0 outside). */
interface PreCalc {
  readonly pos: [number, number, number, number];
  readonly w: [number, number, number, number];
}

const OUTSIDE: PreCalc = { pos: [0, 0, 0, 0], w: [0, 0, 0, 0] };

/** torchvision's bilinear_interpolate, reduced to where it reads and with what weights. */
function preCalc(height: number, width: number, yIn: number, xIn: number): PreCalc {
  if (yIn < -1.0 || yIn > height || xIn < -1.0 || xIn > width) return OUTSIDE;
  let y = Math.max(yIn, 0);
  let x = Math.max(xIn, 0);
  let yLow = Math.trunc(y);
  let xLow = Math.trunc(x);
  let yHigh = yLow + 1;
  let xHigh = xLow + 1;
  if (yLow >= height - 1) {
    yHigh = yLow = height - 1;
    y = yLow;
  }
  if (xLow >= width - 1) {
    xHigh = xLow = width - 1;
    x = xLow;
  }
  const ly = y - yLow;
  const lx = x - xLow;
  const hy = 1 - ly;
  const hx = 1 - lx;
  return {
    pos: [yLow * width + xLow, yLow * width + xHigh, yHigh * width + xLow, yHigh * width + xHigh],
    w: [hy * hx, hy * lx, ly * hx, ly * lx],
  };
}

interface RoiPlan {
  readonly batchIndex: number;
  readonly count: number;
  /** Per bin (row-major), the stencils of its sampling grid. */
  readonly bins: PreCalc[][];
}

function planRoi(p: RoiAlignParams, rois: Values, r: number): RoiPlan {
  const roi = Array.from({ length: 5 }, (_, k) => rois[r * 5 + k]);
  const offset = 0.5; // aligned=True
  const roiStartW = roi[1] * p.spatialScale - offset;
  const roiStartH = roi[2] * p.spatialScale - offset;
  const roiEndW = roi[3] * p.spatialScale - offset;
  const roiEndH = roi[4] * p.spatialScale - offset;
  const roiWidth = roiEndW - roiStartW;
  const roiHeight = roiEndH - roiStartH;
  const binSizeH = roiHeight / p.pooledH;
  const binSizeW = roiWidth / p.pooledW;
  const gridH = p.samplingRatio > 0 ? p.samplingRatio : Math.ceil(roiHeight / p.pooledH);
  const gridW = p.samplingRatio > 0 ? p.samplingRatio : Math.ceil(roiWidth / p.pooledW);
  const bins: PreCalc[][] = [];
  for (let ph = 0; ph < p.pooledH; ph++) {
    for (let pw = 0; pw < p.pooledW; pw++) {
      const grid: PreCalc[] = [];
      for (let iy = 0; iy < gridH; iy++) {
        const y = roiStartH + ph * binSizeH + ((iy + 0.5) * binSizeH) / gridH;
        for (let ix = 0; ix < gridW; ix++) {
          const x = roiStartW + pw * binSizeW + ((ix + 0.5) * binSizeW) / gridW;
          grid.push(preCalc(p.height, p.width, y, x));
        }
      }
      bins.push(grid);
    }
  }
  return { batchIndex: roi[0], count: Math.max(gridH * gridW, 1), bins };
}

/** RoIAlign forward, `[R, C, ph, pw]`. */
export function roiAlignF64(p: RoiAlignParams, input: Values, rois: Values): Float64Array {
  const R = rois.length / 5;
  const nBins = p.pooledH * p.pooledW;
  const plane = p.height * p.width;
  const out = new Float64Array(R * p.channels * nBins);
  for (let r = 0; r < R; r++) {
    const plan = planRoi(p, rois, r);
    for (let c = 0; c < p.channels; c++) {
      const base = (plan.batchIndex * p.channels + c) * plane;
      for (let b = 0; b < nBins; b++) {
        let acc = 0;
        for (const s of plan.bins[b]) {
          acc += s.w[0] * input[base + s.pos[0]] + s.w[1] * input[base + s.pos[1]] + s.w[2] * input[base + s.pos[2]] + s.w[3] * input[base + s.pos[3]];
        }
        out[(r * p.channels + c) * nBins + b] = acc / plan.count;
      }
    }
  }
  return out;
}

/** RoIAlign backward with respect to the input (torchvision's roi_align_backward): `[N, C, H, W]`. */
export function roiAlignBackwardF64(p: RoiAlignParams, rois: Values, gradOutput: Values): Float64Array {
  const R = rois.length / 5;
  const nBins = p.pooledH * p.pooledW;
  const plane = p.height * p.width;
  const grad = new Float64Array(p.batch * p.channels * plane);
  for (let r = 0; r < R; r++) {
    const plan = planRoi(p, rois, r);
    for (let c = 0; c < p.channels; c++) {
      const base = (plan.batchIndex * p.channels + c) * plane;
      for (let b = 0; b < nBins; b++) {
        const go = gradOutput[(r * p.channels + c) * nBins + b] / plan.count;
        for (const s of plan.bins[b]) for (let k = 0; k < 4; k++) grad[base + s.pos[k]] += go * s.w[k];
      }
    }
  }
  return grad;
}
