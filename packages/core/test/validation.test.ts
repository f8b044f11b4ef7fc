/** One test per error path of convolution validation: the class, the argument named, expected and actual. */
import { describe, expect, it } from 'vitest';
import {
  DataLengthError,
  DcnError,
  DivisibilityError,
  DTypeError,
  OutputSizeError,
  ParamError,
  RankError,
  ShapeError,
  resolveConvGeometry,
  checkGradOutput,
  hostTensor,
  type DeformConv2dParams,
} from '../src/index.js';

type Args = Parameters<typeof resolveConvGeometry>[0];
const t = (...shape: number[]) => hostTensor(shape);

/** A valid call: N=2, Cin=4, 6x6 -> Cout=6, 3x3, pad 1, groups 2, offset groups 2. */
function valid(): { args: Record<string, unknown>; params: DeformConv2dParams } {
  return {
    args: { input: t(2, 4, 6, 6), weight: t(6, 2, 3, 3), offset: t(2, 36, 6, 6), mask: t(2, 18, 6, 6), bias: t(6) },
    params: { padding: 1, groups: 2, offsetGroups: 2 },
  };
}

function expectError(
  fn: () => unknown,
  cls: new (...a: never[]) => DcnError,
  argument: string,
  expected?: RegExp,
  actual?: unknown,
) {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(cls);
  expect(caught).toBeInstanceOf(DcnError);
  const e = caught as DcnError;
  expect(e.argument).toBe(argument);
  expect(e.message).toContain(argument);
  if (expected) expect(e.expected).toMatch(expected);
  if (actual !== undefined) expect(e.actual).toEqual(actual);
  expect(e.name).toBe(cls.name);
}

function run(mutate: (v: ReturnType<typeof valid>) => void) {
  const v = valid();
  mutate(v);
  return () => resolveConvGeometry(v.args as unknown as Args, v.params);
}

describe('resolveConvGeometry: accepts', () => {
  it('a valid call and resolves every field', () => {
    const v = valid();
    const g = resolveConvGeometry(v.args as unknown as Args, v.params);
    expect(g).toMatchObject({ batch: 2, inChannels: 4, outChannels: 6, kernelH: 3, kernelW: 3, outHeight: 6, outWidth: 6, groups: 2, offsetGroups: 2, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1, hasMask: true, hasBias: true });
  });
  it('an empty batch (N = 0), as torchvision does', () => {
    const g = resolveConvGeometry({ input: t(0, 3, 5, 5), weight: t(4, 3, 3, 3), offset: t(0, 18, 3, 3) });
    expect(g.batch).toBe(0);
    expect([g.outHeight, g.outWidth]).toEqual([3, 3]);
  });
  it('padding as [h, w] and as [top, left, bottom, right], stride and dilation as pairs', () => {
    const g = resolveConvGeometry(
      { input: t(1, 2, 9, 11), weight: t(3, 2, 2, 3), offset: t(1, 12, 6, 9) },
      { padding: [2, 1, 2, 1], stride: [2, 1], dilation: [1, 2] },
    );
    expect([g.outHeight, g.outWidth]).toEqual([6, 9]);
    const h = resolveConvGeometry({ input: t(1, 2, 5, 5), weight: t(3, 2, 3, 3), offset: t(1, 18, 7, 5) }, { padding: [2, 1] });
    expect([h.padTop, h.padLeft, h.padBottom, h.padRight]).toEqual([2, 1, 2, 1]);
  });
  it('infers offset groups from the offset channels when not given', () => {
    const g = resolveConvGeometry({ input: t(1, 4, 5, 5), weight: t(2, 4, 3, 3), offset: t(1, 72, 5, 5) }, { padding: 1 });
    expect(g.offsetGroups).toBe(4);
  });
  it('null mask and bias mean DCNv1 without bias', () => {
    const g = resolveConvGeometry({ input: t(1, 1, 3, 3), weight: t(1, 1, 1, 1), offset: t(1, 2, 3, 3), mask: null, bias: null });
    expect([g.hasMask, g.hasBias]).toEqual([false, false]);
  });
});

