/**
 * Builds a one-node ONNX model running `DeformConv` (ai.onnx opset 19) for a given geometry, serialised with the
 * tiny protobuf writer (no protobufjs).
 *
 * Field numbers are those of onnx/onnx.proto3 (checked against the upstream file):
 *   ModelProto       ir_version=1 producer_name=2 graph=7 opset_import=8
 *   OperatorSetIdProto domain=1 version=2
 *   GraphProto       node=1 name=2 initializer=5 input=11 output=12
 *   NodeProto        input=1 output=2 name=3 op_type=4 attribute=5 domain=7
 *   AttributeProto   name=1 f=2 i=3 ints=8 type=20   (AttributeType INT=2, INTS=7)
 *   ValueInfoProto   name=1 type=2
 *   TypeProto        tensor_type=1;  TypeProto.Tensor elem_type=1 shape=2
 *   TensorShapeProto dim=1;          TensorShapeProto.Dimension dim_value=1
 *   TensorProto.DataType FLOAT=1
 */
import { convShapes, type ConvGeometry } from '@dcnv2/core';
import { ProtoWriter } from './protobuf-writer.js';

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

const F = {
  model: { irVersion: 1, producerName: 2, producerVersion: 3, graph: 7, opsetImport: 8 },
  opset: { domain: 1, version: 2 },
  graph: { node: 1, name: 2, input: 11, output: 12 },
  node: { input: 1, output: 2, name: 3, opType: 4, attribute: 5, domain: 7 },
  attr: { name: 1, i: 3, ints: 8, type: 20 },
  valueInfo: { name: 1, type: 2 },
  type: { tensorType: 1 },
  tensorType: { elemType: 1, shape: 2 },
  shape: { dim: 1 },
  dim: { dimValue: 1 },
} as const;

const ATTR_INT = 2;
const ATTR_INTS = 7;
const ELEM_FLOAT = 1;

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

function writeIntAttr(w: ProtoWriter, name: string, value: number): void {
  w.message(F.node.attribute, (a) => {
    a.string(F.attr.name, name);
    a.varint(F.attr.type, ATTR_INT);
    a.varint(F.attr.i, value);
  });
}

function writeIntsAttr(w: ProtoWriter, name: string, values: readonly number[]): void {
  w.message(F.node.attribute, (a) => {
    a.string(F.attr.name, name);
    a.varint(F.attr.type, ATTR_INTS);
    // `repeated int64 ints = 8` is unpacked in onnx.proto (proto2), so write one key per element, as onnx does.
    a.repeatedVarint(F.attr.ints, values);
  });
}

function writeFloatTensorValueInfo(w: ProtoWriter, field: number, name: string, dims: readonly number[]): void {
  w.message(field, (vi) => {
    vi.string(F.valueInfo.name, name);
    vi.message(F.valueInfo.type, (t) => {
      t.message(F.type.tensorType, (tt) => {
        tt.varint(F.tensorType.elemType, ELEM_FLOAT);
        tt.message(F.tensorType.shape, (s) => {
          for (const d of dims) {
            s.message(F.shape.dim, (dim) => {
              dim.varint(F.dim.dimValue, d);
            });
          }
        });
      });
    });
  });
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

  const m = new ProtoWriter();
  m.varint(F.model.irVersion, DEFORM_CONV_IR_VERSION);
  m.string(F.model.producerName, '@dcnv2/conformance');
  m.message(F.model.graph, (graph) => {
    graph.message(F.graph.node, (node) => {
      for (const name of nodeInputs) node.string(F.node.input, name);
      node.string(F.node.output, io.output);
      node.string(F.node.name, 'deform_conv');
      node.string(F.node.opType, 'DeformConv');
      node.string(F.node.domain, '');
      writeIntsAttr(node, 'dilations', [g.dilationH, g.dilationW]);
      writeIntAttr(node, 'group', g.groups);
      writeIntAttr(node, 'offset_group', g.offsetGroups);
      writeIntsAttr(node, 'kernel_shape', [g.kernelH, g.kernelW]);
      // ONNX pads order: x1_begin, x2_begin, x1_end, x2_end = top, left, bottom, right.
      writeIntsAttr(node, 'pads', [g.padTop, g.padLeft, g.padBottom, g.padRight]);
      writeIntsAttr(node, 'strides', [g.strideH, g.strideW]);
    });
    graph.string(F.graph.name, 'deform_conv2d');
    writeFloatTensorValueInfo(graph, F.graph.input, io.input, shapes.X);
    writeFloatTensorValueInfo(graph, F.graph.input, io.weight, shapes.W);
    writeFloatTensorValueInfo(graph, F.graph.input, io.offset, shapes.offset);
    if (withBias) writeFloatTensorValueInfo(graph, F.graph.input, io.bias, shapes.B);
    if (withMask) writeFloatTensorValueInfo(graph, F.graph.input, io.mask, shapes.mask);
    writeFloatTensorValueInfo(graph, F.graph.output, io.output, shapes.Y);
  });
  m.message(F.model.opsetImport, (o) => {
    o.string(F.opset.domain, '');
    o.varint(F.opset.version, DEFORM_CONV_OPSET);
  });
  return m.finish();
}
