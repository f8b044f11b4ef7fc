/**
 * The public convolution ops. Each call: validate once (typed errors), pick the backend, move host inputs
 * onto it, run its kernel, and deliver the result as a host tensor or, on request, a resident one.
 */
import type { Backend, ConvGradRequest, ConvInputs } from './backend.js';
import { convShapes, type ConvGeometry, type DeformConv2dParams } from './conv-params.js';
import { BackendError, CapabilityError, ParamError } from './errors.js';
import { getBackend } from './registry.js';
import { CallScope, deliver, type OutputMode } from './resident.js';
import type { HostTensor, ResidentTensor, Tensor } from './tensor.js';
import { checkGradOutput, resolveConvGeometry } from './validate-conv.js';

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

export interface OpOptions<M extends OutputMode = OutputMode> {
  /** Backend name or instance; default: the current backend (`setBackend`). */
  readonly backend?: string | Backend;
  /** `'host'` (default) reads the result back; `'resident'` leaves it on the backend. */
  readonly output?: M;
}

export type Result<M extends OutputMode> = M extends 'resident' ? ResidentTensor : HostTensor;

export type GradName = 'input' | 'offset' | 'mask' | 'weight' | 'bias';

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

export function resolveBackend(b: string | Backend | undefined): Backend {
  if (b === undefined || typeof b === 'string') return getBackend(b);
  if (typeof b === 'object' && b !== null && typeof (b as Backend).deformConv2d === 'function') return b;
  throw new BackendError({ argument: 'options.backend', expected: 'a backend name or a Backend', actual: b });
}

function outputMode(o: OutputMode | undefined): OutputMode {
  if (o === undefined) return 'host';
  if (o !== 'host' && o !== 'resident') throw new ParamError({ argument: 'options.output', expected: "'host' or 'resident'", actual: o });
  return o;
}

/** The backend handles of a call's tensors (host tensors become temporaries of `scope`). */
function convHandles<H>(scope: CallScope<H>, args: DeformConv2dArgs): ConvInputs<H> {
  return {
    input: scope.handle(args.input, 'input'),
    weight: scope.handle(args.weight, 'weight'),
    offset: scope.handle(args.offset, 'offset'),
    mask: scope.optional(args.mask, 'mask'),
    bias: scope.optional(args.bias, 'bias'),
  };
}

/** Validates a call and returns its geometry without running it (for planning and tools). */
export function deformConv2dGeometry(args: DeformConv2dArgs, params?: DeformConv2dParams): ConvGeometry {
  return resolveConvGeometry(args, params);
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
  const g = resolveConvGeometry(args, params);
  const mode = outputMode(options.output);
  const backend = resolveBackend(options.backend);
  const scope = new CallScope(backend);
  let out: unknown;
  try {
    out = await backend.deformConv2d(g, convHandles(scope, args));
  } finally {
    scope.releaseTemporaries();
  }
  return (await deliver(backend, out, convShapes(g).output, mode)) as Result<M>;
}

function gradRequest(g: ConvGeometry, grads: readonly GradName[] | undefined): ConvGradRequest {
  const all: readonly GradName[] = ['input', 'offset', 'mask', 'weight', 'bias'];
  const want = grads ?? all;
  if (!Array.isArray(want)) throw new ParamError({ argument: 'options.grads', expected: `an array of ${all.join(', ')}`, actual: want });
  for (const k of want) {
    if (!all.includes(k)) throw new ParamError({ argument: 'options.grads', expected: `names among ${all.join(', ')}`, actual: k });
  }
  const has = (k: GradName) => want.includes(k);
  return {
    input: has('input'),
    offset: has('offset'),
    mask: has('mask') && g.hasMask,
    weight: has('weight'),
    bias: has('bias') && g.hasBias,
  };
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
  const g = resolveConvGeometry(args, params);
  checkGradOutput(args.gradOutput, g);
  const mode = outputMode(options.output);
  const want = gradRequest(g, options.grads);
  const backend = resolveBackend(options.backend);
  if (!backend.capabilities.backward || typeof backend.deformConv2dBackward !== 'function') {
    throw new CapabilityError({ argument: 'options.backend', expected: 'a backend with backward', actual: backend.name });
  }
  const scope = new CallScope(backend);
  let grads;
  try {
    grads = await backend.deformConv2dBackward(g, convHandles(scope, args), scope.handle(args.gradOutput, 'gradOutput'), want);
  } finally {
    scope.releaseTemporaries();
  }
  const shapes = convShapes(g);
  const result: { [K in GradName]?: Result<M> } = {};
  const order: readonly GradName[] = ['input', 'offset', 'mask', 'weight', 'bias'];
  const pending = order.map((k) => grads[k]);
  // Deliver in order; if one read fails, release the handles not delivered yet.
  for (let i = 0; i < order.length; i++) {
    const k = order[i];
    const h = pending[i];
    if (h === null || h === undefined) continue;
    if (!want[k]) {
      backend.release(h);
      continue;
    }
    try {
      result[k] = (await deliver(backend, h, shapes[k], mode)) as Result<M>;
    } catch (e) {
      for (let j = i + 1; j < order.length; j++) if (pending[j] != null) backend.release(pending[j]);
      throw e;
    }
  }
  return result;
}
