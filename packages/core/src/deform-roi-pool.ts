/**
 * The public RoI pooling ops (modulated deformable RoI pooling, DCNv2 section 2.2). Like the convolution:
 * validate once (typed errors, including the RoI values), pick the backend, move host inputs onto it, run
 * its kernel, deliver host or resident results.
 */
import type { Backend } from './backend.js';
import { CapabilityError } from './errors.js';
import { deliverGrads, outputMode, requestedGrads, resolveBackend, type OpOptions, type Result } from './op-call.js';
import { CallScope, deliver, type OutputMode } from './resident.js';
import { roiPoolShapes, type RoiPoolGradRequest, type DeformRoiPoolParams, type RoiPoolGeometry, type RoiPoolInputs } from './roi-pool-params.js';
import { isResident, type Tensor } from './tensor.js';
import { checkRoiGradOutput, checkRoiValues, resolveRoiPoolGeometry } from './validate-roi-pool.js';

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

export type RoiPoolGradName = 'input' | 'offset' | 'mask';

export interface RoiPoolBackwardOptions<M extends OutputMode = OutputMode> extends OpOptions<M> {
  /** Which gradients to compute; default all that exist (offset and mask only when given). */
  readonly grads?: readonly RoiPoolGradName[];
}

export type DeformRoiPoolGrads<T> = { readonly [K in RoiPoolGradName]?: T };

const ROI_GRADS: readonly RoiPoolGradName[] = ['input', 'offset', 'mask'];

/** Validates shapes and parameters (not RoI values) and returns the geometry, without running anything. */
export function deformRoiPoolGeometry(args: DeformRoiPoolArgs, params: DeformRoiPoolParams): RoiPoolGeometry {
  return resolveRoiPoolGeometry(args, params);
}

/** RoI values steer memory access, so they are checked on the host; resident RoIs are read back (R*5 floats). */
async function checkRois(rois: Tensor, g: RoiPoolGeometry): Promise<void> {
  if (g.rois === 0) return;
  checkRoiValues(isResident(rois) ? await rois.read() : rois.data, g);
}

function requireRoiPool(backend: Backend, backward: boolean): void {
  const ok = backend.capabilities.roiPool && typeof backend.deformRoiPool === 'function' &&
    (!backward || (backend.capabilities.backward && typeof backend.deformRoiPoolBackward === 'function'));
  if (!ok) {
    throw new CapabilityError({ argument: 'options.backend', expected: backward ? 'a backend with RoI pooling backward' : 'a backend with RoI pooling', actual: backend.name });
  }
}

function roiHandles<H>(scope: CallScope<H>, args: DeformRoiPoolArgs): RoiPoolInputs<H> {
  return {
    input: scope.handle(args.input, 'input'),
    rois: scope.handle(args.rois, 'rois'),
    offset: scope.optional(args.offset, 'offset'),
    mask: scope.optional(args.mask, 'mask'),
  };
}

/**
 * Modulated deformable RoI pooling: mmcv's deformable RoI pooling (bins moved by gamma * RoI size *
 * offset, RoIAlign-style bilinear sampling, no rounding, half-pixel shift) times a per-bin mask.
 * Returns `[R, C, ph, pw]`. Without offset and mask it equals torchvision `roi_align(aligned=True)`.
 */
export async function deformRoiPool<M extends OutputMode = 'host'>(
  args: DeformRoiPoolArgs,
  params: DeformRoiPoolParams,
  options: OpOptions<M> = {},
): Promise<Result<M>> {
  const g = resolveRoiPoolGeometry(args, params);
  const mode = outputMode(options.output);
  const backend = resolveBackend(options.backend);
  requireRoiPool(backend, false);
  await checkRois(args.rois, g);
  const scope = new CallScope(backend);
  let out: unknown;
  try {
    out = await backend.deformRoiPool!(g, roiHandles(scope, args));
  } finally {
    scope.releaseTemporaries();
  }
  return (await deliver(backend, out, roiPoolShapes(g).output, mode)) as Result<M>;
}

/**
 * Backward pass of `deformRoiPool`: the gradients of L = sum(output * gradOutput) with respect to input,
 * offset and mask (each only when requested and when that input exists). RoIs get no gradient.
 */
export async function deformRoiPoolBackward<M extends OutputMode = 'host'>(
  args: DeformRoiPoolBackwardArgs,
  params: DeformRoiPoolParams,
  options: RoiPoolBackwardOptions<M> = {},
): Promise<DeformRoiPoolGrads<Result<M>>> {
  const g = resolveRoiPoolGeometry(args, params);
  checkRoiGradOutput(args.gradOutput, g);
  const mode = outputMode(options.output);
  const names = requestedGrads(options.grads, ROI_GRADS);
  const want: RoiPoolGradRequest = {
    input: names.includes('input'),
    offset: names.includes('offset') && g.hasOffset,
    mask: names.includes('mask') && g.hasMask,
  };
  const backend = resolveBackend(options.backend);
  requireRoiPool(backend, true);
  await checkRois(args.rois, g);
  const scope = new CallScope(backend);
  let grads;
  try {
    grads = await backend.deformRoiPoolBackward!(g, roiHandles(scope, args), scope.handle(args.gradOutput, 'gradOutput'), want);
  } finally {
    scope.releaseTemporaries();
  }
  return deliverGrads<RoiPoolGradName, M>(backend, grads, ROI_GRADS, want, roiPoolShapes(g), mode as M);
}
