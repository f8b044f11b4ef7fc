/**
 * The one-node ONNX models of this package (DeformConv, RoiAlign), serialised with the tiny protobuf
 * writer: the field numbers they use and one writer for a model of one graph with one node.
 *
 * Field numbers are those of onnx/onnx.proto3 (checked against the upstream file):
 *   ModelProto       ir_version=1 producer_name=2 graph=7 opset_import=8
 *   OperatorSetIdProto domain=1 version=2
 *   GraphProto       node=1 name=2 input=11 output=12
 *   NodeProto        input=1 output=2 name=3 op_type=4 attribute=5 domain=7
 *   AttributeProto   name=1 f=2 i=3 s=4 ints=8 type=20   (AttributeType FLOAT=1, INT=2, STRING=3, INTS=7)
 *   ValueInfoProto   name=1 type=2
 *   TypeProto        tensor_type=1;  TypeProto.Tensor elem_type=1 shape=2
 *   TensorShapeProto dim=1;          TensorShapeProto.Dimension dim_value=1
 *   TensorProto.DataType FLOAT=1, INT64=7
 */
import { ProtoWriter } from './protobuf-writer.js';

const F = {
  model: { irVersion: 1, producerName: 2, graph: 7, opsetImport: 8 },
  opset: { domain: 1, version: 2 },
  graph: { node: 1, name: 2, input: 11, output: 12 },
  node: { input: 1, output: 2, name: 3, opType: 4, attribute: 5, domain: 7 },
  attr: { name: 1, f: 2, i: 3, s: 4, ints: 8, type: 20 },
  valueInfo: { name: 1, type: 2 },
  type: { tensorType: 1 },
  tensorType: { elemType: 1, shape: 2 },
  shape: { dim: 1 },
  dim: { dimValue: 1 },
} as const;

const ATTR = { float: 1, int: 2, string: 3, ints: 7 } as const;

/** TensorProto.DataType of the tensors the models use. */
export const ELEM_TYPE = { float: 1, int64: 7 } as const;

/** One attribute of the node, by value type. */
export type NodeAttribute =
  | { readonly name: string; readonly int: number }
  | { readonly name: string; readonly ints: readonly number[] }
  | { readonly name: string; readonly float: number }
  | { readonly name: string; readonly string: string };

/** A graph input or output: name, element type and static shape. */
export interface ValueInfo {
  readonly name: string;
  readonly elemType: number;
  readonly dims: readonly number[];
}

export interface OneNodeModel {
  readonly irVersion: number;
  readonly opset: number;
  readonly graphName: string;
  readonly nodeName: string;
  readonly opType: string;
  /** The node's inputs in the op's order; '' stands for an omitted optional input. */
  readonly nodeInputs: readonly string[];
  readonly attributes: readonly NodeAttribute[];
  readonly inputs: readonly ValueInfo[];
  readonly output: ValueInfo;
}

function writeAttribute(node: ProtoWriter, attr: NodeAttribute): void {
  node.message(F.node.attribute, (a) => {
    a.string(F.attr.name, attr.name);
    if ('int' in attr) {
      a.varint(F.attr.type, ATTR.int);
      a.varint(F.attr.i, attr.int);
    } else if ('ints' in attr) {
      a.varint(F.attr.type, ATTR.ints);
      // `repeated int64 ints = 8` is unpacked in onnx.proto (proto2), so write one key per element, as onnx does.
      a.repeatedVarint(F.attr.ints, attr.ints);
    } else if ('float' in attr) {
      a.varint(F.attr.type, ATTR.float);
      a.float(F.attr.f, attr.float);
    } else {
      a.varint(F.attr.type, ATTR.string);
      a.string(F.attr.s, attr.string);
    }
  });
}

function writeValueInfo(graph: ProtoWriter, field: number, v: ValueInfo): void {
  graph.message(field, (vi) => {
    vi.string(F.valueInfo.name, v.name);
    vi.message(F.valueInfo.type, (t) => {
      t.message(F.type.tensorType, (tt) => {
        tt.varint(F.tensorType.elemType, v.elemType);
        tt.message(F.tensorType.shape, (s) => {
          for (const d of v.dims) s.message(F.shape.dim, (dim) => dim.varint(F.dim.dimValue, d));
        });
      });
    });
  });
}

/** A ModelProto (default domain, producer `@dcnv2/conformance`) whose graph runs one node. */
export function buildOneNodeModel(m: OneNodeModel): Uint8Array {
  const w = new ProtoWriter();
  w.varint(F.model.irVersion, m.irVersion);
  w.string(F.model.producerName, '@dcnv2/conformance');
  w.message(F.model.graph, (graph) => {
    graph.message(F.graph.node, (node) => {
      for (const name of m.nodeInputs) node.string(F.node.input, name);
      node.string(F.node.output, m.output.name);
      node.string(F.node.name, m.nodeName);
      node.string(F.node.opType, m.opType);
      node.string(F.node.domain, '');
      for (const a of m.attributes) writeAttribute(node, a);
    });
    graph.string(F.graph.name, m.graphName);
    for (const v of m.inputs) writeValueInfo(graph, F.graph.input, v);
    writeValueInfo(graph, F.graph.output, m.output);
  });
  w.message(F.model.opsetImport, (o) => {
    o.string(F.opset.domain, '');
    o.varint(F.opset.version, m.opset);
  });
  return w.finish();
}
