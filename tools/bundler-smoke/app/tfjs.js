// The tfjs page: deformConv2d of @dcnv2/tfjs on tf.Tensors (tfjs-core with tfjs-backend-cpu), compared with
// @dcnv2/backend-cpu through @dcnv2/core; and a gradient through tf.grad with known values, which needs the
// gradients @dcnv2/tfjs registers on import (a bundler that dropped the import's side effects loses them).
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { deformConv2d as tfDeformConv2d, prepareDcnv2 } from '@dcnv2/tfjs';
import { deformConv2d, registerBackend, setBackend } from '@dcnv2/core';
import { createCpuBackend } from '@dcnv2/backend-cpu';
import { compare, problem, report } from './common.js';

report('tfjs', async () => {
  registerBackend('cpu', () => createCpuBackend());
  const { args, params } = problem();
  await setBackend('cpu');
  const want = await deformConv2d(args, params);
  await tf.setBackend('cpu');
  await prepareDcnv2('cpu');
  const t = (a) => tf.tensor(a.data, a.shape);
  const nchw = { ...params, dataFormat: 'NCHW' };
  const y = tfDeformConv2d({ input: t(args.input), weight: t(args.weight), offset: t(args.offset), mask: t(args.mask), bias: t(args.bias) }, nchw);
  const got = y.dataSync();
  // 1x1 identity weight, zero offsets, unit mask: y = x, so for L = sum(dy * y), dL/dx = dy and, with dy = ones,
  // dL/dW[o, i] = the sum of input channel i (1+2+3+4 = 10, 5+6+7+8 = 26).
  const x = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 2, 2]);
  const w = tf.tensor4d([1, 0, 0, 1], [2, 2, 1, 1]);
  const offset = tf.zeros([1, 2, 2, 2]);
  const mask = tf.ones([1, 1, 2, 2]);
  const dy = tf.tensor4d([1, -1, 2, -2, 3, -3, 4, -4], [1, 2, 2, 2]);
  const identity = Array.from(tfDeformConv2d({ input: x, weight: w, offset, mask }, { dataFormat: 'NCHW' }).dataSync());
  const gradInput = Array.from(tf.grad((a) => tfDeformConv2d({ input: a, weight: w, offset, mask }, { dataFormat: 'NCHW' }))(x, dy).dataSync());
  const gradWeight = Array.from(tf.grads((a, b) => tfDeformConv2d({ input: a, weight: b, offset, mask }, { dataFormat: 'NCHW' }))([x, w])[1].dataSync());
  return { tfBackend: tf.getBackend(), identity, gradInput, gradWeight, shape: y.shape, ...compare(got, want.data) };
});
