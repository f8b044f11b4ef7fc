/** What every suite reports, and what it is given to run. */
import type { Backend, MaybePromise } from '@dcnv2/core';
import { compareTensors } from '../compare.js';
import type { Tolerance } from '../tolerances.js';

export const SUITE_NAMES = ['golden', 'properties', 'fuzz', 'onnx', 'gradcheck', 'cross', 'adversarial'] as const;
export type SuiteName = (typeof SUITE_NAMES)[number];

/** One checked tensor of one case. */
export interface ConformanceRow {
  readonly suite: string;
  readonly case: string;
  /** `output`, `grad_input`, ... (or what failed, such as `forward` when a call threw). */
  readonly tensor: string;
  /** Largest |got - want|; Infinity when a NaN/infinity mismatched or the call threw. */
  readonly maxAbsError: number;
  readonly atol: number;
  readonly rtol: number;
  readonly pass: boolean;
  readonly detail?: string;
}

export interface SkipEntry {
  readonly suite: string;
  readonly reason: string;
  /** Set when the part was skipped because the backend lacks this kernel. */
  readonly missing?: { readonly op: string; readonly direction: 'forward' | 'backward' };
}

export interface SuiteContext {
  /** The backend under test (initialised). */
  readonly backend: Backend;
  /** Further backends for `cross`. */
  readonly others: readonly Backend[];
  readonly seed: number;
  readonly fuzzCases: number;
  /** Large fuzz cases after the small ones (only when fuzzCases > 0). */
  readonly blockedCases: number;
  /** Vectors files for `golden`; undefined = the project's golden set. */
  readonly vectors: readonly string[] | undefined;
  /** Makes another instance of the backend under test (for `adversarial`'s cross-instance probes). */
  readonly create?: () => MaybePromise<Backend>;
  /** Reports one row. */
  row(row: ConformanceRow): void;
  /** Reports that (part of) the suite did not run, and why. */
  skip(reason: string): void;
}

export type Suite = (ctx: SuiteContext) => Promise<void>;

/** A row from comparing `got` with `want`. */
export function comparisonRow(
  suite: string,
  caseName: string,
  tensor: string,
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  tol: Tolerance,
  shape?: readonly number[],
  note?: string,
): ConformanceRow {
  const c = compareTensors(got, want, tol, shape);
  const detail = [c.detail, c.pass ? undefined : note].filter((s) => s !== undefined).join('; ');
  return {
    suite,
    case: caseName,
    tensor,
    maxAbsError: c.maxAbsError,
    atol: tol.atol,
    rtol: tol.rtol,
    pass: c.pass,
    ...(detail ? { detail } : {}),
  };
}

/** A failed row for a call that threw (or a check that could not run). */
export function errorRow(suite: string, caseName: string, tensor: string, error: unknown, note?: string): ConformanceRow {
  const msg = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return { suite, case: caseName, tensor, maxAbsError: Infinity, atol: 0, rtol: 0, pass: false, detail: note ? `${msg}; ${note}` : msg };
}
