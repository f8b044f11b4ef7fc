/**
 * Validation of a deformable convolution call, done once in core before any backend runs. Produces the
 * resolved `ConvGeometry`; every failure is a typed `DcnError` naming the argument, the expectation and
 * the value that came.
 */
import { convOutSize, convShapes, type ConvGeometry, type DeformConv2dParams } from './conv-params.js';
import { DivisibilityError, LimitError, OutputSizeError, ParamError, ShapeError } from './errors.js';
import { checkElementCount, checkKnownKeys, MAX_INT32, takeInt, takeList, takeObject, takeTensor } from './intake.js';
import { takeOpArgs, type TakenArgs } from './op-args.js';
import { DEFORM_CONV2D_SPEC as SPEC, paramDefault, paramNames } from './op-specs.js';
import { checkDim } from './validate-tensor.js';

export interface ConvShapeArgs {
  readonly input: unknown;
  readonly weight: unknown;
  readonly offset: unknown;
  readonly mask?: unknown;
  readonly bias?: unknown;
}

/** The tensors of a convolution call, each taken once (see op-args.ts). */
export type ConvTensors = TakenArgs<(typeof SPEC.inputs)[number]['name']>;

const PARAM_NAMES = paramNames(SPEC);
const DEFAULT_STRIDE = paramDefault(SPEC, 'stride');
const DEFAULT_PADDING = paramDefault(SPEC, 'padding');
const DEFAULT_DILATION = paramDefault(SPEC, 'dilation');
const DEFAULT_GROUPS = paramDefault(SPEC, 'groups');

/** Reads a convolution call's tensors once (see op-args.ts). */
export function takeConvArgs(args: unknown, backward: boolean): ConvTensors {
  return takeOpArgs(SPEC, args, backward);
}

function resolvePair(v: unknown, argument: string, dflt: number, min: number, what: string): [number, number] {
  if (v === undefined) return [dflt, dflt];
  const list = takeList(v, 2);
  if (list !== null) {
    if (list.length !== 2) throw new ParamError({ argument, expected: `one ${what} or [h, w]`, actual: list });
    return [takeInt(list[0], `${argument}[0]`, min, what), takeInt(list[1], `${argument}[1]`, min, what)];
  }
  const n = takeInt(v, argument, min, what);
  return [n, n];
}

/** [top, left, bottom, right] from 1, 2 or 4 numbers. */
export function resolvePadding(v: unknown): [number, number, number, number] {
  const what = 'a non-negative integer';
  if (v === undefined) return [DEFAULT_PADDING, DEFAULT_PADDING, DEFAULT_PADDING, DEFAULT_PADDING];
  const list = takeList(v, 4);
  if (list !== null) {
    if (list.length === 2) {
      const h = takeInt(list[0], 'params.padding[0]', 0, what);
      const w = takeInt(list[1], 'params.padding[1]', 0, what);
      return [h, w, h, w];
    }
    if (list.length === 4) {
      return list.map((p, i) => takeInt(p, `params.padding[${i}]`, 0, what)) as [number, number, number, number];
    }
    throw new ParamError({ argument: 'params.padding', expected: 'one number, [h, w] or [top, left, bottom, right]', actual: list });
  }
  const p = takeInt(v, 'params.padding', 0, what);
  return [p, p, p, p];
}

function takeParams(params: unknown): Record<string, unknown> {
  if (params === undefined) return {};
  const p = takeObject(params, 'params', `{ ${PARAM_NAMES.join(', ')} }`);
  checkKnownKeys(p, 'params', PARAM_NAMES);
  return p;
}

/**
 * Refuses geometry whose tap positions leave int32: with size + padBefore + padAfter and the dilated
 * kernel extent within 2^31-1, every integer position `o*stride - padBefore + i*dilation` and every partial
 * sum of it lies in [-padBefore, size + padAfter - 1], so no kernel can wrap.
 */
function checkAxisExtent(size: number, padBefore: number, padAfter: number, kernel: number, dilation: number, axis: 'H' | 'W'): void {
  const padded = size + padBefore + padAfter;
  if (padded > MAX_INT32) {
    const pads = axis === 'H' ? 'padTop + padBottom' : 'padLeft + padRight';
    throw new LimitError({ argument: 'params.padding', expected: `${axis} + ${pads} <= ${MAX_INT32} (kernels compute positions with 32-bit integers)`, actual: padded });
  }
  const extent = dilation * (kernel - 1) + 1;
  if (extent > MAX_INT32) {
    throw new LimitError({ argument: 'params.dilation', expected: `dilation${axis}*(k${axis === 'H' ? 'h' : 'w'}-1)+1 <= ${MAX_INT32} (kernels compute positions with 32-bit integers)`, actual: extent });
  }
}

/** Validates the tensors and parameters of a convolution call and resolves its geometry. */
export function resolveConvGeometry(args: ConvShapeArgs, rawParams?: DeformConv2dParams): ConvGeometry {
  return convGeometryOf(takeConvArgs(args, false), rawParams);
}

