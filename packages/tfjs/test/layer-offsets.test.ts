/**
 * DeformConv2D.offsetsAndMasks: the branch's predicted offsets and masks, exactly those `call` uses (the
 * layer's output equals deformConv2d on them), with the explicit padding and output size; typed errors.
 */
import * as tf from '@tensorflow/tfjs';
import { ParamError } from '@dcnv2/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { DeformConv2D, deformConv2d } from '../src/index.js';
import { useBackend } from './tfjs-setup.js';

beforeAll(async () => {
  await useBackend('cpu');
});

const maxAbsDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
const rnd = (seed: number) => tf.initializers.randomNormal({ mean: 0, stddev: 0.3, seed });

describe('DeformConv2D.offsetsAndMasks', () => {
  it('at initialisation: zero offsets, masks maskScale * 0.5; padding and output size resolved', () => {
    const layer = new DeformConv2D({ filters: 2, kernelSize: 3, padding: 'same', strides: 2, maskScale: 2 });
    const x = tf.randomNormal([1, 8, 6, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    layer.apply(x);
    const before = tf.memory().numTensors;
    const r = layer.offsetsAndMasks(x);
    expect(r.offset.shape).toEqual([1, 4, 3, 18]);
    expect(r.mask!.shape).toEqual([1, 4, 3, 9]);
    expect(r.padding).toEqual([0, 0, 1, 1]);
    expect(r.outputSize).toEqual([4, 3]);
    expect(Math.max(...r.offset.dataSync().map(Math.abs))).toBe(0);
    expect([...new Set(r.mask!.dataSync())]).toEqual([1]);
    r.offset.dispose();
    r.mask!.dispose();
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });

  it('trained-like branch weights: the layer output is deformConv2d on exactly these offsets and masks', () => {
    for (const modulation of [true, false]) {
      const layer = new DeformConv2D({ filters: 3, kernelSize: 3, padding: 1, dilationRate: 2, modulation, kernelInitializer: rnd(3), useBias: false });
      const x = tf.randomNormal([2, 7, 7, 2], 0, 1, 'float32', 2) as tf.Tensor4D;
      const y = layer.apply(x) as tf.Tensor4D;
      layer.setWeights(layer.getWeights().map((w, i) => (i === 0 ? w : tf.randomNormal(w.shape, 0, 0.4, 'float32', 10 + i))));
      const y2 = layer.apply(x) as tf.Tensor4D;
      const r = layer.offsetsAndMasks(x);
      expect(r.mask === null).toBe(!modulation);
      expect(maxAbsDiff(r.offset, tf.zeros(r.offset.shape))).toBeGreaterThan(0.1);
      const again = deformConv2d({ input: x, weight: layer.getWeights()[0]!, offset: r.offset, mask: r.mask }, { padding: 1, dilation: 2 });
      expect(maxAbsDiff(again, y2)).toBeLessThan(1e-5);
      expect(y.shape).toEqual(y2.shape);
      tf.dispose([x, y, y2, r.offset, again]);
      if (r.mask) r.mask.dispose();
    }
  });

  it('a constant offset bias gives that offset at every position', () => {
    const layer = new DeformConv2D({ filters: 1, kernelSize: 3, modulation: false });
    const x = tf.ones([1, 5, 5, 1]);
    layer.apply(x);
    const w = layer.getWeights();
    const bias = Array.from({ length: 18 }, (_, c) => (c % 2 === 0 ? 0.25 : -1.5));
    layer.setWeights([w[0]!, w[1]!, w[2]!, tf.tensor1d(bias)]);
    const r = layer.offsetsAndMasks(x);
    expect(r.outputSize).toEqual([3, 3]);
    const d = r.offset.dataSync();
    for (let i = 0; i < d.length; i++) expect(d[i]).toBeCloseTo(bias[i % 18]!, 6);
    r.offset.dispose();
  });

  it('refuses an unbuilt layer and a non-rank-4 input', () => {
    const layer = new DeformConv2D({ filters: 1, kernelSize: 3 });
    expect(() => layer.offsetsAndMasks(tf.zeros([1, 4, 4, 1]))).toThrow(ParamError);
    layer.apply(tf.zeros([1, 4, 4, 1]));
    expect(() => layer.offsetsAndMasks(tf.zeros([4, 4, 1]))).toThrow(ParamError);
  });
});
