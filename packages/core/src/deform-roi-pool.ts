/**
 * The public RoI pooling ops (modulated deformable RoI pooling, DCNv2 section 2.2): typed front doors to
 * core's one call path (run-op.ts) for the op table's `deform_roi_pool`. RoI values steer memory access,
 * so the op's definition has core validate its own copy of them and the backend receives exactly that
 * copy: nothing the caller does after the call (writing into `rois.data`, a getter answering differently)
 * can reach a kernel.
 */
import type { OpOptions, Result } from './op-call.js';
import type { RoiPoolGradName } from './op-specs.js';
import { OPS } from './ops.js';
import type { DeformRoiPoolParams, RoiPoolGeometry } from './roi-pool-params.js';
import type { OutputMode } from './resident.js';
import { runOp, runOpBackward } from './run-op.js';
import type { Tensor } from './tensor.js';

export interface DeformRoiPoolArgs {
  /** `[N, C, H, W]` feature map. */
  readonly input: Tensor;
  /** `[R, 5]` = (batch index, x1, y1, x2, y2) in input-image coordinates (times `spatialScale` = feature map). */
  readonly rois: Tensor;
  /** `[R, 2, ph, pw]`: per-bin offsets, x (width) first, in units of gamma times the RoI size; omit for none. */
  readonly offset?: Tensor | null;
  /** `[R, 1, ph, pw]`: per-bin modulation; omit for 1. */
  readonly mask?: Tensor | null;
}

export interface DeformRoiPoolBackwardArgs extends DeformRoiPoolArgs {
  /** `[R, C, ph, pw]`: dL/d(output). */
  readonly gradOutput: Tensor;
}

/** RoI pooling's gradient names: `OPS.deform_roi_pool.grads`. */
export type { RoiPoolGradName } from './op-specs.js';

export interface RoiPoolBackwardOptions<M extends OutputMode = OutputMode> extends OpOptions<M> {
  /** Which gradients to compute; default all that exist (offset and mask only when given). */
  readonly grads?: readonly RoiPoolGradName[];
}

export type DeformRoiPoolGrads<T> = { readonly [K in RoiPoolGradName]?: T };

const OP = OPS.deform_roi_pool;

/** Validates shapes and parameters (not RoI values) and returns the geometry, without running anything. */
export function deformRoiPoolGeometry(args: DeformRoiPoolArgs, params: DeformRoiPoolParams): RoiPoolGeometry {
  return OP.resolveGeometry(args, params);
}

/**
 * Modulated deformable RoI pooling: mmcv's deformable RoI pooling (bins moved by gamma * RoI size *
 * offset, RoIAlign-style bilinear sampling, no rounding, half-pixel shift) times a per-bin mask.
 * Returns `[R, C, ph, pw]`. Without offset and mask it equals torchvision `roi_align(aligned=True)`.
 */
export function deformRoiPool<M extends OutputMode = 'host'>(
  args: DeformRoiPoolArgs,
  params: DeformRoiPoolParams,
  options: OpOptions<M> = {},
): Promise<Result<M>> {
  return runOp(OP, args, params, options);
}

/**
 * Backward pass of `deformRoiPool`: the gradients of L = sum(output * gradOutput) with respect to input,
 * offset and mask (each only when requested and when that input exists). RoIs get no gradient.
 */
export function deformRoiPoolBackward<M extends OutputMode = 'host'>(
  args: DeformRoiPoolBackwardArgs,
  params: DeformRoiPoolParams,
  options: RoiPoolBackwardOptions<M> = {},
): Promise<DeformRoiPoolGrads<Result<M>>> {
  return runOpBackward(OP, args, params, options);
}
