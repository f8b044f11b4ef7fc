/**
 * Builds a one-node ONNX model running `DeformConv` (ai.onnx opset 19) for a given geometry, serialised with the
 * tiny protobuf writer (no protobufjs; field numbers in model-proto.ts).
 */
import { convShapes, type ConvGeometry } from '@dcnv2/core';
import { buildOneNodeModel, ELEM_TYPE, type ValueInfo } from './model-proto.js';

export const DEFORM_CONV_IR_VERSION = 9;
export const DEFORM_CONV_OPSET = 19;

/** Names of the graph's inputs and output. */
export const DEFORM_CONV_IO = {
  input: 'X',
  weight: 'W',
  offset: 'offset',
  bias: 'B',
  mask: 'mask',
  output: 'Y',
} as const;

export interface DeformConvModelOptions {
  /** Feed a `mask` input (DCNv2). Default: `g.hasMask`. */
  readonly withMask: boolean;
  /** Feed a bias `B` input. Default: `g.hasBias`. */
  readonly withBias: boolean;
}

/** Static shapes of the graph's tensors, named as the ONNX inputs: core's `convShapes`. */
export function deformConvModelShapes(g: ConvGeometry) {
  const s = convShapes(g);
  return { X: s.input, W: s.weight, offset: s.offset, B: s.bias, mask: s.mask, Y: s.output } as const;
}

function checkGeometry(g: ConvGeometry): void {
  const ints: Array<[string, number]> = [
    ['batch', g.batch], ['inChannels', g.inChannels], ['inHeight', g.inHeight], ['inWidth', g.inWidth],
    ['outChannels', g.outChannels], ['kernelH', g.kernelH], ['kernelW', g.kernelW], ['strideH', g.strideH],
    ['strideW', g.strideW], ['padTop', g.padTop], ['padLeft', g.padLeft], ['padBottom', g.padBottom],
    ['padRight', g.padRight], ['dilationH', g.dilationH], ['dilationW', g.dilationW], ['groups', g.groups],
    ['offsetGroups', g.offsetGroups], ['outHeight', g.outHeight], ['outWidth', g.outWidth],
  ];
  for (const [k, v] of ints) {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`buildDeformConvModel: ${k} = ${v} is not a non-negative integer`);
  }
  if (g.groups < 1 || g.inChannels % g.groups !== 0) {
    throw new RangeError(`buildDeformConvModel: inChannels ${g.inChannels} not divisible by groups ${g.groups}`);
  }
}

/**
 * An ONNX model (IR 9, opset 19) with one `DeformConv` node: inputs `X, W, offset[, B][, mask]` in ONNX order
 * (`B` is an empty name when absent but `mask` is present), output `Y`, every shape static from `g`.
 */
export function buildDeformConvModel(g: ConvGeometry, opts?: DeformConvModelOptions): Uint8Array {
  checkGeometry(g);
  const withMask = opts ? opts.withMask : g.hasMask;
  const withBias = opts ? opts.withBias : g.hasBias;
  const io = DEFORM_CONV_IO;
  const shapes = deformConvModelShapes(g);

  const nodeInputs: string[] = [io.input, io.weight, io.offset];
  if (withBias || withMask) nodeInputs.push(withBias ? io.bias : '');
  if (withMask) nodeInputs.push(io.mask);

  const value = (name: string, dims: readonly number[]): ValueInfo => ({ name, elemType: ELEM_TYPE.float, dims });
  return buildOneNodeModel({
    irVersion: DEFORM_CONV_IR_VERSION,
    opset: DEFORM_CONV_OPSET,
    graphName: 'deform_conv2d',
    nodeName: 'deform_conv',
    opType: 'DeformConv',
    nodeInputs,
    attributes: [
      { name: 'dilations', ints: [g.dilationH, g.dilationW] },
      { name: 'group', int: g.groups },
      { name: 'offset_group', int: g.offsetGroups },
      { name: 'kernel_shape', ints: [g.kernelH, g.kernelW] },
      // ONNX pads order: x1_begin, x2_begin, x1_end, x2_end = top, left, bottom, right.
      { name: 'pads', ints: [g.padTop, g.padLeft, g.padBottom, g.padRight] },
      { name: 'strides', ints: [g.strideH, g.strideW] },
    ],
    inputs: [
      value(io.input, shapes.X),
      value(io.weight, shapes.W),
      value(io.offset, shapes.offset),
      ...(withBias ? [value(io.bias, shapes.B)] : []),
      ...(withMask ? [value(io.mask, shapes.mask)] : []),
    ],
    output: value(io.output, shapes.Y),
  });
}
