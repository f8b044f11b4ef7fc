/**
 * Plain-text report: a table with one row per case and tensor, the skipped parts, and a last line that
 * scripts can match exactly: `N passed, M failed` (with `, K skipped` when something was skipped).
 */
import type { ConformanceResult } from './run-conformance.js';
import type { ConformanceRow, SkipEntry } from './suites/types.js';

const WIDTHS = { suite: 14, case: 34, tensor: 12, error: 11, tolerance: 26 };

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

function num(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  return v === 0 ? '0' : v.toExponential(2);
}

export function formatHeader(): string {
  return [
    pad('suite', WIDTHS.suite),
    pad('case', WIDTHS.case),
    pad('tensor', WIDTHS.tensor),
    pad('max abs err', WIDTHS.error),
    pad('tolerance', WIDTHS.tolerance),
    'result',
  ].join(' ');
}

/** One table line; a failing row gets its detail on the following line. */
export function formatRow(r: ConformanceRow): string {
  const line = [
    pad(r.suite, WIDTHS.suite),
    pad(r.case, WIDTHS.case),
    pad(r.tensor, WIDTHS.tensor),
    pad(num(r.maxAbsError), WIDTHS.error),
    pad(`atol ${num(r.atol)} rtol ${num(r.rtol)}`, WIDTHS.tolerance),
    r.pass ? 'PASS' : 'FAIL',
  ].join(' ');
  return r.pass || !r.detail ? line : `${line}\n    ${r.detail}`;
}

export function formatSkip(s: SkipEntry): string {
  return `skipped ${s.suite}: ${s.reason}`;
}

/** `N passed, M failed` plus `, K skipped` when K > 0. */
export function formatSummary(result: Pick<ConformanceResult, 'passed' | 'failed' | 'skipped'>): string {
  const base = `${result.passed} passed, ${result.failed} failed`;
  return result.skipped.length > 0 ? `${base}, ${result.skipped.length} skipped` : base;
}

export interface ReportOptions {
  /** Only failing rows (with details), the skipped parts and the summary. */
  readonly quiet?: boolean;
}

/** The whole report, ending with the summary line. */
export function formatReport(result: ConformanceResult, options: ReportOptions = {}): string {
  const rows = options.quiet ? result.rows.filter((r) => !r.pass) : result.rows;
  const lines: string[] = [];
  if (rows.length > 0) lines.push(formatHeader(), ...rows.map(formatRow));
  lines.push(...result.skipped.map(formatSkip));
  lines.push(formatSummary(result));
  return lines.join('\n');
}
