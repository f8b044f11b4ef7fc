/**
 * Hardening (issue 10) on the webgpu backend, on Dawn over SwiftShader:
 *
 * - GPU errors become typed errors of the call that caused them (finding 3). SwiftShader cannot allocate a
 *   buffer of exactly 1 GiB (its maxStorageBufferBindingSize), so the regression tests provoke a real
 *   `GPUOutOfMemoryError` there, for an upload and for a call's output, without the host memory of a
 *   1 GiB tensor (the upload's zero-filled array is never touched). A real validation error comes from an
 *   adopted buffer without STORAGE usage, or one the caller destroyed. Limits refused before allocating:
 *   maxStorageBufferBindingSize and `maxMemoryBytes`.
 * - SharedArrayBuffer-backed data uploads exactly (finding 8).
 * - Long reductions keep float32 accuracy (finding 9): each case is built so that one float32 accumulator
 *   would miss the conformance tolerance (checked on the host for the same terms), and the backend must
 *   use under 5% of it.
 * - Handles are checked (findings 2, 5, 6 in depth): size against the stated shape, owner, liveness; huge
 *   dilation and padding equal the cpu backend; gradInput's dispatches stay below 2^30 invocations.
 */
import { createCpuBackend } from '@dcnv2/backend-cpu';
import {
  adopt, BackendError, deformConv2d, deformConv2dBackward, deformRoiPool, deformRoiPoolBackward, DisposedError, LimitError, ParamError, upload,
  type RoiPoolGeometry,
} from '@dcnv2/core';
import {
  compareTensors, defaultRoiPoolTolerance, defaultTolerance, deformRoiPoolBackwardF64, deformRoiPoolF64, makeGeometry, pairTolerance, referenceBackward,
  referenceForward, Rng, roundToFloat16, type ConvCase, type ConvSpec, type Tolerance,
} from '@dcnv2/conformance';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWebGpuBackend, WebGpuTensor, type WebGpuBackend } from '../dist/index.js';
import { gradInputSlabs, MAX_DISPATCH_ITEMS } from '../src/backward.js';
import { float16DriverNote, float16Gpu, nodeGpu } from './gpu.js';

const GiB = 2 ** 30;
const adapter = (await nodeGpu().requestAdapter())!;
/** SwiftShader with a 1 GiB binding limit: where a 1 GiB buffer fails with GPUOutOfMemoryError. */
const oomAt1GiB = /swiftshader/i.test(`${adapter.info.vendor} ${adapter.info.architecture} ${adapter.info.description}`) && adapter.limits.maxStorageBufferBindingSize === GiB;

/** Counts the GPU errors that reach the device's `uncapturederror` event (the backend must leave none there). */
function watchUncaptured(b: WebGpuBackend): { count: number } {
  const seen = { count: 0 };
  b.device.addEventListener('uncapturederror', () => seen.count++);
  return seen;
}

/** Bytes held by live tensors (what a failed call must give back; the pool may keep the call's freed temporaries). */
const liveBytes = (b: WebGpuBackend): number => b.heldBytes - b.pooledBytes;

const ONE_BY_ONE: ConvSpec = {
  batch: 1, inChannels: 1, inHeight: 1, inWidth: 1, outChannels: 1, kernelH: 1, kernelW: 1, strideH: 1, strideW: 1,
  padTop: 0, padLeft: 0, padBottom: 0, padRight: 0, dilationH: 1, dilationW: 1, groups: 1, offsetGroups: 1, hasMask: false, hasBias: false,
};

const host = (shape: number[], data?: Float32Array) => ({ shape, data: data ?? new Float32Array(shape.reduce((a, b) => a * b, 1)) });

