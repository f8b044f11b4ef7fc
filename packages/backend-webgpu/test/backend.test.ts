/**
 * The WebGPU backend's own behaviour beyond the conformance suites: shapes that cross every tiling
 * boundary of the kernel (output-channel tiles, pixel tiles, tap blocks, channel chunks, offset groups
 * that straddle convolution groups), the backward pass on larger shapes against the float64 reference,
 * batch 0, resident chaining, buffer pooling, adopt, limits, dispose and device loss.
 */
import { deformConv2d, DeviceLostError, DisposedError, LimitError, type ConvGeometry } from '@dcnv2/core';
import {
  backendBackward, backendForward, compareTensors, defaultTolerance, makeGeometry, randomCaseData, referenceBackward, referenceForward, Rng, type ConvSpec,
} from '@dcnv2/conformance';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWebGpuBackend, dcnBackend, WebGpuBackend } from '../dist/index.js';
import { nodeGpu } from './gpu.js';

const base: ConvSpec = {
  batch: 1, inChannels: 4, inHeight: 9, inWidth: 9, outChannels: 4, kernelH: 3, kernelW: 3,
  strideH: 1, strideW: 1, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1, dilationH: 1, dilationW: 1,
  groups: 1, offsetGroups: 1, hasMask: true, hasBias: true,
};

const shapes: ReadonlyArray<[string, Partial<ConvSpec>]> = [
  ['many output-channel tiles and pixel tiles', { outChannels: 70, inHeight: 13, inWidth: 11 }],
  ['7x7 kernel: several tap blocks', { kernelH: 7, kernelW: 7, padTop: 3, padLeft: 3, padBottom: 3, padRight: 3, inChannels: 5 }],
  ['1x1 kernel, many channel chunks', { kernelH: 1, kernelW: 1, padTop: 0, padLeft: 0, padBottom: 0, padRight: 0, inChannels: 64, outChannels: 33 }],
  ['offset groups straddling conv groups', { inChannels: 6, outChannels: 4, groups: 2, offsetGroups: 3 }],
  ['groups 4, offset groups 2, no mask, no bias', { inChannels: 8, outChannels: 8, groups: 4, offsetGroups: 2, hasMask: false, hasBias: false }],
  ['stride, dilation, asymmetric padding, batch 3', { batch: 3, strideH: 2, strideW: 3, dilationH: 2, dilationW: 1, padTop: 0, padLeft: 2, padBottom: 3, padRight: 1, kernelH: 2, kernelW: 4 }],
  ['depthwise 5x3', { inChannels: 12, outChannels: 24, groups: 12, offsetGroups: 4, kernelH: 5, kernelW: 3, padTop: 2, padLeft: 1, padBottom: 2, padRight: 1 }],
];

