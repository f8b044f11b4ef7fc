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
