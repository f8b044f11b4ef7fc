/**
 * defineOp / registerOp / runOp: an op declared as data plus its geometry and shape functions gets core's
 * whole call path (argument intake, typed errors, default gradOutput check, value-checked private copies,
 * gradient requests, host or resident results, temporaries released on every path).
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  defineOp,
  disposeAll,
  hostTensor,
  isOpDescriptor,
  listOps,
  OP_NAMES,
  opDescriptor,
  ParamError,
  registerKernel,
  registerOp,
  runOp,
  runOpBackward,
  ShapeError,
  upload,
  ValueError,
  type Backend,
  type OpDefinition,
} from '../src/index.js';
import { FakeBackend, type FakeHandle } from './fake-backend.js';

interface ScaleGeometry {
  readonly n: number;
  readonly factor: number;
  readonly hasShift: boolean;
}

/** y = x * factor + (shift ?? 0), elementwise over [n]; `index` is only handed to the kernel, to show value-checked inputs. */
const definition = (): OpDefinition<ScaleGeometry, 'x' | 'shift' | 'index', 'x' | 'shift', 'factor'> => ({
  name: 'scale_shift',
  functionName: 'scaleShift',
  inputs: [
    { name: 'x', optional: false, rank: 1, dims: '[n]' },
    { name: 'shift', optional: true, rank: 1, dims: '[n]' },
    { name: 'index', optional: true, rank: 1, dims: '[k] element indices' },
  ],
  gradOutput: { rank: 1, dims: '[n]' },
  params: [{ name: 'factor', required: false, default: 1, doc: 'multiplier' }],
  grads: ['x', 'shift'],
  geometry: (t, params) => {
    const factor = (params as { factor?: number } | undefined)?.factor ?? 1;
    if (typeof factor !== 'number') throw new ParamError({ argument: 'params.factor', expected: 'a number', actual: factor });
    const n = t.x!.shape[0]!;
    if (t.shift && t.shift.shape[0] !== n) throw new ShapeError({ argument: 'shift.shape[0]', expected: `${n}`, actual: t.shift.shape[0] });
    return { n, factor, hasShift: t.shift !== null };
  },
  shapes: (g) => ({ x: [g.n], shift: [g.n], index: [g.n], output: [g.n] }),
  hasInput: (g, name) => name !== 'shift' || g.hasShift,
  // Indices steer memory access: core must hand the kernel its own checked copy.
  checkValues: {
    index: (v, g) => {
      for (const i of v) if (!(Number.isInteger(i) && i >= 0 && i < g.n)) throw new ValueError({ argument: 'index', expected: `integers in [0, ${g.n})`, actual: i });
    },
  },
});

const cleanups: (() => void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) c();
  await disposeAll();
});

function withOp(backendName: string, seen: { index?: Float32Array } = {}) {
  const d = defineOp(definition());
  cleanups.push(registerOp(d));
  cleanups.push(registerKernel({
    backendName, op: 'scale_shift', direction: 'forward',
    kernel: ({ geometry: g, inputs, backend }: { geometry: ScaleGeometry; inputs: Record<string, FakeHandle | null>; backend: Backend<FakeHandle> }) => {
      if (inputs.index) seen.index = inputs.index.data;
      const x = inputs.x!.data;
      const out = x.map((v, i) => v * g.factor + (inputs.shift ? inputs.shift.data[i]! : 0));
      return backend.upload(out, [g.n]);
    },
  }));
  cleanups.push(registerKernel({
    backendName, op: 'scale_shift', direction: 'backward',
    kernel: ({ geometry: g, gradOutput, want, backend }: { geometry: ScaleGeometry; gradOutput: FakeHandle; want: Record<string, boolean>; backend: Backend<FakeHandle> }) => ({
      x: want.x ? backend.upload(gradOutput.data.map((v) => v * g.factor), [g.n]) : null,
      shift: want.shift ? backend.upload(gradOutput.data.slice(), [g.n]) : null,
    }),
  }));
  return d;
}

