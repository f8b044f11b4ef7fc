/**
 * The worker pool: `size` workers created once (at init) over the backend's shared memory, each with its
 * own stack. A run posts the job to every worker, the calling thread takes chunks too, and the run settles
 * when every worker has reported. In Node the workers are unref'd while idle, so an idle pool never keeps
 * the process alive, and `close()` terminates them.
 *
 * Failures never leave a run pending: a run settles only when each of its workers has answered, failed or
 * died (so no worker still writes into a call's memory when its promise settles and the memory is reused);
 * a worker that dies (an uncaught error, an exit, a failed load) fails the run it was part of with a
 * BackendError carrying the cause, and every later run at once, as its chunks could no longer be taken;
 * `close(reason)` fails runs in flight with `reason`.
 *
 * Blocking mode (blocking-run.ts) uses the same workers without this bookkeeping: `postBlocking` leaves
 * nothing pending, and its workers report in the completion block rather than by message.
 */
import { BackendError } from '@dcnv2/core';
import { isNode, importNode } from './env.js';
import type { FromWorker, RunMessage, ToWorker } from './protocol.js';
import type { Located } from './wasm-paths.js';
import { spawnShippedWorker, workerUrl, type BrowserWorker } from './wasm-urls.js';

interface AnyWorker {
  /** The script the worker was started from (as the bundler rewrote it, for the shipped one). */
  readonly url: string;
  post(m: ToWorker): void;
  onMessage(h: (m: FromWorker) => void): void;
  /**
   * A failure after which the worker no longer runs anything (Node: an uncaught error or an exit; a
   * browser: an `error` event). Before the worker's first answer the cause says why it did not start.
   */
  onDeath(h: (cause: Error) => void): void;
  ref(): void;
  unref(): void;
  terminate(): Promise<unknown> | void;
}

function describeError(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const code = (e as { code?: unknown }).code;
  return `${e.name}${typeof code === 'string' ? ` [${code}]` : ''}: ${e.message}`;
}

