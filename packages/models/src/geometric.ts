/**
 * The "geometric" variant of an image set, where deformation matters: each item is scaled by a random
 * factor (uniform in [0.6, 1.6) by default), resampled bilinearly, and placed at a random position fully
 * inside a larger square canvas (64×64 by default) of zeros. Platform-free.
 *
 * Item `index` under `seed` depends on (seed, index) only, never on batch size, order or process: its
 * random stream is `new Rng(deriveSeed(seed, index))`, from which the scale, then x, then y are drawn.
 * Only exact IEEE float64 operations (+, −, ×, ÷, floor) go into a pixel, so the bytes are the same on
 * every platform.
 *
 * Geometry, in canvas pixels with pixel (X, Y) covering [X, X+1) × [Y, Y+1) and its centre at
 * (X + ½, Y + ½): the item's h×w source becomes the box [x, x + s·w) × [y, y + s·h), with
 * 0 ≤ x ≤ canvas − s·w and 0 ≤ y ≤ canvas − s·h. A canvas pixel whose centre lies in the box takes the
 * source's bilinear interpolation at u = (X + ½ − x)/s − ½, v = (Y + ½ − y)/s − ½ (source pixel
 * centres at integers, clamped to the source's edge pixels, as `tf.image.resizeBilinear` with
 * half-pixel centres does); every other pixel is 0. So nothing of the item is ever cut off by the canvas,
 * and nothing lies outside its recorded box. No antialiasing when shrinking (as in tfjs's resize).
 */
import { OptionError } from './errors.js';
import type { ImageSet } from './fashion-mnist.js';
import { Rng, checkSeed, deriveSeed } from './rng.js';

export const GEOMETRIC_DEFAULT_CANVAS = 64;
export const GEOMETRIC_DEFAULT_SCALE: readonly [number, number] = Object.freeze([0.6, 1.6]) as readonly [number, number];

export interface GeometricOptions {
  /** uint32 seed; item `index` depends on (seed, index) only. */
  readonly seed: number;
  /** Side of the square canvas in pixels. Default 64. */
  readonly canvas?: number;
  /** Range [lo, hi) of the uniform scale factor. Default [0.6, 1.6]; lo = hi gives a fixed scale. */
  readonly scale?: readonly [number, number];
}

/** Where and how large an item was placed: its box [x, x + width) × [y, y + height) in canvas pixels. */
export interface GeometricPlacement {
  readonly scale: number;
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface GeometricItem {
  readonly index: number;
  /** canvas × canvas, row-major, float32. */
  readonly image: Float32Array;
  readonly label: number;
  readonly placement: GeometricPlacement;
}

/** Per-item placements of a batch or set, one entry per item. */
export interface GeometricPlacements {
  readonly scale: Float64Array;
  readonly x: Float64Array;
  readonly y: Float64Array;
  readonly width: Float64Array;
  readonly height: Float64Array;
}

export interface GeometricBatch {
  /** Number of items in this batch (the last one may be short). */
  readonly count: number;
  readonly canvas: number;
  /** count × canvas × canvas, row-major (NHWC with C = 1). */
  readonly images: Float32Array;
  readonly labels: Uint8Array;
  /** The source index of each item. */
  readonly indices: Uint32Array;
  readonly placements: GeometricPlacements;
}

export interface GeometricBatchOptions extends GeometricOptions {
  readonly source: ImageSet;
  /** Items per batch (the last batch holds the rest). */
  readonly batchSize: number;
  /**
   * The source indices to generate, in order (e.g. a `permutation` per epoch). Default: `start` to `end`.
   * Items do not depend on this order.
   */
  readonly indices?: ArrayLike<number>;
  /** First index, when `indices` is not given. Default 0. */
  readonly start?: number;
  /** One past the last index, when `indices` is not given. Default `source.count`. */
  readonly end?: number;
}

interface Resolved {
  readonly seed: number;
  readonly canvas: number;
  readonly lo: number;
  readonly hi: number;
}

function resolve(options: GeometricOptions, itemHeight: number, itemWidth: number): Resolved {
  if (options === null || typeof options !== 'object') throw new OptionError('geometric options must be an object with a seed');
  const seed = checkSeed(options.seed);
  const canvas = options.canvas ?? GEOMETRIC_DEFAULT_CANVAS;
  if (!Number.isInteger(canvas) || canvas < 1 || canvas > 4096) {
    throw new OptionError(`canvas must be an integer in [1, 4096], got ${String(canvas)}`);
  }
  const range = options.scale ?? GEOMETRIC_DEFAULT_SCALE;
  if (!Array.isArray(range) || range.length !== 2) throw new OptionError('scale must be a pair [lo, hi]');
  const [lo, hi] = range as readonly [number, number];
  if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo > 0 && lo <= hi)) {
    throw new OptionError(`scale must be [lo, hi] with 0 < lo <= hi, got [${String(lo)}, ${String(hi)}]`);
  }
  if (hi * Math.max(itemHeight, itemWidth) > canvas) {
    throw new OptionError(
      `an item of ${itemHeight}x${itemWidth} scaled by up to ${hi} does not fit a ${canvas}x${canvas} canvas`,
    );
  }
  return { seed, canvas, lo, hi };
}

