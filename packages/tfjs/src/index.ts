/**
 * @dcnv2/tfjs: DCNv2 for TensorFlow.js. Importing it registers the kernels (tfjs backends cpu, wasm, webgl
 * and webgpu) and their gradients with the @tensorflow/tfjs-core the application uses.
 */
import { registerGradients } from './gradients.js';
import { registerSyncKernels } from './tfjs-kernels.js';
import { registerWebGpuKernels } from './webgpu-kernels.js';

registerSyncKernels();
registerWebGpuKernels();
registerGradients();

export { deformConv2d, deformRoiPool, type DataFormat, type DeformConv2dArgs, type DeformConv2dOpParams, type DeformRoiPoolArgs, type DeformRoiPoolOpParams } from './ops.js';
export { prepareDcnv2, setDcnv2Backend, disposeDcnv2Backends } from './dcn-backends.js';
export { DEFORM_CONV2D, DEFORM_CONV2D_GRAD, DEFORM_ROI_POOL, DEFORM_ROI_POOL_GRAD, type DeformConv2dAttrs, type DeformRoiPoolAttrs } from './kernel-names.js';
export { DeformConv2D, deformConv2dLayer, DeformRoiPool, deformRoiPoolLayer, type DeformConv2DArgs, type DeformConv2DPadding, type DeformRoiPoolLayerArgs, type InitializerSpec, type RegularizerSpec, type LayerDataFormat } from './layers/index.js';
