/**
 * Core's side of issue 10: every argument is taken once (intake.ts), int32 limits, RoIs checked on core's
 * own copy, resident tensors that cannot be forged, edited or used across instances, a dispose that waits
 * for the calls using the tensor, and backend failures turned into typed errors. The same behaviours run
 * on every real backend in @dcnv2/conformance's adversarial suite.
 */
import { describe, expect, it } from 'vitest';
import {
  BackendError, DataLengthError, deformConv2d, deformRoiPool, DisposedError, DTypeError, float32View, hostTensor, LimitError,
  MAX_INT32, ParamError, resolveConvGeometry, ShapeError, upload, ValueError, wrapResident,
} from '../src/index.js';
import { FakeBackend, type FakeHandle } from './fake-backend.js';

const conv = () => ({
  input: hostTensor([1, 1, 3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]),
  weight: hostTensor([2, 1, 1, 1], [1, 1]),
  offset: hostTensor([1, 2, 3, 3]),
  bias: hostTensor([2], [5, 7]),
});

describe('float32View', () => {
  it('re-views genuine Float32Arrays (subclasses included) and refuses everything else', () => {
    class Lying extends Float32Array {
      override get length() {
        return 99;
      }
    }
    const v = float32View(new Lying([1, 2, 3]));
    expect(v).toBeInstanceOf(Float32Array);
    expect(v!.constructor).toBe(Float32Array);
    expect(v!.length).toBe(3);
    expect(float32View(new Proxy(new Float32Array(3), {}))).toBeNull();
    expect(float32View(new Float64Array(3))).toBeNull();
    expect(float32View([1, 2, 3])).toBeNull();
    expect(float32View({ length: 3 })).toBeNull();
    const shared = new Float32Array(new SharedArrayBuffer(16));
    expect(float32View(shared)!.buffer).toBe(shared.buffer);
  });
});

describe('arguments are taken once', () => {
  it('a data getter is read once; the op runs on that reading', async () => {
    const b = new FakeBackend();
    let reads = 0;
    const good = new Float32Array(2).fill(0);
    const args = { ...conv(), bias: { shape: [2], get data() { return reads++ === 0 ? Float32Array.of(5, 7) : new Float32Array(1); } } };
    void good;
    const out = await deformConv2d(args, {}, { backend: b });
    expect(reads).toBe(1);
    expect([...out.data.subarray(0, 1)]).toEqual([5]);
  });

  it('host data written after the call returned its promise does not reach the backend', async () => {
    const b = new FakeBackend();
    const args = conv();
    const p = deformConv2d(args, {}, { backend: b });
    args.bias.data.fill(-1);
    expect((await p).data[0]).toBe(5);
  });

  it('RoIs are validated on core\'s own copy, which is what the backend gets', async () => {
    const b = new FakeBackend('fake-roi', { roiPool: true });
    const rois = hostTensor([1, 5], [1, 0, 0, 2, 2]);
    const p = deformRoiPool({ input: hostTensor([2, 1, 3, 3]), rois }, { outputSize: 1 }, { backend: b });
    rois.data[0] = 12000;
    expect([...(await p).data]).toEqual([1]);
  });

  it('params and options must be plain objects, read once', async () => {
    const b = new FakeBackend();
    await expect(deformConv2d(conv(), new Map() as never, { backend: b })).rejects.toThrow(ParamError);
    await expect(deformConv2d(conv(), new Date() as never, { backend: b })).rejects.toThrow(ParamError);
    await expect(deformConv2d(conv(), {}, null as never)).rejects.toThrow(/options: expected an object/);
    await expect(deformConv2d(conv(), {}, { backend: b, ouput: 'host' } as never)).rejects.toThrow(/options.ouput/);
    let reads = 0;
    const params = { get padding() { return reads++ === 0 ? 0 : 2 ** 40; } };
    expect(resolveConvGeometry(conv(), params).padTop).toBe(0);
    expect(reads).toBe(1);
  });
});