function checkSource(source: ImageSet): void {
  const { images, labels, count, height, width } = source;
  if (!(images instanceof Float32Array) || !(labels instanceof Uint8Array)) {
    throw new OptionError('source must have images: Float32Array and labels: Uint8Array');
  }
  if (![count, height, width].every((v) => Number.isInteger(v) && v >= 0) || height < 1 || width < 1) {
    throw new OptionError(`source count, height and width must be integers (height, width >= 1), got ${count}, ${height}, ${width}`);
  }
  if (images.length !== count * height * width || labels.length < count) {
    throw new OptionError(
      `source holds ${images.length} pixels and ${labels.length} labels, expected ${count}x${height}x${width} and ${count}`,
    );
  }
}

function checkIndex(index: number, count: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= count) {
    throw new OptionError(`index must be an integer in [0, ${count}), got ${String(index)}`);
  }
}

function place(r: Resolved, index: number, itemHeight: number, itemWidth: number): GeometricPlacement {
  const rng = new Rng(deriveSeed(r.seed, index));
  const scale = rng.uniform(r.lo, r.hi);
  const width = scale * itemWidth;
  const height = scale * itemHeight;
  const x = (r.canvas - width) * rng.next();
  const y = (r.canvas - height) * rng.next();
  return { scale, x, y, width, height };
}

/**
 * The placement of item `index` of a set of `itemHeight`×`itemWidth` images, without rendering it
 * (cheap: a few random draws).
 */
export function geometricPlacement(
  index: number,
  options: GeometricOptions,
  itemHeight: number,
  itemWidth: number = itemHeight,
): GeometricPlacement {
  if (!Number.isInteger(itemHeight) || !Number.isInteger(itemWidth) || itemHeight < 1 || itemWidth < 1) {
    throw new OptionError(`item size must be positive integers, got ${itemHeight}x${itemWidth}`);
  }
  checkSeed(index, 'index');
  return place(resolve(options, itemHeight, itemWidth), index, itemHeight, itemWidth);
}

/** Source column (or row) and weight for each canvas column: i0 = -1 where the centre is outside the box. */
function axisTaps(canvas: number, start: number, extent: number, scale: number, size: number) {
  const i0 = new Int32Array(canvas);
  const f = new Float64Array(canvas);
  for (let X = 0; X < canvas; X++) {
    const c = X + 0.5;
    if (c < start || c >= start + extent) {
      i0[X] = -1;
      continue;
    }
    let u = (c - start) / scale - 0.5;
    if (u < 0) u = 0;
    else if (u > size - 1) u = size - 1;
    const i = Math.floor(u);
    i0[X] = i;
    f[X] = u - i;
  }
  return { i0, f };
}

/**
 * Renders one `h`×`w` image (`src` from `srcOffset`) at `placement` into a zeroed canvas×canvas region of
 * `out` from `outOffset`.
 */
export function renderPlaced(
  src: Float32Array,
  srcOffset: number,
  h: number,
  w: number,
  placement: GeometricPlacement,
  canvas: number,
  out: Float32Array,
  outOffset: number,
): void {
  const { scale, x, y, width, height } = placement;
  const cols = axisTaps(canvas, x, width, scale, w);
  const rows = axisTaps(canvas, y, height, scale, h);
  for (let Y = 0; Y < canvas; Y++) {
    const r0 = rows.i0[Y];
    if (r0 < 0) continue;
    const fy = rows.f[Y];
    const rowA = srcOffset + r0 * w;
    const rowB = srcOffset + Math.min(r0 + 1, h - 1) * w;
    const o = outOffset + Y * canvas;
    for (let X = 0; X < canvas; X++) {
      const c0 = cols.i0[X];
      if (c0 < 0) continue;
      const fx = cols.f[X];
      const c1 = Math.min(c0 + 1, w - 1);
      const top = (1 - fx) * src[rowA + c0] + fx * src[rowA + c1];
      const bottom = (1 - fx) * src[rowB + c0] + fx * src[rowB + c1];
      out[o + X] = (1 - fy) * top + fy * bottom;
    }
  }
}

