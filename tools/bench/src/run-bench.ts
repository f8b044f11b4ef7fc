/**
 * The coordinator: for each case (an op at one shape) and direction, one worker process per implementation of
 * that op and thread count, all fed the same case file; then, in order, setup, the agreement check (a WRONG
 * implementation leaves before any timing), interleaved timing across all surviving workers, and a memory
 * reading. Workers live only for one case and direction, so each one's peak RSS belongs to exactly that case.
 * Nothing here depends on the op: the case (bench-case.ts) knows its inputs, work and reference.
 *
 * Only one worker computes at any time (the coordinator waits for each reply), so they never compete for the
 * cores; the idle ones sit blocked on their IPC channel.
 */
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { describeFailures, type CheckResult, type GradBaseline } from './agreement.js';
import type { BenchCase } from './bench-case.js';
import type { ImplKind, ImplSpec } from './impls.js';
import type { Progress } from './progress.js';
import { isFailed, type MemoryReply, type MemorySnapshot, type Reply, type RunReply, type SetupReply } from './protocol.js';
import { peerKey, withRatios, type BenchRecord, type Problem } from './records.js';
import type { Direction } from './shapes.js';
import { gflopsPerSecond, summarize } from './stats.js';
import { readTensorFile, writeTensorFile } from './tensor-file.js';
import { measureInterleaved, type Participant, type ScheduleOptions } from './timing.js';
import { startNodeWorker, startPythonWorker, type WorkerClient } from './worker-client.js';

export interface BenchOptions {
  /**
   * Cases in run order, each made (inputs drawn) when its turn comes, so that only one case's tensors and
   * references are alive at a time; each is measured with the implementations of its op.
   */
  readonly cases: readonly (() => BenchCase)[];
  readonly directions: readonly Direction[];
  readonly threads: readonly number[];
  /** Implementations of every op, in row order. */
  readonly impls: readonly ImplSpec[];
  readonly schedule: ScheduleOptions;
  /** Scratch directory for case and output files (the caller creates and removes it). */
  readonly tmpDir: string;
  readonly python: string;
  readonly progress: Progress;
}

export interface BenchResult {
  readonly records: BenchRecord[];
  readonly problems: Problem[];
  /** Facts worth a footnote, each once: `dcnv2-cpu is single-threaded: it runs once, at 1 thread`. */
  readonly notes: string[];
}

/** Time limits per request: generous, since E's forward + backward on a slow backend takes seconds per run. */
const SETUP_TIMEOUT_MS = 180_000;
const CHECK_TIMEOUT_MS = 600_000;
const RUN_TIMEOUT_MS = 900_000;

const MIB = 2 ** 20;
const round3 = (v: number) => Math.round(v * 1000) / 1000;