describe('webgpu backend', () => {
  const backend = createWebGpuBackend({ gpu: nodeGpu() });
  beforeAll(() => backend.init());
  afterAll(() => backend.dispose());

  for (const [name, spec] of shapes) {
    it(`matches the float64 reference: ${name}`, async () => {
      const rng = new Rng(name.length * 7919);
      const c = randomCaseData(rng, makeGeometry({ ...base, ...spec }));
      const got = await backendForward(backend, c);
      const r = compareTensors(got, referenceForward(c), defaultTolerance('output', c.geometry));
      expect(r.detail ?? '').toBe('');
      expect(r.pass).toBe(true);
    });
  }

  // Backward on larger shapes than the suites draw: many pixels (several 64-invocation workgroups per
  // dispatch), many output channels per gradCol reduction, offset groups straddling conv groups, batch 2.
  const backwardShapes: ReadonlyArray<[string, Partial<ConvSpec>]> = [
    ['backward: many output channels and pixels', { outChannels: 40, inHeight: 13, inWidth: 11, batch: 2 }],
    ['backward: 5x5 kernel, stride and dilation', { kernelH: 5, kernelW: 5, padTop: 2, padLeft: 3, padBottom: 2, padRight: 1, strideH: 2, dilationW: 2, inHeight: 17, inWidth: 15, inChannels: 6 }],
    ['backward: offset groups straddling conv groups, no mask', { inChannels: 6, outChannels: 8, groups: 2, offsetGroups: 3, hasMask: false, inHeight: 12, inWidth: 12 }],
    ['backward: 1x1 kernel, many channels, no bias', { kernelH: 1, kernelW: 1, padTop: 0, padLeft: 0, padBottom: 0, padRight: 0, inChannels: 48, outChannels: 33, hasBias: false }],
  ];
  for (const [name, spec] of backwardShapes) {
    it(`matches the float64 reference: ${name}`, async () => {
      const rng = new Rng(name.length * 104729);
      const c = randomCaseData(rng, makeGeometry({ ...base, ...spec }));
      const got = await backendBackward(backend, c);
      const want = referenceBackward(c);
      for (const k of ['input', 'offset', 'mask', 'weight', 'bias'] as const) {
        const w = want[k];
        if (w === null || w === undefined) {
          expect(got[k]).toBeUndefined();
          continue;
        }
        const r = compareTensors(got[k]!, w, defaultTolerance(`grad_${k}`, c.geometry));
        expect(`${k}: ${r.detail ?? ''}`).toBe(`${k}: `);
        expect(r.pass).toBe(true);
      }
    });
  }

  it('computes only the requested gradients', async () => {
    const c = randomCaseData(new Rng(5), makeGeometry(base));
    const got = await backendBackward(backend, c, ['offset', 'bias']);
    expect(Object.keys(got).sort()).toEqual(['bias', 'offset']);
    const want = referenceBackward(c);
    expect(compareTensors(got.offset!, want.offset!, defaultTolerance('grad_offset', c.geometry)).pass).toBe(true);
    expect(compareTensors(got.bias!, want.bias!, defaultTolerance('grad_bias', c.geometry)).pass).toBe(true);
  });

  it('batch 0 gives an empty output', async () => {
    const g = makeGeometry({ ...base, batch: 1 });
    const c = randomCaseData(new Rng(1), { ...g, batch: 0 });
    const got = await backendForward(backend, c);
    expect(got.length).toBe(0);
  });

  it('chains resident outputs and pools released buffers', async () => {
    const c = randomCaseData(new Rng(2), makeGeometry(base));
    const g = c.geometry;
    const t = { input: { shape: [1, 4, 9, 9], data: c.input }, weight: { shape: [4, 4, 3, 3], data: c.weight }, offset: { shape: [1, 18, 9, 9], data: c.offset } };
    const a = await deformConv2d(t, { padding: 1 }, { backend, output: 'resident' });
    // the resident output feeds the next call without leaving the device
    const b = await deformConv2d({ ...t, input: a }, { padding: 1 }, { backend, output: 'host' });
    const want = referenceForward({ ...c, input: Float32Array.from(await a.read()), mask: null, bias: null });
    expect(compareTensors(b.data, want, defaultTolerance('output', g)).pass).toBe(true);
    const buf = (a.handle as { buffer: GPUBuffer }).buffer;
    a.dispose();
    const h = backend.upload(new Float32Array(g.outChannels * 81), [1, g.outChannels, 9, 9]);
    expect(h.buffer).toBe(buf);
    backend.release(h);
    backend.release(h); // idempotent
  });

  it('adopts a foreign buffer without freeing it', async () => {
    const dev = backend.device;
    const buf = dev.createBuffer({ size: 16, usage: 0x80 | 0x04 | 0x08 });
    dev.queue.writeBuffer(buf, 0, new Float32Array([1, 2, 3, 4]));
    const h = backend.adopt(buf, [4]);
    expect(Array.from(await backend.download(h, [4]))).toEqual([1, 2, 3, 4]);
    backend.release(h);
    const h2 = backend.adopt(buf, [4]);
    expect(Array.from(await backend.download(h2, [4]))).toEqual([1, 2, 3, 4]);
    buf.destroy();
  });

  it('throws LimitError naming maxStorageBufferBindingSize for a too large tensor', async () => {
    // No input channels: empty input and weight, a 1x1 output of 2^29 channels (2 GiB), refused before allocating.
    const big: ConvGeometry = {
      ...makeGeometry(base), inChannels: 0, kernelH: 1, kernelW: 1, outHeight: 1, outWidth: 1, outChannels: 2 ** 29, hasMask: false, hasBias: false,
    };
    const empty = backend.upload(new Float32Array(0), [0]);
    const offset = backend.upload(new Float32Array(2), [1, 2, 1, 1]);
    const inputs = { input: empty, weight: empty, offset, mask: null, bias: null };
    await expect(backend.deformConv2d(big, inputs)).rejects.toThrow(LimitError);
    await expect(backend.deformConv2d(big, inputs)).rejects.toThrow(/maxStorageBufferBindingSize/);
    backend.release(empty);
    backend.release(offset);
  });
});

