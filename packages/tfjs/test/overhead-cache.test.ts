/**
 * What the kernels skip (src/host-cache.ts), on tfjs cpu and wasm: the NHWC weight's reordered copy kept
 * per dataId (never stale after `variable.assign`, keyed by shape too since a reshape shares its dataId),
 * and a taped forward call's uploaded inputs kept for its gradient kernel (released at the end of the
 * task, nothing left in tf.memory() nor in the dcnv2 backend's memory).
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFORM_CONV2D, DEFORM_CONV2D_GRAD, deformConv2d, prepareDcnv2 } from '../src/index.js';
import { keptForBackwardCount } from '../src/host-cache.js';
import { useBackend } from './tfjs-setup.js';

/** Deterministic values in [-1, 1). */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

const N = 1;
const H = 5;
const W = 6;

/** NHWC inputs of a 3x3, padding 1 call with `cin` input channels. */
function nhwcInputs(cin: number, seed: number) {
  return {
    input: tf.tensor4d(values(N * H * W * cin, seed), [N, H, W, cin]),
    offset: tf.tensor4d(values(N * H * W * 18, seed + 1).map((v) => 1.5 * v), [N, H, W, 18]),
    mask: tf.tensor4d(values(N * H * W * 9, seed + 2).map((v) => 0.5 + 0.5 * v), [N, H, W, 9]),
  };
}

