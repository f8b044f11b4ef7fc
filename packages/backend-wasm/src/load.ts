/**
 * Fetching and compiling a kernel build, with failures that say what went wrong: the URL, the HTTP status,
 * a response that is not WebAssembly (a server's HTML page for a missing file), a compile error.
 */
import { BackendError } from '@dcnv2/core';
import { importNode, isNode } from './env.js';

const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];

/** What to do when a default location fails: the note of the error. */
const OVERRIDE_HINT = 'if your bundler does not copy dist/wasm/, serve those files and set options.wasmPaths or wasmEnv.wasmPaths';

function describeError(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const code = (e as { code?: unknown }).code;
  return `${e.name}${typeof code === 'string' ? ` [${code}]` : ''}: ${e.message}`;
}

function preview(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes.subarray(0, 32)) s += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.';
  return s;
}

/**
 * Compiles the kernel build `file` from `url`. `argument` is where the URL came from (`options.wasmPaths`,
 * ...; null: the shipped location). Node reads file: URLs from disk; anything else is fetched, streamed
 * into the compiler when served as application/wasm, else read whole (compileStreaming refuses other MIME
 * types). Failures are BackendErrors naming the URL, with the underlying error as `cause`.
 */
export async function compileKernel(url: URL, file: string, argument: string | null): Promise<WebAssembly.Module> {
  const fail = (actual: string, cause?: unknown): BackendError => {
    const e = new BackendError({ argument: argument ?? 'backend', expected: `the kernel build ${file} at ${url.href}`, actual }, argument === null ? OVERRIDE_HINT : undefined);
    if (cause !== undefined) e.cause = cause;
    return e;
  };
  let bytes: Uint8Array<ArrayBuffer>;
  let served = '';
  if (isNode && url.protocol === 'file:') {
    const fs = await importNode<{ readFile(p: URL): Promise<Uint8Array<ArrayBuffer>> }>('fs/promises');
    try {
      bytes = await fs.readFile(url);
    } catch (e) {
      throw fail(`a file that cannot be read (${describeError(e)})`, e);
    }
  } else {
    let res: Response;
    try {
      res = await fetch(url);
    } catch (e) {
      throw fail(`a failed fetch (${describeError(e)}: a network error, or a cross-origin URL served without CORS headers)`, e);
    }
    if (!res.ok) throw fail(`HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`);
    const type = res.headers.get('content-type') ?? '';
    served = type === '' ? ', served without a content type' : `, served as ${type}`;
    if (/^\s*application\/wasm\s*(;|$)/i.test(type) && typeof WebAssembly.compileStreaming === 'function') {
      try {
        return await WebAssembly.compileStreaming(res);
      } catch (e) {
        throw fail(`a module that does not compile (${describeError(e)})`, e);
      }
    }
    try {
      bytes = new Uint8Array(await res.arrayBuffer());
    } catch (e) {
      throw fail(`a response whose body could not be read (${describeError(e)})`, e);
    }
  }
  if (bytes.length < 8 || WASM_MAGIC.some((b, i) => bytes[i] !== b)) {
    throw fail(`${bytes.length} bytes that are not WebAssembly${served} (they start with ${JSON.stringify(preview(bytes))}): the server may have answered a missing file with a page`);
  }
  try {
    return await WebAssembly.compile(bytes);
  } catch (e) {
    throw fail(`a module that does not compile (${describeError(e)})`, e);
  }
}
