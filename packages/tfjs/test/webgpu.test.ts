/**
 * @dcnv2/tfjs on tfjs-backend-webgpu (Dawn on SwiftShader in Node), beyond the golden values of
 * golden.test.ts: no copies (the kernels never read a tensor back, and their results are GPU buffers tfjs
 * allocated), ordering against tfjs's deferred command encoder (inputs made by tfjs kernels recorded just
 * before, results used by tfjs kernels just after), no leaked tensors or GPU bytes, and core's typed errors.
 */
import * as tf from '@tensorflow/tfjs-core';
import { BackendError, DcnError, RankError, ShapeError, ValueError } from '@dcnv2/core';
import { makeGeometry, randomCaseData, Rng, convParams, type ConvCase } from '@dcnv2/conformance';
import { OPS } from '@dcnv2/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deformConv2d, deformRoiPool } from '../src/index.js';
import { useBackend } from './tfjs-setup.js';
import { thrown } from './thrown.js';

const spec = {
  batch: 2, inChannels: 4, inHeight: 7, inWidth: 6, outChannels: 3, kernelH: 3, kernelW: 3, strideH: 1, strideW: 1,
  padTop: 1, padLeft: 1, padBottom: 1, padRight: 1, dilationH: 1, dilationW: 1, groups: 1, offsetGroups: 2, hasMask: true, hasBias: true,
};

/** The case's tensors (NCHW) on the current tfjs backend. */
function tensorsOf(c: ConvCase) {
  const s = OPS.deform_conv2d.shapes(c.geometry);
  return {
    input: tf.tensor(c.input, [...s.input]), weight: tf.tensor(c.weight, [...s.weight]), offset: tf.tensor(c.offset, [...s.offset]),
    mask: tf.tensor(c.mask!, [...s.mask]), bias: tf.tensor(c.bias!, [...s.bias]), dy: tf.tensor(c.gradOutput!, [...s.output]),
  };
}

/**
 * y = deformConv2d(2 * input, weight, offset, sigmoid-free mask, bias) + 1, and the gradients of
 * sum(y * dy) for all five inputs: tfjs kernels feed the op and consume its result.
 */
function chained(c: ConvCase): tf.Tensor[] {
  const t = tensorsOf(c);
  const f = (input: tf.Tensor, weight: tf.Tensor, offset: tf.Tensor, mask: tf.Tensor, bias: tf.Tensor) =>
    tf.add(deformConv2d({ input: tf.mul(input, 2), weight, offset: tf.add(offset, 0), mask, bias }, { ...convParams(c.geometry), dataFormat: 'NCHW' }), 1);
  const y = f(t.input, t.weight, t.offset, t.mask, t.bias);
  const grads = tf.grads(f)([t.input, t.weight, t.offset, t.mask, t.bias], t.dy);
  return [y, ...grads];
}