function firstLine(s: string): string {
  return s.split('\n')[0].trim();
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

interface LiveWorker {
  readonly impl: ImplSpec;
  readonly client: WorkerClient;
  readonly setup: SetupReply;
  check?: CheckResult;
}

/** A file name for an implementation id (ids are free text: `dcnv2-cpu`, or a module's provider name). */
function fileSafe(id: string): string {
  return id.replace(/[^\w.-]/g, '_');
}

function startWorker(impl: ImplSpec, python: string, label: string): WorkerClient {
  return impl.runtime === 'python' ? startPythonWorker(label, python) : startNodeWorker(label);
}

/** Thread counts to start an implementation with: every asked count, or just 1 for single-threaded ones. */
function threadCounts(impl: ImplSpec, threads: readonly number[]): number[] {
  return impl.threaded ? [...threads] : [1];
}

async function closeAll(workers: readonly { client: WorkerClient }[]): Promise<void> {
  await Promise.all(workers.map((w) => w.client.close().catch(() => undefined)));
}

export async function runBench(opts: BenchOptions): Promise<BenchResult> {
  const records: Omit<BenchRecord, 'ratios'>[] = [];
  const problems: Problem[] = [];
  const notes = new Set<string>();
  const { progress } = opts;
  const groups = opts.cases.length * opts.directions.length;
  let groupIndex = 0;

  for (const [caseIndex, makeCase] of opts.cases.entries()) {
    const c = makeCase();
    const caseFile = join(opts.tmpDir, `case-${caseIndex}.bin`);
    writeTensorFile(caseFile, c.meta, c.tensorEntries());
    const impls = opts.impls.filter((i) => i.op === c.op);

    for (const direction of opts.directions) {
      groupIndex++;
      const label = `${c.label} ${direction} (${groupIndex}/${groups})`;
      const problem = (impl: string, threads: number | null, status: Problem['status'], reason: string, extra: Partial<Problem> = {}) =>
        problems.push({ op: c.op, impl, shape: c.label, direction, threads, status, reason, ...extra });

      // --- setup ---------------------------------------------------------------------------------------------
      const live: LiveWorker[] = [];
      for (const impl of impls) {
        if (!impl.directions.includes(direction)) {
          problem(impl.id, null, 'skipped', impl.fwdOnlyReason ?? `no ${direction}`);
          continue;
        }
        for (const t of threadCounts(impl, opts.threads)) {
          const key = `${impl.id}@${t}t`;
          progress.info(`${label}: starting ${key}`);
          const client = startWorker(impl, opts.python, key);
          let reply: Reply;
          try {
            reply = await client.request(
              { op: 'setup', impl: impl.id, adapter: impl.adapter, threads: t, direction, caseFile, ...(impl.module ? { module: impl.module } : {}) },
              SETUP_TIMEOUT_MS,
            );
          } catch (e) {
            reply = { ok: false, error: errorText(e) };
          }
          if (isFailed(reply)) {
            await client.close().catch(() => undefined);
            if ('skip' in reply) problem(impl.id, t, 'skipped', reply.skip);
            else problem(impl.id, t, 'error', `setup failed: ${firstLine(reply.error)}`);
            if ('error' in reply) progress.warn(`${key} setup failed: ${reply.error}`);
            continue;
          }
          const setup = reply as SetupReply;
          if (live.some((w) => w.impl.id === impl.id && w.setup.threads === setup.threads)) {
            // A backend that uses fewer threads than asked: the row at its real thread count already exists.
            notes.add(`${impl.id} uses at most ${setup.threads} thread${setup.threads === 1 ? '' : 's'}: one row per shape`);
            await client.close().catch(() => undefined);
            continue;
          }
          live.push({ impl, client, setup });
        }
      }

      // --- agreement check ---------------------------------------------------------------------------------------
      const checked: LiveWorker[] = [];
      const baselines = new Map<ImplKind, GradBaseline>();
      for (const w of live) {
        const key = `${w.impl.id}@${w.setup.threads}t`;
        const outFile = join(opts.tmpDir, `out-${fileSafe(w.impl.id)}-${w.setup.threads}.bin`);
        let reply: Reply;
        try {
          progress.info(`${label}: checking ${key}`);
          reply = await w.client.request({ op: 'check', outFile }, CHECK_TIMEOUT_MS);
        } catch (e) {
          reply = { ok: false, error: errorText(e) };
        }
        if (isFailed(reply)) {
          if ('skip' in reply) problem(w.impl.id, w.setup.threads, 'skipped', reply.skip);
          else {
            problem(w.impl.id, w.setup.threads, 'error', `first run failed: ${firstLine(reply.error)}`);
            progress.warn(`${key} failed: ${reply.error}`);
          }
          await w.client.close().catch(() => undefined);
          continue;
        }
        const file = readTensorFile(outFile);
        rmSync(outFile, { force: true });
        const outputs = new Map([...file.tensors].map(([k, v]) => [k, v.data]));
        const kind = w.impl.kind;
        const needsBaseline = direction === 'fwdbwd' && !c.hasGradReference(kind);
        const result = c.check(kind, direction, outputs, needsBaseline ? (baselines.get(kind) ?? null) : null);
        w.check = result;
        if (result.status === 'wrong') {
          const why = describeFailures(result);
          progress.warn(`${key} is WRONG on ${c.label} ${direction}: ${why}`);
          problem(w.impl.id, w.setup.threads, 'wrong', why, { check_max_abs_err: result.maxAbsError });
          await w.client.close().catch(() => undefined);
          continue;
        }
        if (needsBaseline && !baselines.has(kind)) baselines.set(kind, { id: key, grads: outputs });
        for (const u of result.unchecked) notes.add(`${c.label} ${direction}: ${w.impl.id} ${u}`);
        progress.info(`${label}: ${key} agrees (max |err| ${result.maxAbsError.toExponential(1)} vs ${result.against})`);
        checked.push(w);
      }

      // --- timing ----------------------------------------------------------------------------------------------
      const participants: Participant[] = checked.map((w) => ({
        key: peerKey({ impl: w.impl.id, threads: w.setup.threads }),
        async run(count) {
          const r = await w.client.request({ op: 'run', count }, RUN_TIMEOUT_MS);
          if (isFailed(r)) throw new Error('skip' in r ? r.skip : firstLine(r.error));
          return (r as RunReply).timesMs;
        },
      }));
      if (participants.length > 0) progress.info(`${label}: timing ${participants.map((p) => p.key).join(', ')}`);
      let lastReport = performance.now();
      const { samples, errors } = await measureInterleaved(participants, opts.schedule, (p) => {
        if (performance.now() - lastReport > 5000) {
          lastReport = performance.now();
          progress.info(`${label}: round ${p.round}, ${(p.elapsedMs / 1000).toFixed(1)} s, fewest runs ${p.fewestRuns}`);
        }
      });

      // --- memory and records ----------------------------------------------------------------------------------
      const flops = c.flops(direction);
      for (const w of checked) {
        const key = peerKey({ impl: w.impl.id, threads: w.setup.threads });
        const err = errors.get(key);
        if (err !== undefined) {
          problem(w.impl.id, w.setup.threads, 'error', `timed run failed: ${firstLine(errorText(err))}`);
          continue;
        }
        const times = samples.get(key) ?? [];
        if (times.length === 0) continue;
        let mem: MemorySnapshot | null = null;
        try {
          const r = await w.client.request({ op: 'memory' }, 30_000);
          if (!isFailed(r)) mem = (r as MemoryReply).memory;
        } catch {
          // memory stays unknown; the timing is still valid
        }
        const s = summarize(times);
        const setupMem = w.setup.memory;
        const peak = Math.max(mem?.peakRssBytes ?? 0, setupMem.rssBytes);
        const wasmGrowth = w.setup.wasm && mem?.wasmBytes != null && setupMem.wasmBytes != null ? Math.max(0, mem.wasmBytes - setupMem.wasmBytes) : null;
        records.push({
          op: c.op,
          impl: w.impl.id,
          shape: c.label,
          direction,
          threads: w.setup.threads,
          median_ms: round3(s.median),
          min_ms: round3(s.min),
          max_ms: round3(s.max),
          mean_ms: round3(s.mean),
          p25_ms: round3(s.p25),
          p75_ms: round3(s.p75),
          runs: s.runs,
          gflops: round3(gflopsPerSecond(flops, s.median)),
          gflop: Number((flops / 1e9).toPrecision(6)),
          kind: w.impl.kind,
          dims: c.dims,
          version: w.setup.version,
          check: 'ok',
          check_max_abs_err: w.check!.maxAbsError,
          check_against: w.check!.against,
          peak_rss_mb: round3(peak / MIB),
          setup_rss_mb: round3(setupMem.rssBytes / MIB),
          rss_growth_mb: round3(Math.max(0, peak - setupMem.rssBytes) / MIB),
          wasm_growth_mb: wasmGrowth === null ? null : round3(wasmGrowth / MIB),
          wasm_total_mb: w.setup.wasm && mem?.wasmBytes != null ? round3(mem.wasmBytes / MIB) : null,
        });
      }
      await closeAll(checked);
    }
    rmSync(caseFile, { force: true });
  }
  return { records: withRatios(records), problems, notes: [...notes] };
}
