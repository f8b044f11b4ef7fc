#!/usr/bin/env node
/**
 * dcnv2-conformance: runs the conformance suites against one backend and prints a table, one row per
 * case and tensor, ending with `N passed, M failed` (`, K skipped`). Exits non-zero when anything failed.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Backend } from '@dcnv2/core';
import { parseCliArgs, UsageError, USAGE, type CliOptions } from './cli/args.js';
import { backendFactory, createBackend, isBuiltinBackend, userDirectory } from './cli/load-backend.js';
import { planOps } from './cli/plan-ops.js';
import { formatHeader, formatRow, formatSkip, formatSummary } from './format.js';
import { DEFAULT_BLOCKED_CASES, DEFAULT_FUZZ_CASES, DEFAULT_SEED, runConformance } from './run-conformance.js';
import { SUITE_NAMES, type ConformanceRow, type SkipEntry } from './suites/types.js';

/** JSON cannot hold NaN or infinities; write them as strings rather than as null. */
function jsonNumbers(_key: string, v: unknown): unknown {
  return typeof v === 'number' && !Number.isFinite(v) ? String(v) : v;
}

async function run(o: CliOptions): Promise<number> {
  const out = (s: string) => process.stdout.write(`${s}\n`);
  const backends: Backend[] = [];
  try {
    // The factory also gives adversarial a second, independent instance of the backend under test.
    const create = await backendFactory(o.backend.kind, o.backend.value);
    const backend = await create();
    await backend.init();
    backends.push(backend);
    // Without --other, cross compares with the float64 reference backend, so no suite is left out.
    const others = o.others.length > 0 || backend.name === 'reference' ? o.others : ['reference'];
    for (const other of others) {
      backends.push(await createBackend(isBuiltinBackend(other) ? 'name' : 'module', other));
    }
    const seed = o.seed ?? DEFAULT_SEED;
    const fuzzCases = o.fuzzCases ?? DEFAULT_FUZZ_CASES;
    const blockedCases = o.blockedCases ?? DEFAULT_BLOCKED_CASES;
    const suites = o.suites ?? SUITE_NAMES;
    const vectors = o.vectors?.map((v) => resolve(userDirectory(), v));
    const plans = planOps(o.op, vectors);
    // Every op's rows (tagged with the op in the JSON report) and skipped parts, then one summary.
    const rows: (ConformanceRow & { op: string })[] = [];
    const skipped: SkipEntry[] = [];
    for (const plan of plans) {
      if (!o.quiet) {
        out(`dcnv2 conformance: backend ${backend.name}${backends.length > 1 ? ` (cross: ${backends.slice(1).map((b) => b.name).join(', ')})` : ''}, op ${plan.op}, suites ${suites.join(',')}, seed ${seed}, fuzz cases ${fuzzCases} (+${blockedCases} large)`);
        out(formatHeader());
      }
      const result = await runConformance({
        backend,
        others: backends.slice(1),
        op: plan.op,
        suites,
        seed,
        fuzzCases,
        blockedCases,
        create,
        ...(plan.vectors ? { vectors: plan.vectors } : {}),
        onRow: (r) => {
          if (!o.quiet || !r.pass) out(formatRow(r));
        },
      });
      rows.push(...result.rows.map((r) => ({ op: plan.op, ...r })));
      skipped.push(...result.skipped);
    }
    for (const s of skipped) out(formatSkip(s));
    // A new backend's to-do list: every kernel it does not have yet, by op and direction.
    const missing = skipped.flatMap((s) => (s.missing ? [s.missing] : []));
    if (missing.length > 0) out(`missing kernels: ${missing.map((m) => `${m.op} ${m.direction}`).join(', ')}`);
    const passed = rows.filter((r) => r.pass).length;
    const failed = rows.length - passed;
    const summary = formatSummary({ passed, failed, skipped });
    if (o.json !== undefined) {
      const doc = { backend: backend.name, others: backends.slice(1).map((b) => b.name), op: o.op ?? 'all', ops: plans.map((p) => p.op), suites, seed, fuzzCases, blockedCases, vectors: vectors ?? null, passed, failed, skipped, missing, summary, rows };
      writeFileSync(resolve(userDirectory(), o.json), `${JSON.stringify(doc, jsonNumbers, 1)}\n`);
    }
    out(summary);
    return failed > 0 ? 1 : 0;
  } finally {
    // Backends may hold workers or devices that keep the process alive.
    for (const b of backends) {
      try {
        await b.dispose();
      } catch {
        // disposal problems must not hide the report
      }
    }
  }
}

async function main(argv: readonly string[]): Promise<number> {
  let options: CliOptions;
  try {
    options = parseCliArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`dcnv2-conformance: ${e.message}\n\n${USAGE}\n`);
    return 2;
  }
  if (options.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  try {
    return await run(options);
  } catch (e) {
    process.stderr.write(`dcnv2-conformance: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
