/**
 * Explicit locations of the shipped files, for set-ups where the bundler does not copy them (esbuild, a
 * CDN, a server that keeps them elsewhere), in the spirit of onnxruntime-web's `env.wasm.wasmPaths`:
 *
 * - `wasmPaths`: a folder (string or URL; a trailing `/` is added) that holds the `dcn-*.wasm` builds, or
 *   an object giving some of the four files their own URL (the others keep the default location);
 * - `workerUrl`: where `worker.js` (dist/worker.js, self-contained) is served.
 *
 * Per backend (`createWasmBackend({ wasmPaths, workerUrl })`) or for every backend created afterwards
 * (`wasmEnv.wasmPaths = …`, `wasmEnv.workerUrl = …`, `setWasmPaths(…)`); a backend's own option wins.
 * Strings are URLs resolved against the page (`document.baseURI`); in Node they may also be file-system
 * paths (relative ones against the current directory). Checked when set (ParamError naming the argument).
 */
import { ParamError } from '@dcnv2/core';
import { importNode, isNode } from './env.js';
import { WASM_FILES, type WasmFileName } from './wasm-urls.js';

export type UrlLike = string | URL;

/** A folder holding the `.wasm` builds, or per-file URLs (files left out keep their default location). */
export type WasmPaths = UrlLike | { readonly [K in WasmFileName]?: UrlLike };

const FILES_TEXT = WASM_FILES.map((f) => `"${f}"`).join(', ');
const PATHS_EXPECTED = `a URL or string naming the folder of the .wasm builds, or an object mapping some of ${FILES_TEXT} to URLs`;
const URL_EXPECTED = isNode ? 'a URL, a URL string or a file path' : 'a URL or URL string';

/** A WHATWG URL (also one of another realm). */
function isUrl(v: unknown): v is URL {
  return v instanceof URL || Object.prototype.toString.call(v) === '[object URL]';
}

/** The base relative URL strings resolve against: the page's (or worker's) location; none in Node. */
function baseUrl(): string | undefined {
  const g = globalThis as { document?: { baseURI?: string }; location?: { href?: string } };
  return g.document?.baseURI ?? g.location?.href;
}

/** Has a URL scheme (two letters at least, so that a Windows drive `C:` stays a path). */
function hasScheme(s: string): boolean {
  return /^[a-zA-Z][a-zA-Z0-9+.-]+:/.test(s);
}

function checkUrlLike(v: unknown, argument: string, expected: string): UrlLike {
  if (isUrl(v)) return v;
  if (typeof v !== 'string' || v.trim() === '') throw new ParamError({ argument, expected, actual: v });
  if (!(isNode && !hasScheme(v))) {
    try {
      new URL(v, baseUrl());
    } catch {
      throw new ParamError({ argument, expected, actual: v }, isNode ? 'not a valid URL' : 'not a valid URL, absolute or relative to the page');
    }
  }
  return v;
}

/** `v` checked as a `wasmPaths` value (undefined and null: none); ParamError naming `argument` otherwise. */
export function checkWasmPaths(v: unknown, argument: string): WasmPaths | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string' || isUrl(v)) return checkUrlLike(v, argument, PATHS_EXPECTED);
  const proto = typeof v === 'object' ? Object.getPrototypeOf(v) : undefined;
  if (typeof v !== 'object' || (proto !== Object.prototype && proto !== null)) throw new ParamError({ argument, expected: PATHS_EXPECTED, actual: v });
  const out: { [K in WasmFileName]?: UrlLike } = {};
  for (const [k, u] of Object.entries(v as Record<string, unknown>)) {
    if (!(WASM_FILES as readonly string[]).includes(k)) {
      throw new ParamError({ argument, expected: `an object whose keys are among ${FILES_TEXT}`, actual: `the key ${JSON.stringify(k)}` });
    }
    if (u === undefined) continue;
    out[k as WasmFileName] = checkUrlLike(u, `${argument}[${JSON.stringify(k)}]`, `${URL_EXPECTED} (where ${k} is served)`);
  }
  return Object.freeze(out);
}

