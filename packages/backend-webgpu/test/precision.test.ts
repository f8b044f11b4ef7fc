/**
 * The `precision` option: float32 (default) everywhere; float16 storage only on a device with
 * `shader-f16` (lavapipe 25 here; SwiftShader lacks it and must be refused with CapabilityError), with
 * uploads rounded to nearest-even binary16, downloads exact, half-size buffers, and kernels that compute
 * exactly the float16-rounded problem in float32: against the float64 reference on the rounded inputs
 * the only extra error allowed is the rounding of each result (FLOAT16_UNIT_ROUNDOFF relative), so a
 * kernel that rounded its intermediates to float16 fails here although the (much looser) float16
 * conformance tolerances would not notice.
 */
import { CapabilityError, deformConv2d, hasKernel, ParamError } from '@dcnv2/core';
import {
  backendBackward, backendForward, compareTensors, defaultTolerance, FLOAT16_UNIT_ROUNDOFF, makeGeometry, randomCaseData, referenceBackward,
  referenceForward, Rng, roundCaseToFloat16, roundToFloat16, type ConvSpec, type ConvTensorName, type Tolerance,
} from '@dcnv2/conformance';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWebGpuBackend, dcnBackend } from '../dist/index.js';
import { float16Gpu, nodeGpu } from './gpu.js';

const base: ConvSpec = {
  batch: 1, inChannels: 4, inHeight: 9, inWidth: 9, outChannels: 4, kernelH: 3, kernelW: 3,
  strideH: 1, strideW: 1, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1, dilationH: 1, dilationW: 1,
  groups: 1, offsetGroups: 1, hasMask: true, hasBias: true,
};

/**
 * Float32 arithmetic on the rounded inputs (a quarter of the float32 rule: observed float32 errors use
 * under a tenth of it) plus one float16 rounding of each result. Truncating every column element of the
 * forward to float16's 11 significant bits already exceeds it 5-7 times.
 */
const tightF16 = (d: Tolerance): Tolerance => ({ atol: d.atol / 4, rtol: d.rtol / 4 + FLOAT16_UNIT_ROUNDOFF });

describe('precision option and capabilities', () => {
  it('defaults to float32; SwiftShader has no shader-f16, so float16 is refused with CapabilityError', async () => {
    const b = createWebGpuBackend({ gpu: nodeGpu() });
    expect(b.precision).toBe('float32');
    await b.init();
    expect(b.capabilities.float16).toBe(false);
    b.dispose();
    const f16 = createWebGpuBackend({ gpu: nodeGpu(), precision: 'float16' });
    await expect(f16.init()).rejects.toThrow(CapabilityError);
    await expect(createWebGpuBackend({ gpu: nodeGpu(), precision: 'float16' }).init()).rejects.toThrow(/^options\.precision: expected .*"shader-f16".*, got .*SwiftShader/);
  });

  it('rejects an unknown precision with ParamError', () => {
    expect(() => createWebGpuBackend({ precision: 'f16' as 'float16' })).toThrow(ParamError);
    expect(() => createWebGpuBackend({ precision: 'f16' as 'float16' })).toThrow('options.precision: expected "float32" or "float16", got "f16"');
  });

  it('lavapipe reports shader-f16: capabilities.float16 is true at either precision', async () => {
    for (const precision of ['float32', 'float16'] as const) {
      const b = createWebGpuBackend({ gpu: float16Gpu(), precision });
      await b.init();
      expect(b.precision).toBe(precision);
      expect(b.capabilities.float16).toBe(true);
      expect(b.device.features.has('shader-f16')).toBe(true);
      // RoI pooling is offered at float32 only (its coordinates would be stored as binary16).
      expect(hasKernel(b, 'deform_roi_pool', 'forward')).toBe(precision === 'float32');
      b.dispose();
    }
  });

  it('an injected device must have been created with shader-f16', async () => {
    const adapter = (await float16Gpu().requestAdapter())!;
    const plain = await adapter.requestDevice();
    await expect(createWebGpuBackend({ device: plain, precision: 'float16' }).init()).rejects.toThrow(/^options\.device: expected .*"shader-f16"/);
    plain.destroy();
    const adapter2 = (await float16Gpu().requestAdapter())!;
    const withF16 = await adapter2.requestDevice({ requiredFeatures: ['shader-f16'] });
    const b = createWebGpuBackend({ device: withF16, precision: 'float16' });
    await b.init();
    const h = b.upload(Float32Array.of(1, 0.1), [2]);
    expect(Array.from(await b.download(h, [2]))).toEqual([1, roundToFloat16(0.1)]);
    b.dispose();
    withF16.destroy();
  });

  it('the provider finds a shader-f16 adapter by itself (lavapipe) when asked for float16', async () => {
    const b = await dcnBackend.create({ precision: 'float16' });
    await b.init();
    expect(b.precision).toBe('float16');
    expect(b.capabilities.float16).toBe(true);
    await b.dispose();
  });
});

