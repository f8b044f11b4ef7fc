/**
 * The synchronous call path, for frameworks whose kernels must return at once (tfjs runs every kernel
 * synchronously): the same intake, validation, kernel lookup, value-checked copies and releases as
 * `runOp`, returning host tensors. It needs a backend whose kernel returns synchronously and which reads
 * back synchronously (`downloadSync`): the cpu backend, and the wasm backend on one thread. A kernel that
 * returns a promise (wasm on worker threads, webgpu) is a `CapabilityError` naming op and direction; its
 * result is released when it arrives, so nothing leaks.
 */
import type { Backend } from './backend.js';
import { descriptorOf, inputHandles, syncReader } from './call-inputs.js';
import { asDcnError, CapabilityError, ParamError } from './errors.js';
import { requireKernel, type KernelDirection } from './kernels.js';
import { takeOpArgs, type TakenArgs } from './op-args.js';
import { requestedGrads, resolveBackend, takeOptions } from './op-call.js';
import type { AnyOpDescriptor } from './op-definition.js';
import { CallScope } from './resident.js';
import type { HostTensor } from './tensor.js';

export interface SyncOpOptions {
  /** Backend name or instance; default: the current backend (`setBackend`). */
  readonly backend?: string | Backend;
  /**
   * Where each result goes (`'output'`, or a gradient's input name), for a caller that holds its own
   * memory (a framework's tensors): a Float32Array of exactly the shape's size, which the returned host
   * tensor then wraps. Default: new arrays.
   */
  readonly into?: (name: string, shape: readonly number[]) => Float32Array;
}

export interface SyncBackwardOptions extends SyncOpOptions {
  /** Which gradients to compute, by input name; default all the op's gradients whose inputs the call has. */
  readonly grads?: readonly string[];
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (typeof v === 'object' || typeof v === 'function') && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

/**
 * The reader of a call's results: `backend.downloadSync` into new arrays, or, with `into`, into the caller's
 * arrays (`downloadSyncInto` where the backend has it), each checked to be a Float32Array of the size.
 */
function resultReader<H>(backend: Backend<H>, into: SyncOpOptions['into']): (handle: H, name: string, shape: readonly number[]) => Float32Array {
  const read = syncReader(backend);
  if (into === undefined) return (h, _name, shape) => read(h, shape);
  if (typeof into !== 'function') throw new ParamError({ argument: 'options.into', expected: 'a function (name, shape) => Float32Array', actual: into });
  return (h, name, shape) => {
    const dest = into(name, shape);
    const n = shape.reduce((a, b) => a * b, 1);
    if (!(dest instanceof Float32Array) || dest.length !== n) {
      throw new ParamError({ argument: `options.into("${name}")`, expected: `a Float32Array of ${n} elements`, actual: dest });
    }
    if (typeof backend.downloadSyncInto === 'function') backend.downloadSyncInto(h, shape, dest);
    else dest.set(read(h, shape));
    return dest;
  };
}

/** Runs the kernel on the call's handles, synchronously, releasing temporaries on every path. */
function runSync<H, T>(
  backend: Backend<H>,
  d: AnyOpDescriptor,
  t: TakenArgs<string>,
  g: unknown,
  direction: KernelDirection,
  run: (inputs: Record<string, H | null>, gradOutput: H | null) => T,
  releaseLate: (late: unknown) => void,
): T {
  const what = direction === 'forward' ? d.functionName : `${d.functionName}Backward`;
  const scope = new CallScope(backend);
  try {
    const gradOutput = t.gradOutput === null ? null : scope.handle(t.gradOutput, 'gradOutput');
    const inputs = inputHandles(backend, scope, d, t, g, true) as Record<string, H | null>;
    const r = run(inputs, gradOutput);
    if (isThenable(r)) {
      r.then(releaseLate, () => undefined);
      throw new CapabilityError(
        { argument: 'options.backend', expected: `a backend whose ${d.name} ${direction} kernel returns synchronously`, actual: backend.name },
        'a threaded wasm or a GPU backend answers with a promise; use the asynchronous ops, or one thread',
      );
    }
    return r;
  } catch (e) {
    throw asDcnError(e, backend.name, what);
  } finally {
    scope.end();
  }
}

/** Op `op` (a name or a descriptor) forward, synchronously: the output as a host tensor. */
export function runOpSync(op: string | AnyOpDescriptor, args: unknown, params?: unknown, options: SyncOpOptions = {}): HostTensor {
  const d = descriptorOf(op);
  const t = takeOpArgs(d, args, false);
  const g = d.geometry(t, params);
  const opts = takeOptions(options, ['backend', 'into']);
  const backend = resolveBackend(opts.backend as string | Backend | undefined);
  const read = resultReader(backend, opts.into as SyncOpOptions['into']);
  const kernel = requireKernel(backend, d.name, 'forward');
  const out = runSync(backend, d, t, g, 'forward', (inputs) => kernel({ geometry: g, inputs, backend }), (h) => backend.release(h));
  const shape = d.shapes(g).output;
  try {
    return { shape: [...shape], data: read(out, 'output', shape) };
  } catch (e) {
    throw asDcnError(e, backend.name, 'reading the output');
  } finally {
    backend.release(out);
  }
}

/**
 * Op `op` backward, synchronously: the gradients of L = sum(output * gradOutput) as host tensors, each
 * only when requested and when the call has that input.
 */
export function runOpBackwardSync(op: string | AnyOpDescriptor, args: unknown, params?: unknown, options: SyncBackwardOptions = {}): { readonly [name: string]: HostTensor | undefined } {
  const d = descriptorOf(op);
  const t = takeOpArgs(d, args, true);
  const g = d.geometry(t, params);
  d.checkGradOutput(t.gradOutput!.shape, g);
  const opts = takeOptions(options, ['backend', 'grads', 'into']);
  const want = d.gradRequest(g, requestedGrads(opts.grads, d.grads));
  const backend = resolveBackend(opts.backend as string | Backend | undefined);
  const read = resultReader(backend, opts.into as SyncOpOptions['into']);
  const kernel = requireKernel(backend, d.name, 'backward');
  const releaseAll = (grads: unknown): void => {
    for (const k of d.grads) {
      const h = (grads as Record<string, unknown> | null)?.[k];
      if (h !== null && h !== undefined) backend.release(h);
    }
  };
  const grads = runSync(backend, d, t, g, 'backward', (inputs, gradOutput) => kernel({ geometry: g, inputs, gradOutput: gradOutput!, want, backend }), releaseAll) as Record<string, unknown>;
  const shapes = d.shapes(g);
  const result: Record<string, HostTensor> = {};
  const pending = d.grads.map((k) => grads[k] ?? null);
  try {
    d.grads.forEach((k, i) => {
      const h = pending[i];
      if (h === null) return;
      pending[i] = null;
      try {
        if (want[k]) result[k] = { shape: [...shapes[k]!], data: read(h, k, shapes[k]!) };
      } finally {
        backend.release(h);
      }
    });
  } catch (e) {
    for (const h of pending) if (h !== null) backend.release(h);
    throw asDcnError(e, backend.name, 'reading a gradient');
  }
  return result;
}
