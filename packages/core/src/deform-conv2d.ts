/**
 * The public convolution ops: typed front doors to core's one call path (run-op.ts) for the op table's
 * `deform_conv2d`. Everything up to the backend's kernel call happens synchronously, so the caller's data
 * is copied before the call returns its promise.
 */
import type { ConvGeometry, DeformConv2dParams } from './conv-params.js';
import type { OpOptions, Result } from './op-call.js';
import type { GradName } from './op-specs.js';
import { OPS } from './ops.js';
import type { OutputMode } from './resident.js';
import { runOp, runOpBackward } from './run-op.js';
import type { Tensor } from './tensor.js';

export interface DeformConv2dArgs {
  /** `[N, Cin, H, W]` */
  readonly input: Tensor;
  /** `[Cout, Cin/groups, kh, kw]`; the kernel size comes from here. */
  readonly weight: Tensor;
  /** `[N, 2*offsetGroups*kh*kw, Ho, Wo]`; channel `((g*kh+i)*kw+j)*2` is dy, `+1` is dx. */
  readonly offset: Tensor;
  /** `[N, offsetGroups*kh*kw, Ho, Wo]`; omit or null for DCNv1 (mask 1). */
  readonly mask?: Tensor | null;
  /** `[Cout]`; omit or null for no bias. */
  readonly bias?: Tensor | null;
}

/** The convolution's gradient names: `OPS.deform_conv2d.grads`. */
export type { GradName } from './op-specs.js';

const OP = OPS.deform_conv2d;

export interface DeformConv2dBackwardArgs extends DeformConv2dArgs {
  /** `[N, Cout, Ho, Wo]`: dL/d(output). */
  readonly gradOutput: Tensor;
}

export interface BackwardOptions<M extends OutputMode = OutputMode> extends OpOptions<M> {
  /** Which gradients to compute; default all that exist (mask and bias only when given). */
  readonly grads?: readonly GradName[];
}

/** Gradients of L = sum(output * gradOutput), each present only where asked and where its input exists. */
export type DeformConv2dGrads<T> = { readonly [K in GradName]?: T };

/** Validates a call and returns its geometry without running it (for planning and tools). */
export function deformConv2dGeometry(args: DeformConv2dArgs, params?: DeformConv2dParams): ConvGeometry {
  return OP.resolveGeometry(args, params);
}

/**
 * Modulated deformable convolution (DCNv2), equal to `torchvision.ops.deform_conv2d` and ONNX
 * `DeformConv` (opset 19). Returns `[N, Cout, Ho, Wo]`.
 */
export function deformConv2d<M extends OutputMode = 'host'>(
  args: DeformConv2dArgs,
  params?: DeformConv2dParams,
  options: OpOptions<M> = {},
): Promise<Result<M>> {
  return runOp(OP, args, params, options);
}

/**
 * Backward pass of `deformConv2d`: the gradients of L = sum(output * gradOutput) with respect to input,
 * offset, mask, weight and bias (each only when requested and when that input exists).
 */
export function deformConv2dBackward<M extends OutputMode = 'host'>(
  args: DeformConv2dBackwardArgs,
  params?: DeformConv2dParams,
  options: BackwardOptions<M> = {},
): Promise<DeformConv2dGrads<Result<M>>> {
  return runOpBackward(OP, args, params, options);
}
