import { createRequire } from 'node:module';
import { dirname } from 'node:path';

import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { prepareDcnv2 } from '@dcnv2/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';

import {
  type ImageSet, ProgressBar, canvasBatches, createClassifier, epochPlan, evaluateClassifier, formatDuration, geometricItem, trainClassifier,
} from '../src/index.js';
import { loadFashionMnist } from '../src/node/index.js';

let train: ImageSet;

beforeAll(async () => {
  setWasmPaths(`${dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm'))}/`);
  await tf.setBackend('wasm');
  await tf.ready();
  await prepareDcnv2('wasm');
  train = await loadFashionMnist({ split: 'train', limit: 256 });
});

describe('training (tfjs wasm with dcnv2 kernels)', () => {
  it('a few steps on 256 images: the loss falls and tf.memory().numTensors is the same at every epoch end', async () => {
    const model = createClassifier({ kind: 'dcnv2', seed: 1 });
    const before = tf.memory().numTensors;
    const result = await trainClassifier({ model, source: train, data: 'plain', seed: 1, epochs: 4, batchSize: 32, learningRate: 3e-3 });
    expect(result.steps).toBe(32);
    expect(result.images).toBe(4 * 256);
    const [first, , , last] = result.epochs;
    expect(last.loss).toBeLessThan(first.loss);
    expect(last.loss).toBeLessThan(0.95 * Math.log(10));
    const counts = result.epochs.map((e) => e.numTensors);
    expect(new Set(counts).size).toBe(1);
    // After training only the model's variables are left (the optimizer's slots are disposed with it).
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  it('is seeded: the same seed gives the same losses (geometric data, generated lazily per batch)', async () => {
    const run = async () => {
      const model = createClassifier({ kind: 'dcnv1', seed: 4 });
      const r = await trainClassifier({ model, source: train, data: 'geometric', seed: 4, epochs: 1, batchSize: 32, maxSteps: 2 });
      model.dispose();
      return r.losses;
    };
    const a = await run();
    const b = await run();
    expect(a).toHaveLength(2);
    expect(b).toEqual(a);
  });

  it('evaluates plain (centred, scale 1) and geometric canvases', async () => {
    const model = createClassifier({ kind: 'regular', seed: 2 });
    const e = await evaluateClassifier({ model, source: train, data: 'geometric', seed: 777, end: 50, batchSize: 20 });
    expect(e.count).toBe(50);
    expect(e.predictions).toHaveLength(50);
    expect(e.correct).toBe(Array.from(e.predictions).filter((p, i) => p === train.labels[i]).length);
    expect(e.msPerImage).toBeGreaterThan(0);
    model.dispose();
  });
});

describe('data for training', () => {
  it('epoch plans are seeded permutations, different per epoch', () => {
    const a = epochPlan(1, 0, 100);
    expect(Array.from(epochPlan(1, 0, 100).order)).toEqual(Array.from(a.order));
    expect(Array.from(epochPlan(1, 1, 100).order)).not.toEqual(Array.from(a.order));
    expect([...a.order].sort((x, y) => x - y)).toEqual([...Array(100).keys()]);
    expect(epochPlan(1, 1, 100).placementSeed).not.toBe(a.placementSeed);
  });

  it('plain canvases hold the 28x28 item at (18, 18); geometric ones equal geometricItem', () => {
    const [plain] = canvasBatches({ source: train, data: 'plain', batchSize: 3, start: 5, end: 8 });
    expect(plain.count).toBe(3);
    for (let i = 0; i < 3; i++) {
      let outside = 0;
      for (let y = 0; y < 64; y++) {
        for (let x = 0; x < 64; x++) {
          const v = plain.images[i * 4096 + y * 64 + x];
          if (y >= 18 && y < 46 && x >= 18 && x < 46) expect(v).toBe(train.images[(5 + i) * 784 + (y - 18) * 28 + (x - 18)]);
          else outside += v;
        }
      }
      expect(outside).toBe(0);
      expect(plain.labels[i]).toBe(train.labels[5 + i]);
    }
    const [geo] = canvasBatches({ source: train, data: 'geometric', batchSize: 2, indices: [9, 3], seed: 5 });
    expect(Array.from(geo.images.subarray(4096, 8192))).toEqual(Array.from(geometricItem(train, 3, { seed: 5 }).image));
  });
});

describe('progress bar', () => {
  const state = { epoch: 1, epochs: 2, done: 64, total: 128, loss: 1.23456, accuracy: 0.5, imagesPerSecond: 10, etaSeconds: 125 };

  it('on a TTY, redraws one line with \\r', () => {
    const out: string[] = [];
    const bar = new ProgressBar({ write: (s: string) => out.push(s), isTTY: true, columns: 200 }, 'net');
    bar.update(state);
    bar.update({ ...state, done: 128 });
    bar.done();
    expect(out[0]).toMatch(/^\rnet epoch 1\/2 \[#{10}\.{10}\] 64\/128 loss 1\.2346 acc 50\.0% 10\.0 img\/s ETA 02:05/);
    expect(out[1].startsWith('\r')).toBe(true);
    expect(out[2]).toBe('\n');
  });

  it('elsewhere, prints a line every interval and when forced', () => {
    const out: string[] = [];
    let t = 0;
    const bar = new ProgressBar({ write: (s: string) => out.push(s) }, '', 5000, () => t);
    bar.update(state);
    t = 1000;
    bar.update(state);
    t = 5001;
    bar.update(state);
    t = 5002;
    bar.update(state, true);
    expect(out).toHaveLength(3);
    expect(out.every((l) => l.endsWith('\n') && !l.includes('\r'))).toBe(true);
    expect(formatDuration(3725)).toBe('1:02:05');
  });
});
