/** Memory: typed LimitError before anything is allocated, growth on demand, no growth over repeated calls. */
import { deformConv2d, deformConv2dBackward, deformRoiPool, deformRoiPoolBackward, LimitError, type RoiPoolGeometry } from '@dcnv2/core';
import { describe, expect, it } from 'vitest';
import { createWasmBackend } from '../dist/index.js';
import { makeCase, randTensor, rng } from './helpers.js';

/** A small RoI pooling problem (host tensors) with offsets and masks. */
function roiCase(R: number, C: number) {
  const r = rng(11);
  const rois = new Float32Array(R * 5);
  for (let k = 0; k < R; k++) rois.set([0, r() * 8, r() * 8, 8 + r() * 12, 8 + r() * 10], k * 5);
  return {
    input: randTensor([1, C, 12, 14], r),
    rois: { shape: [R, 5], data: rois },
    offset: randTensor([R, 2, 3, 3], r),
    mask: randTensor([R, 1, 3, 3], r, 1, 0),
    gradOutput: randTensor([R, C, 3, 3], r),
  };
}
const roiParams = { outputSize: 3, spatialScale: 0.5, samplingRatio: 0 };

describe('wasm memory', () => {
  it('rejects an upload larger than the memory limit with LimitError, allocating nothing', async () => {
    const be = createWasmBackend({ threads: 1, maxMemoryBytes: 16 * 1024 * 1024 });
    await be.init();
    const before = be.memoryStats;
    expect(() => be.upload(new Float32Array(5 * 1024 * 1024), [5 * 1024 * 1024])).toThrow(LimitError);
    expect(be.memoryStats).toEqual(before);
    await be.dispose();
  });

  it('rejects a problem whose output or workspace cannot fit with LimitError, allocating nothing', async () => {
    const be = createWasmBackend({ threads: 1, maxMemoryBytes: 64 * 1024 * 1024 });
    await be.init();
    // Small inputs (a 1x1 kernel, 20,000 output channels), an 80 MB output.
    const H = 32;
    const input = { shape: [1, 1, H, H], data: new Float32Array(H * H).fill(1) };
    const weight = { shape: [20000, 1, 1, 1], data: new Float32Array(20000).fill(1) };
    const offset = { shape: [1, 2, H, H], data: new Float32Array(2 * H * H) };
    // Warm up so that only the failed call could change anything.
    await deformConv2d({ input, weight: { shape: [1, 1, 1, 1], data: new Float32Array(1) }, offset }, {}, { backend: be });
    const before = be.memoryStats;
    await expect(deformConv2d({ input, weight, offset }, {}, { backend: be })).rejects.toThrow(LimitError);
    // Core's uploads of the (small) inputs were released; the 80 MB output was never allocated.
    expect(be.memoryStats.inUse).toBe(before.inUse);
    expect(be.memoryStats.memoryBytes).toBeLessThan(before.memoryBytes + 1024 * 1024);
    // The same through the backend directly: nothing changes at all.
    const g = { batch: 1, inChannels: 1, inHeight: H, inWidth: H, outChannels: 20000, kernelH: 1, kernelW: 1, strideH: 1, strideW: 1, padTop: 0, padLeft: 0, padBottom: 0, padRight: 0, dilationH: 1, dilationW: 1, groups: 1, offsetGroups: 1, outHeight: H, outWidth: H, hasMask: false, hasBias: false };
    const hi = be.upload(input.data, input.shape);
    const hw = be.upload(weight.data, weight.shape);
    const ho = be.upload(offset.data, offset.shape);
    const mid = be.memoryStats;
    expect(() => be.deformConv2d(g, { input: hi, weight: hw, offset: ho, mask: null, bias: null })).toThrow(LimitError);
    expect(be.memoryStats).toEqual(mid);
    const gradOutput = be.upload(new Float32Array(H * H), [1, 1, H, H]);
    const hw1 = be.upload(new Float32Array(1), [1, 1, 1, 1]);
    const mid2 = be.memoryStats;
    const want = { input: true, offset: true, mask: false, weight: true, bias: false };
    expect(() => be.deformConv2dBackward({ ...g, outChannels: 1 }, { input: hi, weight: hw1, offset: ho, mask: null, bias: null }, gradOutput, want)).not.toThrow();
    expect(be.memoryStats.inUse).toBeGreaterThan(mid2.inUse); // the returned gradients
    for (const h of [hi, hw, hw1, ho, gradOutput]) be.release(h);
    await be.dispose();
  });

  it('grows the memory for large problems and still computes', async () => {
    const be = createWasmBackend({ threads: 1 });
    await be.init();
    const start = be.memoryStats.memoryBytes;
    const c = makeCase(1, 16, 96, 16, 5);
    const y = await deformConv2d(c, c.params, { backend: be });
    expect(y.data.length).toBe(16 * 96 * 96);
    expect(be.memoryStats.memoryBytes).toBeGreaterThan(start);
    expect(be.memoryStats.inUse).toBe(0);
    await be.dispose();
  });

  for (const threads of [1, 2]) {
    it(`does not grow over 1,000 repeated forward calls and 200 backward calls (${threads} thread${threads > 1 ? 's' : ''})`, async () => {
      const be = createWasmBackend({ threads });
      await be.init();
      const c = makeCase(1, 8, 10, 8, 6);
      await deformConv2d(c, c.params, { backend: be });
      await deformConv2dBackward({ ...c }, c.params, { backend: be });
      const after1 = be.memoryStats;
      expect(after1.inUse).toBe(threads > 1 ? (threads - 1) * 64 * 1024 : 0); // only the worker stacks stay
      for (let i = 0; i < 1000; i++) await deformConv2d(c, c.params, { backend: be });
      for (let i = 0; i < 200; i++) await deformConv2dBackward({ ...c }, c.params, { backend: be });
      expect(be.memoryStats).toEqual(after1);
      await be.dispose();
    });
  }

  it('rejects a RoI pooling problem whose output cannot fit with LimitError, allocating nothing', async () => {
    const be = createWasmBackend({ threads: 1, maxMemoryBytes: 32 * 1024 * 1024 });
    await be.init();
    const small = roiCase(2, 4);
    await deformRoiPool(small, roiParams, { backend: be });
    // 4,000 RoIs x 64 channels x 14x14 bins: a 200 MB output from 1 MB of inputs.
    const R = 4000;
    const C = 64;
    const g: RoiPoolGeometry = {
      batch: 1, channels: C, inHeight: 12, inWidth: 14, rois: R, pooledH: 14, pooledW: 14,
      spatialScale: 1, samplingRatio: 2, gamma: 0.1, hasOffset: false, hasMask: false,
    };
    const input = be.upload(new Float32Array(C * 12 * 14), [1, C, 12, 14]);
    const roiData = new Float32Array(R * 5).map((_, i) => (i % 5 === 0 ? 0 : 1 + (i % 5)));
    const rois = be.upload(roiData, [R, 5]);
    const before = be.memoryStats;
    expect(() => be.deformRoiPool(g, { input, rois, offset: null, mask: null })).toThrow(LimitError);
    expect(be.memoryStats).toEqual(before);
    // Backward: an input of 64 x 256 x 256 floats (16.8 MB) fits, its gradient as well does not.
    const big: RoiPoolGeometry = { ...g, inHeight: 256, inWidth: 256, rois: 1, pooledH: 1, pooledW: 1 };
    const bigInput = be.upload(new Float32Array(C * 256 * 256), [1, C, 256, 256]);
    const oneRoi = be.upload(roiData.subarray(0, 5), [1, 5]);
    const gout = be.upload(new Float32Array(C), [1, C, 1, 1]);
    const mid = be.memoryStats;
    const want = { input: true, offset: false, mask: false };
    expect(() => be.deformRoiPoolBackward(big, { input: bigInput, rois: oneRoi, offset: null, mask: null }, gout, want)).toThrow(LimitError);
    expect(be.memoryStats).toEqual(mid);
    for (const h of [bigInput, oneRoi]) be.release(h);
    // Through core: the same typed error, and core's uploads are released.
    const host = { input: { shape: [1, C, 12, 14], data: new Float32Array(C * 12 * 14) }, rois: { shape: [R, 5], data: roiData } };
    const inUse = be.memoryStats.inUse;
    await expect(deformRoiPool(host, { outputSize: 14, samplingRatio: 2 }, { backend: be })).rejects.toThrow(LimitError);
    expect(be.memoryStats.inUse).toBe(inUse);
    for (const h of [input, rois, gout]) be.release(h);
    await be.dispose();
  });

  for (const threads of [1, 2]) {
    it(`does not grow over 1,000 RoI pooling forward calls and 200 backward calls (${threads} thread${threads > 1 ? 's' : ''})`, async () => {
      const be = createWasmBackend({ threads });
      await be.init();
      const c = roiCase(5, 8);
      await deformRoiPool(c, roiParams, { backend: be });
      await deformRoiPoolBackward(c, roiParams, { backend: be });
      const after1 = be.memoryStats;
      expect(after1.inUse).toBe(threads > 1 ? (threads - 1) * 64 * 1024 : 0); // only the worker stacks stay
      for (let i = 0; i < 1000; i++) await deformRoiPool(c, roiParams, { backend: be });
      for (let i = 0; i < 200; i++) await deformRoiPoolBackward(c, roiParams, { backend: be });
      expect(be.memoryStats).toEqual(after1);
      await be.dispose();
    });
  }
});
