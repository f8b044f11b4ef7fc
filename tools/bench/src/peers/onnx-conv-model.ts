/**
 * A one-node ONNX model running a plain `Conv` (opset 19) of a geometry: the dense yardstick on onnxruntime-node.
 * Written with the conformance package's protobuf writer, with the same field numbers as its DeformConv builder
 * (onnx/onnx.proto3): ModelProto ir_version=1 producer_name=2 graph=7 opset_import=8; GraphProto node=1 name=2
 * input=11 output=12; NodeProto input=1 output=2 name=3 op_type=4 attribute=5; AttributeProto name=1 i=3 ints=8
 * type=20 (INT=2, INTS=7); ValueInfoProto name=1 type=2; TypeProto tensor_type=1; Tensor elem_type=1 shape=2;
 * TensorShapeProto dim=1; Dimension dim_value=1; FLOAT=1.
 */
import type { ConvGeometry } from '@dcnv2/core';
import type { ProtoWriterLike } from './conformance-onnx.js';

export const CONV_IO = { input: 'X', weight: 'W', bias: 'B', output: 'Y' } as const;

export function convModelShapes(g: ConvGeometry) {
  return {
    X: [g.batch, g.inChannels, g.inHeight, g.inWidth],
    W: [g.outChannels, g.inChannels / g.groups, g.kernelH, g.kernelW],
    B: [g.outChannels],
    Y: [g.batch, g.outChannels, g.outHeight, g.outWidth],
  } as const;
}

export function buildConvModel(g: ConvGeometry, Writer: new () => ProtoWriterLike): Uint8Array {
  const shapes = convModelShapes(g);
  const valueInfo = (w: ProtoWriterLike, field: number, name: string, dims: readonly number[]) =>
    w.message(field, (vi) => {
      vi.string(1, name);
      vi.message(2, (t) =>
        t.message(1, (tt) => {
          tt.varint(1, 1);
          tt.message(2, (s) => {
            for (const d of dims) s.message(1, (dim) => dim.varint(1, d));
          });
        }),
      );
    });
  const ints = (w: ProtoWriterLike, name: string, values: readonly number[]) =>
    w.message(5, (a) => a.string(1, name).varint(20, 7).repeatedVarint(8, values));
  const int = (w: ProtoWriterLike, name: string, value: number) => w.message(5, (a) => a.string(1, name).varint(20, 2).varint(3, value));

  const m = new Writer();
  m.varint(1, 9);
  m.string(2, '@dcnv2/bench');
  m.message(7, (graph) => {
    graph.message(1, (node) => {
      node.string(1, CONV_IO.input).string(1, CONV_IO.weight).string(1, CONV_IO.bias);
      node.string(2, CONV_IO.output).string(3, 'conv').string(4, 'Conv');
      ints(node, 'dilations', [g.dilationH, g.dilationW]);
      int(node, 'group', g.groups);
      ints(node, 'kernel_shape', [g.kernelH, g.kernelW]);
      ints(node, 'pads', [g.padTop, g.padLeft, g.padBottom, g.padRight]);
      ints(node, 'strides', [g.strideH, g.strideW]);
    });
    graph.string(2, 'conv2d');
    valueInfo(graph, 11, CONV_IO.input, shapes.X);
    valueInfo(graph, 11, CONV_IO.weight, shapes.W);
    valueInfo(graph, 11, CONV_IO.bias, shapes.B);
    valueInfo(graph, 12, CONV_IO.output, shapes.Y);
  });
  m.message(8, (o) => o.string(1, '').varint(2, 19));
  return m.finish();
}
