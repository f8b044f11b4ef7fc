/**
 * The public convolution ops. Each call: take the arguments once and validate them (typed errors), pick
 * the backend, move host inputs onto it, run its kernel, and deliver the result as a host tensor or, on
 * request, a resident one. Everything up to the backend's kernel call happens synchronously, so the
 * caller's data is copied before the call returns its promise.
 */
import type { Backend, ConvInputs } from './backend.js';
import type { ConvGeometry, DeformConv2dParams } from './conv-params.js';
import { CapabilityError } from './errors.js';
import { deliverGrads, outputMode, requestedGrads, resolveBackend, runOnBackend, takeOptions, type OpOptions, type Result } from './op-call.js';
import type { GradName } from './op-specs.js';
import { OPS } from './ops.js';
import { CallScope, deliver, type OutputMode } from './resident.js';
import type { Tensor } from './tensor.js';
import { checkGradOutputShape, convGeometryOf, takeConvArgs, type ConvTensors } from './validate-conv.js';

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

/** The backend handles of a call's tensors (host tensors become temporaries of `scope`). */
function convHandles<H>(scope: CallScope<H>, t: ConvTensors): ConvInputs<H> {
  // In the op table's order (input, weight, offset, mask?, bias?); an absent optional input is null.
  const h = {} as Record<keyof ConvInputs<H>, H | null>;
  for (const i of OP.inputs) h[i.name] = i.optional ? scope.optional(t[i.name], i.name) : scope.handle(t[i.name]!, i.name);
  return h as ConvInputs<H>;
}

/** Validates a call and returns its geometry without running it (for planning and tools). */
export function deformConv2dGeometry(args: DeformConv2dArgs, params?: DeformConv2dParams): ConvGeometry {
  return OP.resolveGeometry(args, params);
}

/**
 * Modulated deformable convolution (DCNv2), equal to `torchvision.ops.deform_conv2d` and ONNX
 * `DeformConv` (opset 19). Returns `[N, Cout, Ho, Wo]`.
 */
export async function deformConv2d<M extends OutputMode = 'host'>(
  args: DeformConv2dArgs,
  params?: DeformConv2dParams,
  options: OpOptions<M> = {},
): Promise<Result<M>> {
  const t = takeConvArgs(args, false);
  const g = convGeometryOf(t, params);
  const opts = takeOptions(options, ['backend', 'output']);
  const mode = outputMode(opts.output as OutputMode | undefined);
  const backend = resolveBackend(opts.backend as string | Backend | undefined);
  const scope = new CallScope(backend);
  let out: unknown;
  try {
    out = await runOnBackend(backend, 'deformConv2d', () => backend.deformConv2d(g, convHandles(scope, t)));
  } finally {
    scope.end();
  }
  return (await runOnBackend(backend, 'reading the output', () => deliver(backend, out, OP.shapes(g).output, mode))) as Result<M>;
}

/**
 * Backward pass of `deformConv2d`: the gradients of L = sum(output * gradOutput) with respect to input,
 * offset, mask, weight and bias (each only when requested and when that input exists).
 */
export async function deformConv2dBackward<M extends OutputMode = 'host'>(
  args: DeformConv2dBackwardArgs,
  params?: DeformConv2dParams,
  options: BackwardOptions<M> = {},
): Promise<DeformConv2dGrads<Result<M>>> {
  const t = takeConvArgs(args, true);
  const g = convGeometryOf(t, params);
  checkGradOutputShape(t.gradOutput!.shape, g);
  const opts = takeOptions(options, ['backend', 'output', 'grads']);
  const mode = outputMode(opts.output as OutputMode | undefined);
  const want = OP.gradRequest(g, requestedGrads(opts.grads, OP.grads));
  const backend = resolveBackend(opts.backend as string | Backend | undefined);
  if (!backend.capabilities.backward || typeof backend.deformConv2dBackward !== 'function') {
    throw new CapabilityError({ argument: 'options.backend', expected: 'a backend with backward', actual: backend.name });
  }
  const scope = new CallScope(backend);
  let grads;
  try {
    grads = await runOnBackend(backend, 'deformConv2dBackward', () =>
      backend.deformConv2dBackward!(g, convHandles(scope, t), scope.handle(t.gradOutput!, 'gradOutput'), want));
  } finally {
    scope.end();
  }
  return deliverGrads<GradName, M>(backend, grads, OP.grads, want, OP.shapes(g), mode as M);
}
