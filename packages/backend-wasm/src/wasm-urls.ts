/**
 * Where the shipped files are. The kernel builds are written as `new URL('./wasm/….wasm', import.meta.url)`
 * and the browser's worker as `new Worker(new URL('./worker.js', import.meta.url), { type: 'module' })`, in
 * one expression: the shapes Vite, webpack 5 and Parcel recognise, copy (the .wasm) and bundle (the worker,
 * a self-contained module built by scripts/build-worker.mjs). esbuild leaves them as they are, so they
 * point next to its bundle (see the README). Overrides (`wasmPaths`, `workerUrl`) are in wasm-paths.ts.
 */
export type KernelVariant = 'simd' | 'relaxed';

/** The four kernel builds in dist/wasm/, by file name: the keys of a per-file `wasmPaths`. */
export const WASM_FILES = ['dcn-simd.wasm', 'dcn-relaxed.wasm', 'dcn-simd-mt.wasm', 'dcn-relaxed-mt.wasm'] as const;
export type WasmFileName = (typeof WASM_FILES)[number];

export function kernelFile(variant: KernelVariant, threaded: boolean): WasmFileName {
  return `dcn-${variant}${threaded ? '-mt' : ''}.wasm`;
}

/** The shipped build's URL, as the bundler (or, unbundled, this module's location) gives it. */
export function kernelUrl(variant: KernelVariant, threaded: boolean): URL {
  if (variant === 'relaxed') {
    return threaded ? new URL('./wasm/dcn-relaxed-mt.wasm', import.meta.url) : new URL('./wasm/dcn-relaxed.wasm', import.meta.url);
  }
  return threaded ? new URL('./wasm/dcn-simd-mt.wasm', import.meta.url) : new URL('./wasm/dcn-simd.wasm', import.meta.url);
}

/**
 * dist/worker.js next to this module, for Node (worker_threads) and for messages. Deliberately not the
 * literal `new URL('./worker.js', …)`: bundlers would copy worker.js a second time, as a raw asset, for a
 * URL the browser never loads (webpack then runs terser over that copy); and marked for webpack to leave it.
 */
const WORKER_FILE = ['.', 'worker.js'].join('/');
export function workerUrl(): URL {
  return new URL(/* webpackIgnore: true */ /* @vite-ignore */ WORKER_FILE, import.meta.url);
}

/** The part of a browser Worker the pool uses (declared here, so that no DOM type reaches the declarations). */
export interface BrowserWorker {
  postMessage(m: unknown): void;
  onmessage: ((e: { readonly data: unknown }) => void) | null;
  onerror: ((e: { readonly message?: string }) => void) | null;
  terminate(): void;
}

type WorkerCtor = new (url: string | URL, options?: { type?: 'module' | 'classic'; name?: string }) => BrowserWorker;

/**
 * Starts the shipped worker in a browser, written exactly as bundlers want it, and returns the URL the
 * worker was really given (a bundler rewrites the `new URL(…)` inside; the URL is needed to explain a failed
 * start). To see it, `Worker` is wrapped for the duration of this one synchronous call and put back.
 */
export function spawnShippedWorker(): { worker: BrowserWorker; url: string } {
  const g = globalThis as unknown as { Worker: WorkerCtor };
  const Native = g.Worker;
  let seen = '';
  let swapped = false;
  try {
    g.Worker = class extends Native {
      constructor(u: string | URL, o?: { type?: 'module' | 'classic'; name?: string }) {
        seen = String(u);
        super(u, o);
      }
    };
    swapped = g.Worker !== Native;
  } catch {
    // a read-only Worker: start it all the same; messages then name the unbundled location
  }
  try {
    const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' }) as unknown as BrowserWorker;
    return { worker, url: seen || workerUrl().href };
  } finally {
    if (swapped) g.Worker = Native;
  }
}