describe('@dcnv2/tfjs on tfjs webgpu', () => {
  beforeAll(() => useBackend('webgpu'));
  afterAll(() => useBackend('cpu'));

  it('no copies: nothing is read back to the host, and the results are GPU buffers tfjs allocated', async () => {
    const be = tf.backend() as unknown as { readSync: (id: object) => unknown; read: (id: object) => Promise<unknown>; tensorMap: { get(id: object): { resource?: unknown; values?: unknown } } };
    const c = randomCaseData(new Rng(11), makeGeometry(spec));
    const reads: string[] = [];
    const { readSync, read } = be;
    be.readSync = (id) => (reads.push('readSync'), readSync.call(be, id));
    be.read = (id) => (reads.push('read'), read.call(be, id));
    let results: tf.Tensor[];
    try {
      results = tf.tidy(() => {
        const t = tensorsOf(c);
        // NHWC too: the layout changes run on the GPU.
        const nhwc = deformConv2d({ input: tf.transpose(t.input, [0, 2, 3, 1]), weight: tf.transpose(t.weight, [2, 3, 1, 0]), offset: tf.transpose(t.offset, [0, 2, 3, 1]) }, convParams(c.geometry));
        return [...chained(c), nhwc];
      });
    } finally {
      be.readSync = readSync;
      be.read = read;
    }
    expect(reads).toEqual([]);
    for (const r of results) {
      const data = be.tensorMap.get(r.dataId);
      expect(data.values ?? null).toBeNull();
      expect(data.resource).toBeInstanceOf(GPUBuffer);
    }
    tf.dispose(results);
  });

  it('ordering: inputs made by tfjs kernels just before, results used just after, give the values tfjs cpu gives', async () => {
    const c = randomCaseData(new Rng(12), makeGeometry(spec));
    // tfjs webgpu runs kernels on small host-resident tensors on the CPU: off here, so every tfjs kernel
    // around ours is a GPU command waiting in tfjs's encoder.
    tf.env().set('WEBGPU_CPU_FORWARD', false);
    let onGpu: Float32Array[];
    try {
      onGpu = await Promise.all(tf.tidy(() => chained(c)).map(async (t) => { const d = await t.data(); t.dispose(); return d as Float32Array; }));
    } finally {
      tf.env().set('WEBGPU_CPU_FORWARD', true);
    }
    await useBackend('cpu');
    let onCpu: Float32Array[];
    try {
      onCpu = await Promise.all(tf.tidy(() => chained(c)).map(async (t) => { const d = await t.data(); t.dispose(); return d as Float32Array; }));
    } finally {
      await useBackend('webgpu');
    }
    onGpu.forEach((g, k) => {
      const want = onCpu[k]!;
      expect(g.length).toBe(want.length);
      let worst = 0;
      let scale = 0;
      for (let i = 0; i < want.length; i++) {
        worst = Math.max(worst, Math.abs((g[i] as number) - want[i]!));
        scale = Math.max(scale, Math.abs(want[i]!));
      }
      expect(worst).toBeLessThanOrEqual(1e-5 * Math.max(1, scale));
    });
  });

  it('no leaks: tensors and GPU bytes in use are unchanged after repeated calls and gradients', async () => {
    const c = randomCaseData(new Rng(13), makeGeometry(spec));
    const round = async () => {
      const out = tf.tidy(() => chained(c));
      for (const t of out) await t.data();
      tf.dispose(out);
    };
    await round();
    const before = tf.memory() as tf.MemoryInfo & { numBytesInGPU?: number };
    for (let i = 0; i < 5; i++) await round();
    const after = tf.memory() as tf.MemoryInfo & { numBytesInGPU?: number };
    expect(after.numTensors).toBe(before.numTensors);
    expect(after.numBytesInGPU).toBe(before.numBytesInGPU);
  });

  it('bad input gets core\'s typed errors, naming the argument, and leaks nothing', () => {
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const input = tf.zeros([1, 5, 5, 2]);
      const weight = tf.zeros([3, 3, 2, 4]);
      const offset = tf.zeros([1, 5, 5, 18]);
      expect(thrown(() => deformConv2d({ input, weight, offset: tf.zeros([1, 5, 5, 16]) }, { padding: 1 }))).toMatchObject({ name: 'ShapeError', argument: 'offset.shape[1]' });
      expect(thrown(() => deformConv2d({ input: tf.zeros([5, 5, 2]), weight, offset }, { padding: 1 }))).toBeInstanceOf(RankError);
      expect(thrown(() => deformConv2d({ input, weight, offset, bias: tf.zeros([3]) }, { padding: 1 }))).toBeInstanceOf(ShapeError);
      const fm = tf.zeros([1, 4, 4, 1]);
      const e = thrown(() => deformRoiPool({ input: fm, rois: tf.tensor2d([[1, 0, 0, 2, 2]]) }, { outputSize: 2 }));
      expect(e).toBeInstanceOf(ValueError);
      expect((e as DcnError).argument).toMatch(/^rois/);
      // RoIs are checked once per tensor and scale: a first call reads them on the host, checks them and
      // uploads them (tfjs then drops its host copy); a second call at another scale must read them again,
      // from the GPU, which tfjs cannot do synchronously in Node (a browser can): that is said, naming rois.
      const rois = tf.tensor2d([[0, 0, 0, 2, 2]]);
      expect(thrown(() => deformRoiPool({ input: fm, rois }, { outputSize: 2 }))).toBeNull();
      expect(thrown(() => deformRoiPool({ input: fm, rois }, { outputSize: 2 }))).toBeNull();
      const r = thrown(() => deformRoiPool({ input: fm, rois }, { outputSize: 2, spatialScale: 0.5 }));
      expect(r).toBeInstanceOf(BackendError);
      expect((r as DcnError).argument).toBe('rois');
    });
    expect(tf.memory().numTensors).toBe(before);
  });
});
