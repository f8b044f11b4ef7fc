/**
 * A Node worker process: runs one implementation (one adapter at one thread count) for one case, on the
 * coordinator's orders (protocol.ts), and answers each request once over the IPC channel. It never decides
 * anything about timing: it runs what it is told and reports its own clock, so the coordinator can interleave
 * the workers of every implementation.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { caseFromTensors, type CaseData, type CaseMeta } from './case-data.js';
import type { Adapter, Runner } from './adapters/types.js';
import { SkipError } from './adapters/types.js';
import type { BenchOp } from './ops.js';
import { roiCaseFromTensors, type RoiCaseData, type RoiCaseMeta } from './roi-case-data.js';
import type { MemorySnapshot, Reply, Request, SetupRequest } from './protocol.js';
import { readTensorFile, writeTensorFile, type TensorEntry } from './tensor-file.js';
import { installWasmMemoryProbe, wasmMemoryBytes } from './wasm-memory.js';

// Before any runtime is imported, so that every wasm memory is seen.
installWasmMemoryProbe();

/** An adapter with the op whose case files it reads. */
type AdapterEntry =
  | { readonly op: 'deform_conv2d'; readonly load: () => Promise<Adapter<CaseData>> }
  | { readonly op: 'deform_roi_pool'; readonly load: () => Promise<Adapter<RoiCaseData>> };

const conv = (load: () => Promise<Adapter<CaseData>>): AdapterEntry => ({ op: 'deform_conv2d', load });
const roi = (load: () => Promise<Adapter<RoiCaseData>>): AdapterEntry => ({ op: 'deform_roi_pool', load });

/** Adapter name -> loader. Loaded lazily: a worker only imports the runtime it runs. */
const ADAPTERS: Readonly<Record<string, AdapterEntry>> = {
  dcnv2: conv(async () => (await import('./adapters/dcnv2.js')).dcnv2Adapter),
  'ort-web': conv(async () => (await import('./adapters/ort-web.js')).ortWebAdapter),
  'ort-node': conv(async () => (await import('./adapters/ort-node.js')).ortNodeDeformAdapter),
  'dense-ort-node': conv(async () => (await import('./adapters/ort-node.js')).ortNodeDenseAdapter),
  'dense-tfjs-cpu': conv(async () => (await import('./adapters/tfjs-dense.js')).tfjsCpuAdapter),
  'dense-tfjs-wasm': conv(async () => (await import('./adapters/tfjs-dense.js')).tfjsWasmAdapter),
  'tfjs-dcnv2-cpu': conv(async () => (await import('./adapters/tfjs-dcnv2.js')).tfjsDcnv2CpuAdapter),
  'tfjs-dcnv2-wasm': conv(async () => (await import('./adapters/tfjs-dcnv2.js')).tfjsDcnv2WasmAdapter),
  'tfjs-nhwc-cpu': conv(async () => (await import('./adapters/tfjs-dcnv2.js')).tfjsNhwcCpuAdapter),
  'tfjs-nhwc-wasm': conv(async () => (await import('./adapters/tfjs-dcnv2.js')).tfjsNhwcWasmAdapter),
  'dcnv2-roi': roi(async () => (await import('./adapters/dcnv2-roi.js')).dcnv2RoiAdapter),
  'dcnv2-roi-plain': roi(async () => (await import('./adapters/dcnv2-roi.js')).dcnv2RoiPlainAdapter),
  'roialign-ort-node': roi(async () => (await import('./adapters/ort-roi-align.js')).ortNodeRoiAlignAdapter),
  'roialign-ort-web': roi(async () => (await import('./adapters/ort-roi-align.js')).ortWebRoiAlignAdapter),
};

/** Peak RSS: VmHWM where Linux's /proc has it (it follows `settleMemory`'s reset), else getrusage's maxRSS. */
function peakRssBytes(): number {
  try {
    const m = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m !== null) return Number(m[1]) * 1024;
  } catch {
    // no procfs
  }
  return process.resourceUsage().maxRSS * 1024;
}