/** `v` checked as a `workerUrl` value (undefined and null: none); ParamError naming `argument` otherwise. */
export function checkWorkerUrl(v: unknown, argument: string): UrlLike | undefined {
  if (v === undefined || v === null) return undefined;
  return checkUrlLike(v, argument, `${URL_EXPECTED} (where dist/worker.js is served)`);
}

let envWasmPaths: WasmPaths | undefined;
let envWorkerUrl: UrlLike | undefined;

/**
 * Module-wide locations, used by every backend whose options do not say otherwise (set them before
 * `init()`). Assigning checks the value (ParamError); `undefined` goes back to the default locations.
 */
export const wasmEnv: { wasmPaths: WasmPaths | undefined; workerUrl: UrlLike | undefined } = Object.seal({
  get wasmPaths(): WasmPaths | undefined {
    return envWasmPaths;
  },
  set wasmPaths(v: WasmPaths | undefined) {
    envWasmPaths = checkWasmPaths(v, 'wasmEnv.wasmPaths');
  },
  get workerUrl(): UrlLike | undefined {
    return envWorkerUrl;
  },
  set workerUrl(v: UrlLike | undefined) {
    envWorkerUrl = checkWorkerUrl(v, 'wasmEnv.workerUrl');
  },
});

/** The same as `wasmEnv.wasmPaths = paths` (null or undefined: the default locations). */
export function setWasmPaths(paths: WasmPaths | null | undefined): void {
  wasmEnv.wasmPaths = paths ?? undefined;
}

/** `v` as an absolute URL: URLs as they are, strings against the page, or in Node file paths against the cwd. */
async function toUrl(v: UrlLike, folder: boolean): Promise<URL> {
  let u: URL;
  if (isUrl(v)) {
    u = new URL(v.href);
  } else if (isNode && !hasScheme(v)) {
    const { pathToFileURL } = await importNode<{ pathToFileURL(p: string): URL }>('url');
    u = pathToFileURL(v);
  } else {
    u = new URL(v, baseUrl());
  }
  if (folder && !u.pathname.endsWith('/')) u.pathname += '/';
  return u;
}

/** Where a location came from, for error messages: the argument that set it, or null for the default. */
export interface Located {
  readonly url: URL;
  readonly argument: string | null;
}

/**
 * The URL of kernel build `file`: per-file entry, else folder + file, from `option` (argument
 * `options.wasmPaths`) or else `wasmEnv.wasmPaths`; null when neither says (the shipped location).
 */
export async function overriddenKernelUrl(file: WasmFileName, option: WasmPaths | undefined): Promise<Located | null> {
  const [paths, argument] = option !== undefined ? [option, 'options.wasmPaths'] : [envWasmPaths, 'wasmEnv.wasmPaths'];
  if (paths === undefined) return null;
  if (typeof paths === 'string' || isUrl(paths)) return { url: new URL(file, await toUrl(paths, true)), argument };
  const one = (paths as { readonly [K in WasmFileName]?: UrlLike })[file];
  return one === undefined ? null : { url: await toUrl(one, false), argument: `${argument}[${JSON.stringify(file)}]` };
}

/**
 * The worker script's URL from `option` (argument `options.workerUrl`) or else `wasmEnv.workerUrl`; null
 * when neither says (the shipped worker). In Node it must be a local file (worker_threads load nothing
 * else): ParamError otherwise.
 */
export async function overriddenWorkerUrl(option: UrlLike | undefined): Promise<Located | null> {
  const [v, argument] = option !== undefined ? [option, 'options.workerUrl'] : [envWorkerUrl, 'wasmEnv.workerUrl'];
  if (v === undefined) return null;
  const url = await toUrl(v, false);
  if (isNode && url.protocol !== 'file:' && url.protocol !== 'data:') {
    throw new ParamError({ argument, expected: 'a file: URL or a file path (Node\'s worker threads load local files only)', actual: url.href });
  }
  return { url, argument };
}
