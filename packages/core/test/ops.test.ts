/** Core's op plumbing: validation before the backend, temporaries released, resident in/out, grads. */
import { afterEach, describe, expect, it } from 'vitest';
import {
  BackendError,
  CapabilityError,
  DisposedError,
  ParamError,
  ShapeError,
  deformConv2d,
  deformConv2dBackward,
  disposeAll,
  hostTensor,
  registerBackend,
  setBackend,
  upload,
} from '../src/index.js';
import { FakeBackend } from './fake-backend.js';

afterEach(() => disposeAll());

const args = () => ({
  input: hostTensor([1, 2, 4, 4]),
  weight: hostTensor([3, 2, 3, 3]),
  offset: hostTensor([1, 18, 4, 4]),
  mask: hostTensor([1, 9, 4, 4]),
  bias: hostTensor([3], [1, 2, 3]),
});

describe('deformConv2d plumbing', () => {
  it('validates before the backend runs and names the argument', async () => {
    const b = new FakeBackend();
    let called = false;
    b.deformConv2d = () => ((called = true), { id: -1, data: new Float32Array() });
    await expect(deformConv2d({ ...args(), bias: hostTensor([4]) }, { padding: 1 }, { backend: b })).rejects.toThrow(ShapeError);
    expect(called).toBe(false);
  });

  it('returns a host tensor and releases every handle it made', async () => {
    const b = new FakeBackend();
    const y = await deformConv2d(args(), { padding: 1 }, { backend: b });
    expect(y.shape).toEqual([1, 3, 4, 4]);
    expect(y.data[0]).toBe(1);
    expect(y.data[47]).toBe(3);
    expect(b.live.size).toBe(0);
  });

  it('uses the current backend by default', async () => {
    registerBackend('fake', () => new FakeBackend('fake'));
    await setBackend('fake');
    const y = await deformConv2d(args(), { padding: 1 });
    expect(y.data.length).toBe(48);
  });

  it('keeps results resident on request and accepts resident inputs without copying them', async () => {
    const b = new FakeBackend();
    const a = args();
    const x = upload(b, a.input);
    const y = await deformConv2d({ ...a, input: x }, { padding: 1 }, { backend: b, output: 'resident' });
    expect(y.kind).toBe('resident');
    expect(y.backend).toBe('fake');
    expect(b.live.size).toBe(2); // x and y, every temporary released
    expect((await y.read())[16]).toBe(2);
    y.dispose();
    y.dispose(); // idempotent
    x.dispose();
    expect(b.live.size).toBe(0);
    await expect(y.read()).rejects.toThrow(DisposedError);
  });

  it('refuses a disposed or foreign resident tensor', async () => {
    const b = new FakeBackend('one');
    const other = new FakeBackend('two');
    const a = args();
    const x = upload(other, a.input);
    await expect(deformConv2d({ ...a, input: x }, { padding: 1 }, { backend: b })).rejects.toThrow(BackendError);
    x.dispose();
    const z = upload(b, a.input);
    z.dispose();
    await expect(deformConv2d({ ...a, input: z }, { padding: 1 }, { backend: b })).rejects.toThrow(DisposedError);
    expect(b.live.size).toBe(0);
  });

  it('releases temporaries when the kernel throws', async () => {
    const b = new FakeBackend();
    b.deformConv2d = () => {
      throw new Error('kernel failed');
    };
    await expect(deformConv2d(args(), { padding: 1 }, { backend: b })).rejects.toThrow('kernel failed');
    expect(b.live.size).toBe(0);
  });

  it('rejects a bad output mode and a bad backend option', async () => {
    await expect(deformConv2d(args(), { padding: 1 }, { backend: new FakeBackend(), output: 'gpu' as never })).rejects.toThrow(ParamError);
    await expect(deformConv2d(args(), { padding: 1 }, { backend: 7 as never })).rejects.toThrow(BackendError);
  });

  it('empty batch returns an empty output of the right shape', async () => {
    const y = await deformConv2d(
      { input: hostTensor([0, 2, 4, 4]), weight: hostTensor([3, 2, 3, 3]), offset: hostTensor([0, 18, 4, 4]) },
      { padding: 1 },
      { backend: new FakeBackend() },
    );
    expect(y.shape).toEqual([0, 3, 4, 4]);
    expect(y.data.length).toBe(0);
  });
});