/** The geometry of a call whose tensors were taken with `takeConvArgs`. */
export function convGeometryOf(t: Omit<ConvTensors, 'gradOutput'>, rawParams: unknown): ConvGeometry {
  const params = takeParams(rawParams);
  const x = t.input!.shape; // required inputs are never null once taken
  const w = t.weight!.shape;
  const off = t.offset!.shape;
  const hasMask = t.mask !== null;
  const hasBias = t.bias !== null;
  const m = t.mask?.shape ?? null;
  const b = t.bias?.shape ?? null;

  const [strideH, strideW] = resolvePair(params.stride, 'params.stride', DEFAULT_STRIDE, 1, 'a positive integer');
  const [dilationH, dilationW] = resolvePair(params.dilation, 'params.dilation', DEFAULT_DILATION, 1, 'a positive integer');
  const [padTop, padLeft, padBottom, padRight] = resolvePadding(params.padding);
  const groups = params.groups === undefined ? DEFAULT_GROUPS : takeInt(params.groups, 'params.groups', 1, 'a positive integer');

  const [batch, inChannels, inHeight, inWidth] = x;
  const [outChannels, , kernelH, kernelW] = w;
  if (inChannels < 1) throw new ShapeError({ argument: 'input.shape[1]', expected: 'at least 1 channel', actual: inChannels });
  if (outChannels < 1) throw new ShapeError({ argument: 'weight.shape[0]', expected: 'at least 1 output channel', actual: outChannels });
  if (kernelH < 1) throw new ShapeError({ argument: 'weight.shape[2]', expected: 'a kernel height of at least 1', actual: kernelH });
  if (kernelW < 1) throw new ShapeError({ argument: 'weight.shape[3]', expected: 'a kernel width of at least 1', actual: kernelW });
  if (inChannels % groups !== 0) {
    throw new DivisibilityError({ argument: 'input.shape[1]', expected: `a multiple of groups = ${groups}`, actual: inChannels });
  }
  if (outChannels % groups !== 0) {
    throw new DivisibilityError({ argument: 'weight.shape[0]', expected: `a multiple of groups = ${groups}`, actual: outChannels });
  }
  checkDim(w, 1, inChannels / groups, 'weight', `Cin/groups = ${inChannels}/${groups}`);

  const taps = kernelH * kernelW;
  let offsetGroups: number;
  if (params.offsetGroups === undefined) {
    // Inferred from the offset's channels, as torchvision does.
    if (off[1] < 2 * taps || off[1] % (2 * taps) !== 0) {
      throw new ShapeError({ argument: 'offset.shape[1]', expected: `a positive multiple of 2*kh*kw = ${2 * taps}`, actual: off[1] });
    }
    offsetGroups = off[1] / (2 * taps);
  } else {
    offsetGroups = takeInt(params.offsetGroups, 'params.offsetGroups', 1, 'a positive integer');
  }
  if (inChannels % offsetGroups !== 0) {
    throw new DivisibilityError({ argument: params.offsetGroups === undefined ? 'offset.shape[1]' : 'params.offsetGroups', expected: `offset groups dividing Cin = ${inChannels}`, actual: offsetGroups });
  }

  checkAxisExtent(inHeight, padTop, padBottom, kernelH, dilationH, 'H');
  checkAxisExtent(inWidth, padLeft, padRight, kernelW, dilationW, 'W');
  const outHeight = convOutSize(inHeight, padTop, padBottom, kernelH, strideH, dilationH);
  const outWidth = convOutSize(inWidth, padLeft, padRight, kernelW, strideW, dilationW);
  if (outHeight < 1) {
    throw new OutputSizeError({ argument: 'input.shape[2]', expected: `H + padTop + padBottom >= dilationH*(kh-1)+1 = ${dilationH * (kernelH - 1) + 1}`, actual: inHeight }, `output height would be ${outHeight}`);
  }
  if (outWidth < 1) {
    throw new OutputSizeError({ argument: 'input.shape[3]', expected: `W + padLeft + padRight >= dilationW*(kw-1)+1 = ${dilationW * (kernelW - 1) + 1}`, actual: inWidth }, `output width would be ${outWidth}`);
  }

  checkDim(off, 0, batch, 'offset', 'the batch N of input');
  checkDim(off, 1, 2 * offsetGroups * taps, 'offset', `2*offsetGroups*kh*kw = 2*${offsetGroups}*${kernelH}*${kernelW}`);
  checkDim(off, 2, outHeight, 'offset', 'the output height Ho');
  checkDim(off, 3, outWidth, 'offset', 'the output width Wo');
  if (m) {
    checkDim(m, 0, batch, 'mask', 'the batch N of input');
    checkDim(m, 1, offsetGroups * taps, 'mask', `offsetGroups*kh*kw = ${offsetGroups}*${kernelH}*${kernelW}`);
    checkDim(m, 2, outHeight, 'mask', 'the output height Ho');
    checkDim(m, 3, outWidth, 'mask', 'the output width Wo');
  }
  if (b) checkDim(b, 0, outChannels, 'bias', 'Cout, the first dimension of weight');

  const g: ConvGeometry = {
    batch, inChannels, inHeight, inWidth, outChannels, kernelH, kernelW, strideH, strideW,
    padTop, padLeft, padBottom, padRight, dilationH, dilationW, groups, offsetGroups, outHeight, outWidth,
    hasMask, hasBias,
  };
  // Inputs were bounded when taken; the output (and so gradOutput) is bounded here.
  checkElementCount(convShapes(g).output, 'output');
  return g;
}

/** Validates `gradOutput` of a backward call against the geometry. */
export function checkGradOutput(t: unknown, g: ConvGeometry): void {
  checkGradOutputShape(takeTensor(t, 'gradOutput', SPEC.gradOutput.rank, SPEC.gradOutput.dims).shape, g);
}

/** Checks a taken gradOutput's shape against the geometry. */
export function checkGradOutputShape(s: readonly number[], g: ConvGeometry): void {
  checkDim(s, 0, g.batch, 'gradOutput', 'the batch N');
  checkDim(s, 1, g.outChannels, 'gradOutput', 'Cout');
  checkDim(s, 2, g.outHeight, 'gradOutput', 'the output height Ho');
  checkDim(s, 3, g.outWidth, 'gradOutput', 'the output width Wo');
}