const settle = () => new Promise<void>((r) => setTimeout(r, 0));

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`kernel caches on tfjs ${backend}`, () => {
    beforeAll(async () => {
      await useBackend(backend);
    });

    it('a variable weight, NHWC: after assign the result is the new weight\'s, never the cached reorder of the old', async () => {
      await useBackend(backend);
      const before = tf.memory().numTensors;
      const x = nhwcInputs(4, 1);
      const w0 = tf.tensor4d(values(3 * 3 * 4 * 3, 7), [3, 3, 4, 3]);
      const w = tf.variable(w0);
      const run = (weight: tf.Tensor4D) => deformConv2d({ ...x, weight }, { padding: 1 });
      const y1 = run(w);
      const y1again = run(w); // from the cache
      expect(maxAbsDiff(y1.dataSync(), y1again.dataSync())).toBe(0);
      const w2 = tf.tensor4d(values(3 * 3 * 4 * 3, 8), [3, 3, 4, 3]);
      w.assign(w2);
      const y2 = run(w);
      const w2copy = tf.tensor4d(values(3 * 3 * 4 * 3, 8), [3, 3, 4, 3]);
      const fresh = run(w2copy);
      expect(maxAbsDiff(y2.dataSync(), fresh.dataSync())).toBe(0);
      expect(maxAbsDiff(y1.dataSync(), y2.dataSync())).toBeGreaterThan(1e-3);
      tf.dispose([y1, y1again, y2, fresh, w0, w2, w2copy, w, x.input, x.offset, x.mask]);
      expect(tf.memory().numTensors).toBe(before);
    });

    it('a reshape shares its dataId: the cache tells the shapes apart', () => {
      const data = values(3 * 3 * 4 * 2, 11);
      const a = tf.tensor4d(data, [3, 3, 4, 2]);
      const b = tf.reshape(a, [3, 3, 2, 4]) as tf.Tensor4D; // same dataId, other shape
      const x4 = nhwcInputs(4, 3);
      const x2 = nhwcInputs(2, 5);
      const ya = deformConv2d({ ...x4, weight: a }, { padding: 1 });
      const yb = deformConv2d({ ...x2, weight: b }, { padding: 1 });
      const bFresh = tf.tensor4d(data, [3, 3, 2, 4]);
      const ybFresh = deformConv2d({ ...x2, weight: bFresh }, { padding: 1 });
      expect(yb.shape).toEqual([1, H, W, 4]);
      expect(maxAbsDiff(yb.dataSync(), ybFresh.dataSync())).toBe(0);
      tf.dispose([a, b, ya, yb, bFresh, ybFresh, ...Object.values(x4), ...Object.values(x2)]);
    });

    it('the inputs a taped forward call keeps for its gradient are released: same gradients, nothing left behind', async () => {
      const dcn = (await prepareDcnv2(backend)) as unknown as { memoryStats?: { inUse: number } };
      await settle();
      const tensorsBefore = tf.memory().numTensors;
      const inUseBefore = dcn.memoryStats?.inUse;
      const x = nhwcInputs(4, 21);
      const w = tf.tensor4d(values(3 * 3 * 4 * 3, 22), [3, 3, 4, 3]);
      const bias = tf.tensor1d([0.1, -0.2, 0.3]);
      const f = (input: tf.Tensor, weight: tf.Tensor, offset: tf.Tensor, mask: tf.Tensor, b: tf.Tensor) =>
        deformConv2d({ input, weight, offset, mask, bias: b }, { padding: 1 });
      const args = [x.input, w, x.offset, x.mask, bias];
      const dy = tf.tensor4d(values(N * H * W * 3, 23), [N, H, W, 3]);
      const g1 = tf.grads(f as (...a: tf.Tensor[]) => tf.Tensor)(args, dy);
      // The gradient kernel took what the forward kept; nothing stays kept.
      expect(keptForBackwardCount()).toBe(0);
      // A forward call on the tape whose gradient is never asked for keeps its inputs until the task ends.
      const keptInside = tf.tidy(() => {
        let count = -1;
        tf.grads((a: tf.Tensor) => {
          f(a, w, x.offset, x.mask, bias);
          count = keptForBackwardCount();
          return tf.sum(a);
        })([x.input]).forEach((t) => t.dispose());
        return count;
      });
      expect(keptInside).toBe(1);
      // The next tape's first taped call releases it at once (a synchronous training loop keeps one step's).
      const again = tf.grads(f as (...a: tf.Tensor[]) => tf.Tensor)(args, dy);
      expect(keptForBackwardCount()).toBe(0);
      tf.dispose(again);
      await settle();
      expect(keptForBackwardCount()).toBe(0);
      // The gradient kernel by itself (nothing kept: it reads, reorders and uploads the inputs) gives the same.
      const g2 = tf.engine().runKernel(
        DEFORM_CONV2D_GRAD,
        { input: x.input, weight: w, offset: x.offset, mask: x.mask, bias, gradOutput: dy },
        { padding: 1, dataFormat: 'NHWC', inputNames: ['input', 'weight', 'offset', 'mask', 'bias'], gradNames: ['input', 'weight', 'offset', 'mask', 'bias'] } as never,
      ) as unknown as tf.Tensor[];
      expect(g2.length).toBe(g1.length);
      for (let i = 0; i < g1.length; i++) expect(maxAbsDiff(g1[i]!.dataSync(), g2[i]!.dataSync())).toBe(0);
      tf.dispose([...g1, ...g2, dy, bias, w, ...Object.values(x)]);
      await settle();
      expect(tf.memory().numTensors).toBe(tensorsBefore);
      if (inUseBefore !== undefined) expect(dcn.memoryStats!.inUse).toBe(inUseBefore);
    });

    it('two taped calls sharing one attribute object: neither gradient takes the other call\'s inputs', () => {
      const xa = nhwcInputs(4, 31);
      const xb = nhwcInputs(4, 41);
      const w = tf.tensor4d(values(3 * 3 * 4 * 3, 32), [3, 3, 4, 3]);
      const attrs = { padding: 1, dataFormat: 'NHWC', inputNames: ['input', 'weight', 'offset', 'mask'] };
      const conv = (x: { input: tf.Tensor; offset: tf.Tensor; mask: tf.Tensor }, weight: tf.Tensor) =>
        tf.engine().runKernel(DEFORM_CONV2D, [x.input, weight, x.offset, x.mask] as never, attrs as never) as tf.Tensor;
      const want = tf.grads((weight: tf.Tensor) => tf.sum(deformConv2d({ ...xa, weight }, { padding: 1 })))([w]);
      // The second call (off the path to the result) reuses the first's attribute object.
      const got = tf.grads((weight: tf.Tensor) => {
        const ya = conv(xa, weight);
        conv(xb, weight);
        return tf.sum(ya);
      })([w]);
      expect(maxAbsDiff(got[0]!.dataSync(), want[0]!.dataSync())).toBe(0);
      tf.dispose([...want, ...got, w, ...Object.values(xa), ...Object.values(xb)]);
    });
  });
}
