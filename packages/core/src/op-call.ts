/**
 * Plumbing every op shares: option types, picking the backend, the output mode, and delivering a set of
 * gradient handles so that a failed read never leaks the handles not delivered yet.
 */
import type { Backend } from './backend.js';
import { asDcnError, BackendError, ParamError } from './errors.js';
import { checkKnownKeys, takeList, takeObject } from './intake.js';
import { getBackend } from './registry.js';
import { deliver, type OutputMode } from './resident.js';
import type { HostTensor, ResidentTensor } from './tensor.js';

export interface OpOptions<M extends OutputMode = OutputMode> {
  /** Backend name or instance; default: the current backend (`setBackend`). */
  readonly backend?: string | Backend;
  /** `'host'` (default) reads the result back; `'resident'` leaves it on the backend. */
  readonly output?: M;
}

export type Result<M extends OutputMode> = M extends 'resident' ? ResidentTensor : HostTensor;

/** Reads an op's options once; `undefined` means defaults, anything but a plain object is a ParamError. */
export function takeOptions(options: unknown, known: readonly string[]): Record<string, unknown> {
  if (options === undefined) return {};
  const o = takeObject(options, 'options', `{ ${known.join(', ')} }`);
  checkKnownKeys(o, 'options', known);
  return o;
}

/**
 * Runs a backend's part of a call and turns whatever it throws into a `DcnError`: a typed error of the
 * backend passes through; anything else (a trap, a bug, a closed worker) becomes a `BackendError` that
 * names the backend and keeps the original as `cause`.
 */
export async function runOnBackend<T>(backend: Backend, what: string, work: () => T | Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    throw asDcnError(e, backend.name, what);
  }
}

export function resolveBackend(b: string | Backend | undefined): Backend {
  if (b === undefined || typeof b === 'string') return getBackend(b);
  if (typeof b === 'object' && b !== null && typeof (b as Backend).upload === 'function' && typeof (b as Backend).download === 'function') return b;
  throw new BackendError({ argument: 'options.backend', expected: 'a backend name or a Backend', actual: b });
}

export function outputMode(o: OutputMode | undefined): OutputMode {
  if (o === undefined) return 'host';
  if (o !== 'host' && o !== 'resident') throw new ParamError({ argument: 'options.output', expected: "'host' or 'resident'", actual: o });
  return o;
}

/** Checks `options.grads` against the op's gradient names; default: all of them. */
export function requestedGrads<K extends string>(grads: unknown, all: readonly K[]): readonly K[] {
  if (grads === undefined || grads === null) return all;
  const want = takeList(grads, all.length * 4);
  if (want === null) throw new ParamError({ argument: 'options.grads', expected: `an array of ${all.join(', ')}`, actual: grads });
  for (const k of want) {
    if (!all.includes(k as K)) throw new ParamError({ argument: 'options.grads', expected: `names among ${all.join(', ')}`, actual: k });
  }
  return want as K[];
}

/**
 * Delivers gradient handles in `order` as host or resident tensors; handles that were not wanted are
 * released. If one read fails, the handles not delivered yet are released before rethrowing.
 */
export async function deliverGrads<K extends string, M extends OutputMode>(
  backend: Backend,
  grads: { readonly [P in K]: unknown },
  order: readonly K[],
  want: { readonly [P in K]: boolean },
  shapes: { readonly [P in K]: readonly number[] },
  mode: M,
): Promise<{ [P in K]?: Result<M> }> {
  const result: { [P in K]?: Result<M> } = {};
  const pending = order.map((k) => grads[k]);
  for (let i = 0; i < order.length; i++) {
    const k = order[i]!;
    const h = pending[i];
    if (h === null || h === undefined) continue;
    if (!want[k]) {
      backend.release(h);
      continue;
    }
    try {
      result[k] = (await runOnBackend(backend, 'reading a gradient', () => deliver(backend, h, shapes[k], mode))) as Result<M>;
    } catch (e) {
      for (let j = i + 1; j < order.length; j++) if (pending[j] != null) backend.release(pending[j]);
      throw e;
    }
  }
  return result;
}
