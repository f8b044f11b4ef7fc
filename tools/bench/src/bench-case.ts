/**
 * One case of a run: an op at one shape, its inputs drawn, and what the coordinator needs to know about it
 * without knowing the op: the case file the workers read, the work of a timed unit, and the agreement check
 * against the op's float64 reference. `convBenchCase` (conv-bench-case.ts) and `roiBenchCase`
 * (roi-bench-case.ts) make them.
 */
import type { CheckResult, GradBaseline } from './agreement.js';
import type { ImplKind } from './impls.js';
import type { BenchOp } from './ops.js';
import type { RecordDims } from './records.js';
import type { Direction } from './shapes.js';
import type { TensorEntry } from './tensor-file.js';

export interface BenchCase {
  readonly op: BenchOp;
  /** Shape label: `C`, `R1`, `1x4x6x6->4`, ... */
  readonly label: string;
  readonly dims: RecordDims;
  /** The case file's JSON header: `{ op, geometry, seed }` (workers, Python included, read it). */
  readonly meta: { readonly op: BenchOp; readonly geometry: unknown; readonly seed: number };
  /** The inputs, as written to the case file. */
  tensorEntries(): TensorEntry[];
  /** Floating-point operations of one timed unit in `direction` (the op's own count; see its definition). */
  flops(direction: Direction): number;
  /** Whether float64 gradients are computed for `kind` (else the first of the kind is the others' baseline). */
  hasGradReference(kind: ImplKind): boolean;
  /** Checks one implementation's first run; references are computed on first use and shared by directions. */
  check(kind: ImplKind, direction: Direction, outputs: ReadonlyMap<string, Float32Array>, baseline: GradBaseline | null): CheckResult;
}

/**
 * `compute(kind)` on the first call for each kind and the same value after: how a case computes its float64
 * references on first use and shares them between the directions.
 */
export function oncePerKind<K, V>(compute: (kind: K) => V): (kind: K) => V {
  const done = new Map<K, V>();
  return (kind) => {
    if (!done.has(kind)) done.set(kind, compute(kind));
    return done.get(kind) as V;
  };
}
