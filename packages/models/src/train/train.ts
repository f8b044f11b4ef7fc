/**
 * Training and evaluation of a classifier with a manual loop (`optimizer.minimize`), seeded: the data
 * order of epoch e is `permutation(count, deriveSeed(seed, e))` and, for geometric data, the placements of
 * epoch e are drawn under `deriveSeed(seed, 1000 + e)` (a fresh scale and position per image and epoch,
 * reproducible). Platform-free; needs the gradients of tfjs's own ops, which the union package
 * `@tensorflow/tfjs` registers (import it, or `@tensorflow/tfjs-core/dist/register_all_gradients`).
 */
import {
  argMax, equal, keep, losses, memory, oneHot, sum, tensor1d, tensor4d, tidy, train, type Optimizer, type Scalar, type Tensor,
} from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';

import { OptionError } from '../errors.js';
import type { ImageSet } from '../fashion-mnist.js';
import { GEOMETRIC_DEFAULT_CANVAS } from '../geometric.js';
import { deriveSeed, permutation } from '../rng.js';
import { type TrainingData, canvasBatches, checkData } from './data.js';
import type { ProgressState } from './progress.js';

export interface TrainOptions {
  readonly model: LayersModel;
  readonly source: ImageSet;
  readonly data: TrainingData;
  readonly seed: number;
  readonly epochs: number;
  readonly batchSize: number;
  /** Use the first `trainSize` items of `source`. Default all. */
  readonly trainSize?: number;
  /** Adam's learning rate. Default 2e-3. */
  readonly learningRate?: number;
  /** Stop after this many steps in all (smoke tests). */
  readonly maxSteps?: number;
  readonly onProgress?: (p: ProgressState, endOfEpoch: boolean) => void;
  readonly onStep?: (step: number, loss: number) => void;
  readonly now?: () => number;
}

export interface EpochRecord {
  readonly epoch: number;
  readonly loss: number;
  readonly accuracy: number;
  readonly seconds: number;
  /** `tf.memory().numTensors` at the end of the epoch (constant when nothing leaks). */
  readonly numTensors: number;
}

export interface TrainResult {
  readonly epochs: readonly EpochRecord[];
  readonly steps: number;
  readonly images: number;
  readonly seconds: number;
  readonly losses: readonly number[];
}

/** The training order and the placement seed of an epoch. */
export function epochPlan(seed: number, epoch: number, count: number): { order: Uint32Array; placementSeed: number } {
  return { order: permutation(count, deriveSeed(seed, epoch)), placementSeed: deriveSeed(seed, 1000 + epoch) };
}

function positiveInt(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new OptionError(`${what} must be a positive integer, got ${String(v)}`);
  return v;
}

