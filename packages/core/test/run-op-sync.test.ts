/**
 * The synchronous call path (runOpSync / runOpBackwardSync), which tfjs kernels use: the same values,
 * validation and releases as the asynchronous ops, host results returned at once, and a typed error for
 * what cannot run synchronously (no downloadSync, a kernel that answers with a promise), with nothing leaked.
 */
import { describe, expect, it } from 'vitest';
import { BackendError, CapabilityError, deformConv2d, hostTensor, OPS, runOpBackwardSync, runOpSync, ShapeError, upload } from '../src/index.js';
import { FakeBackend, tinyConvArgs } from './fake-backend.js';


describe('runOpSync', () => {
  it('returns what the asynchronous op returns, at once, and releases every temporary', async () => {
    const b = new FakeBackend();
    const sync = runOpSync('deform_conv2d', tinyConvArgs(), {}, { backend: b });
    expect(sync).not.toBeInstanceOf(Promise);
    expect(sync).toEqual(await deformConv2d(tinyConvArgs(), {}, { backend: b }));
    expect(Array.from(sync.data)).toEqual([5, 7]);
    expect(b.live.size).toBe(0);
  });

  it('backward: requested gradients only, host tensors, nothing left alive', () => {
    const b = new FakeBackend();
    const g = runOpBackwardSync(OPS.deform_conv2d, { ...tinyConvArgs(), gradOutput: hostTensor([1, 2, 1, 1]) }, {}, { backend: b, grads: ['weight', 'bias'] });
    expect(Object.keys(g)).toEqual(['weight', 'bias']);
    expect(g.weight!.shape).toEqual([2, 1, 3, 3]);
    expect(Array.from(g.bias!.data)).toEqual([1, 1]);
    expect(b.live.size).toBe(0);
  });

  it('into: each result written into the caller\'s array (downloadSyncInto where the backend has it), sizes checked, nothing leaked', () => {
    const b = new FakeBackend();
    const asked: string[] = [];
    const dest = new Float32Array(2);
    const out = runOpSync('deform_conv2d', tinyConvArgs(), {}, { backend: b, into: (name, shape) => (asked.push(`${name} ${shape.join('x')}`), dest) });
    expect(out.data).toBe(dest);
    expect(Array.from(dest)).toEqual([5, 7]);
    expect(asked).toEqual(['output 1x2x1x1']);
    const into = (_: string, shape: readonly number[]) => new Float32Array(shape.reduce((a, c) => a * c, 1));
    const g = runOpBackwardSync('deform_conv2d', { ...tinyConvArgs(), gradOutput: hostTensor([1, 2, 1, 1]) }, {}, { backend: b, grads: ['bias'], into });
    expect(Array.from(g.bias!.data)).toEqual([1, 1]);
    // Without downloadSyncInto: downloadSync's values are copied in.
    const plain = new FakeBackend('plain');
    Object.assign(plain, { downloadSyncInto: undefined });
    expect(Array.from(runOpSync('deform_conv2d', tinyConvArgs(), {}, { backend: plain, into }).data)).toEqual([5, 7]);
    expect(() => runOpSync('deform_conv2d', tinyConvArgs(), {}, { backend: b, into: () => new Float32Array(3) })).toThrow(/options\.into\("output"\)/);
    expect(() => runOpSync('deform_conv2d', tinyConvArgs(), {}, { backend: b, into: 5 as never })).toThrow(/options\.into/);
    expect(b.live.size).toBe(0);
    expect(plain.live.size).toBe(0);
  });

  it('validates as the ops do, and takes resident inputs of the backend', () => {
    const b = new FakeBackend();
    expect(() => runOpSync('deform_conv2d', { ...tinyConvArgs(), bias: hostTensor([3]) }, {}, { backend: b })).toThrow(ShapeError);
    const w = upload(b, hostTensor([2, 1, 3, 3]));
    expect(Array.from(runOpSync('deform_conv2d', { ...tinyConvArgs(), weight: w }, {}, { backend: b }).data)).toEqual([5, 7]);
    w.dispose();
    expect(b.live.size).toBe(0);
  });

  it('a backend without downloadSync, or whose kernel answers with a promise, gets a CapabilityError; late results are released', async () => {
    const noRead = Object.assign(new FakeBackend('no-read'), { downloadSync: undefined });
    expect(() => runOpSync('deform_conv2d', tinyConvArgs(), {}, { backend: noRead })).toThrow(/options\.backend: expected a backend with downloadSync/);
    const b = new FakeBackend('async');
    const own = b.kernels.deform_conv2d!;
    Object.defineProperty(b, 'kernels', { value: { deform_conv2d: { forward: async (c: Parameters<NonNullable<typeof own.forward>>[0]) => own.forward!(c) } } });
    const e = (() => { try { runOpSync('deform_conv2d', tinyConvArgs(), {}, { backend: b }); } catch (x) { return x; } })();
    expect(e).toBeInstanceOf(CapabilityError);
    expect((e as Error).message).toMatch(/^options\.backend: expected a backend whose deform_conv2d forward kernel returns synchronously, got "async"/);
    await new Promise((r) => setTimeout(r, 0));
    expect(b.live.size).toBe(0);
  });

  it('what a kernel throws reaches the caller as a BackendError naming the backend, temporaries released', () => {
    const b = new FakeBackend('boom');
    Object.defineProperty(b, 'kernels', { value: { deform_conv2d: { forward: () => { throw new Error('kernel exploded'); } } } });
    expect(() => runOpSync('deform_conv2d', tinyConvArgs(), {}, { backend: b })).toThrow(BackendError);
    expect(b.live.size).toBe(0);
  });
});
