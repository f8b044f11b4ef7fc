#!/usr/bin/env node
/**
 * `pnpm bench` / `dcnv2-bench`: parses the flags, finds the implementations, runs the coordinator, and writes
 * the results: the markdown table on stdout, `--json`, `--plot`, and the README section. Exit status: 0, 1 when
 * any implementation was WRONG or failed, 2 for bad arguments.
 */
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import os from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArgError, parseArgs, USAGE, type CliOptions } from './args.js';
import type { BenchCase } from './bench-case.js';
import { convBenchCase } from './conv-bench-case.js';
import { buildCatalogue, pythonPath, resolveBackendModules, type ImplSpec, type SkippedImpl } from './impls.js';
import { benchDocument, JsonInputError, readJson, writeJson, type BenchDocument, type DocShape } from './json-output.js';
import { describeMachine, machineInfo } from './machine.js';
import { renderMarkdown, type RenderOptions } from './markdown.js';
import type { BenchOp } from './ops.js';
import type { BenchRecord } from './records.js';
import { writePlot } from './plot-file.js';
import { renderPlotSvg, sweepSeries } from './plot-svg.js';
import { stderrProgress, type Progress } from './progress.js';
import { checkReadme, ReadmeError, readmeSection, updateReadme } from './readme.js';
import { roiBenchCase } from './roi-bench-case.js';
import { NAMED_ROI_SHAPE_KEYS, NAMED_ROI_SHAPES } from './roi-shapes.js';
import { runBench } from './run-bench.js';
import { DEFAULT_SWEEP_BASE, NAMED_SHAPE_KEYS, NAMED_SHAPES, shapeLabel, sweepShapes, type SweepKind } from './shapes.js';
import { DEFAULT_SCHEDULE } from './timing.js';

/** The arguments `pnpm bench:readme` passes (root package.json); the README names that command when they match. */
export const README_ARGS = ['--op', 'deform_conv2d,deform_roi_pool', '--shape', 'A,B,C,D,E,R1,R2', '--direction', 'both', '--update-readme'];

/**
 * Where relative paths are relative to: the directory the user ran pnpm from (INIT_CWD) under the bench scripts,
 * which pnpm runs in the workspace root or the package folder; the working directory otherwise.
 */
export function userDirectory(): string {
  const viaScript = process.env.npm_lifecycle_event === 'bench' || process.env.npm_lifecycle_event === 'bench:readme';
  return viaScript && process.env.INIT_CWD ? process.env.INIT_CWD : process.cwd();
}

function userPath(p: string): string {
  return isAbsolute(p) ? p : resolve(userDirectory(), p);
}

/** The repository's README.md, found from this file (tools/bench/dist/cli.js). */
function repositoryReadme(): string {
  return fileURLToPath(new URL('../../../README.md', import.meta.url));
}

function quote(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

const OUTPUT_VALUE_FLAGS = ['--json', '--plot', '--readme'];
const OUTPUT_FLAGS = ['--quiet', '--matrix', '--update-readme'];

/** The arguments that decide what is measured: without the output-only flags (--json, --plot, --readme, ...). */
export function measuringArgs(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (OUTPUT_FLAGS.includes(a) || OUTPUT_VALUE_FLAGS.some((f) => a.startsWith(`${f}=`))) continue;
    if (OUTPUT_VALUE_FLAGS.includes(a)) {
      i++;
      continue;
    }
    out.push(a);
  }
  return out;
}

/**
 * The command that reproduces these numbers, as a user types it: `pnpm bench:readme` for its measurement
 * (whatever it was written to), else `pnpm bench <measuring args>`.
 */
export function commandLine(argv: readonly string[]): string {
  const args = measuringArgs(argv);
  const readmeArgs = measuringArgs(README_ARGS);
  if (args.length === readmeArgs.length && args.every((a, i) => a === readmeArgs[i])) return 'pnpm bench:readme';
  return ['pnpm bench', ...args.map(quote)].join(' ');
}

/** The shapes of every op asked for, in run order: the convolution's (or its sweep), then RoI pooling's. */
function runShapes(o: CliOptions): DocShape[] {
  const shapes: DocShape[] = [];
  if (o.ops.includes('deform_conv2d')) {
    const conv =
      o.sweep !== null
        ? sweepShapes((o.shapes?.[0] ?? { label: DEFAULT_SWEEP_BASE, spec: NAMED_SHAPES[DEFAULT_SWEEP_BASE] }).spec, o.sweep)
        : (o.shapes ?? NAMED_SHAPE_KEYS.map((k) => ({ label: k, spec: NAMED_SHAPES[k] })));
    shapes.push(...conv.map((s): DocShape => ({ op: 'deform_conv2d', ...s })));
  }
  if (o.ops.includes('deform_roi_pool')) {
    const roi = o.roiShapes ?? NAMED_ROI_SHAPE_KEYS.map((k) => ({ label: k, spec: NAMED_ROI_SHAPES[k] }));
    shapes.push(...roi.map((s): DocShape => ({ op: 'deform_roi_pool', ...s })));
  }
  return shapes;
}