describe('resolveConvGeometry: typed errors', () => {
  it('input is not a tensor', () => expectError(run((v) => (v.args.input = 42)), DTypeError, 'input', /tensor/, 42));
  it('data is not a Float32Array', () =>
    expectError(run((v) => (v.args.input = { shape: [2, 4, 6, 6], data: new Float64Array(288) })), DTypeError, 'input.data', /Float32Array/));
  it('shape is not an array', () => expectError(run((v) => (v.args.weight = { shape: 'x', data: new Float32Array(1) })), DTypeError, 'weight.shape'));
  it('input rank', () => expectError(run((v) => (v.args.input = t(4, 6, 6))), RankError, 'input.shape', /rank 4/, [4, 6, 6]));
  it('weight rank', () => expectError(run((v) => (v.args.weight = t(6, 2, 9))), RankError, 'weight.shape', /rank 4/));
  it('offset rank', () => expectError(run((v) => (v.args.offset = t(36, 6, 6))), RankError, 'offset.shape', /rank 4/));
  it('mask rank', () => expectError(run((v) => (v.args.mask = t(2, 18, 36))), RankError, 'mask.shape', /rank 4/));
  it('bias rank', () => expectError(run((v) => (v.args.bias = t(6, 1))), RankError, 'bias.shape', /rank 1/));
  it('negative or fractional dimension', () => {
    expectError(run((v) => (v.args.input = { shape: [2, 4, -6, 6], data: new Float32Array(0) })), ShapeError, 'input.shape[2]', /non-negative integer/, -6);
    expectError(run((v) => (v.args.input = { shape: [2, 4, 6.5, 6], data: new Float32Array(0) })), ShapeError, 'input.shape[2]', /non-negative integer/, 6.5);
  });
  it('data length not matching the shape', () =>
    expectError(run((v) => (v.args.offset = { shape: [2, 36, 6, 6], data: new Float32Array(5) })), DataLengthError, 'offset.data.length', /2592/, 5));
  it('Cin not divisible by groups', () =>
    expectError(run((v) => ((v.args.input = t(2, 5, 6, 6)), (v.params = { ...v.params, offsetGroups: 1 }))), DivisibilityError, 'input.shape[1]', /multiple of groups = 2/, 5));
  it('Cout not divisible by groups', () => expectError(run((v) => (v.args.weight = t(5, 2, 3, 3))), DivisibilityError, 'weight.shape[0]', /multiple of groups = 2/, 5));
  it('Cin not divisible by offset groups', () =>
    expectError(run((v) => (v.params = { ...v.params, offsetGroups: 3 })), DivisibilityError, 'params.offsetGroups', /dividing Cin = 4/, 3));
  it('weight input channels not Cin/groups', () => expectError(run((v) => (v.args.weight = t(6, 4, 3, 3))), ShapeError, 'weight.shape[1]', /^2 /, 4));
  it('offset channel count', () =>
    expectError(run((v) => (v.args.offset = t(2, 18, 6, 6))), ShapeError, 'offset.shape[1]', /2\*offsetGroups\*kh\*kw/, 18));
  it('offset channels not a multiple of 2*kh*kw when offset groups are inferred', () =>
    expectError(
      () => resolveConvGeometry({ input: t(1, 4, 5, 5), weight: t(2, 4, 3, 3), offset: t(1, 17, 5, 5) }, { padding: 1 }),
      ShapeError,
      'offset.shape[1]',
      /multiple of 2\*kh\*kw = 18/,
      17,
    ));
  it('offset batch', () => expectError(run((v) => (v.args.offset = t(1, 36, 6, 6))), ShapeError, 'offset.shape[0]', /batch/, 1));
  it('offset spatial size', () => {
    expectError(run((v) => (v.args.offset = t(2, 36, 5, 6))), ShapeError, 'offset.shape[2]', /output height/, 5);
    expectError(run((v) => (v.args.offset = t(2, 36, 6, 7))), ShapeError, 'offset.shape[3]', /output width/, 7);
  });
  it('mask channel count', () => expectError(run((v) => (v.args.mask = t(2, 9, 6, 6))), ShapeError, 'mask.shape[1]', /offsetGroups\*kh\*kw/, 9));
  it('mask batch and spatial size', () => {
    expectError(run((v) => (v.args.mask = t(3, 18, 6, 6))), ShapeError, 'mask.shape[0]', /batch/, 3);
    expectError(run((v) => (v.args.mask = t(2, 18, 6, 4))), ShapeError, 'mask.shape[3]', /output width/, 4);
  });
  it('bias length', () => expectError(run((v) => (v.args.bias = t(5))), ShapeError, 'bias.shape[0]', /Cout/, 5));
  it('non-positive stride', () => {
    expectError(run((v) => (v.params = { ...v.params, stride: 0 })), ParamError, 'params.stride', /positive integer/, 0);
    expectError(run((v) => (v.params = { ...v.params, stride: [1, -2] })), ParamError, 'params.stride[1]', /positive integer/, -2);
  });
  it('non-positive dilation', () => expectError(run((v) => (v.params = { ...v.params, dilation: [0, 1] })), ParamError, 'params.dilation[0]', /positive integer/, 0));
  it('negative padding', () => {
    expectError(run((v) => (v.params = { ...v.params, padding: -1 })), ParamError, 'params.padding', /non-negative integer/, -1);
    expectError(run((v) => (v.params = { ...v.params, padding: [1, 1, -1, 1] })), ParamError, 'params.padding[2]', /non-negative integer/, -1);
  });
  it('padding with 3 entries', () => expectError(run((v) => (v.params = { ...v.params, padding: [1, 1, 1] as never })), ParamError, 'params.padding', /\[top, left, bottom, right\]/));
  it('non-integer params', () => {
    expectError(run((v) => (v.params = { ...v.params, stride: 1.5 })), ParamError, 'params.stride', /integer/, 1.5);
    expectError(run((v) => (v.params = { ...v.params, padding: 0.5 })), ParamError, 'params.padding', /integer/, 0.5);
    expectError(run((v) => (v.params = { ...v.params, dilation: NaN })), ParamError, 'params.dilation', /integer/);
    expectError(run((v) => (v.params = { ...v.params, groups: 2.5 })), ParamError, 'params.groups', /positive integer/, 2.5);
    expectError(run((v) => (v.params = { ...v.params, offsetGroups: '2' as never })), ParamError, 'params.offsetGroups', /positive integer/, '2');
  });
  it('zero groups', () => expectError(run((v) => (v.params = { ...v.params, groups: 0 })), ParamError, 'params.groups', /positive integer/, 0));
  it('unknown parameter names (a typo would otherwise be ignored silently)', () =>
    expectError(run((v) => (v.params = { ...v.params, pading: 1 } as never)), ParamError, 'params.pading', /one of/));
  it('params not an object', () => expectError(run((v) => (v.params = 3 as never)), ParamError, 'params', /object/, 3));
  it('output height below 1', () =>
    expectError(
      () => resolveConvGeometry({ input: t(1, 1, 2, 8), weight: t(1, 1, 3, 3), offset: t(1, 18, 1, 6) }),
      OutputSizeError,
      'input.shape[2]',
      />= dilationH\*\(kh-1\)\+1 = 3/,
      2,
    ));
  it('output width below 1 (dilation makes the kernel larger than the image)', () =>
    expectError(
      () => resolveConvGeometry({ input: t(1, 1, 8, 4), weight: t(1, 1, 3, 3), offset: t(1, 18, 6, 1) }, { dilation: [1, 2] }),
      OutputSizeError,
      'input.shape[3]',
      /= 5/,
      4,
    ));
  it('zero channels and an empty kernel', () => {
    expectError(() => resolveConvGeometry({ input: t(1, 0, 4, 4), weight: t(1, 0, 1, 1), offset: t(1, 2, 4, 4) }), ShapeError, 'input.shape[1]', /at least 1/, 0);
    expectError(() => resolveConvGeometry({ input: t(1, 1, 4, 4), weight: t(0, 1, 1, 1), offset: t(1, 2, 4, 4) }), ShapeError, 'weight.shape[0]', /at least 1/, 0);
    expectError(() => resolveConvGeometry({ input: t(1, 1, 4, 4), weight: t(1, 1, 0, 1), offset: t(1, 0, 5, 4) }), ShapeError, 'weight.shape[2]', /at least 1/, 0);
  });
  it('gradOutput shape', () => {
    const v = valid();
    const g = resolveConvGeometry(v.args as unknown as Args, v.params);
    expect(() => checkGradOutput(t(2, 6, 6, 6), g)).not.toThrow();
    expectError(() => checkGradOutput(t(2, 5, 6, 6), g), ShapeError, 'gradOutput.shape[1]', /Cout/, 5);
    expectError(() => checkGradOutput(t(2, 6, 6), g), RankError, 'gradOutput.shape', /rank 4/);
  });
  it('messages read "<argument>: expected <what>, got <value>"', () => {
    try {
      run((v) => (v.args.bias = t(5)))();
    } catch (e) {
      expect((e as Error).message).toBe('bias.shape[0]: expected 6 (Cout, the first dimension of weight), got 5');
      expect((e as DcnError).code).toBe('ERR_DCN_SHAPE');
    }
  });
});