describe('webgpu backend lifecycle', () => {
  it('throws DisposedError after dispose', async () => {
    const b = createWebGpuBackend({ gpu: nodeGpu() });
    await b.init();
    await b.dispose();
    expect(() => b.upload(new Float32Array(1), [1])).toThrow(DisposedError);
  });

  it('reports device loss as DeviceLostError on the next call, and leaves an injected device alone', async () => {
    const adapter = await nodeGpu().requestAdapter();
    const device = await adapter!.requestDevice();
    const b = new WebGpuBackend({ device });
    await b.init();
    const h = b.upload(new Float32Array([1, 2]), [2]);
    expect(Array.from(await b.download(h, [2]))).toEqual([1, 2]);
    device.destroy();
    await device.lost;
    expect(() => b.upload(new Float32Array(1), [1])).toThrow(DeviceLostError);
    await b.dispose();
  });

  it('attachDevice continues on a new device after a loss; tensors of the lost device are refused', async () => {
    const adapter = await nodeGpu().requestAdapter();
    const first = await adapter!.requestDevice();
    const b = new WebGpuBackend({ device: first });
    await b.init();
    const old = b.upload(new Float32Array([1, 2]), [2]);
    first.destroy();
    await first.lost;
    await expect(b.download(old, [2])).rejects.toThrow(DeviceLostError);
    // A fresh device of the backend's own making (no argument), then a caller's device again.
    await b.attachDevice();
    const h = b.upload(new Float32Array([3, 4]), [2]);
    expect(Array.from(await b.download(h, [2]))).toEqual([3, 4]);
    await expect(b.download(old, [2])).rejects.toThrow(/a tensor of the current device/);
    b.release(old);
    const second = await (await nodeGpu().requestAdapter())!.requestDevice();
    await b.attachDevice(second);
    expect(b.device).toBe(second);
    await expect(b.download(h, [2])).rejects.toThrow(DeviceLostError);
    // The convolution runs on the new device.
    const one = (shape: number[]) => b.upload(new Float32Array(shape.reduce((x, y) => x * y, 1)).fill(1), shape);
    const g = { batch: 1, inChannels: 1, inHeight: 3, inWidth: 3, outChannels: 1, kernelH: 3, kernelW: 3, strideH: 1, strideW: 1, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1, dilationH: 1, dilationW: 1, groups: 1, offsetGroups: 1, outHeight: 3, outWidth: 3, hasMask: false, hasBias: false };
    const y = await b.deformConv2d(g, { input: one([1, 1, 3, 3]), weight: one([1, 1, 3, 3]), offset: b.upload(new Float32Array(162), [1, 18, 3, 3]), mask: null, bias: null });
    expect(Array.from(await b.download(y, [1, 1, 3, 3]))).toEqual([4, 6, 4, 6, 9, 6, 4, 6, 4]);
    await b.dispose();
    second.destroy();
  });

  it('the provider sets up Dawn itself when no GPU is injected', async () => {
    const b = await dcnBackend.create();
    await b.init();
    expect(b.name).toBe('webgpu');
    expect(b.capabilities.resident).toBe(true);
    await b.dispose();
  });
});
