/**
 * Builds a one-node ONNX model running `RoiAlign` (ai.onnx opset 16) in the configuration that equals
 * torchvision's roi_align(aligned=True), and so deformable RoI pooling without offset and mask:
 * `coordinate_transformation_mode = "half_pixel"` (start = coord * spatial_scale - 0.5, no minimum RoI
 * size), `mode = "avg"`. Serialised with the package's tiny protobuf writer (field numbers in model-proto.ts).
 *
 * Graph: X [N, C, H, W] float, rois [R, 4] float (x1, y1, x2, y2), batch_indices [R] int64 -> Y [R, C, ph, pw].
 */
import type { RoiPoolGeometry } from '@dcnv2/core';
import { buildOneNodeModel, ELEM_TYPE } from './model-proto.js';

export const ROI_ALIGN_IR_VERSION = 8;
export const ROI_ALIGN_OPSET = 16;

export const ROI_ALIGN_IO = { input: 'X', rois: 'rois', batchIndices: 'batch_indices', output: 'Y' } as const;

/** Static shapes of the graph's tensors. */
export function roiAlignModelShapes(g: RoiPoolGeometry) {
  return {
    X: [g.batch, g.channels, g.inHeight, g.inWidth],
    rois: [g.rois, 4],
    batch_indices: [g.rois],
    Y: [g.rois, g.channels, g.pooledH, g.pooledW],
  } as const;
}

/** An ONNX model (IR 8, opset 16) with one `RoiAlign` node for this geometry (offset and mask ignored). */
export function buildRoiAlignModel(g: RoiPoolGeometry): Uint8Array {
  const io = ROI_ALIGN_IO;
  const shapes = roiAlignModelShapes(g);
  return buildOneNodeModel({
    irVersion: ROI_ALIGN_IR_VERSION,
    opset: ROI_ALIGN_OPSET,
    graphName: 'roi_align',
    nodeName: 'roi_align',
    opType: 'RoiAlign',
    nodeInputs: [io.input, io.rois, io.batchIndices],
    attributes: [
      { name: 'coordinate_transformation_mode', string: 'half_pixel' },
      { name: 'mode', string: 'avg' },
      { name: 'output_height', int: g.pooledH },
      { name: 'output_width', int: g.pooledW },
      { name: 'sampling_ratio', int: g.samplingRatio },
      { name: 'spatial_scale', float: g.spatialScale },
    ],
    inputs: [
      { name: io.input, elemType: ELEM_TYPE.float, dims: shapes.X },
      { name: io.rois, elemType: ELEM_TYPE.float, dims: shapes.rois },
      { name: io.batchIndices, elemType: ELEM_TYPE.int64, dims: shapes.batch_indices },
    ],
    output: { name: io.output, elemType: ELEM_TYPE.float, dims: shapes.Y },
  });
}