describe('GPU errors are typed errors of the call that caused them', () => {
  const backend = createWebGpuBackend({ gpu: nodeGpu(), maxMemoryBytes: Infinity });
  let uncaptured = { count: 0 };
  beforeAll(async () => {
    await backend.init();
    uncaptured = watchUncaptured(backend);
  });
  afterAll(() => backend.dispose());

  it.runIf(oomAt1GiB)('an upload the GPU cannot allocate (1 GiB on SwiftShader) throws LimitError on its next use and holds nothing', async () => {
    const held = liveBytes(backend);
    const H = 16384;
    // 2^28 zeros = exactly maxStorageBufferBindingSize; never written, so its pages are never touched.
    const t = upload(backend, host([1, 1, H, H]));
    const call = deformConv2d({ input: t, weight: host([1, 1, 3, 3], new Float32Array(9).fill(1)), offset: host([1, 18, 1, 1]) }, { stride: H, padding: 1 }, { backend });
    const err = await call.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LimitError);
    expect((err as LimitError).argument).toBe('input');
    expect((err as LimitError).message).toMatch(/^input: expected GPU memory for 1073741824 bytes, got "GPUOutOfMemoryError" \(.*VK_ERROR_OUT_OF_DEVICE_MEMORY/s);
    await expect(t.read()).rejects.toThrow(LimitError);
    t.dispose();
    expect(liveBytes(backend)).toBe(held);
    expect(uncaptured.count).toBe(0);
    // The backend carries on.
    const ok = await deformConv2d({ input: host([1, 1, 3, 3], new Float32Array(9).fill(2)), weight: host([1, 1, 3, 3], new Float32Array(9).fill(1)), offset: host([1, 18, 1, 1]) }, {}, { backend });
    expect(Array.from(ok.data)).toEqual([18]);
  });

  it.runIf(oomAt1GiB)('a call whose output the GPU cannot allocate rejects with LimitError and frees what it allocated', async () => {
    const held = liveBytes(backend);
    // Output [1, 2^20, 16, 16] = 2^28 floats (1 GiB) from 4 MiB of weights.
    const cout = 2 ** 20;
    const conv = deformConv2d({ input: host([1, 1, 16, 16]), weight: host([cout, 1, 1, 1]), offset: host([1, 2, 16, 16]) }, {}, { backend, output: 'resident' });
    await expect(conv).rejects.toThrow(LimitError);
    await expect(conv).rejects.toThrow(/^output: expected the GPU memory the call needs, got "GPUOutOfMemoryError"/);
    // RoI pooling: one RoI, one channel, 16384 x 16384 bins = 1 GiB of output.
    const pool = deformRoiPool({ input: host([1, 1, 4, 4]), rois: host([1, 5], Float32Array.of(0, 0, 0, 3, 3)) }, { outputSize: 16384, samplingRatio: 1 }, { backend });
    await expect(pool).rejects.toThrow(LimitError);
    expect(liveBytes(backend)).toBe(held);
    expect(uncaptured.count).toBe(0);
  });

  it('a validation error in a call rejects it with BackendError carrying the GPU message, and frees its output', async () => {
    const dev = backend.device;
    // A caller's buffer without STORAGE usage cannot be bound to a kernel: a real validation error.
    const noStorage = dev.createBuffer({ size: 9 * 4, usage: 0x04 | 0x08 });
    const input = adopt(backend, noStorage, [1, 1, 3, 3]);
    const held = liveBytes(backend);
    const err = await deformConv2d({ input, weight: host([1, 1, 3, 3]), offset: host([1, 18, 1, 1]) }, {}, { backend }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendError);
    expect((err as BackendError).argument).toBe('deformConv2d');
    expect((err as BackendError).message).toMatch(/a GPU validation error.*Storage/is);
    expect(liveBytes(backend)).toBe(held);
    input.dispose();
    noStorage.destroy();
    // A buffer the caller destroyed: the download's copy is invalid, so BackendError, not stale zeros.
    const gone = dev.createBuffer({ size: 16, usage: 0x80 | 0x04 | 0x08 });
    const t = adopt(backend, gone, [4]);
    gone.destroy();
    await expect(t.read()).rejects.toThrow(BackendError);
    await expect(t.read()).rejects.toThrow(/destroyed/i);
    t.dispose();
    const gone4 = dev.createBuffer({ size: 16, usage: 0x80 | 0x04 | 0x08 });
    const t4 = adopt(backend, gone4, [1, 1, 2, 2]);
    gone4.destroy();
    const back = deformConv2dBackward({ input: t4, weight: host([1, 1, 1, 1]), offset: host([1, 2, 2, 2]), gradOutput: host([1, 1, 2, 2]) }, {}, { backend });
    await expect(back).rejects.toThrow(BackendError);
    await expect(back).rejects.toThrow(/^deformConv2dBackward: expected GPU work without errors, got "a GPU validation error"/);
    expect(liveBytes(backend)).toBe(held);
    expect(uncaptured.count).toBe(0);
  });

  it('a GPU error outside every call is not lost: the next call throws it as BackendError, the one after runs', async () => {
    const b = createWebGpuBackend({ gpu: nodeGpu() });
    await b.init();
    const seen = watchUncaptured(b);
    // MAP_READ | MAP_WRITE together is invalid: an error no scope of the backend catches.
    b.device.createBuffer({ size: 4, usage: 0x01 | 0x02 });
    for (let i = 0; i < 200 && seen.count === 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(seen.count).toBe(1);
    expect(() => b.upload(new Float32Array(1), [1])).toThrow(BackendError);
    const h = b.upload(Float32Array.of(5), [1]);
    expect(Array.from(await b.download(h, [1]))).toEqual([5]);
    b.dispose();
  });

  it('refuses a tensor beyond maxStorageBufferBindingSize before allocating anything', () => {
    const lim = backend.device.limits.maxStorageBufferBindingSize;
    if (lim > GiB) return; // the test's zero-filled array would be too large for a typed array
    const held = liveBytes(backend);
    const n = lim / 4 + 1;
    expect(() => backend.upload(new Float32Array(n), [n])).toThrow(LimitError);
    expect(() => backend.upload(new Float32Array(n), [n])).toThrow(`tensor: expected at most maxStorageBufferBindingSize = ${lim} bytes, got ${lim + 4}`);
    expect(liveBytes(backend)).toBe(held);
    expect(uncaptured.count).toBe(0);
  });
});

describe('maxMemoryBytes', () => {
  const KiB = 1024;
  it('refuses, before allocating, what would take the backend past it; pooled buffers make room first', async () => {
    const b = createWebGpuBackend({ gpu: nodeGpu(), maxMemoryBytes: 1024 * KiB });
    expect(b.maxMemoryBytes).toBe(1024 * KiB);
    await b.init();
    const seen = watchUncaptured(b);
    const a = b.upload(new Float32Array(128 * KiB), [128 * KiB]); // 512 KiB
    expect(b.heldBytes).toBe(512 * KiB);
    const tooMuch = () => b.upload(new Float32Array(192 * KiB), [192 * KiB]); // 768 KiB more
    expect(tooMuch).toThrow(LimitError);
    expect(tooMuch).toThrow(/^tensor: expected at most maxMemoryBytes = 1048576 bytes of GPU buffers held by the webgpu backend \(524288 held now\), got "786432 more bytes"/);
    expect(b.heldBytes).toBe(512 * KiB);
    expect((await b.download(a, [128 * KiB])).length).toBe(128 * KiB);
    b.release(a); // into the pool: still held, but given up when room is needed
    expect(b.heldBytes).toBe(512 * KiB);
    expect(b.pooledBytes).toBe(512 * KiB);
    const c = b.upload(new Float32Array(192 * KiB).fill(3), [192 * KiB]);
    expect(b.heldBytes).toBe(768 * KiB);
    expect((await b.download(c, [192 * KiB]))[192 * KiB - 1]).toBe(3);
    // A call's output counts too: [1, 64, 32, 32] is 256 KiB more than the 12 KiB of inputs fit, refused.
    const conv = deformConv2d({ input: host([1, 1, 32, 32]), weight: host([64, 1, 1, 1]), offset: host([1, 2, 32, 32]) }, {}, { backend: b });
    await expect(conv).rejects.toThrow(LimitError);
    await expect(conv).rejects.toThrow(/^output: expected at most maxMemoryBytes = 1048576 bytes/);
    // The call's uploaded inputs go to the pool once the GPU has answered for their uploads.
    for (let i = 0; i < 200 && liveBytes(b) !== 768 * KiB; i++) await new Promise((r) => setTimeout(r, 5));
    expect(liveBytes(b)).toBe(768 * KiB);
    b.release(c);
    const out = await deformConv2d({ input: host([1, 1, 64, 64], new Float32Array(4096).fill(2)), weight: host([1, 1, 1, 1], Float32Array.of(3)), offset: host([1, 2, 64, 64]) }, {}, { backend: b });
    expect(out.data.every((v) => v === 6)).toBe(true);
    expect(seen.count).toBe(0);
    b.dispose();
  });

  it('is a positive integer or Infinity (ParamError otherwise); null options are no options', () => {
    for (const bad of [0, -1, 1.5, NaN, '1', null]) {
      expect(() => createWebGpuBackend({ maxMemoryBytes: bad as number })).toThrow(ParamError);
    }
    expect(() => createWebGpuBackend({ maxMemoryBytes: 0 })).toThrow('options.maxMemoryBytes: expected a positive integer number of bytes, or Infinity, got 0');
    expect(createWebGpuBackend({ maxMemoryBytes: Infinity }).maxMemoryBytes).toBe(Infinity);
    expect(createWebGpuBackend().maxMemoryBytes).toBe(2 ** 32);
    expect(createWebGpuBackend(null as never).maxMemoryBytes).toBe(2 ** 32);
    expect(() => createWebGpuBackend({ poolBytes: -1 })).toThrow(ParamError);
  });
});

describe('SharedArrayBuffer data', () => {
  const backend = createWebGpuBackend({ gpu: nodeGpu() });
  beforeAll(() => backend.init());
  afterAll(() => backend.dispose());

  const shared = (src: Float32Array, at = 3): Float32Array => {
    const v = new Float32Array(new SharedArrayBuffer((src.length + at + 1) * 4), at * 4, src.length);
    v.set(src);
    return v;
  };

  it('uploads shared memory exactly, in bounded chunks, and never reads it after upload returns', async () => {
    // One element past a 16 Mi-element chunk and one 64 MiB download piece, from an offset view.
    const n = 2 ** 24 + 3;
    const value = (i: number) => (i % 1021) - 0.375;
    const data = new Float32Array(new SharedArrayBuffer((n + 7) * 4), 28, n);
    for (let i = 0; i < n; i++) data[i] = value(i);
    const h = backend.upload(data, [n]);
    data.fill(7);
    const back = await backend.download(h, [n]);
    let wrong = 0;
    for (let i = 0; i < n; i++) if (back[i] !== value(i)) wrong++;
    expect(wrong).toBe(0);
    backend.release(h);
  });

  it('a convolution and its gradients on shared inputs equal those on unshared copies, bit for bit', async () => {
    const c = caseOf({ inChannels: 3, outChannels: 4, inHeight: 6, inWidth: 7 }, 11);
    const args = (wrap: (a: Float32Array) => Float32Array) => {
      const g = c.geometry;
      return {
        input: host([g.batch, g.inChannels, g.inHeight, g.inWidth], wrap(c.input)),
        weight: host([g.outChannels, g.inChannels, g.kernelH, g.kernelW], wrap(c.weight)),
        offset: host([g.batch, 2 * g.kernelH * g.kernelW, g.outHeight, g.outWidth], wrap(c.offset)),
        mask: host([g.batch, g.kernelH * g.kernelW, g.outHeight, g.outWidth], wrap(c.mask!)),
        bias: host([g.outChannels], wrap(c.bias!)),
        gradOutput: host([g.batch, g.outChannels, g.outHeight, g.outWidth], wrap(c.gradOutput!)),
      };
    };
    const plain = args((a) => a.slice());
    const sab = args((a) => shared(a));
    const { gradOutput: _p, ...fwdPlain } = plain;
    const { gradOutput: _s, ...fwdShared } = sab;
    const want = await deformConv2d(fwdPlain, { padding: 1 }, { backend });
    const got = await deformConv2d(fwdShared, { padding: 1 }, { backend });
    expect(Array.from(got.data)).toEqual(Array.from(want.data));
    expect(compareTensors(got.data, referenceForward(c), defaultTolerance('output', c.geometry)).pass).toBe(true);
    const gw = await deformConv2dBackward(plain, { padding: 1 }, { backend, grads: ['offset', 'mask', 'weight', 'bias'] });
    const gs = await deformConv2dBackward(sab, { padding: 1 }, { backend, grads: ['offset', 'mask', 'weight', 'bias'] });
    for (const k of ['offset', 'mask', 'weight', 'bias'] as const) expect(Array.from(gs[k]!.data)).toEqual(Array.from(gw[k]!.data));
    const rois = shared(Float32Array.of(0, 0.5, 1, 4.5, 5));
    const pool = await deformRoiPool({ input: fwdShared.input, rois: host([1, 5], rois) }, { outputSize: 2 }, { backend });
    const poolPlain = await deformRoiPool({ input: fwdPlain.input, rois: host([1, 5], rois.slice()) }, { outputSize: 2 }, { backend });
    expect(Array.from(pool.data)).toEqual(Array.from(poolPlain.data));
  });

  it.runIf(float16DriverNote === null)('float16 storage rounds shared memory like unshared (lavapipe)', async () => {
    const b = createWebGpuBackend({ gpu: float16Gpu(), precision: 'float16' });
    await b.init();
    const src = Float32Array.from({ length: 1001 }, (_, i) => (i - 500) * 0.1237);
    const back = await b.download(b.upload(shared(src), [src.length]), [src.length]);
    expect(Array.from(back)).toEqual(Array.from(src, roundToFloat16));
    b.dispose();
  });
});

/** A random case of `base` changed by `spec` (3x3 kernel, padding 1, mask and bias). */
function caseOf(spec: Partial<ConvSpec>, seed: number): ConvCase {
  const g = makeGeometry({
    batch: 1, inChannels: 2, inHeight: 5, inWidth: 5, outChannels: 2, kernelH: 3, kernelW: 3, strideH: 1, strideW: 1,
    padTop: 1, padLeft: 1, padBottom: 1, padRight: 1, dilationH: 1, dilationW: 1, groups: 1, offsetGroups: 1, hasMask: true, hasBias: true, ...spec,
  });
  const rng = new Rng(seed);
  const fill = (n: number, lo: number, hi: number) => Float32Array.from({ length: n }, () => rng.uniform(lo, hi));
  const K = g.kernelH * g.kernelW;
  const P = g.outHeight * g.outWidth;
  return {
    geometry: g,
    input: fill(g.batch * g.inChannels * g.inHeight * g.inWidth, -1, 1),
    weight: fill(g.outChannels * (g.inChannels / g.groups) * K, -1, 1),
    offset: fill(g.batch * 2 * g.offsetGroups * K * P, -0.7, 0.7),
    mask: g.hasMask ? fill(g.batch * g.offsetGroups * K * P, 0, 1) : null,
    bias: g.hasBias ? fill(g.outChannels, -1, 1) : null,
    gradOutput: fill(g.batch * g.outChannels * P, -1, 1),
  };
}

/** |got - want| as a fraction of the tolerance at `want`. */
const used = (got: number, want: number, t: Tolerance): number => Math.abs(got - want) / (t.atol + t.rtol * Math.abs(want));

/** The float32 sum of `terms` in one accumulator, in order: what an unblocked kernel computes. */
function sequentialF32(terms: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < terms.length; i++) s = Math.fround(s + terms[i]!);
  return s;
}

