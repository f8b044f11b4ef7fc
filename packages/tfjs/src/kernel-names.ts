/**
 * The tfjs kernels @dcnv2/tfjs registers (tfjs keys kernels by name, as `kernel_names.ts` does for its
 * own ops). Prefixed so they cannot collide with a tfjs kernel of a future version.
 */
export const DEFORM_CONV2D = 'DcnDeformConv2d';
/** All the convolution's gradients in one kernel call (one output per input of the forward call). */
export const DEFORM_CONV2D_GRAD = 'DcnDeformConv2dGrad';
export const DEFORM_ROI_POOL = 'DcnDeformRoiPool';
export const DEFORM_ROI_POOL_GRAD = 'DcnDeformRoiPoolGrad';

/** The attributes of the convolution kernels: core's params, resolved (NCHW, OIHW: the kernels' layout). */
export interface DeformConv2dAttrs {
  readonly stride: [number, number];
  readonly padding: [number, number, number, number];
  readonly dilation: [number, number];
  readonly groups: number;
  readonly offsetGroups: number;
  [key: string]: unknown;
}

/** The attributes of the RoI pooling kernels: core's params. */
export interface DeformRoiPoolAttrs {
  readonly outputSize: [number, number];
  readonly spatialScale: number;
  readonly samplingRatio: number;
  readonly gamma: number;
  [key: string]: unknown;
}
