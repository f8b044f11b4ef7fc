/**
 * Kernels registered per op and direction: what a backend runs is derived from its kernel table (and from
 * kernels registered for its name), a missing kernel is a CapabilityError naming op and direction, and the
 * table is read defensively (own properties only, read once per call, non-functions ignored).
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  BackendError,
  CapabilityError,
  deformConv2d,
  deformConv2dBackward,
  deformRoiPool,
  disposeAll,
  findKernel,
  hasKernel,
  hostTensor,
  kernelsFromMethods,
  listKernels,
  OPS,
  registerKernel,
  requireKernel,
  type Backend,
} from '../src/index.js';
import { FakeBackend, tinyConvArgs, type FakeHandle } from './fake-backend.js';

afterEach(() => disposeAll());


describe('kernel tables', () => {
  it('derive what a backend runs, by op and direction', () => {
    expect(listKernels(new FakeBackend('a'))).toEqual([
      { op: 'deform_conv2d', direction: 'forward' },
      { op: 'deform_conv2d', direction: 'backward' },
    ]);
    const b = new FakeBackend('b', { roiPool: true, backward: false });
    expect(listKernels(b).map((k) => `${k.op} ${k.direction}`)).toEqual(['deform_conv2d forward', 'deform_roi_pool forward']);
    expect(hasKernel(b, 'deform_roi_pool', 'forward')).toBe(true);
    expect(hasKernel(b, 'deform_roi_pool', 'backward')).toBe(false);
  });

  it('a missing kernel is a CapabilityError naming op, direction and what the backend has', async () => {
    const b = new FakeBackend('fwd-only', { backward: false });
    const e = await deformConv2dBackward({ ...tinyConvArgs(), gradOutput: hostTensor([1, 2, 1, 1]) }, {}, { backend: b }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CapabilityError);
    expect(e).toMatchObject({ argument: 'options.backend', expected: 'a backend with a deform_conv2d backward kernel', actual: 'fwd-only' });
    expect((e as Error).message).toContain('(it has deform_conv2d forward)');
    const none: Backend<FakeHandle> = Object.assign(new FakeBackend('empty'), { kernels: {} });
    await expect(deformRoiPool({ input: hostTensor([1, 1, 2, 2]), rois: hostTensor([1, 5], [0, 0, 0, 1, 1]) }, { outputSize: 1 }, { backend: none })).rejects.toThrow(
      /^options\.backend: expected a backend with a deform_roi_pool forward kernel, got "empty" \(it has no kernels\)$/,
    );
    expect(() => requireKernel(none, 'deform_conv2d', 'sideways' as 'forward')).toThrow(BackendError);
  });

  it('reads own function-valued entries only: inherited keys, non-functions and a missing table are not kernels', () => {
    const b = new FakeBackend('odd');
    const proto = { deform_roi_pool: { forward: () => null } };
    const table = Object.assign(Object.create(proto) as object, { deform_conv2d: { forward: 42, backward: () => null } });
    Object.defineProperty(b, 'kernels', { value: table });
    expect(listKernels(b)).toEqual([{ op: 'deform_conv2d', direction: 'backward' }]);
    expect(findKernel(b, 'toString', 'forward')).toBeNull();
    Object.defineProperty(b, 'kernels', { value: null });
    expect(listKernels(b)).toEqual([]);
  });

  it('reads the table once per call: a getter that changes its answer cannot swap the kernel mid-call', async () => {
    const b = new FakeBackend('flaky');
    const honest = b.kernels;
    let reads = 0;
    Object.defineProperty(b, 'kernels', {
      get: () => {
        reads++;
        return reads === 1 ? honest : { deform_conv2d: { forward: () => { throw new Error('swapped'); } } };
      },
    });
    const out = await deformConv2d(tinyConvArgs(), {}, { backend: b });
    expect(Array.from(out.data)).toEqual([5, 7]);
    expect(reads).toBe(1);
  });
});

describe('registerKernel', () => {
  it("adds a kernel to every backend of that name; the backend's own kernel wins; the returned function removes it", async () => {
    const b = new FakeBackend('plain', { backward: false });
    const off = registerKernel({
      backendName: 'plain',
      op: 'deform_conv2d',
      direction: 'backward',
      kernel: ({ want, backend }: { want: Record<string, boolean>; backend: Backend<FakeHandle> }) => ({
        input: want.input ? backend.upload(new Float32Array(9).fill(3), [1, 1, 3, 3]) : null, offset: null, mask: null, weight: null, bias: null,
      }),
    });
    try {
      expect(listKernels(b).map((k) => `${k.op} ${k.direction}`)).toEqual(['deform_conv2d forward', 'deform_conv2d backward']);
      const g = await deformConv2dBackward({ ...tinyConvArgs(), gradOutput: hostTensor([1, 2, 1, 1]) }, {}, { backend: b, grads: ['input'] });
      expect(Array.from(g.input!.data)).toEqual(new Array(9).fill(3));
      expect(b.live.size).toBe(0);
      const own = registerKernel({ backendName: 'plain', op: 'deform_conv2d', direction: 'forward', kernel: () => { throw new Error('not used'); } });
      expect(Array.from((await deformConv2d(tinyConvArgs(), {}, { backend: b })).data)).toEqual([5, 7]);
      own();
    } finally {
      off();
    }
    expect(hasKernel(b, 'deform_conv2d', 'backward')).toBe(false);
  });

  it('refuses bad registrations and a second one of the same backend, op and direction', () => {
    const k = () => null;
    expect(() => registerKernel(null as never)).toThrow(BackendError);
    expect(() => registerKernel({ backendName: '', op: 'x', direction: 'forward', kernel: k })).toThrow(/registration\.backendName/);
    expect(() => registerKernel({ backendName: 'b', op: 'x', direction: 'up' as 'forward', kernel: k })).toThrow(/registration\.direction/);
    expect(() => registerKernel({ backendName: 'b', op: 'x', direction: 'forward', kernel: 1 as never })).toThrow(/registration\.kernel/);
    const off = registerKernel({ backendName: 'b', op: 'x', direction: 'forward', kernel: k });
    expect(() => registerKernel({ backendName: 'b', op: 'x', direction: 'forward', kernel: k })).toThrow(/no x forward kernel registered for backend b yet/);
    off();
    registerKernel({ backendName: 'b', op: 'x', direction: 'forward', kernel: k })();
  });
});

describe('kernelsFromMethods', () => {
  it("registers each op's methods named after its public function, read once; absent methods give no kernel", () => {
    const impl = { deformConv2d: () => 'fwd', deformRoiPoolBackward: () => 'roi-bwd', unrelated: () => 0 };
    const table = kernelsFromMethods<string>(impl, [OPS.deform_conv2d, OPS.deform_roi_pool]);
    expect(Object.isFrozen(table)).toBe(true);
    expect(Object.keys(table)).toEqual(['deform_conv2d', 'deform_roi_pool']);
    expect(Object.keys(table.deform_conv2d!)).toEqual(['forward']);
    expect(Object.keys(table.deform_roi_pool!)).toEqual(['backward']);
    impl.deformConv2d = () => 'changed';
    expect(table.deform_conv2d!.forward!({ geometry: {} as never, inputs: {} as never, backend: {} as never })).toBe('fwd');
    expect(kernelsFromMethods({}, [OPS.deform_conv2d])).toEqual({});
  });
});