describe('long reductions keep float32 accuracy (blocked sums)', () => {
  const backend = createWebGpuBackend({ gpu: nodeGpu() });
  beforeAll(() => backend.init());
  afterAll(() => backend.dispose());
  const rng = new Rng(2024);
  /** Terms of one sign and nearly one size: the worst case for one float32 accumulator. */
  const near = (n: number, size: number, spread = 0.01) => Float32Array.from({ length: n }, () => size * (1 + spread * rng.next()));

  it('forward: 2^18 input channels into one output (Cin/groups*kh*kw = 2^18)', async () => {
    const C = 2 ** 18;
    const x = near(C, 1);
    const w = new Float32Array(C).fill(1);
    const exact = x.reduce((a, v) => a + v, 0);
    const g = makeGeometry({ ...ONE_BY_ONE, inChannels: C });
    const tol = defaultTolerance('output', g);
    expect(used(sequentialF32(x), exact, tol)).toBeGreaterThan(1);
    const out = await deformConv2d({ input: host([1, C, 1, 1], x), weight: host([1, C, 1, 1], w), offset: host([1, 2, 1, 1]) }, {}, { backend });
    expect(used(out.data[0]!, exact, tol)).toBeLessThan(0.05);
  });

  it('forward: a 256x256 kernel on a 1x1 output (2^16 taps)', async () => {
    const S = 256;
    const x = near(S * S, 1, 0.001);
    const w = new Float32Array(S * S).fill(1);
    const terms = x;
    const exact = x.reduce((a, v) => a + v, 0);
    const g = makeGeometry({ ...ONE_BY_ONE, inHeight: S, inWidth: S, kernelH: S, kernelW: S });
    const tol = defaultTolerance('output', g);
    expect(used(sequentialF32(terms), exact, tol)).toBeGreaterThan(1);
    const out = await deformConv2d({ input: host([1, 1, S, S], x), weight: host([1, 1, S, S], w), offset: host([1, 2 * S * S, 1, 1]) }, {}, { backend });
    expect(used(out.data[0]!, exact, tol)).toBeLessThan(0.05);
  });

  it('backward: grad_weight and grad_bias over N*Ho*Wo = 2^20', async () => {
    const N = 4;
    const S = 512;
    const n = N * S * S;
    const x = near(n, 1);
    const go = near(n, 0.5);
    const w = Float32Array.of(1);
    const g = makeGeometry({ ...ONE_BY_ONE, batch: N, inHeight: S, inWidth: S, hasBias: true });
    const exactW = Array.from(x).reduce((a, v, i) => a + v * go[i]!, 0);
    const exactB = go.reduce((a, v) => a + v, 0);
    const tolW = defaultTolerance('grad_weight', g);
    const tolB = defaultTolerance('grad_bias', g);
    expect(used(sequentialF32(x.map((v, i) => Math.fround(v * go[i]!))), exactW, tolW)).toBeGreaterThan(1);
    expect(used(sequentialF32(go), exactB, tolB)).toBeGreaterThan(1);
    const r = await deformConv2dBackward(
      { input: host([N, 1, S, S], x), weight: host([1, 1, 1, 1], w), offset: host([N, 2, S, S]), bias: host([1]), gradOutput: host([N, 1, S, S], go) },
      {}, { backend, grads: ['weight', 'bias'] },
    );
    expect(used(r.weight!.data[0]!, exactW, tolW)).toBeLessThan(0.05);
    expect(used(r.bias!.data[0]!, exactB, tolB)).toBeLessThan(0.05);
  });

  it('backward: grad_mask and grad_offset over 2^18 channels of one offset group', async () => {
    const C = 2 ** 18;
    const c: ConvCase = {
      geometry: makeGeometry({ ...ONE_BY_ONE, inChannels: C, inHeight: 2, inWidth: 2, hasMask: true }),
      input: near(C * 4, 1),
      weight: new Float32Array(C).fill(1),
      // Every pixel samples a quarter pixel down and right: all four corners in the image for pixel (0, 0).
      offset: new Float32Array(8).fill(0.25),
      mask: Float32Array.of(0.75, 0.5, 0.25, 1),
      bias: null,
      gradOutput: Float32Array.of(1, 0.5, 0.25, 0.125),
    };
    const want = referenceBackward(c);
    const tolM = defaultTolerance('grad_mask', c.geometry);
    const tolO = defaultTolerance('grad_offset', c.geometry);
    // grad_mask at pixel (0, 0): sum over channels of 1 * (bilinear sample), the terms one accumulator would add.
    const terms = Array.from({ length: C }, (_, k) => {
      const v = c.input.subarray(k * 4, k * 4 + 4);
      return Math.fround(0.5625 * v[0]! + 0.1875 * v[1]! + 0.1875 * v[2]! + 0.0625 * v[3]!);
    });
    expect(used(sequentialF32(terms), want.mask![0]!, tolM)).toBeGreaterThan(1);
    const r = await deformConv2dBackward(
      {
        input: host([1, C, 2, 2], c.input), weight: host([1, C, 1, 1], c.weight), offset: host([1, 2, 2, 2], c.offset),
        mask: host([1, 1, 2, 2], c.mask!), gradOutput: host([1, 1, 2, 2], c.gradOutput!),
      },
      {}, { backend, grads: ['offset', 'mask'] },
    );
    for (let i = 0; i < 4; i++) expect(used(r.mask!.data[i]!, want.mask![i]!, tolM)).toBeLessThan(0.05);
    for (let i = 0; i < 8; i++) expect(used(r.offset!.data[i]!, want.offset![i]!, tolO)).toBeLessThan(0.05);
  });

  it('backward: the column gradient over 2^18 output channels (grad_mask, grad_input)', async () => {
    const C = 2 ** 18;
    const c: ConvCase = {
      geometry: makeGeometry({ ...ONE_BY_ONE, outChannels: C, inHeight: 2, inWidth: 2, hasMask: true }),
      input: Float32Array.of(1, 0.5, 0.25, 0.75),
      weight: near(C, 1),
      offset: new Float32Array(8).fill(0.25),
      mask: Float32Array.of(0.75, 0.5, 0.25, 1),
      bias: null,
      gradOutput: near(C * 4, 1),
    };
    const want = referenceBackward(c);
    const tolM = defaultTolerance('grad_mask', c.geometry);
    const tolI = defaultTolerance('grad_input', c.geometry);
    // grad_col at pixel (0, 0): sum over output channels of weight * gradOutput.
    const terms = Array.from({ length: C }, (_, k) => Math.fround(c.weight[k]! * c.gradOutput![k * 4]!));
    const bilinear00 = 0.5625 * 1 + 0.1875 * 0.5 + 0.1875 * 0.25 + 0.0625 * 0.75;
    expect(used(sequentialF32(terms) * bilinear00, want.mask![0]!, tolM)).toBeGreaterThan(1);
    const r = await deformConv2dBackward(
      {
        input: host([1, 1, 2, 2], c.input), weight: host([C, 1, 1, 1], c.weight), offset: host([1, 2, 2, 2], c.offset),
        mask: host([1, 1, 2, 2], c.mask!), gradOutput: host([1, C, 2, 2], c.gradOutput!),
      },
      {}, { backend, grads: ['mask', 'input'] },
    );
    for (let i = 0; i < 4; i++) expect(used(r.mask!.data[i]!, want.mask![i]!, tolM)).toBeLessThan(0.05);
    for (let i = 0; i < 4; i++) expect(used(r.input!.data[i]!, want.input![i]!, tolI)).toBeLessThan(0.05);
  });

  it('RoI pooling: a bin of an adaptive grid just under 2^20 samples (1023 x 1023), forward and backward', async () => {
    const S = 1024;
    const input = near(S * S, 0.1);
    // One RoI whose bin is 1023 x 1023 pixels: the adaptive grid samples it 1023 x 1023 times, at quarter pixels.
    const rois = Float32Array.of(0, 0.25, 0.25, 1023.25, 1023.25);
    const mask = Float32Array.of(0.875);
    const offset = Float32Array.of(0, 0);
    const gradOutput = Float32Array.of(0.75);
    const g: RoiPoolGeometry = {
      batch: 1, channels: 1, inHeight: S, inWidth: S, rois: 1, pooledH: 1, pooledW: 1, spatialScale: 1, samplingRatio: 0, gamma: 0.1, hasOffset: true, hasMask: true,
    };
    const t = { input, rois, offset, mask };
    const want = deformRoiPoolF64(g, t);
    const tol = defaultRoiPoolTolerance('output', g, rois);
    // The bin's 1023^2 samples read the image at quarter-pixel positions; summed in one accumulator they drift.
    const samples: number[] = [];
    for (let i = 0; i < 1023; i++) {
      for (let j = 0; j < 1023; j++) {
        const p = i * S + j;
        samples.push(Math.fround(0.5625 * input[p]! + 0.1875 * input[p + 1]! + 0.1875 * input[p + S]! + 0.0625 * input[p + S + 1]!));
      }
    }
    expect(used((sequentialF32(samples) / samples.length) * 0.875, want[0]!, tol)).toBeGreaterThan(1);
    const args = { input: host([1, 1, S, S], input), rois: host([1, 5], rois), offset: host([1, 2, 1, 1], offset), mask: host([1, 1, 1, 1], mask) };
    const out = await deformRoiPool(args, { outputSize: 1, samplingRatio: 0 }, { backend });
    expect(used(out.data[0]!, want[0]!, tol)).toBeLessThan(0.05);
    const grads = await deformRoiPoolBackward({ ...args, gradOutput: host([1, 1, 1, 1], gradOutput) }, { outputSize: 1, samplingRatio: 0 }, { backend, grads: ['offset', 'mask'] });
    const wantG = deformRoiPoolBackwardF64(g, t, gradOutput);
    expect(used(grads.mask!.data[0]!, wantG.mask![0]!, defaultRoiPoolTolerance('grad_mask', g, rois))).toBeLessThan(0.05);
    const tolO = defaultRoiPoolTolerance('grad_offset', g, rois);
    for (let i = 0; i < 2; i++) expect(used(grads.offset!.data[i]!, wantG.offset![i]!, tolO)).toBeLessThan(0.05);
  });
});

