/**
 * The one call path every op takes, forward and backward: take the arguments once and validate them
 * (typed errors), pick the backend and its kernel (a missing kernel is a `CapabilityError` naming op and
 * direction), move host inputs onto the backend, run the kernel, and deliver host or resident results;
 * temporaries are released and borrowed tensors given back on every path, errors included.
 *
 * Everything up to the kernel call happens synchronously when no input has to be read back first, so
 * the caller's data is copied before the call returns its promise. Inputs whose values steer memory
 * access (`checkValues` in the op's definition: RoIs) are copied, checked and uploaded by core, and the
 * kernel receives exactly that copy.
 */
import type { Backend } from './backend.js';
import { descriptorOf, inputHandles } from './call-inputs.js';
import { requireKernel, type KernelDirection } from './kernels.js';
import { takeOpArgs, type TakenArgs } from './op-args.js';
import { deliverGrads, outputMode, requestedGrads, resolveBackend, runOnBackend, takeOptions, type OpOptions, type Result } from './op-call.js';
import type { AnyOpDescriptor } from './op-definition.js';
import { CallScope, deliver, type OutputMode } from './resident.js';

export interface RunBackwardOptions<M extends OutputMode = OutputMode> extends OpOptions<M> {
  /** Which gradients to compute, by input name; default all the op's gradients whose inputs the call has. */
  readonly grads?: readonly string[];
}

async function withInputs<H, T>(
  backend: Backend<H>,
  d: AnyOpDescriptor,
  t: TakenArgs<string>,
  g: unknown,
  direction: KernelDirection,
  run: (inputs: Record<string, H | null>, gradOutput: H | null) => T | Promise<T>,
): Promise<T> {
  const scope = new CallScope(backend);
  try {
    // gradOutput first: it is uploaded before any read-back, so while the call's promise is pending the
    // caller's host data is never read again.
    const gradOutput = t.gradOutput === null ? null : scope.handle(t.gradOutput, 'gradOutput');
    const h = inputHandles(backend, scope, d, t, g, false);
    const inputs = h instanceof Promise ? await h : h;
    return await runOnBackend(backend, direction === 'forward' ? d.functionName : `${d.functionName}Backward`, () => run(inputs, gradOutput));
  } finally {
    scope.end();
  }
}

/**
 * Runs op `op` (a name or a descriptor) forward on `args` with `params`. Returns the output as a host
 * tensor, or a resident one with `{ output: 'resident' }`.
 */
export async function runOp<M extends OutputMode = 'host'>(op: string | AnyOpDescriptor, args: unknown, params?: unknown, options: OpOptions<M> = {}): Promise<Result<M>> {
  const d = descriptorOf(op);
  const t = takeOpArgs(d, args, false);
  const g = d.geometry(t, params);
  const opts = takeOptions(options, ['backend', 'output']);
  const mode = outputMode(opts.output as OutputMode | undefined);
  const backend = resolveBackend(opts.backend as string | Backend | undefined);
  const kernel = requireKernel(backend, d.name, 'forward');
  const out = await withInputs(backend, d, t, g, 'forward', (inputs) => kernel({ geometry: g, inputs, backend }));
  return (await runOnBackend(backend, 'reading the output', () => deliver(backend, out, d.shapes(g).output, mode))) as Result<M>;
}

/**
 * Runs op `op` backward: the gradients of L = sum(output * gradOutput) with respect to the op's
 * differentiable inputs (each only when requested and when the call has that input).
 */
export async function runOpBackward<M extends OutputMode = 'host'>(
  op: string | AnyOpDescriptor,
  args: unknown,
  params?: unknown,
  options: RunBackwardOptions<M> = {},
): Promise<{ readonly [name: string]: Result<M> | undefined }> {
  const d = descriptorOf(op);
  const t = takeOpArgs(d, args, true);
  const g = d.geometry(t, params);
  d.checkGradOutput(t.gradOutput!.shape, g);
  const opts = takeOptions(options, ['backend', 'output', 'grads']);
  const mode = outputMode(opts.output as OutputMode | undefined);
  const want = d.gradRequest(g, requestedGrads(opts.grads, d.grads));
  const backend = resolveBackend(opts.backend as string | Backend | undefined);
  const kernel = requireKernel(backend, d.name, 'backward');
  const grads = await withInputs(backend, d, t, g, 'backward', (inputs, gradOutput) =>
    kernel({ geometry: g, inputs, gradOutput: gradOutput!, want, backend }));
  return deliverGrads<string, M>(backend, grads as Record<string, unknown>, d.grads, want, d.shapes(g), mode as M);
}
