/**
 * One suite of one op on one backend, summarised for a backend's own tests (one test per suite): what
 * keeps the suite from counting as passed, as readable lines, so that a test asserts a single list is
 * empty and a failure shows every reason at once. Test-runner agnostic (no vitest here).
 */
import { formatRow, formatSkip, formatSummary } from './format.js';
import { runConformance, type ConformanceOptions } from './run-conformance.js';
import type { SkipEntry, SuiteName } from './suites/types.js';

export interface SuiteCheckOptions extends Omit<ConformanceOptions, 'suites'> {
  readonly suite: SuiteName;
  /** Skipped parts are reported but are not problems. Default false: nothing may hide behind a skip. */
  readonly allowSkips?: boolean;
  /** A run in which no row passed is not a problem (a suite that only reports a skip). Default false. */
  readonly allowEmpty?: boolean;
}

export interface SuiteCheck {
  readonly passed: number;
  readonly failed: number;
  readonly skipped: readonly SkipEntry[];
  /**
   * Why the suite does not count as passed; empty when it does: every failed row (`formatRow`), every
   * skipped part unless `allowSkips`, and `no row passed` unless a row passed or `allowEmpty`.
   */
  readonly problems: readonly string[];
  /** One line for the test log: `<op> <suite>: N passed, M failed[, K skipped]`, then each skip and its reason. */
  readonly summary: string;
}

export async function checkConformanceSuite(options: SuiteCheckOptions): Promise<SuiteCheck> {
  const { suite, allowSkips = false, allowEmpty = false, ...rest } = options;
  const r = await runConformance({ ...rest, suites: [suite] });
  const skips = r.skipped.map(formatSkip);
  const problems = [
    ...r.rows.filter((row) => !row.pass).map((row) => formatRow(row)),
    ...(allowSkips ? [] : skips),
    ...(r.passed > 0 || allowEmpty ? [] : ['no row passed']),
  ];
  const summary = [`${options.op ?? 'deform_conv2d'} ${suite}: ${formatSummary(r)}`, ...skips].join('; ');
  return { passed: r.passed, failed: r.failed, skipped: r.skipped, problems, summary };
}