export async function trainClassifier(options: TrainOptions): Promise<TrainResult> {
  const { model, source } = options;
  const data = checkData(options.data);
  const epochs = positiveInt(options.epochs, 'epochs');
  const batchSize = positiveInt(options.batchSize, 'batchSize');
  const count = Math.min(source.count, options.trainSize ?? source.count);
  if (count < 1) throw new OptionError('no training images');
  const now = options.now ?? (() => Date.now());
  const canvas = GEOMETRIC_DEFAULT_CANVAS;
  const optimizer: Optimizer = train.adam(options.learningRate ?? 2e-3);
  const records: EpochRecord[] = [];
  const allLosses: number[] = [];
  const t0 = now();
  let steps = 0;
  let images = 0;
  const maxSteps = options.maxSteps ?? Infinity;
  const stepsPerEpoch = Math.ceil(count / batchSize);
  const totalSteps = Math.min(maxSteps, stepsPerEpoch * epochs);
  try {
    for (let e = 0; e < epochs && steps < maxSteps; e++) {
      const tEpoch = now();
      const plan = epochPlan(options.seed, e, count);
      let lossSum = 0;
      let correct = 0;
      let seen = 0;
      for (const batch of canvasBatches({ source, data, batchSize, indices: plan.order, seed: plan.placementSeed, canvas })) {
        if (steps >= maxSteps) break;
        let hits: Tensor | null = null;
        const loss = tidy(() => {
          const xs = tensor4d(batch.images, [batch.count, canvas, canvas, 1]);
          const labels = tensor1d(Int32Array.from(batch.labels), 'int32');
          const ys = oneHot(labels, 10);
          return optimizer.minimize(() => {
            const logits = model.apply(xs, { training: true }) as Tensor;
            hits = keep(sum(equal(argMax(logits, 1), labels)));
            return losses.softmaxCrossEntropy(ys, logits) as Scalar;
          }, true) as Scalar;
        });
        const l = (await loss.data())[0];
        const h = (await (hits as unknown as Tensor).data())[0];
        loss.dispose();
        (hits as unknown as Tensor).dispose();
        steps++;
        images += batch.count;
        seen += batch.count;
        lossSum += l * batch.count;
        correct += h;
        allLosses.push(l);
        options.onStep?.(steps, l);
        const elapsed = (now() - t0) / 1000;
        const ips = images / Math.max(elapsed, 1e-9);
        const stepsLeft = totalSteps - steps;
        options.onProgress?.(
          { epoch: e + 1, epochs, done: seen, total: count, loss: lossSum / seen, accuracy: correct / seen, imagesPerSecond: ips, etaSeconds: (stepsLeft * batchSize) / ips },
          false,
        );
      }
      const rec: EpochRecord = { epoch: e + 1, loss: lossSum / seen, accuracy: correct / seen, seconds: (now() - tEpoch) / 1000, numTensors: memory().numTensors };
      records.push(rec);
      const elapsed = (now() - t0) / 1000;
      options.onProgress?.(
        { epoch: e + 1, epochs, done: seen, total: count, loss: rec.loss, accuracy: rec.accuracy, imagesPerSecond: images / Math.max(elapsed, 1e-9), etaSeconds: ((totalSteps - steps) * batchSize * elapsed) / Math.max(images, 1) },
        true,
      );
    }
  } finally {
    optimizer.dispose();
  }
  return { epochs: records, steps, images, seconds: (now() - t0) / 1000, losses: allLosses };
}

export interface EvaluateOptions {
  readonly model: LayersModel;
  readonly source: ImageSet;
  readonly data: TrainingData;
  /** Geometric: the placements' seed (default GEOMETRIC_TEST_SEED of data.ts is the caller's to pass). */
  readonly seed?: number;
  readonly start?: number;
  readonly end?: number;
  readonly batchSize?: number;
  readonly now?: () => number;
}

export interface Evaluation {
  readonly count: number;
  readonly correct: number;
  readonly accuracy: number;
  /** Wall time of the forward passes (batches of `batchSize`, excluding the making of the images) per image. */
  readonly msPerImage: number;
  /** Predicted class per image. */
  readonly predictions: Uint8Array;
}

/** Accuracy of `model` on items start..end of `source` as plain or geometric canvases. */
export async function evaluateClassifier(options: EvaluateOptions): Promise<Evaluation> {
  const { model, source } = options;
  const data = checkData(options.data);
  const start = options.start ?? 0;
  const end = Math.min(options.end ?? source.count, source.count);
  const batchSize = options.batchSize ?? 100;
  const now = options.now ?? (() => (typeof performance !== 'undefined' ? performance.now() : Date.now()));
  const canvas = GEOMETRIC_DEFAULT_CANVAS;
  const predictions = new Uint8Array(Math.max(0, end - start));
  let correct = 0;
  let ms = 0;
  let n = 0;
  for (const batch of canvasBatches({ source, data, batchSize, start, end, seed: options.seed, canvas })) {
    const t = now();
    const pred = tidy(() => argMax(model.predict(tensor4d(batch.images, [batch.count, canvas, canvas, 1])) as Tensor, 1));
    const p = await pred.data();
    ms += now() - t;
    pred.dispose();
    for (let i = 0; i < batch.count; i++) {
      predictions[n + i] = p[i];
      if (p[i] === batch.labels[i]) correct++;
    }
    n += batch.count;
  }
  return { count: n, correct, accuracy: n > 0 ? correct / n : 0, msPerImage: n > 0 ? ms / n : 0, predictions };
}