/** Item `index` of the geometric variant of `source`: deterministic per (seed, index). */
export function geometricItem(source: ImageSet, index: number, options: GeometricOptions): GeometricItem {
  checkSource(source);
  checkIndex(index, source.count);
  const { height: h, width: w } = source;
  const r = resolve(options, h, w);
  const placement = place(r, index, h, w);
  const image = new Float32Array(r.canvas * r.canvas);
  renderPlaced(source.images, index * h * w, h, w, placement, r.canvas, image, 0);
  return { index, image, label: source.labels[index], placement };
}

/**
 * Batches of the geometric variant, generated lazily (the whole 60 000-item training set at 64×64 would
 * be about 1 GB of float32). Each batch's arrays are fresh; items are the same as `geometricItem` gives.
 */
export function geometricBatches(options: GeometricBatchOptions): Generator<GeometricBatch, void, undefined> {
  const { source, batchSize } = options;
  checkSource(source);
  const { height: h, width: w, count: n } = source;
  const r = resolve(options, h, w);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new OptionError(`batchSize must be a positive integer, got ${String(batchSize)}`);
  let length: number;
  let at: (k: number) => number;
  if (options.indices !== undefined) {
    if (options.start !== undefined || options.end !== undefined) throw new OptionError('give either indices or start/end, not both');
    const list = Array.from(options.indices);
    for (const index of list) checkIndex(index, n);
    length = list.length;
    at = (k) => list[k];
  } else {
    const start = options.start ?? 0;
    const end = options.end ?? n;
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > n || start > end) {
      throw new OptionError(`start and end must be integers with 0 <= start <= end <= ${n}, got ${String(start)} and ${String(end)}`);
    }
    length = end - start;
    at = (k) => start + k;
  }
  return generate(source, r, batchSize, length, at);
}

// Separate from geometricBatches so that bad options throw at the call, not at the first next().
function* generate(
  source: ImageSet,
  r: Resolved,
  batchSize: number,
  length: number,
  at: (k: number) => number,
): Generator<GeometricBatch, void, undefined> {
  const { height: h, width: w } = source;
  const pixels = r.canvas * r.canvas;
  for (let b = 0; b < length; b += batchSize) {
    const count = Math.min(batchSize, length - b);
    const images = new Float32Array(count * pixels);
    const labels = new Uint8Array(count);
    const indices = new Uint32Array(count);
    const placements: GeometricPlacements = {
      scale: new Float64Array(count),
      x: new Float64Array(count),
      y: new Float64Array(count),
      width: new Float64Array(count),
      height: new Float64Array(count),
    };
    for (let i = 0; i < count; i++) {
      const index = at(b + i);
      const p = place(r, index, h, w);
      renderPlaced(source.images, index * h * w, h, w, p, r.canvas, images, i * pixels);
      labels[i] = source.labels[index];
      indices[i] = index;
      placements.scale[i] = p.scale;
      placements.x[i] = p.x;
      placements.y[i] = p.y;
      placements.width[i] = p.width;
      placements.height[i] = p.height;
    }
    yield { count, canvas: r.canvas, images, labels, indices, placements };
  }
}

/** A whole geometric set at once (fine for a test split: 10 000 × 64 × 64 float32 is 164 MB). */
export interface GeometricSet extends ImageSet {
  readonly placements: GeometricPlacements;
}

export function geometricSet(source: ImageSet, options: GeometricOptions & { readonly start?: number; readonly end?: number }): GeometricSet {
  const start = options.start ?? 0;
  const end = options.end ?? source.count;
  const batches = [...geometricBatches({ ...options, source, batchSize: Math.max(1, end - start), start, end })];
  const canvas = options.canvas ?? GEOMETRIC_DEFAULT_CANVAS;
  if (batches.length === 0) {
    const empty = () => new Float64Array(0);
    return {
      images: new Float32Array(0), labels: new Uint8Array(0), count: 0, height: canvas, width: canvas,
      classNames: source.classNames, placements: { scale: empty(), x: empty(), y: empty(), width: empty(), height: empty() },
    };
  }
  const [batch] = batches;
  return {
    images: batch.images,
    labels: batch.labels,
    count: batch.count,
    height: batch.canvas,
    width: batch.canvas,
    classNames: source.classNames,
    placements: batch.placements,
  };
}
