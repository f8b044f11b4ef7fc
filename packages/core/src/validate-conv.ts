/**
 * Validation of a deformable convolution call, done once in core before any backend runs. Produces the
 * resolved `ConvGeometry`; every failure is a typed `DcnError` naming the argument, the expectation and
 * the value that came.
 */
import { convOutSize, type ConvGeometry, type DeformConv2dParams, type Pair, type Padding } from './conv-params.js';
import { DivisibilityError, OutputSizeError, ParamError, ShapeError } from './errors.js';
import { checkDim, checkTensor } from './validate-tensor.js';

export interface ConvShapeArgs {
  readonly input: unknown;
  readonly weight: unknown;
  readonly offset: unknown;
  readonly mask?: unknown;
  readonly bias?: unknown;
}

function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v);
}

function checkInt(v: unknown, argument: string, min: number, what: string): number {
  if (!isInt(v) || v < min) throw new ParamError({ argument, expected: what, actual: v });
  return v;
}

function resolvePair(v: Pair | undefined, argument: string, dflt: number, min: number, what: string): [number, number] {
  if (v === undefined) return [dflt, dflt];
  if (Array.isArray(v)) {
    if (v.length !== 2) throw new ParamError({ argument, expected: `one ${what} or [h, w]`, actual: v });
    return [checkInt(v[0], `${argument}[0]`, min, what), checkInt(v[1], `${argument}[1]`, min, what)];
  }
  const n = checkInt(v, argument, min, what);
  return [n, n];
}

/** [top, left, bottom, right] from 1, 2 or 4 numbers. */
export function resolvePadding(v: Padding | undefined): [number, number, number, number] {
  const what = 'a non-negative integer';
  if (v === undefined) return [0, 0, 0, 0];
  if (Array.isArray(v)) {
    if (v.length === 2) {
      const h = checkInt(v[0], 'params.padding[0]', 0, what);
      const w = checkInt(v[1], 'params.padding[1]', 0, what);
      return [h, w, h, w];
    }
    if (v.length === 4) {
      return v.map((p, i) => checkInt(p, `params.padding[${i}]`, 0, what)) as [number, number, number, number];
    }
    throw new ParamError({ argument: 'params.padding', expected: 'one number, [h, w] or [top, left, bottom, right]', actual: v });
  }
  const p = checkInt(v, 'params.padding', 0, what);
  return [p, p, p, p];
}

function checkParamsObject(params: unknown): DeformConv2dParams {
  if (params === undefined) return {};
  if (typeof params !== 'object' || params === null || Array.isArray(params)) {
    throw new ParamError({ argument: 'params', expected: 'an object { stride, padding, dilation, groups, offsetGroups }', actual: params });
  }
  const known = new Set(['stride', 'padding', 'dilation', 'groups', 'offsetGroups']);
  for (const k of Object.keys(params)) {
    if (!known.has(k)) throw new ParamError({ argument: `params.${k}`, expected: `one of ${[...known].join(', ')}`, actual: k }, 'unknown parameter');
  }
  return params as DeformConv2dParams;
}

/** Validates the tensors and parameters of a convolution call and resolves its geometry. */
export function resolveConvGeometry(args: ConvShapeArgs, rawParams?: DeformConv2dParams): ConvGeometry {
  if (typeof args !== 'object' || args === null) {
    throw new ParamError({ argument: 'args', expected: 'an object { input, weight, offset, mask?, bias? }', actual: args });
  }
  const params = checkParamsObject(rawParams);
  const x = checkTensor(args.input, 'input', 4, '[N, Cin, H, W]');
  const w = checkTensor(args.weight, 'weight', 4, '[Cout, Cin/groups, kh, kw]');
  const off = checkTensor(args.offset, 'offset', 4, '[N, 2*offsetGroups*kh*kw, Ho, Wo]');
  const hasMask = args.mask !== undefined && args.mask !== null;
  const hasBias = args.bias !== undefined && args.bias !== null;
  const m = hasMask ? checkTensor(args.mask, 'mask', 4, '[N, offsetGroups*kh*kw, Ho, Wo]') : null;
  const b = hasBias ? checkTensor(args.bias, 'bias', 1, '[Cout]') : null;

  const [strideH, strideW] = resolvePair(params.stride, 'params.stride', 1, 1, 'a positive integer');
  const [dilationH, dilationW] = resolvePair(params.dilation, 'params.dilation', 1, 1, 'a positive integer');
  const [padTop, padLeft, padBottom, padRight] = resolvePadding(params.padding);
  const groups = params.groups === undefined ? 1 : checkInt(params.groups, 'params.groups', 1, 'a positive integer');

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
    offsetGroups = checkInt(params.offsetGroups, 'params.offsetGroups', 1, 'a positive integer');
  }
  if (inChannels % offsetGroups !== 0) {
    throw new DivisibilityError({ argument: params.offsetGroups === undefined ? 'offset.shape[1]' : 'params.offsetGroups', expected: `offset groups dividing Cin = ${inChannels}`, actual: offsetGroups });
  }

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

  return {
    batch, inChannels, inHeight, inWidth, outChannels, kernelH, kernelW, strideH, strideW,
    padTop, padLeft, padBottom, padRight, dilationH, dilationW, groups, offsetGroups, outHeight, outWidth,
    hasMask, hasBias,
  };
}

/** Validates `gradOutput` of a backward call against the geometry. */
export function checkGradOutput(t: unknown, g: ConvGeometry): void {
  const s = checkTensor(t, 'gradOutput', 4, '[N, Cout, Ho, Wo]');
  checkDim(s, 0, g.batch, 'gradOutput', 'the batch N');
  checkDim(s, 1, g.outChannels, 'gradOutput', 'Cout');
  checkDim(s, 2, g.outHeight, 'gradOutput', 'the output height Ho');
  checkDim(s, 3, g.outWidth, 'gradOutput', 'the output width Wo');
}
