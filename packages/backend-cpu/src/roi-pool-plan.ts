/**
 * The sampling plan of modulated deformable RoI pooling: for one RoI, every bin's samples are reduced ONCE
 * to a list of (pixel, weight) entries, plus (backward) the weights of the derivatives along y and x;
 * then every channel walks the same list and only reads memory and multiplies.
 *
 * Semantics (shared/reference/gen_deform_roi_pool.py, mmcv's deformable RoI pooling times a per-bin mask):
 * - start = (x1, y1) * spatialScale - 0.5, end likewise; roi = end - start; bin = roi / pooled size;
 * - grid = samplingRatio if > 0 else ceil(roi_h / ph) (likewise w); count = max(gridH * gridW, 1);
 * - bin (i, j) moves by (gamma * roi_w * offset[r,0,i,j], gamma * roi_h * offset[r,1,i,j]) (x first);
 * - y = start_y + dy + i*bin_h + (iy + 0.5) * bin_h / grid_h (likewise x), in the reference's order in
 *   float64, so every clamp decision falls where the reference's does;
 * - samples are read with RoIAlign's clamping bilinear rule (roi-axis-weights.ts).
 *
 * A bin's samples form a grid whose bilinear weights factor into a y part and an x part, so the bin's
 * entries are the outer product of the rows it reads (with summed y weights) and the columns it reads
 * (with summed x weights): at most (2 gridH) x (2 gridW) entries, far fewer when samples share pixels.
 * The entry for (row, col) has weight Wy[row]*Wx[col] (value), Dy[row]*Wx[col] (d/dy) and
 * Wy[row]*Dx[col] (d/dx). Samples outside the image are not listed: they contribute nothing.
 *
 * Memory is bounded by the plan's capacity, not by the RoI: a RoI whose entries do not fit is cut into
 * several chunks. A chunk is a list of segments, each a run of entries of one bin; a bin cut by a chunk
 * boundary continues in the next chunk (flags FIRST and LAST say which part a segment is), and the
 * kernels carry that bin's partial sums across.
 *
 * A NaN offset makes a NaN coordinate, which has no pixels to read: its bin is flagged POISONED (no
 * entries) and the kernels write NaN for its output, grad_offset and grad_mask; grad_input gets nothing.
 */
import type { RoiPoolGeometry } from '@dcnv2/core';
import { AxisWeights } from './roi-axis-weights.js';

/** The segment holds its bin's first entries (the bin's partial sums start from 0). */
export const SEG_FIRST = 1;
/** The segment holds its bin's last entries (the bin is complete: write its results). */
export const SEG_LAST = 2;
/** The bin has a NaN sampling coordinate: its results are NaN. */
export const SEG_POISONED = 4;

/** Bytes per plan slot: pixel index 4 + weight 8 + segment 9 (forward); + two derivative weights 16 (backward). */
export const ROI_SLOT_BYTES_FORWARD = 21;
export const ROI_SLOT_BYTES_BACKWARD = 37;

/** Where one RoI lies on the feature map and how its bins are sampled, all in float64. */
export interface RoiFrame {
  readonly batchIndex: number;
  readonly startX: number;
  readonly startY: number;
  readonly roiW: number;
  readonly roiH: number;
  readonly binW: number;
  readonly binH: number;
  /** Samples per bin along y and x; <= 0 means none (a degenerate RoI under adaptive sampling). */
  readonly gridH: number;
  readonly gridW: number;
  /** Divisor of every bin's sum: max(gridH * gridW, 1). */
  readonly count: number;
}

/** The frame of RoI `r` (rois is `[R, 5]`, validated by core: integer batch index, finite coordinates). */
export function roiFrame(g: RoiPoolGeometry, rois: Float32Array, r: number): RoiFrame {
  const o = r * 5;
  const s = g.spatialScale;
  const startX = rois[o + 1] * s - 0.5;
  const startY = rois[o + 2] * s - 0.5;
  const roiW = rois[o + 3] * s - 0.5 - startX;
  const roiH = rois[o + 4] * s - 0.5 - startY;
  const binW = roiW / g.pooledW;
  const binH = roiH / g.pooledH;
  const gridH = g.samplingRatio > 0 ? g.samplingRatio : Math.ceil(roiH / g.pooledH);
  const gridW = g.samplingRatio > 0 ? g.samplingRatio : Math.ceil(roiW / g.pooledW);
  return { batchIndex: rois[o], startX, startY, roiW, roiH, binW, binH, gridH, gridW, count: Math.max(gridH * gridW, 1) };
}

