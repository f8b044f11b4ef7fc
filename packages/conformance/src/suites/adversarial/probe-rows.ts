/**
 * How an adversarial probe reports: a probe either expects a typed error (a `DcnError` with one of the
 * given codes, nothing else) or expects values (equal, within the suite's tolerance, to what the same
 * backend computes from pristine inputs, or to an exact value). Anything else is a failed row with the
 * reason: another error class, a result where an error was due, an error where a result was due.
 */
import type { DcnErrorCode } from '@dcnv2/core';
import type { Tolerance } from '../../tolerances.js';
import { comparisonRow, errorRow, type ConformanceRow } from '../types.js';

/** The code of a DcnError (by its `code`, so a second copy of core in node_modules still counts). */
function dcnCode(e: unknown): string | null {
  if (typeof e !== 'object' || e === null) return null;
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' && code.startsWith('ERR_DCN_') ? code : null;
}

function describe(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

/** A row that passes when `run` rejects (or throws) a DcnError with one of `codes`. */
export async function expectErrorRow(
  suite: string,
  caseName: string,
  codes: readonly DcnErrorCode[],
  run: () => unknown,
  check?: (e: Error) => string | null,
): Promise<ConformanceRow> {
  let outcome: { ok: true; value: unknown } | { ok: false; error: unknown };
  try {
    outcome = { ok: true, value: await run() };
  } catch (error) {
    outcome = { ok: false, error };
  }
  const want = codes.join(' or ');
  const base = { suite, case: caseName, tensor: 'error', atol: 0, rtol: 0 };
  if (outcome.ok) return { ...base, maxAbsError: Infinity, pass: false, detail: `expected a DcnError ${want}, but the call returned a result` };
  const code = dcnCode(outcome.error);
  if (code === null || !codes.includes(code as DcnErrorCode)) {
    return { ...base, maxAbsError: Infinity, pass: false, detail: `expected a DcnError ${want}, got ${describe(outcome.error)}` };
  }
  const extra = check?.(outcome.error as Error) ?? null;
  if (extra !== null) return { ...base, maxAbsError: Infinity, pass: false, detail: `${describe(outcome.error)}: ${extra}` };
  return { ...base, maxAbsError: 0, pass: true, detail: `${code}: ${(outcome.error as Error).message}` };
}

/** Rows comparing named result tensors with expectations (a missing result is a failed row). */
export function sameRows(
  suite: string,
  caseName: string,
  got: Readonly<Record<string, ArrayLike<number> | undefined>>,
  want: Readonly<Record<string, ArrayLike<number> | undefined>>,
  tol: (tensor: string) => Tolerance,
  note?: string,
): ConformanceRow[] {
  const rows: ConformanceRow[] = [];
  for (const [tensor, w] of Object.entries(want)) {
    if (w === undefined) continue;
    const g = got[tensor];
    rows.push(g === undefined
      ? errorRow(suite, caseName, tensor, new Error(`no ${tensor} was returned`), note)
      : comparisonRow(suite, caseName, tensor, g, w, tol(tensor), undefined, note));
  }
  return rows;
}

/** Runs a probe that yields rows; an unexpected throw becomes one failed row naming the probe. */
export async function probe(suite: string, caseName: string, row: (r: ConformanceRow) => void, run: () => Promise<ConformanceRow[]>): Promise<void> {
  try {
    for (const r of await run()) row(r);
  } catch (e) {
    row(errorRow(suite, caseName, 'probe', e));
  }
}

/**
 * A row that passes when `run` returns exactly `want`, or fails with a DcnError of one of `codes` (for a
 * request that a bigger machine can serve and a smaller one must refuse cleanly).
 */
export async function expectValueOrErrorRow(
  suite: string,
  caseName: string,
  want: number,
  codes: readonly DcnErrorCode[],
  run: () => Promise<number>,
): Promise<ConformanceRow> {
  const base = { suite, case: caseName, tensor: 'value|error', atol: 0, rtol: 0 };
  let got: number;
  try {
    got = await run();
  } catch (e) {
    const code = dcnCode(e);
    const pass = code !== null && codes.includes(code as DcnErrorCode);
    return { ...base, maxAbsError: pass ? 0 : Infinity, pass, detail: pass ? `${code}: ${(e as Error).message}` : `expected ${want} or a DcnError ${codes.join(' or ')}, got ${describe(e)}` };
  }
  const pass = Object.is(got, want);
  return { ...base, maxAbsError: pass ? 0 : Math.abs(got - want) || Infinity, pass, detail: pass ? `computed ${want}` : `expected ${want} or a DcnError ${codes.join(' or ')}, got ${got}` };
}

/** Gradient results by row name (`grad_input`, ...): the `data` of each gradient an op returned. */
export function gradResults<K extends string>(
  r: { readonly [P in K]?: { readonly data: Float32Array } },
  names: readonly K[],
  rowName: (k: K) => string,
): Record<string, Float32Array | undefined> {
  const out: Record<string, Float32Array | undefined> = {};
  for (const k of names) out[rowName(k)] = r[k]?.data;
  return out;
}
