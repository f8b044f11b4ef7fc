/**
 * Bad input through @dcnv2/tfjs gets core's typed errors, naming the argument, and leaks no tensor: wrong
 * ranks, shapes and dtypes, unknown or bad params, bad RoI values, and a tfjs backend whose dcnv2 backend
 * was not prepared.
 */
import * as tf from '@tensorflow/tfjs-core';
import { BackendError, DcnError, DTypeError, ParamError, RankError, ShapeError, ValueError } from '@dcnv2/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deformConv2d, deformRoiPool } from '../src/index.js';
import { useBackend } from './tfjs-setup.js';
import { thrown } from './thrown.js';

const conv = () => ({
  input: tf.zeros([1, 5, 5, 2]),
  weight: tf.zeros([3, 3, 2, 4]),
  offset: tf.zeros([1, 5, 5, 18]),
});

describe('typed errors through tfjs (cpu)', () => {
  let before = 0;
  beforeAll(async () => {
    await useBackend('cpu');
    before = tf.memory().numTensors;
  });
  afterAll(() => {
    tf.disposeVariables();
  });

  it('shapes, ranks, dtypes and params', () => {
    tf.tidy(() => {
      expect(thrown(() => deformConv2d({ ...conv(), offset: tf.zeros([1, 5, 5, 16]) }, { padding: 1 }))).toMatchObject({ name: 'ShapeError', argument: 'offset.shape[1]' });
      expect(thrown(() => deformConv2d({ ...conv(), input: tf.zeros([5, 5, 2]) }, { padding: 1 }))).toBeInstanceOf(RankError);
      expect(thrown(() => deformConv2d({ ...conv(), input: tf.zeros([1, 5, 5, 2], 'int32') }, { padding: 1 }))).toBeInstanceOf(DTypeError);
      expect(thrown(() => deformConv2d(conv(), { padding: -1 }))).toMatchObject({ name: 'ParamError', argument: 'params.padding' });
      expect(thrown(() => deformConv2d(conv(), { paddin: 1 } as never))).toMatchObject({ name: 'ParamError', argument: 'params.paddin' });
      expect(thrown(() => deformConv2d(conv(), { dataFormat: 'NWHC' as never }))).toBeInstanceOf(ParamError);
      expect(thrown(() => deformConv2d({ ...conv(), bias: tf.zeros([3]) }, { padding: 1 }))).toBeInstanceOf(ShapeError);
    });
    expect(tf.memory().numTensors).toBe(before);
  });

  it('RoI values are checked (batch index, coordinates)', () => {
    tf.tidy(() => {
      const input = tf.zeros([1, 4, 4, 1]);
      const e = thrown(() => deformRoiPool({ input, rois: tf.tensor2d([[1, 0, 0, 2, 2]]) }, { outputSize: 2 }));
      expect(e).toBeInstanceOf(ValueError);
      expect((e as DcnError).argument).toMatch(/^rois/);
      expect(thrown(() => deformRoiPool({ input, rois: tf.tensor2d([[0, 0, 0, 2, 2]]) }, {} as never))).toMatchObject({ name: 'ParamError', argument: 'params.outputSize' });
    });
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a tfjs backend @dcnv2/tfjs cannot serve gets a BackendError naming it', async () => {
    const { prepareDcnv2 } = await import('../src/index.js');
    await expect(prepareDcnv2('tensorflow')).rejects.toBeInstanceOf(BackendError);
  });
});
