/**
 * Error-bounded saliency region (DCNv2 section 2.1, Figure 1 bottom row): the smallest image region
 * that, with the rest of the image masked, gives the node's response within a relative error bound of
 * its response on the full image, found by progressively masking the image.
 */
import { tensor4d } from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { OptionError } from '../errors.js';
import { imageTensor, NodeResponse, type AnalysisImage, type AnalysisNode } from './common.js';

export interface SaliencyOptions {
  /** The relative error bound ε: a region is good when `|r_masked - r_full| <= ε * |r_full|`. Default 0.05. */
  readonly epsilon?: number;
  /**
   * How pixels are ranked (most important first): 'gradient-input' (default) by `sum_c |g_c * (x_c - b_c)|`,
   * the first-order change of the response when the pixel is replaced by the baseline (g = d r_full / d image,
   * b the baseline); 'gradient' by `sum_c |g_c|`. Ties (for example pixels with zero gradient) go by
   * distance to the centroid of `sum_c |g_c|` (the image centre if the gradient is zero), then row-major.
   */
  readonly ranking?: 'gradient-input' | 'gradient';
  /** What a masked pixel becomes: 'zero' (default), 'mean' (the image's mean, per channel), or a number. */
  readonly baseline?: 'zero' | 'mean' | number;
  /** The coarse step in pixels of the region sizes tried. Default `max(1, ceil(H*W / 256))`. */
  readonly step?: number;
  /** Masked images per forward pass. Default 16. */
  readonly batchSize?: number;
}

export interface SaliencyResult {
  /** H x W, row-major: 1 inside the region (pixels kept), 0 where the baseline replaced the image. */
  readonly mask: Uint8Array;
  /** Pixels in the region. */
  readonly area: number;
  readonly height: number;
  readonly width: number;
  /** The node's response on the masked image. */
  readonly response: number;
  /** The node's response on the full image. */
  readonly fullResponse: number;
  /** `|response - fullResponse|`. */
  readonly absoluteError: number;
  /** `absoluteError / |fullResponse|` (0 when both are 0, Infinity when only fullResponse is). */
  readonly relativeError: number;
  readonly epsilon: number;
  /** Masked images evaluated. */
  readonly evaluations: number;
  /** The pixel ranking, most important first (row-major pixel indices); the region is its first `area` entries. */
  readonly order: Uint32Array;
}

/**
 * The error-bounded saliency region of `node` on `image`. Algorithm: rank the pixels (see `ranking`);
 * the candidate region of size k is the first k pixels of the ranking, every other pixel set to the
 * baseline (all channels). Sizes k = 0, step, 2*step, ..., H*W (the last always included) are evaluated
 * in ascending order, batched; the first k meeting `|r_k - r_full| <= ε * |r_full|` is then refined by
 * evaluating each size between the previous coarse size and it, and the smallest of those meeting the
 * bound is returned. That is the smallest size meeting the bound among those tried; when the error
 * decreases with k (it need not for a non-linear network) it is the smallest prefix of the ranking.
 */