describe('defineOp', () => {
  it('returns a frozen descriptor the call path accepts; look-alikes are refused', async () => {
    const d = withOp('fake');
    expect(isOpDescriptor(d)).toBe(true);
    expect(Object.isFrozen(d) && Object.isFrozen(d.inputs) && Object.isFrozen(d.checkValues)).toBe(true);
    expect(listOps()).toEqual([...OP_NAMES, 'scale_shift']);
    expect(opDescriptor('scale_shift')).toBe(d);
    await expect(runOp({ ...d }, { x: hostTensor([2]) }, {}, { backend: new FakeBackend() })).rejects.toMatchObject({ name: 'ParamError', argument: 'op' });
    expect(() => registerOp({ ...d } as never)).toThrow(/an op descriptor made by defineOp/);
    expect(() => registerOp(defineOp(definition()))).toThrow(/a name no other op has/);
    expect(() => registerOp(defineOp({ ...definition(), name: 'deform_conv2d' }))).toThrow(/a name no other op has/);
  });

  it('checks the definition: names, inputs, gradient names, functions', () => {
    const bad = (patch: Partial<OpDefinition<ScaleGeometry, 'x' | 'shift' | 'index', 'x' | 'shift', 'factor'>>, argument: RegExp) =>
      expect(() => defineOp({ ...definition(), ...patch } as never)).toThrow(argument);
    bad({ name: 'Scale-Shift' }, /definition\.name: expected a snake_case name/);
    bad({ functionName: '1x' }, /definition\.functionName/);
    bad({ inputs: [] }, /definition\.inputs: expected a non-empty array/);
    bad({ inputs: [{ name: 'gradOutput', optional: false, rank: 1, dims: '' }] as never }, /definition\.inputs\[0\]\.name/);
    bad({ inputs: [{ name: 'x', optional: false, rank: 1, dims: '' }, { name: 'x', optional: true, rank: 1, dims: '' }] as never }, /definition\.inputs\[1\]\.name/);
    bad({ grads: ['y' as 'x'] }, /definition\.grads: expected names among the inputs/);
    bad({ shapes: undefined as never }, /definition\.shapes: expected a function/);
    bad({ checkValues: { nope: () => {} } as never }, /definition\.checkValues\.nope/);
  });
});

describe('runOp / runOpBackward on a registered op', () => {
  it('computes, validates with typed errors, and releases every temporary', async () => {
    withOp('fake');
    const b = new FakeBackend();
    const x = hostTensor([3], [1, 2, 3]);
    expect(Array.from((await runOp('scale_shift', { x, shift: hostTensor([3], [10, 20, 30]) }, { factor: 2 }, { backend: b })).data)).toEqual([12, 24, 36]);
    await expect(runOp('scale_shift', { x, shift: hostTensor([2]) }, {}, { backend: b })).rejects.toMatchObject({ name: 'ShapeError', argument: 'shift.shape[0]' });
    await expect(runOp('scale_shift', { x: hostTensor([3, 1]) }, {}, { backend: b })).rejects.toMatchObject({ name: 'RankError', argument: 'x.shape' });
    await expect(runOp('scale_shift', { x }, {}, { backend: b, nope: 1 } as never)).rejects.toMatchObject({ name: 'ParamError', argument: 'options.nope' });
    expect(b.live.size).toBe(0);
  });

  it('backward: the default gradOutput check, gradient requests, never the gradient of an absent input', async () => {
    withOp('fake');
    const b = new FakeBackend();
    const x = hostTensor([3], [1, 2, 3]);
    const gradOutput = hostTensor([3], [1, 1, 2]);
    const all = await runOpBackward('scale_shift', { x, gradOutput }, { factor: 3 }, { backend: b });
    expect(Object.keys(all)).toEqual(['x']);
    expect(Array.from(all.x!.data)).toEqual([3, 3, 6]);
    const some = await runOpBackward('scale_shift', { x, shift: hostTensor([3]), gradOutput }, {}, { backend: b, grads: ['shift'] });
    expect(Object.keys(some)).toEqual(['shift']);
    await expect(runOpBackward('scale_shift', { x, gradOutput: hostTensor([4]) }, {}, { backend: b })).rejects.toMatchObject({ name: 'ShapeError', argument: 'gradOutput.shape[0]' });
    await expect(runOpBackward('scale_shift', { x, gradOutput }, {}, { backend: b, grads: ['index'] as never })).rejects.toMatchObject({ name: 'ParamError', argument: 'options.grads' });
    expect(b.live.size).toBe(0);
  });

  it('value-checked inputs: the kernel gets core\'s checked copy, host or resident; bad values are typed errors', async () => {
    const seen: { index?: Float32Array } = {};
    withOp('fake', seen);
    const b = new FakeBackend();
    const index = hostTensor([2], [0, 2]);
    const pending = runOp('scale_shift', { x: hostTensor([3]), index }, {}, { backend: b });
    index.data[1] = 99; // after the call: must not reach the kernel
    await pending;
    expect(Array.from(seen.index!)).toEqual([0, 2]);
    await expect(runOp('scale_shift', { x: hostTensor([3]), index: hostTensor([1], [3]) }, {}, { backend: b })).rejects.toBeInstanceOf(ValueError);
    const resident = upload(b, hostTensor([2], [1, 1]));
    await runOp('scale_shift', { x: hostTensor([3]), index: resident }, {}, { backend: b });
    expect(Array.from(seen.index!)).toEqual([1, 1]);
    resident.dispose();
    expect(b.live.size).toBe(0);
  });
});
