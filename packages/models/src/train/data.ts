/**
 * What the classifiers see: 64×64×1 canvases. "plain" is Fashion-MNIST at scale 1, centred (the 28×28
 * item at (18, 18), zeros around); "geometric" is the seeded geometric variant (random scale 0.6–1.6 and
 * position). Batches are made lazily, one at a time. Platform-free.
 */
import { OptionError } from '../errors.js';
import type { ImageSet } from '../fashion-mnist.js';
import { GEOMETRIC_DEFAULT_CANVAS, geometricBatches } from '../geometric.js';

export type TrainingData = 'plain' | 'geometric';
export const TRAINING_DATA: readonly TrainingData[] = Object.freeze(['plain', 'geometric'] as const);

/** The seed of the fixed geometric test set (item i of the test split is `geometricItem(test, i, { seed })`). */
export const GEOMETRIC_TEST_SEED = 777;
/** The fixed subset the shipped models are checked on: geometric test items 0..499 under `GEOMETRIC_TEST_SEED`. */
export const CHECK_SUBSET = Object.freeze({ data: 'geometric' as TrainingData, start: 0, end: 500, seed: GEOMETRIC_TEST_SEED });

export function checkData(v: unknown): TrainingData {
  if (v !== 'plain' && v !== 'geometric') throw new OptionError(`data must be 'plain' or 'geometric', got ${String(v)}`);
  return v;
}

export interface CanvasBatch {
  readonly count: number;
  /** count × canvas × canvas (NHWC, C = 1). */
  readonly images: Float32Array;
  readonly labels: Uint8Array;
}

/** Copies item `index` of `source` into a canvas at (left, top), scale 1. */
function centre(source: ImageSet, index: number, canvas: number, out: Float32Array, at: number): void {
  const { height: h, width: w } = source;
  const top = Math.floor((canvas - h) / 2);
  const left = Math.floor((canvas - w) / 2);
  for (let y = 0; y < h; y++) {
    const src = (index * h + y) * w;
    out.set(source.images.subarray(src, src + w), at + (top + y) * canvas + left);
  }
}

export interface CanvasBatchOptions {
  readonly source: ImageSet;
  readonly data: TrainingData;
  readonly batchSize: number;
  /** Source indices in order (default start..end). */
  readonly indices?: ArrayLike<number>;
  readonly start?: number;
  readonly end?: number;
  /** Geometric only: the seed of the placements. */
  readonly seed?: number;
  readonly canvas?: number;
}

/** Lazy batches of canvases, plain or geometric. */
export function* canvasBatches(options: CanvasBatchOptions): Generator<CanvasBatch, void, undefined> {
  const data = checkData(options.data);
  const canvas = options.canvas ?? GEOMETRIC_DEFAULT_CANVAS;
  const { source, batchSize } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new OptionError(`batchSize must be a positive integer, got ${String(batchSize)}`);
  if (data === 'geometric') {
    if (options.seed === undefined) throw new OptionError('geometric batches need a seed');
    yield* geometricBatches({
      source, seed: options.seed, batchSize, canvas,
      ...(options.indices !== undefined ? { indices: options.indices } : { start: options.start ?? 0, end: options.end ?? source.count }),
    });
    return;
  }
  if (source.height > canvas || source.width > canvas) throw new OptionError(`items of ${source.height}x${source.width} do not fit a ${canvas} canvas`);
  const start = options.start ?? 0;
  const end = options.end ?? source.count;
  const total = options.indices !== undefined ? options.indices.length : end - start;
  const at = (i: number) => (options.indices !== undefined ? options.indices[i] : start + i);
  for (let b = 0; b < total; b += batchSize) {
    const count = Math.min(batchSize, total - b);
    const images = new Float32Array(count * canvas * canvas);
    const labels = new Uint8Array(count);
    for (let i = 0; i < count; i++) {
      const index = at(b + i);
      if (!Number.isInteger(index) || index < 0 || index >= source.count) throw new OptionError(`index ${index} is outside the source`);
      centre(source, index, canvas, images, i * canvas * canvas);
      labels[i] = source.labels[index];
    }
    yield { count, images, labels };
  }
}