export function errorBoundedSaliency(model: LayersModel, image: AnalysisImage, node: AnalysisNode, options: SaliencyOptions = {}): SaliencyResult {
  const epsilon = options.epsilon ?? 0.05;
  if (typeof epsilon !== 'number' || !Number.isFinite(epsilon) || epsilon < 0) throw new OptionError(`epsilon: expected a finite number >= 0, got ${String(epsilon)}`);
  const ranking = options.ranking ?? 'gradient-input';
  if (ranking !== 'gradient-input' && ranking !== 'gradient') throw new OptionError(`ranking: expected 'gradient-input' or 'gradient', got ${String(ranking)}`);
  const batchSize = options.batchSize ?? 16;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new OptionError(`batchSize: expected a positive integer, got ${batchSize}`);
  const img = imageTensor(image);
  try {
    const [, height, width, channels] = img.shape;
    const n = height * width;
    const step = options.step ?? Math.max(1, Math.ceil(n / 256));
    if (!Number.isInteger(step) || step < 1) throw new OptionError(`step: expected a positive integer, got ${step}`);
    const x = img.dataSync() as Float32Array;
    const base = baselineOf(options.baseline ?? 'zero', x, channels);

    const nr = new NodeResponse(model, node);
    const { gradient } = nr.gradient(img);
    const fullResponse = nr.batch(img)[0]!;
    const order = rank(gradient, x, base, height, width, channels, ranking);

    let evaluations = 0;
    const bound = epsilon * Math.abs(fullResponse);
    /** Responses for region sizes `ks`, in order; stops after the first batch with a size meeting the bound. */
    const firstMeeting = (ks: number[]): { k: number; r: number } | null => {
      for (let start = 0; start < ks.length; start += batchSize) {
        const part = ks.slice(start, start + batchSize);
        const data = new Float32Array(part.length * n * channels);
        part.forEach((k, b) => {
          const o = b * n * channels;
          for (let p = 0; p < n; p++) for (let c = 0; c < channels; c++) data[o + p * channels + c] = base[c]!;
          for (let q = 0; q < k; q++) {
            const p = order[q]!;
            for (let c = 0; c < channels; c++) data[o + p * channels + c] = x[p * channels + c]!;
          }
        });
        const t = tensor4d(data, [part.length, height, width, channels]);
        let rs: Float32Array;
        try {
          rs = nr.batch(t);
        } finally {
          t.dispose();
        }
        evaluations += part.length;
        for (let b = 0; b < part.length; b++) if (Math.abs(rs[b]! - fullResponse) <= bound) return { k: part[b]!, r: rs[b]! };
      }
      return null;
    };

    const coarse: number[] = [];
    for (let k = 0; k < n; k += step) coarse.push(k);
    coarse.push(n);
    let best = firstMeeting(coarse) ?? { k: n, r: fullResponse };
    if (step > 1 && best.k > 0) {
      const fine: number[] = [];
      for (let k = Math.max(0, best.k - step + 1); k < best.k; k++) fine.push(k);
      best = firstMeeting(fine) ?? best;
    }
    const mask = new Uint8Array(n);
    for (let q = 0; q < best.k; q++) mask[order[q]!] = 1;
    const absoluteError = Math.abs(best.r - fullResponse);
    const relativeError = absoluteError === 0 ? 0 : absoluteError / Math.abs(fullResponse);
    return { mask, area: best.k, height, width, response: best.r, fullResponse, absoluteError, relativeError, epsilon, evaluations, order };
  } finally {
    img.dispose();
  }
}

function baselineOf(b: 'zero' | 'mean' | number, x: Float32Array, channels: number): Float64Array {
  const out = new Float64Array(channels);
  if (b === 'zero') return out;
  if (typeof b === 'number') {
    if (!Number.isFinite(b)) throw new OptionError(`baseline: expected 'zero', 'mean' or a finite number, got ${b}`);
    return out.fill(b);
  }
  if (b !== 'mean') throw new OptionError(`baseline: expected 'zero', 'mean' or a finite number, got ${String(b)}`);
  const n = x.length / channels;
  for (let p = 0; p < n; p++) for (let c = 0; c < channels; c++) out[c] += x[p * channels + c]!;
  for (let c = 0; c < channels; c++) out[c] = Math.fround(out[c]! / n);
  return out;
}

function rank(g: Float32Array, x: Float32Array, base: Float64Array, h: number, w: number, channels: number, ranking: 'gradient-input' | 'gradient'): Uint32Array {
  const n = h * w;
  const score = new Float64Array(n);
  let total = 0;
  let cy = 0;
  let cx = 0;
  for (let p = 0; p < n; p++) {
    let s = 0;
    let a = 0;
    for (let c = 0; c < channels; c++) {
      const gv = Math.abs(g[p * channels + c]!);
      a += gv;
      s += ranking === 'gradient' ? gv : gv * Math.abs(x[p * channels + c]! - base[c]!);
    }
    score[p] = s;
    total += a;
    cy += a * Math.floor(p / w);
    cx += a * (p % w);
  }
  if (total > 0) {
    cy /= total;
    cx /= total;
  } else {
    cy = (h - 1) / 2;
    cx = (w - 1) / 2;
  }
  const dist = (p: number) => (Math.floor(p / w) - cy) ** 2 + ((p % w) - cx) ** 2;
  const idx = Array.from({ length: n }, (_, p) => p);
  idx.sort((a, b) => score[b]! - score[a]! || dist(a) - dist(b) || a - b);
  return Uint32Array.from(idx);
}