export function memorySnapshot(): MemorySnapshot {
  return { rssBytes: process.memoryUsage.rss(), peakRssBytes: peakRssBytes(), wasmBytes: wasmMemoryBytes() };
}

/**
 * After setup: collect garbage (the coordinator starts workers with --expose-gc), let freed memory go back to
 * the system, then restart the peak-RSS count from the current RSS (Linux's `clear_refs` 5). The peak read
 * later is then the peak while the op runs, not a transient of decoding the case file.
 */
async function settleMemory(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc !== undefined) {
    gc();
    await sleep(20);
    gc();
  }
  try {
    writeFileSync('/proc/self/clear_refs', '5');
  } catch {
    // not Linux, or not allowed: the peak then covers the whole process life
  }
}

let runner: Runner | null = null;

function message(e: unknown): string {
  if (e instanceof Error) return e.stack ?? e.message;
  return String(e);
}

async function setup(req: SetupRequest): Promise<Reply> {
  const entry = ADAPTERS[req.adapter];
  if (entry === undefined) return { ok: false, error: `unknown adapter ${req.adapter}` };
  const file = readTensorFile<{ op: BenchOp }>(req.caseFile);
  if (file.meta.op !== entry.op) return { ok: false, error: `adapter ${req.adapter} runs ${entry.op}, the case file holds ${file.meta.op}` };
  const options = { threads: req.threads, direction: req.direction, module: req.module };
  runner =
    entry.op === 'deform_conv2d'
      ? await (await entry.load())(caseFromTensors(file.meta as CaseMeta, file.tensors), options)
      : await (await entry.load())(roiCaseFromTensors(file.meta as RoiCaseMeta, file.tensors), options);
  await settleMemory();
  const memory = memorySnapshot();
  return { ok: true, version: runner.version, threads: runner.threads, wasm: memory.wasmBytes !== null, memory };
}

async function handle(req: Request): Promise<Reply | null> {
  try {
    switch (req.op) {
      case 'setup':
        return await setup(req);
      case 'check': {
        if (runner === null) return { ok: false, error: 'check before setup' };
        const out = await runner.outputs();
        const entries: TensorEntry[] = [];
        for (const [name, t] of Object.entries(out)) if (t !== undefined) entries.push({ name, shape: t.shape, data: t.data });
        writeTensorFile(req.outFile, {}, entries);
        return { ok: true, tensors: entries.map((e) => e.name) };
      }
      case 'run': {
        if (runner === null) return { ok: false, error: 'run before setup' };
        const timesMs: number[] = [];
        for (let i = 0; i < req.count; i++) {
          const t0 = performance.now();
          await runner.run();
          timesMs.push(performance.now() - t0);
        }
        return { ok: true, timesMs };
      }
      case 'memory':
        return { ok: true, memory: memorySnapshot() };
      case 'exit':
        try {
          await runner?.dispose();
        } finally {
          // Runtimes with thread pools (onnxruntime-web's pthreads) would keep the process alive.
          process.exit(0);
        }
    }
  } catch (e) {
    if (e instanceof SkipError) return { ok: false, skip: e.message };
    return { ok: false, error: message(e) };
  }
  return { ok: false, error: `unknown request ${JSON.stringify(req)}` };
}

if (typeof process.send !== 'function') {
  process.stderr.write('dcnv2-bench worker: must be started by the bench coordinator (child_process.fork)\n');
  process.exit(2);
}

// Requests arrive one at a time (the coordinator waits for each reply), but chain them anyway so that replies
// can never overtake each other.
let chain: Promise<void> = Promise.resolve();
process.on('message', (req: Request) => {
  chain = chain.then(async () => {
    const reply = await handle(req);
    if (reply !== null) process.send!(reply);
  });
});
// The coordinator going away (crash, Ctrl-C) closes the channel: leave too.
process.on('disconnect', () => process.exit(0));