/** A relative static import or re-export (`import … from './x.js'`, `import './x.js'`): an unbundled worker. */
const RELATIVE_IMPORT = /(?:^|[\s;])(?:import|export)\s*(?:[^'";]*?\bfrom\s*)?['"](\.{1,2}\/[^'"]+)['"]/m;

/**
 * Why a browser worker did not start, found out by fetching its script the way the worker did: a network
 * or CORS failure, an HTTP error status, a non-JavaScript MIME type, missing COEP on an isolated page (only
 * when the response really lacks it), relative imports left in it, or else an error while it ran.
 */
export async function diagnoseWorkerScript(url: string, message: string | undefined): Promise<string> {
  const g = globalThis as { crossOriginIsolated?: boolean; location?: { origin?: string } };
  const isolated = g.crossOriginIsolated === true;
  let crossOrigin = false;
  try {
    const u = new URL(url, g.location?.origin);
    crossOrigin = (u.protocol === 'http:' || u.protocol === 'https:') && g.location?.origin !== undefined && u.origin !== g.location.origin;
  } catch {
    // an unparsable URL: the fetch below says so
  }
  const said = message ? `; the worker reported: ${message}` : '';
  let res: Response;
  try {
    res = await fetch(url, { cache: 'no-store' });
  } catch (e) {
    const cors = crossOrigin ? ' (a cross-origin worker script must be served with CORS, Access-Control-Allow-Origin)' : '';
    return `fetching it failed: ${describeError(e)}${cors}${said}`;
  }
  if (!res.ok) return `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}${said}`;
  const type = res.headers.get('content-type') ?? '';
  if (!/(java|ecma)script/i.test(type)) {
    return `it is served as ${type === '' ? 'no content type' : type}, not JavaScript (a module worker needs a JavaScript MIME type: text/javascript)${said}`;
  }
  const loaded = `it loads (HTTP ${res.status}, ${type})`;
  if (isolated) {
    const coep = res.headers.get('cross-origin-embedder-policy') ?? '';
    if (!/require-corp|credentialless/i.test(coep) && !url.startsWith('blob:') && !url.startsWith('data:')) {
      return `${loaded} but without a Cross-Origin-Embedder-Policy header, and this page is cross-origin isolated: serve the worker script with Cross-Origin-Embedder-Policy: require-corp (or credentialless) too${said}`;
    }
    if (crossOrigin && res.headers.get('cross-origin-resource-policy') === null && res.headers.get('access-control-allow-origin') === null) {
      return `${loaded} from another origin without Cross-Origin-Resource-Policy or CORS headers, which a cross-origin-isolated page requires${said}`;
    }
  }
  let text = '';
  try {
    text = await res.text();
  } catch {
    // the status and type are known; the body does not matter much
  }
  const rel = RELATIVE_IMPORT.exec(text);
  if (rel !== null) {
    return `${loaded} but imports ${rel[1]} (an unbundled worker.js; the package's dist/worker.js imports nothing), which failed to load or run${said}`;
  }
  return `${loaded} but failed while it started${message ? `: ${message}` : ' (see the worker\'s console)'}`;
}

/** A module worker for a script of another origin: a same-origin blob module that imports it (CORS needed). */
function crossOriginWorker(url: URL): BrowserWorker {
  const blob = new Blob([`import ${JSON.stringify(url.href)};\n`], { type: 'text/javascript' });
  return new Worker(URL.createObjectURL(blob), { type: 'module' }) as unknown as BrowserWorker;
}

/** Starts a worker on `target` (null: the shipped dist/worker.js, found as the bundler placed it). */
async function spawn(target: URL | null): Promise<AnyWorker> {
  if (isNode) {
    const url = target ?? workerUrl();
    const wt = await importNode<{ Worker: new (u: URL) => {
      postMessage(m: unknown): void; on(e: string, h: (x: never) => void): void; ref(): void; unref(): void; terminate(): Promise<number>;
    } }>('worker_threads');
    const w = new wt.Worker(url);
    return {
      url: url.href,
      post: (m) => w.postMessage(m),
      onMessage: (h) => w.on('message', h as (x: never) => void),
      onDeath: (h) => {
        w.on('error', ((e: unknown) => {
          const err = new Error(describeError(e));
          err.cause = e;
          h(err);
        }) as (x: never) => void);
        w.on('exit', ((code: number) => h(new Error(`the worker thread exited with code ${code}`))) as (x: never) => void);
      },
      ref: () => w.ref(),
      unref: () => w.unref(),
      terminate: () => w.terminate(),
    };
  }
  let w: BrowserWorker;
  let url: string;
  if (target === null) {
    ({ worker: w, url } = spawnShippedWorker());
  } else {
    url = target.href;
    const origin = (globalThis as { location?: { origin?: string } }).location?.origin;
    const remote = (target.protocol === 'http:' || target.protocol === 'https:') && origin !== undefined && target.origin !== origin;
    w = remote ? crossOriginWorker(target) : (new Worker(target, { type: 'module' }) as unknown as BrowserWorker);
  }
  let heard = false;
  return {
    url,
    post: (m) => w.postMessage(m),
    onMessage: (h) => {
      w.onmessage = (e) => {
        heard = true;
        h(e.data as FromWorker);
      };
    },
    onDeath: (h) => {
      w.onerror = (e) => {
        const msg = e?.message || undefined;
        if (heard) h(new Error(msg ? `the worker failed: ${msg}` : 'the worker failed'));
        else void diagnoseWorkerScript(url, msg).then((why) => h(new Error(why)), (x: unknown) => h(new Error(`${describeError(x)}${msg ? `; the worker reported: ${msg}` : ''}`)));
      };
    },
    ref: () => {},
    unref: () => {},
    terminate: () => w.terminate(),
  };
}

/** A BackendError that keeps what went wrong as its `cause`. */
export function backendFailure(actual: string, cause: unknown, expected = 'its worker threads running'): BackendError {
  const e = new BackendError({ argument: 'backend', expected, actual });
  e.cause = cause;
  return e;
}

interface Pending {
  resolve: (m: FromWorker) => void;
  reject: (e: unknown) => void;
}

export class WorkerPool {
  #workers: AnyWorker[] = [];
  #pending: Array<Pending | null> = [];
  /** Why the pool no longer runs anything: closed (the backend was disposed) or a worker died. */
  #failed: Error | null = null;
  #closed = false;
  /** Whether each worker has answered once (its `ready`): a death before that is a failed start. */
  #started: boolean[] = [];
  #chunks = 0;
  /** The argument that chose the worker script (`options.workerUrl`, ...), null: the shipped one. */
  #argument: string | null = null;

  get size(): number {
    return this.#workers.length;
  }

  /** The script the workers run (null before any was started). */
  get url(): string | null {
    return this.#workers[0]?.url ?? null;
  }

  /** Chunks the workers (not the calling thread) have run since they started: proof that threads computed. */
  get workerChunks(): number {
    return this.#chunks;
  }

  /**
   * Creates `count` workers and initialises each on `memory` with the stack whose top is stackTops[i].
   * `target` is the worker script given by `options.workerUrl` / `wasmEnv.workerUrl` (null: the shipped
   * one). A worker that does not start fails this with a BackendError that names its URL and the cause.
   */
  static async create(
    count: number,
    module: WebAssembly.Module,
    memory: WebAssembly.Memory,
    stackTops: readonly number[],
    target: Located | null = null,
    completion: SharedArrayBuffer | null = null,
  ): Promise<WorkerPool> {
    const pool = new WorkerPool();
    pool.#argument = target?.argument ?? null;
    try {
      for (let i = 0; i < count; i++) {
        let w: AnyWorker;
        try {
          w = await spawn(target?.url ?? null);
        } catch (e) {
          throw pool.#startFailure(i, target?.url.href ?? 'dist/worker.js', new Error(describeError(e), { cause: e }));
        }
        const idx = pool.#workers.length;
        pool.#workers.push(w);
        pool.#pending.push(null);
        pool.#started.push(false);
        w.onMessage((m) => pool.#answer(idx, m));
        w.onDeath((cause) => pool.#death(idx, cause));
      }
      const ready = await Promise.allSettled(pool.#workers.map((w, i) => pool.#send(i, { type: 'init', module, memory, stackTop: stackTops[i], ...(completion === null ? {} : { completion }) })));
      const bad = ready.find((r) => r.status === 'rejected');
      if (bad !== undefined) throw (bad as PromiseRejectedResult).reason;
    } catch (e) {
      await pool.close();
      throw e;
    }
    for (const w of pool.#workers) w.unref();
    return pool;
  }

  /** A worker that never answered: what its script was and why it did not start. */
  #startFailure(i: number, url: string, cause: Error): BackendError {
    const missing = /HTTP 404|fetching it failed|MODULE_NOT_FOUND|Cannot find module|imports \.\.?\//.test(cause.message);
    const hint = this.#argument === null && missing ? 'if your bundler does not copy dist/worker.js, serve it and set options.workerUrl or wasmEnv.workerUrl' : undefined;
    const e = new BackendError({ argument: this.#argument ?? 'backend', expected: `worker ${i + 1} started from ${url}`, actual: `a worker that did not start: ${cause.message}` }, hint);
    e.cause = cause;
    return e;
  }

  #settle(i: number, m: FromWorker | null, err: unknown): void {
    const p = this.#pending[i];
    if (p === null || p === undefined) return;
    this.#pending[i] = null;
    if (err !== null) p.reject(err);
    else p.resolve(m!);
  }

  #answer(i: number, m: FromWorker): void {
    this.#started[i] = true;
    if (m.type === 'done') this.#chunks += m.chunks;
    if (m.type === 'error') {
      // The kernel trapped or threw: the worker caught it and is still usable; the run is not.
      const cause = new Error(m.message);
      this.#settle(i, null, backendFailure(`worker ${i + 1} failed in the kernels: ${m.message}`, cause, 'kernels that run to completion'));
    } else {
      this.#settle(i, m, null);
    }
  }

  #death(i: number, cause: Error): void {
    if (this.#closed) return; // our own terminate()
    if (!this.#started[i]) {
      const err = this.#startFailure(i, this.#workers[i]?.url ?? '?', cause);
      this.#failed ??= err;
      this.#settle(i, null, err);
      return;
    }
    const err = backendFailure(`worker ${i + 1} died (${cause.message}); dispose this backend and create a new one`, cause);
    this.#failed ??= err;
    this.#settle(i, null, err);
  }

  #send(i: number, m: ToWorker): Promise<FromWorker> {
    return new Promise((resolve, reject) => {
      this.#pending[i] = { resolve, reject };
      this.#workers[i].post(m);
    });
  }

  /**
   * Starts `run` on the first `n` workers (each with its own job/workspace from `perWorker`) and returns
   * the promise of their completion. The caller works on the same counter meanwhile. The promise settles
   * once every one of the n workers has answered or died; it rejects with the first failure.
   */
  start(n: number, perWorker: (i: number) => RunMessage): Promise<void> {
    if (this.#failed !== null) return Promise.reject(this.#failed);
    const ws = this.#workers.slice(0, n);
    for (const w of ws) w.ref();
    const all = ws.map((_, i) => this.#send(i, perWorker(i)));
    return Promise.allSettled(all).then((rs) => {
      for (const w of ws) w.unref();
      const bad = rs.find((r) => r.status === 'rejected');
      if (bad !== undefined) throw (bad as PromiseRejectedResult).reason;
    });
  }

  /** Why the pool no longer runs anything (a worker died, or it was closed); null while it works. */
  get failure(): Error | null {
    return this.#failed;
  }

  /**
   * Blocking mode: posts a run marked `blocking` to worker `i`, with nothing pending on its answer: the worker
   * reports in the completion block (completion.ts), never by message, so no late 'done' can reach the
   * bookkeeping of a later run. The worker stays unref'd (the caller blocks until it is done anyway).
   */
  postBlocking(i: number, m: RunMessage): void {
    if (this.#failed !== null) throw this.#failed;
    this.#workers[i].post(m);
  }

  /** Terminates the workers; runs in flight (and any later one) reject with `reason`. */
  async close(reason: Error = new Error('worker pool closed')): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#failed = reason;
    const ws = this.#workers;
    this.#workers = [];
    for (let i = 0; i < this.#pending.length; i++) this.#settle(i, null, reason);
    await Promise.all(ws.map((w) => w.terminate()));
  }
}
