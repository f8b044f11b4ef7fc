/**
 * What the suites need to know about one op (deform_conv2d, deform_roi_pool) to run it, and the checks
 * written once on top of that: an expectation from the float64 reference or from another backend, and
 * the comparison of one problem on a backend with an expectation (forward and gradients). The op-specific
 * suites and the shared drivers (`op-suites.ts`) judge every case through `checkOpCase`, so both ops
 * judge a case the same way.
 */
import type { Backend } from '@dcnv2/core';
import { coarserPrecision, precisionOf, type Precision, type Tolerance } from '../tolerances.js';
import type { Rng } from '../random.js';
import { comparisonRow, errorRow, type ConformanceRow, type SuiteName } from './types.js';

/** The row and vectors-file name of a tensor of an op whose gradients are named `K`. */
export type OpTensorName<K extends string> = 'output' | `grad_${K}`;

/** A problem of either op: host data, with the gradOutput of its backward (null for forward-only cases). */
export interface OpCase {
  readonly gradOutput: Float32Array | null;
}

/** Gradients by name (absent: not returned; null: the tensor does not exist). */
export type OpGrads<K extends string, V = ArrayLike<number>> = { readonly [P in K]?: V | null };

export interface OpKit<C extends OpCase, K extends string> {
  /** The label of a suite's rows and skips (`fuzz`, or `roi-fuzz` for RoI pooling). */
  label(suite: SuiteName): string;
  /** What a backend lacks when it cannot run this op's backward (`backward`, `RoI pooling backward`). */
  readonly backwardName: string;
  readonly gradNames: readonly K[];
  hasBackward(b: Backend): boolean;
  /** Whether gradient `k` exists for `c` (its input does). */
  gradExists(c: C, k: K): boolean;
  tensorName(k: K): OpTensorName<K>;
  shapes(c: C): Readonly<Record<'output' | K, readonly number[]>>;
  /** The suite's default tolerance of a tensor of `c`, for results judged at `precision`. */
  tolerance(t: OpTensorName<K>, c: C, precision: Precision): Tolerance;
  /**
   * What a backend's gradient `k` is compared with, given the expectation `want` (default `want`): a
   * float16 backend's grad_offset may match the derivative at its rounded inputs instead (tolerances.ts).
   */
  gradExpectation?(backend: Backend, c: C, k: K, got: ArrayLike<number>, want: ArrayLike<number>, tol: Tolerance, precision: Precision): ArrayLike<number>;
  describe(c: C): string;
  forward(b: Backend, c: C): Promise<Float32Array>;
  /** `grads` defaults to every gradient that exists. */
  backward(b: Backend, c: C, grads?: readonly K[]): Promise<{ [P in K]?: Float32Array }>;
  referenceForward(c: C): Float64Array;
  referenceBackward(c: C): { readonly [P in K]: Float64Array | null };
  /** A seeded random problem of the fuzz and cross suites. */
  randomCase(rng: Rng): C;
  /** A large problem that crosses the blocking of fast kernels. */
  blockedCase(rng: Rng): C;
}

export interface Expectation<K extends string> {
  readonly output: ArrayLike<number>;
  /** Gradients by name; absent when backward is not checked. */
  readonly grads?: OpGrads<K>;
  /** Storage precision of the backend that computed it; absent for the float64 reference (float32 inputs). */
  readonly precision?: Precision;
}

export interface CheckOptions<K extends string> {
  readonly suite: string;
  readonly caseName: string;
  /** Which gradients to request and compare (default all that exist); empty = forward only. */
  readonly grads?: readonly K[];
  /** Widens every default tolerance (2 when comparing two float32 results). */
  readonly toleranceFactor?: number;
  /** Appended to the detail of failing rows (usually the configuration). */
  readonly note?: string;
}

/** The float64 reference's forward and (when the case has gradOutput) backward. */
export function referenceExpectationOf<C extends OpCase, K extends string>(op: OpKit<C, K>, c: C, withGrads: boolean): Expectation<K> {
  const output = op.referenceForward(c);
  if (!withGrads || c.gradOutput === null) return { output };
  return { output, grads: op.referenceBackward(c) };
}

/** An expectation computed by a backend. */
export async function backendExpectationOf<C extends OpCase, K extends string>(op: OpKit<C, K>, b: Backend, c: C, withGrads: boolean): Promise<Expectation<K>> {
  const output = await op.forward(b, c);
  const precision = precisionOf(b);
  if (!withGrads || c.gradOutput === null) return { output, precision };
  return { output, grads: await op.backward(b, c), precision };
}

/** Runs `c` on `backend` and returns one row per compared tensor. */
export async function checkOpCase<C extends OpCase, K extends string>(
  op: OpKit<C, K>,
  backend: Backend,
  c: C,
  want: Expectation<K>,
  o: CheckOptions<K>,
): Promise<ConformanceRow[]> {
  const rows: ConformanceRow[] = [];
  const shapes = op.shapes(c);
  const factor = o.toleranceFactor ?? 1;
  // Judged at the coarser precision of the two sides (the backend, and another backend's expectation).
  const precision = coarserPrecision(precisionOf(backend), want.precision ?? 'float32');
  const tol = (t: OpTensorName<K>): Tolerance => {
    const d = op.tolerance(t, c, precision);
    return { atol: d.atol * factor, rtol: d.rtol * factor };
  };
  try {
    const out = await op.forward(backend, c);
    rows.push(comparisonRow(o.suite, o.caseName, 'output', out, want.output, tol('output'), shapes.output, o.note));
  } catch (e) {
    rows.push(errorRow(o.suite, o.caseName, 'output', e, o.note));
  }
  if (want.grads === undefined || !op.hasBackward(backend) || c.gradOutput === null) return rows;
  const requested = (o.grads ?? op.gradNames).filter((k) => op.gradExists(c, k));
  if (requested.length === 0) return rows;
  try {
    const got: { [P in K]?: Float32Array } = await op.backward(backend, c, requested);
    for (const k of requested) {
      const name = op.tensorName(k);
      const w = want.grads[k];
      if (w === null || w === undefined) continue;
      const gk = got[k];
      if (gk === undefined) {
        rows.push(errorRow(o.suite, o.caseName, name, new Error(`backend returned no ${name} although it was requested`), o.note));
        continue;
      }
      const expected = op.gradExpectation?.(backend, c, k, gk, w, tol(name), precision) ?? w;
      rows.push(comparisonRow(o.suite, o.caseName, name, gk, expected, tol(name), shapes[k], o.note));
    }
    for (const k of op.gradNames) {
      if (!requested.includes(k) && got[k] !== undefined) {
        rows.push(errorRow(o.suite, o.caseName, op.tensorName(k), new Error(`backend returned ${op.tensorName(k)} although it was not requested`), o.note));
      }
    }
  } catch (e) {
    for (const k of requested) rows.push(errorRow(o.suite, o.caseName, op.tensorName(k), e, o.note));
  }
  return rows;
}
