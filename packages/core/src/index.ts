export * from './errors.js';
export * from './tensor.js';
export * from './conv-params.js';
export * from './roi-pool-params.js';
export * from './backend.js';
export * from './registry.js';
export { adopt, upload, wrapResident, isCoreResident, type OutputMode } from './resident.js';
export { resolveConvGeometry, resolvePadding, checkGradOutput } from './validate-conv.js';
export { MAX_INT32, float32View } from './intake.js';
export { resolveRoiPoolGeometry, checkRoiValues, checkRoiGradOutput, MAX_SAMPLES_PER_BIN, MAX_ROI_COORDINATE } from './validate-roi-pool.js';
export { checkTensor } from './validate-tensor.js';
export { resolveBackend, type OpOptions, type Result } from './op-call.js';
export * from './deform-conv2d.js';
export * from './deform-roi-pool.js';
export { OPS, OP_NAMES, opDescriptor, registerOp, listOps, type OpName, type OpDescriptor, type OpTypes, type OpInputName, type OpGradName, type OpShapes } from './ops.js';
export { defineOp, isOpDescriptor, type OpDefinition, type OpDescriptorOf, type AnyOpDescriptor, type ShapesOf } from './op-definition.js';
export { takeOpArgs, type TakenArgs } from './op-args.js';
export type { TakenTensor } from './intake.js';
export { runOp, runOpBackward, type RunBackwardOptions } from './run-op.js';
export { runOpSync, runOpBackwardSync, type SyncOpOptions, type SyncBackwardOptions } from './run-op-sync.js';
export {
  KERNEL_DIRECTIONS,
  registerKernel,
  findKernel,
  hasKernel,
  listKernels,
  requireKernel,
  kernelsFromMethods,
  type BuiltinKernelMethods,
  type KernelDirection,
  type KernelTable,
  type BuiltinKernels,
  type OpKernels,
  type ForwardKernel,
  type BackwardKernel,
  type ForwardCall,
  type BackwardCall,
  type KernelRegistration,
  type AnyKernel,
  type InputHandles,
} from './kernels.js';
export type { OpInputSpec, OpParamSpec } from './op-specs.js';
