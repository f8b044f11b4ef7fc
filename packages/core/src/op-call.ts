/**
 * Plumbing every op shares: option types, picking the backend, the output mode, and delivering a set of
 * gradient handles so that a failed read never leaks the handles not delivered yet.
 */
import type { Backend } from './backend.js';
import { BackendError, ParamError } from './errors.js';
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

export function resolveBackend(b: string | Backend | undefined): Backend {
  if (b === undefined || typeof b === 'string') return getBackend(b);
  if (typeof b === 'object' && b !== null && typeof (b as Backend).deformConv2d === 'function') return b;
  throw new BackendError({ argument: 'options.backend', expected: 'a backend name or a Backend', actual: b });
}

export function outputMode(o: OutputMode | undefined): OutputMode {
  if (o === undefined) return 'host';
  if (o !== 'host' && o !== 'resident') throw new ParamError({ argument: 'options.output', expected: "'host' or 'resident'", actual: o });
  return o;
}

/** Checks `options.grads` against the op's gradient names; default: all of them. */
export function requestedGrads<K extends string>(grads: unknown, all: readonly K[]): readonly K[] {
  const want = grads ?? all;
  if (!Array.isArray(want)) throw new ParamError({ argument: 'options.grads', expected: `an array of ${all.join(', ')}`, actual: want });
  for (const k of want) {
    if (!all.includes(k)) throw new ParamError({ argument: 'options.grads', expected: `names among ${all.join(', ')}`, actual: k });
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
      result[k] = (await deliver(backend, h, shapes[k], mode)) as Result<M>;
    } catch (e) {
      for (let j = i + 1; j < order.length; j++) if (pending[j] != null) backend.release(pending[j]);
      throw e;
    }
  }
  return result;
}
