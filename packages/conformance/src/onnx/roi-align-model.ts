/**
 * Builds a one-node ONNX model running `RoiAlign` (ai.onnx opset 16) in the configuration that equals
 * torchvision's roi_align(aligned=True), and so deformable RoI pooling without offset and mask:
 * `coordinate_transformation_mode = "half_pixel"` (start = coord * spatial_scale - 0.5, no minimum RoI
 * size), `mode = "avg"`. Serialised with the package's tiny protobuf writer.
 *
 * Field numbers are those of onnx/onnx.proto3 (see deform-conv-model.ts); in addition
 *   AttributeProto   f=2 s=4   (AttributeType FLOAT=1, INT=2, STRING=3)
 *   TensorProto.DataType FLOAT=1, INT64=7
 * Graph: X [N, C, H, W] float, rois [R, 4] float (x1, y1, x2, y2), batch_indices [R] int64 -> Y [R, C, ph, pw].
 */
import type { RoiPoolGeometry } from '@dcnv2/core';
import { ProtoWriter } from './protobuf-writer.js';

export const ROI_ALIGN_IR_VERSION = 8;
export const ROI_ALIGN_OPSET = 16;

export const ROI_ALIGN_IO = { input: 'X', rois: 'rois', batchIndices: 'batch_indices', output: 'Y' } as const;

const F = {
  model: { irVersion: 1, producerName: 2, graph: 7, opsetImport: 8 },
  opset: { domain: 1, version: 2 },
  graph: { node: 1, name: 2, input: 11, output: 12 },
  node: { input: 1, output: 2, name: 3, opType: 4, attribute: 5, domain: 7 },
  attr: { name: 1, f: 2, i: 3, s: 4, type: 20 },
  valueInfo: { name: 1, type: 2 },
  type: { tensorType: 1 },
  tensorType: { elemType: 1, shape: 2 },
  shape: { dim: 1 },
  dim: { dimValue: 1 },
} as const;

const ATTR = { float: 1, int: 2, string: 3 } as const;
const ELEM = { float: 1, int64: 7 } as const;

/** Static shapes of the graph's tensors. */
export function roiAlignModelShapes(g: RoiPoolGeometry) {
  return {
    X: [g.batch, g.channels, g.inHeight, g.inWidth],
    rois: [g.rois, 4],
    batch_indices: [g.rois],
    Y: [g.rois, g.channels, g.pooledH, g.pooledW],
  } as const;
}

function attribute(w: ProtoWriter, name: string, type: number, write: (a: ProtoWriter) => void): void {
  w.message(F.node.attribute, (a) => {
    a.string(F.attr.name, name);
    a.varint(F.attr.type, type);
    write(a);
  });
}

function valueInfo(w: ProtoWriter, field: number, name: string, elemType: number, dims: readonly number[]): void {
  w.message(field, (vi) => {
    vi.string(F.valueInfo.name, name);
    vi.message(F.valueInfo.type, (t) => {
      t.message(F.type.tensorType, (tt) => {
        tt.varint(F.tensorType.elemType, elemType);
        tt.message(F.tensorType.shape, (s) => {
          for (const d of dims) s.message(F.shape.dim, (dim) => dim.varint(F.dim.dimValue, d));
        });
      });
    });
  });
}

/** An ONNX model (IR 8, opset 16) with one `RoiAlign` node for this geometry (offset and mask ignored). */
export function buildRoiAlignModel(g: RoiPoolGeometry): Uint8Array {
  const io = ROI_ALIGN_IO;
  const shapes = roiAlignModelShapes(g);
  const m = new ProtoWriter();
  m.varint(F.model.irVersion, ROI_ALIGN_IR_VERSION);
  m.string(F.model.producerName, '@dcnv2/conformance');
  m.message(F.model.graph, (graph) => {
    graph.message(F.graph.node, (node) => {
      for (const name of [io.input, io.rois, io.batchIndices]) node.string(F.node.input, name);
      node.string(F.node.output, io.output);
      node.string(F.node.name, 'roi_align');
      node.string(F.node.opType, 'RoiAlign');
      node.string(F.node.domain, '');
      attribute(node, 'coordinate_transformation_mode', ATTR.string, (a) => a.string(F.attr.s, 'half_pixel'));
      attribute(node, 'mode', ATTR.string, (a) => a.string(F.attr.s, 'avg'));
      attribute(node, 'output_height', ATTR.int, (a) => a.varint(F.attr.i, g.pooledH));
      attribute(node, 'output_width', ATTR.int, (a) => a.varint(F.attr.i, g.pooledW));
      attribute(node, 'sampling_ratio', ATTR.int, (a) => a.varint(F.attr.i, g.samplingRatio));
      attribute(node, 'spatial_scale', ATTR.float, (a) => a.float(F.attr.f, g.spatialScale));
    });
    graph.string(F.graph.name, 'roi_align');
    valueInfo(graph, F.graph.input, io.input, ELEM.float, shapes.X);
    valueInfo(graph, F.graph.input, io.rois, ELEM.float, shapes.rois);
    valueInfo(graph, F.graph.input, io.batchIndices, ELEM.int64, shapes.batch_indices);
    valueInfo(graph, F.graph.output, io.output, ELEM.float, shapes.Y);
  });
  m.message(F.model.opsetImport, (o) => {
    o.string(F.opset.domain, '');
    o.varint(F.opset.version, ROI_ALIGN_OPSET);
  });
  return m.finish();
}
