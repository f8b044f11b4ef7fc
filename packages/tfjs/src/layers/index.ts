/** The DCNv2 modules as tfjs-layers layers (needs @tensorflow/tfjs-layers 4.22); registered for model save / load. */
export { DeformConv2D, deformConv2dLayer, type DeformConv2DArgs, type DeformConv2DPadding } from './deform-conv2d-layer.js';
export { DeformRoiPool, deformRoiPoolLayer, type DeformRoiPoolLayerArgs } from './deform-roi-pool-layer.js';
export type { InitializerSpec, RegularizerSpec, LayerDataFormat } from './common.js';
