/**
 * What both call paths (run-op.ts, asynchronous; run-op-sync.ts, synchronous) do alike before a kernel
 * runs: find the op's descriptor, and turn the call's taken tensors into backend handles.
 */
import type { Backend } from './backend.js';
import { CapabilityError, ParamError } from './errors.js';
import type { TakenTensor } from './intake.js';
import type { TakenArgs } from './op-args.js';
import { runOnBackend } from './op-call.js';
import { isOpDescriptor, type AnyOpDescriptor } from './op-definition.js';
import { opDescriptor } from './ops.js';
import type { CallScope } from './resident.js';

/** The descriptor of `op`: a registered name, or a descriptor made by defineOp (look-alikes are refused). */
export function descriptorOf(op: unknown): AnyOpDescriptor {
  if (typeof op === 'string') return opDescriptor(op);
  if (isOpDescriptor(op)) return op;
  throw new ParamError({ argument: 'op', expected: 'an op name or a descriptor made by defineOp', actual: op });
}

/** `backend.downloadSync`, or a CapabilityError: the synchronous path reads results back at once. */
export function syncReader<H>(backend: Backend<H>): (handle: H, shape: readonly number[]) => Float32Array {
  const read = backend.downloadSync;
  if (typeof read !== 'function') {
    throw new CapabilityError({ argument: 'options.backend', expected: 'a backend with downloadSync (synchronous read-back)', actual: backend.name }, 'host and wasm backends have it; run a GPU backend through the asynchronous ops');
  }
  return (handle, shape) => read.call(backend, handle, shape);
}

/**
 * The handles of a call's inputs, by name (null: absent). Plain inputs are uploaded (host) or borrowed
 * (resident) in call order; inputs the op checks by value are then copied, checked and uploaded, after a
 * read-back when they are resident: a promise on the asynchronous path, `downloadSync` when `sync`.
 */
export function inputHandles<H>(
  backend: Backend<H>,
  scope: CallScope<H>,
  d: AnyOpDescriptor,
  t: TakenArgs<string>,
  g: unknown,
  sync: boolean,
): Record<string, H | null> | Promise<Record<string, H | null>> {
  const handles: Record<string, H | null> = {};
  const checked: string[] = [];
  for (const i of d.inputs) {
    if (d.checkValues[i.name] !== undefined && t[i.name] !== null) checked.push(i.name);
    else handles[i.name] = scope.optional(t[i.name] ?? null, i.name);
  }
  const reads: Promise<void>[] = [];
  for (const name of checked) {
    const taken = t[name] as TakenTensor;
    const check = d.checkValues[name]!;
    const take = (values: Float32Array): void => {
      check(values, g);
      handles[name] = scope.uploadCopy(values, taken.shape);
    };
    if (taken.host !== null) {
      take(taken.host.slice());
    } else if (sync) {
      take(syncReader(backend)(scope.handle(taken, name), taken.shape).slice());
    } else {
      const resident = scope.handle(taken, name);
      reads.push(runOnBackend(backend, `reading ${name}`, () => backend.download(resident, taken.shape)).then((v) => take(v.slice())));
    }
  }
  return reads.length === 0 ? handles : Promise.all(reads).then(() => handles);
}