/** Fixed-capacity buffers of one chunk of a RoI's plan. */
export class RoiPoolPlan {
  /** Flat in-channel pixel index row * W + col of each entry. */
  readonly index: Int32Array;
  /** Weight of the pixel in the bin's sum of samples. */
  readonly w: Float64Array;
  /** Backward only: weights of the pixel in the bin's sums of dv/dy and dv/dx over its samples. */
  readonly wy: Float64Array;
  readonly wx: Float64Array;
  /** Bin (flat i*pw + j) of each segment. */
  readonly segBin: Int32Array;
  /** Segment s holds entries [segEnd[s-1] (0 for s = 0), segEnd[s]). */
  readonly segEnd: Int32Array;
  /** SEG_FIRST | SEG_LAST | SEG_POISONED. */
  readonly segFlags: Uint8Array;
  /** Entries and segments filled in the current chunk. */
  entries = 0;
  segments = 0;
  /**
   * Every segment of the current chunk is a whole bin (FIRST and LAST) and none is poisoned: the usual
   * case, where a RoI fits one chunk, for which the kernels have a path without partial sums.
   */
  wholeBins = true;

  constructor(
    /** Most entries per chunk. */
    readonly capacity: number,
    /** Most segments per chunk. */
    readonly segmentCapacity: number,
    readonly backward: boolean,
  ) {
    this.index = new Int32Array(capacity);
    this.w = new Float64Array(capacity);
    this.wy = new Float64Array(backward ? capacity : 0);
    this.wx = new Float64Array(backward ? capacity : 0);
    this.segBin = new Int32Array(segmentCapacity);
    this.segEnd = new Int32Array(segmentCapacity);
    this.segFlags = new Uint8Array(segmentCapacity);
  }
}

/**
 * Most pixels a bin reads along one axis: each sample reads two, and the samples lie within one bin length
 * L, so they span at most ceil(L) + 2 pixels (one more absorbs rounding at the far end).
 */
function axisReach(extent: number, grid: number, binSize: number): number {
  return Math.min(extent, 2 * grid, Math.ceil(Math.abs(binSize)) + 3);
}

/**
 * Sizes a plan for a call: as many entries as the largest RoI can need, but no more than the workspace
 * allows, and at least one entry and one segment. (The estimate only sizes the buffers: a RoI that needs
 * more is cut into chunks.)
 */
export function createRoiPoolPlan(g: RoiPoolGeometry, rois: Float32Array, workspaceBytes: number, backward: boolean): RoiPoolPlan {
  const bins = g.pooledH * g.pooledW;
  let need = 0;
  for (let r = 0; r < g.rois; r++) {
    const f = roiFrame(g, rois, r);
    if (f.gridH > 0 && f.gridW > 0) need = Math.max(need, bins * axisReach(g.inHeight, f.gridH, f.binH) * axisReach(g.inWidth, f.gridW, f.binW));
  }
  const budget = Math.max(1, Math.floor(workspaceBytes / (backward ? ROI_SLOT_BYTES_BACKWARD : ROI_SLOT_BYTES_FORWARD)));
  return new RoiPoolPlan(Math.max(1, Math.min(need, budget)), Math.max(1, Math.min(bins, budget)), backward);
}

/**
 * Walks one RoI bin by bin and fills a plan chunk by chunk with each bin's (row, column) entries. The walk
 * can stop anywhere (the plan is full) and resume there with the next `fill`.
 */