describe('float16 storage on lavapipe', () => {
  const backend = createWebGpuBackend({ gpu: float16Gpu(), precision: 'float16' });
  beforeAll(() => backend.init());
  afterAll(() => backend.dispose());

  it('uploads round to nearest-even binary16 and downloads give those values back exactly, for any length', async () => {
    const specials = [0, -0, 1, -2.5, 65504, 65519, 65520, 1e6, -1e6, 2 ** -24, 2 ** -25, 3 * 2 ** -25, 1e-8, 2 ** -14, 0.1, 1 / 3, Infinity, -Infinity, NaN];
    const rng = new Rng(9);
    for (const n of [0, 1, 2, 3, 5, specials.length, 1001]) {
      const data = Float32Array.from({ length: n }, (_, i) => (i < specials.length ? specials[i]! : rng.normal() * 10 ** rng.int(-6, 4)));
      const h = backend.upload(data, [n]);
      // Half the bytes of float32 (buffers come in 256-byte size classes).
      expect(h.buffer.size).toBe(Math.max(256, Math.ceil((2 * n) / 256) * 256));
      const back = await backend.download(h, [n]);
      expect(back.length).toBe(n);
      for (let i = 0; i < n; i++) {
        const want = roundToFloat16(data[i]!);
        if (Number.isNaN(want)) expect(Number.isNaN(back[i])).toBe(true);
        else expect(Object.is(back[i], want), `element ${i}: ${data[i]} -> ${back[i]}, want ${want}`).toBe(true);
      }
      backend.release(h);
    }
  });

  it('adopts a buffer of binary16 values, and refuses one too small for them', async () => {
    const dev = backend.device;
    const buf = dev.createBuffer({ size: 8, usage: 0x80 | 0x04 | 0x08 });
    dev.queue.writeBuffer(buf, 0, Uint16Array.of(0x3c00, 0xc000, 0x3800, 0x7c00)); // 1, -2, 0.5, Inf
    const h = backend.adopt(buf, [3]);
    expect(Array.from(await backend.download(h, [3]))).toEqual([1, -2, 0.5]);
    backend.release(h);
    expect(() => backend.adopt(buf, [5])).toThrow(/external\.size: expected >= 12 bytes \(5 f16 values\)/);
    buf.destroy();
  });

  // Shapes crossing the forward kernel's tiles, tap blocks and channel chunks, and backward shapes with
  // several workgroups per dispatch and grad_input scatters that collide (the float32 accumulator).
  const shapes: ReadonlyArray<[string, Partial<ConvSpec>]> = [
    ['3x3, mask and bias', {}],
    ['many output-channel and pixel tiles', { outChannels: 40, inHeight: 13, inWidth: 11, batch: 2 }],
    ['7x7 kernel, several tap blocks', { kernelH: 7, kernelW: 7, padTop: 3, padLeft: 3, padBottom: 3, padRight: 3, inChannels: 5 }],
    ['1x1 kernel, many channel chunks, no bias', { kernelH: 1, kernelW: 1, padTop: 0, padLeft: 0, padBottom: 0, padRight: 0, inChannels: 48, outChannels: 33, hasBias: false }],
    ['groups and straddling offset groups, no mask', { inChannels: 6, outChannels: 8, groups: 2, offsetGroups: 3, hasMask: false }],
    ['stride, dilation, asymmetric padding, odd sizes', { batch: 3, strideH: 2, strideW: 3, dilationH: 2, padTop: 0, padLeft: 2, padBottom: 3, padRight: 1, kernelH: 2, kernelW: 4, inHeight: 11, inWidth: 7 }],
  ];
  for (const [name, spec] of shapes) {
    it(`computes exactly the float16-rounded problem, forward and backward: ${name}`, async () => {
      const c = randomCaseData(new Rng(name.length * 31), makeGeometry({ ...base, ...spec }), spec.hasMask === false ? {} : { mask: 'raw' });
      const r = roundCaseToFloat16(c);
      const tol = (t: ConvTensorName) => tightF16(defaultTolerance(t, c.geometry));
      const out = compareTensors(await backendForward(backend, c), referenceForward(r), tol('output'));
      expect(out.detail ?? 'ok', 'output').toBe('ok');
      const got = await backendBackward(backend, c);
      const want = referenceBackward(r);
      for (const k of ['input', 'offset', 'mask', 'weight', 'bias'] as const) {
        const w = want[k];
        if (w === null) {
          expect(got[k]).toBeUndefined();
          continue;
        }
        const cmp = compareTensors(got[k]!, w, tol(`grad_${k}`));
        expect(cmp.detail ?? 'ok', `grad_${k}`).toBe('ok');
      }
    });
  }

  it('chains resident float16 outputs into the next call', async () => {
    const c = roundCaseToFloat16(randomCaseData(new Rng(4), makeGeometry(base)));
    const t = { input: { shape: [1, 4, 9, 9], data: c.input }, weight: { shape: [4, 4, 3, 3], data: c.weight }, offset: { shape: [1, 18, 9, 9], data: c.offset } };
    const a = await deformConv2d(t, { padding: 1 }, { backend, output: 'resident' });
    const aHost = await a.read();
    const b = await deformConv2d({ ...t, input: a }, { padding: 1 }, { backend, output: 'host' });
    // The resident intermediate is already float16: the second call sees exactly what was downloaded.
    const want = referenceForward({ ...c, input: Float32Array.from(aHost), mask: null, bias: null });
    expect(compareTensors(b.data, want, tightF16(defaultTolerance('output', c.geometry))).detail ?? 'ok').toBe('ok');
    a.dispose();
  });
});
