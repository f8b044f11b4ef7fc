export { ProtoWriter, WireType } from './protobuf-writer.js';
export {
  buildDeformConvModel,
  deformConvModelShapes,
  DEFORM_CONV_IO,
  DEFORM_CONV_IR_VERSION,
  DEFORM_CONV_OPSET,
  type DeformConvModelOptions,
} from './deform-conv-model.js';
export {
  createOrtDeformConv,
  ortAvailable,
  type OrtAvailability,
  type OrtDeformConv,
  type OrtDeformConvOptions,
  type OrtDeformConvTensors,
} from './ort-deform-conv.js';
export { buildRoiAlignModel, roiAlignModelShapes, ROI_ALIGN_IO, ROI_ALIGN_IR_VERSION, ROI_ALIGN_OPSET } from './roi-align-model.js';
export { createOrtRoiAlign, type OrtRoiAlign } from './ort-roi-align.js';
