/// <reference types="node" />
/**
 * Loading onnxruntime-web once per process, with its wasm runtime pointed at the files shipped in
 * `node_modules/onnxruntime-web/dist` (nothing is fetched from the network).
 *
 * A module of its own, never re-exported by the package index: onnxruntime-web is an optional dependency, so
 * its types must not appear in any declaration a consumer's `tsc` reaches (with `skipLibCheck: false` a
 * consumer without onnxruntime-web would fail to type-check @dcnv2/conformance).
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

export type Ort = typeof import('onnxruntime-web');

let ortPromise: Promise<Ort> | null = null;
let ortThreads: number | null = null;

export function checkThreads(threads: number): number {
  if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`threads must be a positive integer, got ${threads}`);
  return threads;
}

/** Directory holding onnxruntime-web's `.mjs`/`.wasm` runtime files. */
function ortDistDir(): string {
  const require = createRequire(import.meta.url);
  // The package's "node" + "require" export is dist/ort.node.min.js, next to the wasm files.
  return dirname(require.resolve('onnxruntime-web'));
}

async function importOrt(threads: number): Promise<Ort> {
  const ort: Ort = await import('onnxruntime-web');
  const dist = ortDistDir();
  const mjs = join(dist, 'ort-wasm-simd-threaded.mjs');
  const wasm = join(dist, 'ort-wasm-simd-threaded.wasm');
  const wasmBinary = new Uint8Array(await readFile(wasm));
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.proxy = false;
  ort.env.wasm.wasmPaths = { mjs: pathToFileURL(mjs), wasm: pathToFileURL(wasm) };
  ort.env.wasm.wasmBinary = wasmBinary;
  ort.env.logLevel = 'error';
  return ort;
}

/** onnxruntime-web, loaded once per process (shared by the DeformConv and RoiAlign runners). */
export function loadOrt(threads: number): Promise<Ort> {
  if (ortThreads !== null && ortThreads !== threads) {
    return Promise.reject(
      new Error(`onnxruntime-web is already initialised with ${ortThreads} thread(s) in this process; cannot switch to ${threads}`),
    );
  }
  if (ortPromise === null) {
    ortThreads = threads;
    ortPromise = importOrt(threads);
    // A failed load may be retried (e.g. after fixing the install); a successful one is kept.
    ortPromise.catch(() => {
      ortPromise = null;
      ortThreads = null;
    });
  }
  return ortPromise;
}

/** The thread count onnxruntime-web was initialised with in this process, or null before the first load. */
export function ortThreadCount(): number | null {
  return ortThreads;
}
