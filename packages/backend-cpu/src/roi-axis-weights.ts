/**
 * One axis of one RoI bin: which pixel rows (or columns) its samples read, and with what summed weights.
 *
 * A bin's samples form a grid: sample (iy, ix) has y depending on iy only and x on ix only, and its
 * bilinear weights are a product (y weight) * (x weight), with the clamps applied per axis. So the sum of
 * all its samples is sum over rows and columns of Wy[row] * Wx[col] * I[row, col], where Wy[row] sums the
 * y weights (hy or ly) of every sample that reads that row. Likewise the sum of dv/dy over the samples is
 * sum Dy[row] * Wx[col] * I[row, col] with Dy[row] summing -1 (low row) and +1 (high row) per sample whose
 * y was not clamped. Summing per axis first merges the many samples that share rows and columns (adaptive
 * grids space samples about one pixel apart, so a row is read by two samples).
 *
 * Rules per coordinate p along an axis of `extent` pixels (RoIAlign / mmcv bilinear_interpolate):
 * - p < -1 or p > extent: outside, the sample is 0 (it is not gathered at all);
 * - p <= 0 becomes 0 and its derivative is 0;
 * - floor(p) >= extent - 1 puts both pixels and p on extent - 1, derivative 0;
 * - else low = floor(p), high = low + 1, weights 1 - (p - low) and p - low.
 * A pixel read with weight 0 (a clamped sample's high pixel) is still listed, so a NaN or infinite value
 * there poisons the sum exactly as the reference's 0 * NaN does.
 */
export class AxisWeights {
  /** Summed bilinear weight of each pixel (valid for pixels in `touched`). */
  readonly weight: Float64Array;
  /** Summed derivative factor (-1 low, +1 high, 0 when clamped) of each pixel. */
  readonly deriv: Float64Array;
  /** Pixels read by the current bin, in first-read order; `count` of them. */
  readonly touched: Int32Array;
  count = 0;
  /** stamp[p] === #id: pixel p is already in `touched` for the current gather (no clearing per bin). */
  readonly #stamp: Int32Array;
  #id = 0;

  constructor(readonly extent: number) {
    this.weight = new Float64Array(extent);
    this.deriv = new Float64Array(extent);
    this.touched = new Int32Array(extent);
    this.#stamp = new Int32Array(extent).fill(-1);
  }

  /**
   * Gathers the samples base + ((t + 0.5) * size) / grid, t in [0, grid), evaluated in that order so every
   * clamp decision matches the reference's float64 arithmetic. `base` is finite or infinite, never NaN.
   * Only indices that can lie in [-1, extent] are visited, so a huge grid costs what touches the image.
   */
  gather(base: number, size: number, grid: number): void {
    if (++this.#id === 0x40000000) {
      this.#stamp.fill(-1);
      this.#id = 0;
    }
    this.count = 0;
    const extent = this.extent;
    const [lo, hi] = candidateRange(base, size, grid, extent);
    for (let t = lo; t <= hi; t++) {
      let p = base + ((t + 0.5) * size) / grid;
      if (p < -1 || p > extent) continue;
      let act = 1;
      if (p <= 0) {
        p = 0;
        act = 0;
      }
      let low = Math.floor(p);
      let high: number;
      if (low >= extent - 1) {
        low = high = extent - 1;
        p = low;
        act = 0;
      } else {
        high = low + 1;
      }
      const l = p - low;
      this.#add(low, 1 - l, -act);
      this.#add(high, l, act);
    }
  }

  #add(pixel: number, w: number, d: number): void {
    if (this.#stamp[pixel] !== this.#id) {
      this.#stamp[pixel] = this.#id;
      this.weight[pixel] = 0;
      this.deriv[pixel] = 0;
      this.touched[this.count++] = pixel;
    }
    this.weight[pixel] += w;
    this.deriv[pixel] += d;
  }
}

/**
 * Sample indices t in [0, n) whose coordinate base + ((t + 0.5) * size) / n may lie in [-1, limit]: the
 * exact interval widened by one index each side so that rounding cannot drop a sample (the caller tests
 * each coordinate exactly). An infinite `base` gives an empty range.
 */
function candidateRange(base: number, size: number, n: number, limit: number): [number, number] {
  const step = size / n;
  // A zero step puts every sample on `base`: all are candidates and the exact test keeps all or none.
  if (step === 0) return [0, n - 1];
  let a = (-1 - base) / step - 0.5;
  let b = (limit - base) / step - 0.5;
  if (step < 0) [a, b] = [b, a];
  return [Math.max(0, Math.floor(a) - 1), Math.min(n - 1, Math.ceil(b) + 1)];
}