describe('limits', () => {
  it('dimensions, element counts and tap positions fit int32', () => {
    const e = (f: () => unknown) => {
      try {
        f();
      } catch (err) {
        return err as Error;
      }
      throw new Error('did not throw');
    };
    expect(e(() => resolveConvGeometry(conv(), { dilation: 2 ** 32, padding: 2 ** 32 }))).toBeInstanceOf(LimitError);
    expect(e(() => resolveConvGeometry(conv(), { padding: [2 ** 30, 0, 2 ** 30, 0] })).message).toMatch(/H \+ padTop \+ padBottom <= 2147483647/);
    expect(resolveConvGeometry({ ...conv(), weight: hostTensor([2, 1, 3, 3]), offset: hostTensor([1, 18, 3, 3]) }, { dilation: 2 ** 29, padding: 2 ** 29 }).outHeight).toBe(3);
    const empty = (shape: number[]) => ({ shape, data: new Float32Array(0) });
    expect(e(() => resolveConvGeometry({ ...conv(), input: empty([0, 1, 1e308, 1e308]) }))).toBeInstanceOf(LimitError);
    expect(e(() => resolveConvGeometry({ ...conv(), input: empty([0, 1, 2 ** 16, 2 ** 16]) })).message).toMatch(/counting a 0 dimension as 1/);
    expect(e(() => resolveConvGeometry({ ...conv(), bias: empty([-0]) }))).toBeInstanceOf(ShapeError);
    expect(e(() => resolveConvGeometry(conv(), { padding: -0 }))).toBeInstanceOf(ParamError);
    expect(MAX_INT32).toBe(2 ** 31 - 1);
  });

  it('RoI parameters and coordinates must be representable in float32', async () => {
    const b = new FakeBackend('fake-roi', { roiPool: true });
    const args = (roi: number[]) => ({ input: hostTensor([1, 1, 3, 3]), rois: hostTensor([1, 5], roi) });
    await expect(deformRoiPool(args([0, -3e38, 0, 3e38, 2]), { outputSize: 1 }, { backend: b })).rejects.toThrow(ValueError);
    await expect(deformRoiPool(args([0, 0, 0, 2 ** 24, 2]), { outputSize: 1, samplingRatio: 1 }, { backend: b })).resolves.toBeDefined();
    await expect(deformRoiPool(args([0, 0, 0, 2 ** 24 + 2, 2]), { outputSize: 1, samplingRatio: 1 }, { backend: b })).rejects.toThrow(/2\^24|16777216/);
    await expect(deformRoiPool(args([0, 0, 0, 2, 2]), { outputSize: 1, spatialScale: 1.7e308 }, { backend: b })).rejects.toThrow(ParamError);
    await expect(deformRoiPool(args([0, 0, 0, 2, 2]), { outputSize: 1, gamma: 1e300 }, { backend: b })).rejects.toThrow(ParamError);
    const sr = await deformRoiPool(args([0, 0, 0, 2, 2]), { outputSize: 1, samplingRatio: 2 ** 31 - 1 }, { backend: b }).catch((x: unknown) => x);
    expect(sr).toBeInstanceOf(LimitError);
    expect((sr as LimitError).argument).toBe('params.samplingRatio');
    await expect(deformRoiPool(args([0, 0, 0, 2, 2]), { outputSize: [2 ** 31, 1] }, { backend: b })).rejects.toThrow(LimitError);
  });
});

describe('resident tensors', () => {
  it('a forged resident object is refused, even with a real handle', async () => {
    const b = new FakeBackend();
    const real = upload(b, conv().input);
    const forged = { kind: 'resident', shape: [1, 1, 3, 3], backend: 'fake', handle: real.handle, disposed: false, read: real.read, dispose() {} };
    await expect(deformConv2d({ ...conv(), input: forged as never }, {}, { backend: b })).rejects.toThrow(DTypeError);
  });

  it('belongs to one backend instance: another instance of the same name refuses it', async () => {
    const a = new FakeBackend('twin');
    const b = new FakeBackend('twin');
    const t = upload(a, conv().input);
    const err = await deformConv2d({ ...conv(), input: t }, {}, { backend: b }).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(BackendError);
    expect((err as Error).message).toMatch(/a tensor of another instance of backend twin/);
  });

  it('its shape is frozen and core uses its own copy', async () => {
    const b = new FakeBackend();
    const t = upload(b, conv().input);
    expect(() => { (t.shape as number[])[0] = 8; }).toThrow(TypeError);
    expect(() => Object.defineProperty(t, 'shape', { value: [8, 1, 3, 3] })).not.toThrow();
    expect((await deformConv2d({ ...conv(), input: t }, {}, { backend: b })).shape).toEqual([1, 2, 3, 3]);
    expect((await t.read()).length).toBe(9);
    expect(() => wrapResident(b, { id: 0, data: new Float32Array(0) } as FakeHandle, [-1])).toThrow(ShapeError);
  });

  it('upload checks its tensor like an op does', () => {
    const b = new FakeBackend();
    expect(() => upload(b, { shape: [3], data: new Proxy(new Float32Array(3), {}) })).toThrow(DTypeError);
    expect(() => upload(b, { shape: [4], data: new Float32Array(3) })).toThrow(DataLengthError);
  });

  it('a dispose while a call uses it frees the storage only when the call ends', async () => {
    const b = new FakeBackend();
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    const kernel = b.deformConv2d.bind(b);
    b.deformConv2d = ((g: Parameters<typeof kernel>[0], inputs: Parameters<typeof kernel>[1]) => gate.then(() => kernel(g, inputs))) as unknown as typeof b.deformConv2d;
    const t = upload(b, conv().input);
    const id = (t.handle as FakeHandle).id;
    const p = deformConv2d({ ...conv(), input: t }, {}, { backend: b });
    t.dispose();
    expect(t.disposed).toBe(true);
    expect(b.live.has(id)).toBe(true); // still borrowed by the queued call
    await expect(deformConv2d({ ...conv(), input: t }, {}, { backend: b })).rejects.toThrow(DisposedError);
    release();
    await p;
    expect(b.live.has(id)).toBe(false);
  });
});

describe('backend failures', () => {
  it('anything a backend throws that is not a DcnError becomes a BackendError keeping the cause', async () => {
    const b = new FakeBackend('broken');
    const cause = new RangeError('memory access out of bounds');
    b.deformConv2d = () => { throw cause; };
    const err = await deformConv2d(conv(), {}, { backend: b }).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(BackendError);
    expect((err as Error).message).toMatch(/deformConv2d to complete.*memory access out of bounds/);
    expect((err as { cause?: unknown }).cause).toBe(cause);
    expect(b.live.size).toBe(0); // temporaries released
  });
});
