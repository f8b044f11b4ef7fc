/**
 * The op table agrees with the ops: each descriptor's geometry is the op's own, its shape function gives
 * the shapes the ops return, its gradient names are the backward results' keys, its inputs and parameters
 * are the ones validation takes (with the same defaults).
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  OPS,
  OP_NAMES,
  ParamError,
  RankError,
  deformConv2d,
  deformConv2dBackward,
  deformConv2dGeometry,
  deformRoiPool,
  deformRoiPoolBackward,
  deformRoiPoolGeometry,
  disposeAll,
  hostTensor,
  opDescriptor,
  type HostTensor,
  type OpName,
} from '../src/index.js';
import { FakeBackend } from './fake-backend.js';

afterEach(() => disposeAll());

/** A small call of each op: its tensors (built from the descriptor's shape function) and params. */
const convParams = { padding: 1, stride: [2, 1] as const };
const roiParams = { outputSize: [2, 3] as const, spatialScale: 0.5, samplingRatio: 2 };
const convArgs = (): Record<string, HostTensor | null> => ({
  input: hostTensor([2, 4, 5, 6]),
  weight: hostTensor([6, 2, 3, 3]),
  offset: hostTensor([2, 36, 3, 6]),
  mask: hostTensor([2, 18, 3, 6]),
  bias: hostTensor([6]),
});
const roiArgs = (): Record<string, HostTensor | null> => ({
  input: hostTensor([2, 4, 6, 7]),
  rois: hostTensor([3, 5], [0, 1, 1, 8, 9, 1, 0, 0, 4, 4, 1, 2, 3, 10, 11]),
  offset: hostTensor([3, 2, 2, 3]),
  mask: hostTensor([3, 1, 2, 3]),
});
const convAll = { ...convParams, groups: 2 };

interface Case {
  readonly args: () => Record<string, HostTensor | null>;
  readonly params: Record<string, unknown>;
  readonly backend: () => FakeBackend;
  readonly geometry: (a: never, p: never) => unknown;
  readonly forward: (a: never, p: never, o: { backend: FakeBackend }) => Promise<HostTensor>;
  readonly backward: (a: never, p: never, o: { backend: FakeBackend }) => Promise<Record<string, HostTensor | undefined>>;
}

const CASES: Record<OpName, Case> = {
  deform_conv2d: {
    args: convArgs,
    params: convAll,
    backend: () => new FakeBackend(),
    geometry: deformConv2dGeometry as Case['geometry'],
    forward: deformConv2d as unknown as Case['forward'],
    backward: deformConv2dBackward as unknown as Case['backward'],
  },
  deform_roi_pool: {
    args: roiArgs,
    params: roiParams,
    backend: () => new FakeBackend('fake', { roiPool: true }),
    geometry: deformRoiPoolGeometry as Case['geometry'],
    forward: deformRoiPool as unknown as Case['forward'],
    backward: deformRoiPoolBackward as unknown as Case['backward'],
  },
};