/** A shape's case: its inputs drawn and its reference ready to compute. */
function benchCase(s: DocShape, seed: number, progress: Progress): BenchCase {
  return s.op === 'deform_conv2d' ? convBenchCase(s, seed, progress) : roiBenchCase(s, seed, progress);
}

/** Finds the implementations, measures, and returns the run as a document (or an exit status). */
async function measure(o: CliOptions, argv: readonly string[], progress: Progress): Promise<BenchDocument | number> {
  const extra = resolveBackendModules(o.backendModules, userDirectory());
  const impls: ImplSpec[] = [];
  const skipped: (SkippedImpl & { readonly op: BenchOp })[] = [];
  for (const op of o.ops) {
    const catalogue = await buildCatalogue(op, o.impl, extra, o.variants);
    impls.push(...catalogue.impls);
    skipped.push(...catalogue.skipped.map((s) => ({ ...s, op })));
  }
  const ofOps = o.ops.length > 1;
  if (o.list) {
    for (const i of impls) process.stdout.write(`${ofOps ? `${i.op.padEnd(16)} ` : ''}${i.id.padEnd(22)} ${i.description}${i.threaded ? '' : ' (single-threaded)'}\n`);
    for (const s of skipped) process.stdout.write(`${ofOps ? `${s.op.padEnd(16)} ` : ''}${s.id.padEnd(22)} not available: ${s.reason}\n`);
    return 0;
  }
  if (impls.length === 0) {
    process.stderr.write(`dcnv2-bench: no implementation to run${o.impl.length > 0 ? ` matches --impl ${o.impl.join(',')}` : ''}\n`);
    for (const s of skipped) process.stderr.write(`  ${s.id}: ${s.reason}\n`);
    return 2;
  }
  // A backend missing for one op is missing for every op: say it once.
  const missing = [...new Map(skipped.map((s) => [`${s.id}: ${s.reason}`, s])).values()];
  for (const s of missing) progress.info(`not available: ${s.id}: ${s.reason}`);

  const shapes = runShapes(o);
  const machine = machineInfo();
  if (machine.load_at_start > 0.5) progress.warn(`load average is ${machine.load_at_start}: other processes compete for the CPU and the numbers will be noisy`);
  progress.info(`${describeMachine(machine)}`);
  progress.info(`${impls.length} implementations (${o.ops.join(', ')}) x ${shapes.length} shapes x ${o.directions.join('+')}, threads ${o.threads.join(',')}`);

  const tmpDir = mkdtempSync(join(os.tmpdir(), 'dcnv2-bench-'));
  const cleanup = () => rmSync(tmpDir, { recursive: true, force: true });
  const onSignal = () => {
    cleanup();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let result;
  try {
    result = await runBench({
      cases: shapes.map((s) => () => benchCase(s, o.seed, progress)),
      directions: o.directions,
      threads: o.threads,
      impls,
      schedule: { ...DEFAULT_SCHEDULE, warmupRuns: o.warmup, minRuns: o.minRuns, maxRuns: o.maxRuns, budgetMs: o.budgetMs },
      tmpDir,
      python: pythonPath(),
      progress,
    });
  } finally {
    cleanup();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return benchDocument({
    command: ['pnpm bench', ...argv.map(quote)].join(' '),
    reproduce: commandLine(argv),
    machine,
    options: {
      ...o,
      shapes: shapes.filter((s) => s.op === 'deform_conv2d').map((s) => s.label),
      roiShapes: shapes.filter((s) => s.op === 'deform_roi_pool').map((s) => s.label),
    },
    ops: o.ops,
    shapes,
    directions: o.directions,
    sweep: o.sweep,
    impls: impls.map((i) => ({ op: i.op, id: i.id, description: i.description })),
    records: result.records,
    problems: result.problems,
    notes: [...missing.map((s) => `${s.id} not available: ${s.reason}`), ...result.notes],
  });
}

/** The sweep chart of a run (sweeps are of the convolution). */
function sweepSvg(doc: BenchDocument, sweep: SweepKind): string {
  const first = doc.shapes.find((s) => s.op === 'deform_conv2d');
  const swept = sweep === 'hw' ? 'H = W' : sweep === 'channels' ? 'Cin = Cout' : 'batch N';
  const tagOf = (r: BenchRecord) => {
    const d = r.dims;
    return String(sweep === 'hw' ? d.h : sweep === 'channels' ? ('cin' in d ? d.cin : d.c) : d.n);
  };
  const base = first === undefined ? '' : ` around ${shapeLabel(first.spec).replace(/^(\d+)x(\d+)x(\d+)x(\d+)/, (m, n, c, h, w) => (sweep === 'hw' ? `${n}x${c}xHxW` : sweep === 'channels' ? `${n}xCx${h}x${w}` : `Nx${c}x${h}x${w}`))}`;
  return renderPlotSvg({
    title: `dcnv2 bench: time per call against work, sweeping ${swept}${base}`,
    subtitle: [
      describeMachine(doc.machine),
      `Solid: forward${doc.directions.includes('fwdbwd') ? ', dashed: forward + backward' : ''}; swept values on top; faint diagonals: constant forward GFLOP/s`,
      doc.reproduce,
    ],
    xLabel: 'problem size: forward work per call, GFLOP (2·N·Cout·Ho·Wo·(Cin/groups)·kh·kw)',
    yLabel: 'median time per call, ms (whiskers: min–max)',
    series: sweepSeries(
      doc.records.filter((r) => r.op === 'deform_conv2d'),
      tagOf,
      doc.impls.map((i) => i.id),
    ),
  });
}

export async function main(argv: readonly string[]): Promise<number> {
  let o: CliOptions;
  try {
    o = parseArgs(argv);
  } catch (e) {
    if (e instanceof ArgError) {
      process.stderr.write(`dcnv2-bench: ${e.message}\n(run with --help for usage)\n`);
      return 2;
    }
    throw e;
  }
  if (o.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }

  // A README that cannot take the section is an error now, not after minutes of measuring.
  const readmePath = o.readme !== null ? userPath(o.readme) : o.updateReadme ? repositoryReadme() : null;
  if (readmePath !== null) {
    try {
      checkReadme(readmePath);
    } catch (e) {
      if (e instanceof ReadmeError) {
        process.stderr.write(`dcnv2-bench: ${e.message}\n`);
        return 2;
      }
      throw e;
    }
  }

  const progress = stderrProgress(o.quiet);
  let doc: BenchDocument;
  if (o.fromJson !== null) {
    try {
      doc = readJson(userPath(o.fromJson));
    } catch (e) {
      if (e instanceof JsonInputError) {
        process.stderr.write(`dcnv2-bench: ${e.message}\n`);
        return 2;
      }
      throw e;
    }
  } else {
    const measured = await measure(o, argv, progress);
    if (typeof measured === 'number') return measured;
    doc = measured;
  }

  const render: RenderOptions = {
    ops: doc.ops,
    shapeOrder: doc.shapes.map((s) => s.label),
    implOrder: doc.impls.map((i) => i.id),
    directions: doc.directions,
    notes: doc.notes,
    matrix: o.matrix,
  };
  process.stdout.write(renderMarkdown(doc.records, doc.problems, render));

  if (o.json !== null) {
    const path = userPath(o.json);
    writeJson(path, doc);
    progress.info(`wrote ${path}`);
  }
  if (o.plot !== null) {
    const path = userPath(o.plot);
    if (doc.sweep === null) {
      process.stderr.write(`dcnv2-bench: --plot draws a sweep, and ${o.fromJson} is not one\n`);
      return 2;
    }
    writePlot(path, sweepSvg(doc, doc.sweep));
    progress.info(`wrote ${path}`);
  }
  if (readmePath !== null) {
    updateReadme(readmePath, readmeSection({ machine: doc.machine, command: doc.reproduce, shapes: doc.shapes, impls: doc.impls, records: doc.records, problems: doc.problems, render }));
    progress.info(`rewrote the bench section of ${readmePath}`);
  }
  const bad = doc.problems.filter((p) => p.status === 'wrong' || p.status === 'error');
  if (bad.length > 0) progress.warn(`${bad.length} implementation run(s) were WRONG or failed: see the table`);
  return bad.length > 0 ? 1 : 0;
}

// Run when executed (not when imported by tests).
function isEntryPoint(): boolean {
  if (process.argv[1] === undefined) return false;
  try {
    // realpath: an installed bin is a symlink to this file.
    return realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`dcnv2-bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