describe('handles and 32-bit arithmetic', () => {
  const backend = createWebGpuBackend({ gpu: nodeGpu() });
  const other = createWebGpuBackend({ gpu: nodeGpu() });
  let uncaptured = { count: 0 };
  beforeAll(async () => {
    await backend.init();
    await other.init();
    uncaptured = watchUncaptured(backend);
  });
  afterAll(() => {
    backend.dispose();
    other.dispose();
  });

  it('download checks the stated shape against the storage (no Dawn error, no stray values)', async () => {
    const h = backend.upload(new Float32Array(1 * 3 * 6 * 7).fill(1), [1, 3, 6, 7]);
    await expect(backend.download(h, [8, 3, 6, 7])).rejects.toThrow(BackendError);
    await expect(backend.download(h, [8, 3, 6, 7])).rejects.toThrow('tensor: expected a tensor of 1008 elements, got "a tensor of 126 elements"');
    await expect(backend.download(h, [1, 3, 6, 6])).rejects.toThrow(BackendError);
    expect((await backend.download(h, [1, 3, 6, 7])).length).toBe(126);
    backend.release(h);
    expect(uncaptured.count).toBe(0);
  });

  it('kernels check every handle: size, owner instance, liveness, genuineness', async () => {
    const g = makeGeometry({ ...ONE_BY_ONE, inHeight: 2, inWidth: 2 });
    const mk = (b: WebGpuBackend, n: number, v = 1) => b.upload(new Float32Array(n).fill(v), [n]);
    const inputs = () => ({ input: mk(backend, 4), weight: mk(backend, 1), offset: mk(backend, 8, 0), mask: null, bias: null });
    expect(Array.from(await backend.download(await backend.deformConv2d(g, inputs()), [4]))).toEqual([1, 1, 1, 1]);
    // A tensor of another size than the geometry says: BackendError naming the argument, before any GPU work.
    await expect(backend.deformConv2d(g, { ...inputs(), offset: mk(backend, 4) })).rejects.toThrow(/^offset: expected a tensor of 8 elements, got "a tensor of 4 elements"/);
    // Another instance's tensor.
    await expect(backend.deformConv2d(g, { ...inputs(), input: mk(other, 4) })).rejects.toThrow(/^input: expected a tensor of this webgpu backend instance/);
    await expect(backend.download(mk(other, 4), [4])).rejects.toThrow(BackendError);
    // Released.
    const gone = mk(backend, 4);
    backend.release(gone);
    await expect(backend.deformConv2d(g, { ...inputs(), input: gone })).rejects.toThrow(DisposedError);
    await expect(backend.download(gone, [4])).rejects.toThrow(DisposedError);
    // Forged: a copy of a real handle, an object with its prototype, one built with the public constructor.
    const real = mk(backend, 4);
    const forged = [{ ...real }, Object.create(WebGpuTensor.prototype), new WebGpuTensor(real.buffer, 4, true, backend.device)];
    for (const f of forged) {
      await expect(backend.deformConv2d(g, { ...inputs(), input: f })).rejects.toThrow(/^input: expected a tensor made by a webgpu backend/);
      await expect(backend.download(f, [4])).rejects.toThrow(BackendError);
    }
    // release ignores what is not its own, so another instance's tensor stays usable.
    const theirs = other.upload(Float32Array.of(1, 2), [2]);
    backend.release(theirs);
    expect(Array.from(await other.download(theirs, [2]))).toEqual([1, 2]);
    expect(uncaptured.count).toBe(0);
  });

  it('dilation = padding = 2^29 (3x3 kernel, 5x5 image: only the centre tap lands inside) equals the cpu backend, forward and every gradient', async () => {
    const D = 2 ** 29;
    const c = caseOf({ inChannels: 2, outChannels: 3, dilationH: D, dilationW: D, padTop: D, padLeft: D, padBottom: D, padRight: D }, 29);
    const g = c.geometry;
    expect([g.outHeight, g.outWidth]).toEqual([5, 5]);
    const args = {
      input: host([1, 2, 5, 5], c.input), weight: host([3, 2, 3, 3], c.weight), offset: host([1, 18, 5, 5], c.offset),
      mask: host([1, 9, 5, 5], c.mask!), bias: host([3], c.bias!),
    };
    const params = { padding: D, dilation: D };
    const cpu = createCpuBackend();
    const got = await deformConv2d(args, params, { backend });
    const want = await deformConv2d(args, params, { backend: cpu });
    const r = compareTensors(got.data, want.data, pairTolerance(defaultTolerance('output', g)));
    expect(r.detail ?? '').toBe('');
    // Not just the bias: the centre tap reads the image.
    expect(got.data.some((v, i) => Math.abs(v - c.bias![Math.floor(i / 25)]!) > 1e-3)).toBe(true);
    const bargs = { ...args, gradOutput: host([1, 3, 5, 5], c.gradOutput!) };
    const gg = await deformConv2dBackward(bargs, params, { backend });
    const gc = await deformConv2dBackward(bargs, params, { backend: cpu });
    for (const k of ['input', 'offset', 'mask', 'weight', 'bias'] as const) {
      const cmp = compareTensors(gg[k]!.data, gc[k]!.data, pairTolerance(defaultTolerance(`grad_${k}`, g)));
      expect(`${k}: ${cmp.detail ?? ''}`).toBe(`${k}: `);
      expect(gc[k]!.data.some((v) => v !== 0)).toBe(true);
    }
    expect(uncaptured.count).toBe(0);
  });

  it('gradInput runs in slabs of at most 2^30 invocations, covering every (image, channel) once', () => {
    const check = (batch: number, channels: number, plane: number, max?: number) => {
      const slabs = gradInputSlabs(batch, channels, plane, max);
      const seen = new Uint8Array(batch * channels);
      for (const s of slabs) {
        expect(s.nCount * s.cCount * plane).toBeLessThanOrEqual(max ?? MAX_DISPATCH_ITEMS);
        for (let n = s.nBase; n < s.nBase + s.nCount; n++) for (let c = s.cBase; c < s.cBase + s.cCount; c++) seen[n * channels + c]!++;
      }
      expect(seen.every((v) => v === 1)).toBe(true);
      return slabs.length;
    };
    // Cin 256, 3x3 kernel, 2048 x 1024 output pixels, batch 8: 4.8e9 invocations, split by channels.
    expect(check(8, 256, 9 * 2048 * 1024)).toBe(8 * 5);
    expect(check(3, 7, 1000, 2500)).toBe(3 * 4);
    expect(check(10, 2, 100, 1000)).toBe(2);
    expect(check(1, 1, 1)).toBe(1);
    expect(gradInputSlabs(0, 4, 9)).toEqual([]);
    expect(gradInputSlabs(2, 0, 9)).toEqual([]);
  });
});
