import { createRequire } from 'node:module';
import { dirname } from 'node:path';

import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { DeformConv2D, prepareDcnv2 } from '@dcnv2/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';

import {
  CHECK_SUBSET, FASHION_MNIST_CLASS_NAMES, type ImageSet, PlainConv2D, SHIPPED_MODEL_NAMES, base64ToBytes, bytesToBase64, classifierCost,
  evaluateClassifier, loadModel, shippedModel,
} from '../src/index.js';
import { loadFashionMnist } from '../src/node/index.js';

let test: ImageSet;

beforeAll(async () => {
  setWasmPaths(`${dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm'))}/`);
  await tf.setBackend('wasm');
  await tf.ready();
  await prepareDcnv2('wasm');
  test = await loadFashionMnist({ split: 'test', limit: CHECK_SUBSET.end });
});

describe('shipped models', () => {
  it('the three geometric models ship', () => {
    for (const name of ['regular-fashion-geometric', 'dcnv1-fashion-geometric', 'dcnv2-fashion-geometric']) {
      expect(SHIPPED_MODEL_NAMES as readonly string[]).toContain(name);
    }
  });

  // The check CI runs: every shipped model, rebuilt from its topology, gets the accuracy recorded at training
  // time on the fixed subset (geometric test items 0..499, seed 777). Different batching or summation order
  // can flip an argmax between two near-equal logits, so one image either way is allowed.
  for (const name of SHIPPED_MODEL_NAMES) {
    it(`${name}: loads offline and matches its recorded accuracy on the fixed 500-image geometric test subset`, async () => {
      const { model, classNames, info } = await loadModel(name);
      expect(classNames).toEqual([...FASHION_MNIST_CLASS_NAMES]);
      expect(info.name).toBe(name);
      expect(model.countParams()).toBe(classifierCost(info.kind).params);
      const deformable = model.layers.filter((l) => l instanceof DeformConv2D) as DeformConv2D[];
      expect(deformable).toHaveLength(info.kind === 'regular' ? 0 : 2);
      for (const l of deformable) expect(l.modulation).toBe(info.kind === 'dcnv2');
      expect(model.layers.filter((l) => l instanceof PlainConv2D)).toHaveLength(info.kind === 'regular' ? 5 : 3);
      const e = await evaluateClassifier({ model, source: test, data: info.check.data, seed: info.check.seed, start: info.check.start, end: info.check.end });
      expect(e.count).toBe(500);
      expect(Math.abs(e.correct - info.check.correct)).toBeLessThanOrEqual(1);
      model.dispose();
    });
  }

  it('an unknown name is refused, naming the shipped ones', async () => {
    await expect(shippedModel('nope' as never)).rejects.toThrow(/no shipped model named nope.*fashion-geometric/);
  });
});

describe('base64 of the weights', () => {
  it('round-trips every length and matches the standard alphabet', () => {
    expect(bytesToBase64(new TextEncoder().encode('Man'))).toBe('TWFu');
    expect(bytesToBase64(new TextEncoder().encode('Ma'))).toBe('TWE=');
    expect(bytesToBase64(new TextEncoder().encode('M'))).toBe('TQ==');
    for (let n = 0; n < 40; n++) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 97 + n * 13) & 255);
      expect(Array.from(base64ToBytes(bytesToBase64(bytes)))).toEqual(Array.from(bytes));
      expect(bytesToBase64(bytes)).toBe(btoa(String.fromCharCode(...bytes)));
    }
    expect(() => base64ToBytes('ab$c')).toThrow(/invalid base64/);
  });
});
