/**
 * The public RoI pooling ops (modulated deformable RoI pooling, DCNv2 section 2.2). Like the convolution:
 * take the arguments once and validate them (typed errors), pick the backend, move host inputs onto it,
 * run its kernel, deliver host or resident results. RoI values steer memory access, so core validates its
 * own copy of them and the backend receives exactly that copy: nothing the caller does after the call
 * (writing into `rois.data`, a getter answering differently) can reach a kernel.
 */
import type { Backend } from './backend.js';
import { CapabilityError } from './errors.js';
import { deliverGrads, outputMode, requestedGrads, resolveBackend, runOnBackend, takeOptions, type OpOptions, type Result } from './op-call.js';
import { CallScope, deliver, type OutputMode } from './resident.js';
import type { RoiPoolGradName } from './op-specs.js';
import { OPS } from './ops.js';
import { type DeformRoiPoolParams, type RoiPoolGeometry, type RoiPoolInputs } from './roi-pool-params.js';
import type { Tensor } from './tensor.js';
import { checkRoiGradOutputShape, checkRoiValues, roiGeometryOf, takeRoiArgs, type RoiPoolTensors } from './validate-roi-pool.js';

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

function requireRoiPool(backend: Backend, backward: boolean): void {
  const ok = backend.capabilities.roiPool && typeof backend.deformRoiPool === 'function' &&
    (!backward || (backend.capabilities.backward && typeof backend.deformRoiPoolBackward === 'function'));
  if (!ok) {
    throw new CapabilityError({ argument: 'options.backend', expected: backward ? 'a backend with RoI pooling backward' : 'a backend with RoI pooling', actual: backend.name });
  }
}

/**
 * The call's handles. Host RoIs are copied, checked and uploaded synchronously; resident RoIs (borrowed,
 * so they stay alive) are read back first. Either way the backend gets core's checked copy.
 */
function roiHandles<H>(backend: Backend<H>, scope: CallScope<H>, t: RoiPoolTensors, g: RoiPoolGeometry): RoiPoolInputs<H> | Promise<RoiPoolInputs<H>> {
  const rest = { input: scope.handle(t.input, 'input'), offset: scope.optional(t.offset, 'offset'), mask: scope.optional(t.mask, 'mask') };
  const withRois = (values: Float32Array): RoiPoolInputs<H> => {
    checkRoiValues(values, g);
    return { ...rest, rois: scope.uploadCopy(values, t.rois.shape) };
  };
  if (t.rois.host !== null) return withRois(t.rois.host.slice());
  const resident = scope.handle(t.rois, 'rois');
  return runOnBackend(backend, 'reading rois', () => backend.download(resident, t.rois.shape)).then((v) => withRois(v.slice()));
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
  const t = takeRoiArgs(args, false);
  const g = roiGeometryOf(t, params);
  const opts = takeOptions(options, ['backend', 'output']);
  const mode = outputMode(opts.output as OutputMode | undefined);
  const backend = resolveBackend(opts.backend as string | Backend | undefined);
  requireRoiPool(backend, false);
  const scope = new CallScope(backend);
  let out: unknown;
  try {
    const handles = roiHandles(backend, scope, t, g);
    const inputs = handles instanceof Promise ? await handles : handles;
    out = await runOnBackend(backend, 'deformRoiPool', () => backend.deformRoiPool!(g, inputs));
  } finally {
    scope.end();
  }
  return (await runOnBackend(backend, 'reading the output', () => deliver(backend, out, OP.shapes(g).output, mode))) as Result<M>;
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
  const t = takeRoiArgs(args, true);
  const g = roiGeometryOf(t, params);
  checkRoiGradOutputShape(t.gradOutput!.shape, g);
  const opts = takeOptions(options, ['backend', 'output', 'grads']);
  const mode = outputMode(opts.output as OutputMode | undefined);
  const want = OP.gradRequest(g, requestedGrads(opts.grads, OP.grads));
  const backend = resolveBackend(opts.backend as string | Backend | undefined);
  requireRoiPool(backend, true);
  const scope = new CallScope(backend);
  let grads;
  try {
    const gradOutput = scope.handle(t.gradOutput!, 'gradOutput');
    const handles = roiHandles(backend, scope, t, g);
    const inputs = handles instanceof Promise ? await handles : handles;
    grads = await runOnBackend(backend, 'deformRoiPoolBackward', () => backend.deformRoiPoolBackward!(g, inputs, gradOutput, want));
  } finally {
    scope.end();
  }
  return deliverGrads<RoiPoolGradName, M>(backend, grads, OP.grads, want, OP.shapes(g), mode as M);
}