describe('the op table', () => {
  it('names every op once, by its key', () => {
    expect(OP_NAMES).toEqual(['deform_conv2d', 'deform_roi_pool']);
    for (const n of OP_NAMES) {
      expect(OPS[n].name).toBe(n);
      expect(opDescriptor(n)).toBe(OPS[n]);
    }
    expect(() => opDescriptor('deform_conv3d' as OpName)).toThrow(ParamError);
    expect(Object.isFrozen(OPS)).toBe(true);
  });

  it('is frozen all the way down, so nobody can change what validation reads', () => {
    for (const n of OP_NAMES) {
      const d = OPS[n];
      expect(Object.isFrozen(d)).toBe(true);
      for (const part of [d.inputs, d.params, d.grads, d.gradOutput, ...d.inputs, ...d.params]) expect(Object.isFrozen(part)).toBe(true);
    }
    expect(() => {
      (OPS.deform_conv2d.inputs[3] as { optional: boolean }).optional = false;
    }).toThrow(TypeError);
    expect(OPS.deform_conv2d.inputs[3]!.optional).toBe(true);
  });

  it('declares the gradients of the issue: conv input, offset, mask, weight, bias; RoI pooling input, offset, mask', () => {
    expect(OPS.deform_conv2d.grads).toEqual(['input', 'offset', 'mask', 'weight', 'bias']);
    expect(OPS.deform_conv2d.inputs.map((i) => [i.name, i.optional])).toEqual([['input', false], ['weight', false], ['offset', false], ['mask', true], ['bias', true]]);
    expect(OPS.deform_roi_pool.grads).toEqual(['input', 'offset', 'mask']);
    expect(OPS.deform_roi_pool.inputs.map((i) => [i.name, i.optional])).toEqual([['input', false], ['rois', false], ['offset', true], ['mask', true]]);
  });

  for (const name of ['deform_conv2d', 'deform_roi_pool'] as const) {
    describe(name, () => {
      const op = opDescriptor(name) as unknown as {
        inputs: ReadonlyArray<{ name: string; optional: boolean; rank: number; dims: string }>;
        gradOutput: { rank: number };
        params: ReadonlyArray<{ name: string; required: boolean; default: number | undefined }>;
        grads: readonly string[];
        resolveGeometry(a: unknown, p?: unknown): unknown;
        shapes(g: unknown): Record<string, readonly number[]>;
        hasInput(g: unknown, n: string): boolean;
        gradRequest(g: unknown, names: readonly string[]): Record<string, boolean>;
      };
      const c = CASES[name];

      it('resolves the geometry the op resolves, and its shape function gives the shapes of the call', () => {
        const a = c.args();
        const g = op.resolveGeometry(a, c.params);
        expect(g).toEqual(c.geometry(a as never, c.params as never));
        const s = op.shapes(g);
        expect(Object.keys(s)).toEqual([...op.inputs.map((i) => i.name), 'output']);
        for (const i of op.inputs) {
          expect(s[i.name]).toEqual(a[i.name]!.shape);
          expect(s[i.name]!.length).toBe(i.rank);
        }
        expect(s.output!.length).toBe(op.gradOutput.rank);
      });

      it('the forward output has the shape function\'s output shape', async () => {
        const a = c.args();
        const y = await c.forward(a as never, c.params as never, { backend: c.backend() });
        expect(y.shape).toEqual(op.shapes(op.resolveGeometry(a, c.params)).output);
      });

      it('backward returns exactly the declared gradients, each shaped like its input', async () => {
        const a = c.args();
        const s = op.shapes(op.resolveGeometry(a, c.params));
        const gradOutput = hostTensor(s.output!);
        const r = await c.backward({ ...a, gradOutput } as never, c.params as never, { backend: c.backend() });
        expect(Object.keys(r)).toEqual(op.grads);
        for (const k of op.grads) expect(r[k]!.shape).toEqual(s[k]);
        for (const k of op.grads) expect(op.inputs.some((i) => i.name === k)).toBe(true);
      });

      it('without the optional inputs: hasInput says so, and backward leaves their gradients out', async () => {
        const a = c.args();
        for (const i of op.inputs) if (i.optional) a[i.name] = null;
        const g = op.resolveGeometry(a, c.params);
        for (const i of op.inputs) expect(op.hasInput(g, i.name)).toBe(!i.optional);
        const want = op.gradRequest(g, op.grads);
        expect(Object.keys(want)).toEqual(op.grads);
        const present = op.grads.filter((k) => op.hasInput(g, k));
        for (const k of op.grads) expect(want[k]).toBe(present.includes(k));
        const r = await c.backward({ ...a, gradOutput: hostTensor(op.shapes(g).output!) } as never, c.params as never, { backend: c.backend() });
        expect(Object.keys(r)).toEqual(present);
      });

      it('a rank other than the declared one is refused for every input', () => {
        for (const i of op.inputs) {
          const a = c.args();
          a[i.name] = hostTensor(i.rank === 4 ? [1, 1] : [1, 1, 1, 1]);
          expect(() => op.resolveGeometry(a, c.params)).toThrow(RankError);
        }
      });

      it('its parameters are the ones validation knows, with the defaults validation uses', () => {
        const a = c.args();
        // The geometry, or the error, of a call with these params.
        const outcome = (p: Record<string, unknown>) => {
          try {
            return op.resolveGeometry(a, p);
          } catch (e) {
            return `${(e as Error).name}: ${(e as Error).message}`;
          }
        };
        for (const p of op.params) {
          const { [p.name]: _, ...rest } = c.params;
          if (p.required) {
            expect(() => op.resolveGeometry(a, rest)).toThrow(ParamError);
          } else if (p.default !== undefined) {
            // Omitting it and giving its declared default are the same call.
            expect(outcome({ ...rest, [p.name]: p.default })).toEqual(outcome(rest));
          }
        }
        expect(() => op.resolveGeometry(a, { ...c.params, notAParam: 1 })).toThrow(ParamError);
      });
    });
  }
});