describe('deformConv2dBackward plumbing', () => {
  const gradOutput = () => hostTensor([1, 3, 4, 4]);

  it('returns every gradient that exists, with the shapes of the inputs', async () => {
    const b = new FakeBackend();
    const g = await deformConv2dBackward({ ...args(), gradOutput: gradOutput() }, { padding: 1 }, { backend: b });
    expect(Object.keys(g).sort()).toEqual(['bias', 'input', 'mask', 'offset', 'weight']);
    expect(g.input!.shape).toEqual([1, 2, 4, 4]);
    expect(g.offset!.shape).toEqual([1, 18, 4, 4]);
    expect(g.mask!.shape).toEqual([1, 9, 4, 4]);
    expect(g.weight!.shape).toEqual([3, 2, 3, 3]);
    expect(g.bias!.shape).toEqual([3]);
    expect(b.live.size).toBe(0);
  });

  it('computes only the requested gradients and never those of absent inputs', async () => {
    const b = new FakeBackend();
    let seen: unknown;
    const orig = b.deformConv2dBackward.bind(b);
    b.deformConv2dBackward = (geo, inp, go, want) => ((seen = want), orig(geo, inp, go, want));
    const g = await deformConv2dBackward(
      { ...args(), mask: null, bias: null, gradOutput: gradOutput() },
      { padding: 1 },
      { backend: b, grads: ['weight', 'mask', 'bias'] },
    );
    expect(seen).toEqual({ input: false, offset: false, mask: false, weight: true, bias: false });
    expect(Object.keys(g)).toEqual(['weight']);
    expect(b.live.size).toBe(0);
  });

  it('checks gradOutput and the grads option', async () => {
    const b = new FakeBackend();
    await expect(deformConv2dBackward({ ...args(), gradOutput: hostTensor([1, 3, 4, 5]) }, { padding: 1 }, { backend: b })).rejects.toThrow(/gradOutput.shape\[3\]/);
    await expect(deformConv2dBackward({ ...args(), gradOutput: gradOutput() }, { padding: 1 }, { backend: b, grads: ['inputs' as never] })).rejects.toThrow(ParamError);
  });

  it('a backend without backward gets a CapabilityError', async () => {
    const b = new FakeBackend('fwd-only', { backward: false });
    await expect(deformConv2dBackward({ ...args(), gradOutput: gradOutput() }, { padding: 1 }, { backend: b })).rejects.toThrow(CapabilityError);
  });

  it('resident gradients stay on the backend until read', async () => {
    const b = new FakeBackend();
    const g = await deformConv2dBackward({ ...args(), gradOutput: gradOutput() }, { padding: 1 }, { backend: b, output: 'resident' });
    expect(b.live.size).toBe(5);
    expect((await g.weight!.read())[0]).toBe(1);
    for (const t of Object.values(g)) t!.dispose();
    expect(b.live.size).toBe(0);
  });
});

describe('adopting foreign storage', () => {
  it('needs a backend with externalBuffers', async () => {
    const { adopt } = await import('../src/index.js');
    expect(() => adopt(new FakeBackend(), {}, [1])).toThrow(CapabilityError);
    const b = new FakeBackend('ext', { externalBuffers: true });
    let released = 0;
    Object.assign(b, {
      adopt: (ext: Float32Array) => ({ id: 999, data: ext }),
      release: () => void released++,
    });
    const foreign = new Float32Array([1, 2, 3]);
    const t = adopt(b, foreign, [3]);
    expect(t.handle.data).toBe(foreign);
    t.dispose();
    expect(released).toBe(1);
  });
});