export class RoiPlanBuilder {
  readonly #g: RoiPoolGeometry;
  readonly #offset: Float32Array | null;
  readonly #rows: AxisWeights;
  readonly #cols: AxisWeights;
  #frame!: RoiFrame;
  #roi = 0;
  /** Walk position: current bin, whether it is open, and the next (row, column) pair of its entries. */
  #bin = 0;
  #inBin = false;
  #ri = 0;
  #ci = 0;
  #poisoned = false;

  constructor(g: RoiPoolGeometry, offset: Float32Array | null) {
    this.#g = g;
    this.#offset = offset;
    this.#rows = new AxisWeights(g.inHeight);
    this.#cols = new AxisWeights(g.inWidth);
  }

  /** Starts RoI `r`; the next `fill` returns its first chunk. */
  begin(rois: Float32Array, r: number): RoiFrame {
    this.#roi = r;
    this.#frame = roiFrame(this.#g, rois, r);
    this.#bin = 0;
    this.#inBin = false;
    return this.#frame;
  }

  /** Fills `plan` with the next chunk of the RoI; returns true when that chunk is the RoI's last. */
  fill(plan: RoiPoolPlan): boolean {
    const W = this.#g.inWidth;
    const bins = this.#g.pooledH * this.#g.pooledW;
    const { index, w, wy, wx, segBin, segEnd, segFlags, capacity, backward } = plan;
    const rows = this.#rows;
    const cols = this.#cols;
    let e = 0;
    let s = 0;
    let whole = true;
    while (this.#bin < bins && s < plan.segmentCapacity) {
      let flags = 0;
      if (!this.#inBin) {
        this.#openBin();
        flags = SEG_FIRST;
      }
      if (this.#poisoned) flags |= SEG_POISONED;
      segBin[s] = this.#bin;
      let full = false;
      for (; this.#ri < rows.count; this.#ri++, this.#ci = 0) {
        const row = rows.touched[this.#ri];
        const rw = rows.weight[row];
        const rd = rows.deriv[row];
        const rowBase = row * W;
        for (; this.#ci < cols.count; this.#ci++) {
          if (e === capacity) {
            full = true;
            break;
          }
          const col = cols.touched[this.#ci];
          index[e] = rowBase + col;
          w[e] = rw * cols.weight[col];
          if (backward) {
            wy[e] = rd * cols.weight[col];
            wx[e] = rw * cols.deriv[col];
          }
          e++;
        }
        if (full) break;
      }
      segEnd[s] = e;
      if (full) {
        segFlags[s++] = flags;
        whole = false;
        break;
      }
      if (flags !== SEG_FIRST) whole = false;
      segFlags[s++] = flags | SEG_LAST;
      this.#inBin = false;
      this.#bin++;
    }
    plan.entries = e;
    plan.segments = s;
    plan.wholeBins = whole;
    return this.#bin === bins;
  }

  /** Enters bin #bin: its displaced grid origin, the rows and columns its samples read. */
  #openBin(): void {
    const g = this.#g;
    const f = this.#frame;
    const b = this.#bin;
    const i = Math.floor(b / g.pooledW);
    const j = b - i * g.pooledW;
    // Reference order: y0 = start_y + gamma*roi_h*off; y = y0 + i*bin_h + (iy+0.5)*bin_h/grid_h.
    let y0 = f.startY;
    let x0 = f.startX;
    const off = this.#offset;
    if (off !== null) {
      const o = (this.#roi * 2 * g.pooledH + i) * g.pooledW + j;
      x0 = x0 + g.gamma * f.roiW * off[o];
      y0 = y0 + g.gamma * f.roiH * off[o + g.pooledH * g.pooledW];
    }
    const baseY = y0 + i * f.binH;
    const baseX = x0 + j * f.binW;
    this.#inBin = true;
    this.#ri = 0;
    this.#ci = 0;
    const empty = f.gridH <= 0 || f.gridW <= 0;
    this.#poisoned = !empty && (Number.isNaN(baseY) || Number.isNaN(baseX));
    if (empty || this.#poisoned) {
      this.#rows.count = 0;
      this.#cols.count = 0;
      return;
    }
    this.#rows.gather(baseY, f.binH, f.gridH);
    this.#cols.gather(baseX, f.binW, f.gridW);
  }
}
