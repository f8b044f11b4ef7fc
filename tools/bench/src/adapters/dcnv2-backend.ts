/**
 * Opens a dcnv2 backend for a worker, the same way for every op: loads the module that exports its
 * `dcnBackend` provider, creates the backend with the thread count being measured and initialises it, and
 * says what ran (package, version, the build the backend picked) and with how many threads.
 */
import { pathToFileURL } from 'node:url';
import { hasKernel, type Backend, type BackendProvider, type HostTensor as CoreHostTensor } from '@dcnv2/core';
import { packageAbove } from '../package-info.js';
import type { Direction } from '../shapes.js';
import { SkipError, type CheckTensorName, type HostTensor, type Runner } from './types.js';

export interface OpenBackend {
  readonly backend: Backend;
  /** The provider's name: `cpu`. */
  readonly name: string;
  /** `@dcnv2/backend-wasm 0.1.0 (relaxed-simd)`. */
  readonly version: string;
  /** Threads it actually uses. */
  readonly threads: number;
}

function isProvider(p: unknown): p is BackendProvider {
  return typeof p === 'object' && p !== null && typeof (p as BackendProvider).create === 'function';
}

async function createBackend(provider: BackendProvider, options?: unknown): Promise<Backend> {
  const backend = await provider.create(options);
  await backend.init();
  return backend;
}

export async function openDcnv2Backend(module: string | undefined, threads: number): Promise<OpenBackend> {
  if (module === undefined) throw new Error('dcnv2 adapter: no backend module given');
  const mod = (await import(pathToFileURL(module).href)) as { dcnBackend?: unknown; default?: { dcnBackend?: unknown } };
  const provider = mod.dcnBackend ?? mod.default?.dcnBackend;
  if (!isProvider(provider)) throw new Error(`${module} does not export dcnBackend, a BackendProvider { name, create() }`);
  const pkg = packageAbove(module);

  // Ask for the thread count explicitly (the BackendProvider convention is `create({ threads })`): a backend's
  // default may be every core, which would make a "1 thread" row use them all. A backend that rejects the
  // option is created with its defaults; then only a single-threaded one can be reported truthfully.
  let backend: Backend;
  let used: number;
  try {
    backend = await createBackend(provider, { threads });
    // A backend that can use fewer threads than asked (cpu: 1) reports that in its capabilities.
    used = Math.max(1, Math.min(threads, backend.capabilities.threads));
  } catch (first) {
    try {
      backend = await createBackend(provider);
    } catch {
      throw new SkipError(`backend ${provider.name} failed to initialise here: ${first instanceof Error ? first.message : String(first)}`);
    }
    used = Math.max(1, backend.capabilities.threads);
    if (used !== 1 && used !== threads) {
      await backend.dispose();
      throw new SkipError(`backend ${provider.name} rejects { threads: ${threads} } and runs with up to ${used} threads by default`);
    }
  }
  // Some backends say which build they picked (the wasm backend: simd or relaxed-simd); worth stating.
  const info = (backend as { info?: { variant?: unknown; adapter?: { software?: unknown } | null } }).info;
  // A GPU backend on a CPU rasteriser (SwiftShader, lavapipe) is correct but its timings describe the
  // emulator, not a GPU: such rows would mislead a table of GPU and CPU figures, so they are skipped unless
  // asked for (the agreement check still runs in the conformance suite).
  if (info?.adapter?.software === true && process.env.DCNV2_BENCH_SOFTWARE_GPU !== '1') {
    await backend.dispose();
    throw new SkipError(`backend ${provider.name} runs on a software adapter (${String(info.variant)}): its times say nothing about a GPU (DCNV2_BENCH_SOFTWARE_GPU=1 times it anyway)`);
  }
  const variant = typeof info === 'object' && info !== null && typeof info.variant === 'string' ? ` (${info.variant})` : '';
  return { backend, name: provider.name, version: `${pkg?.name ?? provider.name} ${pkg?.version ?? '?'}${variant}`, threads: used };
}

/** Skips the case (`SkipError(reason)`, the backend disposed) unless the opened backend `has` what it needs. */
export async function requireCapability(open: OpenBackend, has: boolean, reason: string): Promise<void> {
  if (has) return;
  await open.backend.dispose();
  throw new SkipError(reason);
}

/**
 * Skips the case unless the backend has `op`'s kernels the case times: its forward, and its backward
 * where `direction` needs one (derived from the backend's kernels, by op and direction).
 */
export async function requireKernels(open: OpenBackend, op: string, direction: Direction): Promise<void> {
  await requireCapability(open, hasKernel(open.backend, op, 'forward'), `backend ${open.name} has no ${op} forward kernel`);
  await requireCapability(open, direction !== 'fwdbwd' || hasKernel(open.backend, op, 'backward'), `backend ${open.name} has no ${op} backward kernel`);
}

/**
 * The runner of an opened dcnv2 backend: `once` calls the op through core (forward, or forward + backward)
 * and returns what it computed; `run` times it, `outputs` hands its tensors to the agreement check.
 */
export function dcnv2Runner(open: OpenBackend, once: () => Promise<Partial<Record<CheckTensorName, CoreHostTensor>>>): Runner {
  return {
    version: open.version,
    threads: open.threads,
    async run() {
      await once();
    },
    async outputs() {
      const r = await once();
      const out: Partial<Record<CheckTensorName, HostTensor>> = {};
      for (const [k, v] of Object.entries(r)) if (v !== undefined) out[k as CheckTensorName] = v;
      return out;
    },
    async dispose() {
      await open.backend.dispose();
    },
  };
}
