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
 */
import { BackendError } from '@dcnv2/core';
import { isNode, importNode } from './env.js';
import type { FromWorker, RunMessage, ToWorker } from './protocol.js';
import { workerUrl } from './wasm-urls.js';

interface AnyWorker {
  post(m: ToWorker): void;
  onMessage(h: (m: FromWorker) => void): void;
  /** A failure after which the worker no longer runs anything (Node: an uncaught error or an exit). */
  onDeath(h: (cause: Error) => void): void;
  ref(): void;
  unref(): void;
  terminate(): Promise<unknown> | void;
}

async function spawn(): Promise<AnyWorker> {
  const url = workerUrl();
  if (isNode) {
    const wt = await importNode<{ Worker: new (u: URL) => {
      postMessage(m: unknown): void; on(e: string, h: (x: never) => void): void; ref(): void; unref(): void; terminate(): Promise<number>;
    } }>('worker_threads');
    const w = new wt.Worker(url);
    return {
      post: (m) => w.postMessage(m),
      onMessage: (h) => w.on('message', h as (x: never) => void),
      onDeath: (h) => {
        w.on('error', ((e: unknown) => h(e instanceof Error ? e : new Error(String(e)))) as (x: never) => void);
        w.on('exit', ((code: number) => h(new Error(`the worker thread exited with code ${code}`))) as (x: never) => void);
      },
      ref: () => w.ref(),
      unref: () => w.unref(),
      terminate: () => w.terminate(),
    };
  }
  const W = (globalThis as unknown as { Worker: new (u: URL, o: { type: 'module' }) => {
    postMessage(m: unknown): void; onmessage: ((e: { data: FromWorker }) => void) | null; onerror: ((e: unknown) => void) | null; terminate(): void;
  } }).Worker;
  const w = new W(url, { type: 'module' });
  return {
    post: (m) => w.postMessage(m),
    onMessage: (h) => { w.onmessage = (e) => h(e.data); },
    onDeath: (h) => {
      w.onerror = (e) => {
        const msg = (e as { message?: string } | null)?.message;
        h(new Error(msg ? `the worker failed: ${msg}` : 'the worker failed to load or crashed (a cross-origin-isolated page needs COEP on the worker script too)'));
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

  get size(): number {
    return this.#workers.length;
  }

  /** Creates `count` workers and initialises each on `memory` with the stack whose top is stackTops[i]. */
  static async create(count: number, module: WebAssembly.Module, memory: WebAssembly.Memory, stackTops: readonly number[]): Promise<WorkerPool> {
    const pool = new WorkerPool();
    try {
      for (let i = 0; i < count; i++) {
        const w = await spawn();
        const idx = pool.#workers.length;
        pool.#workers.push(w);
        pool.#pending.push(null);
        w.onMessage((m) => pool.#answer(idx, m));
        w.onDeath((cause) => pool.#death(idx, cause));
      }
      const ready = await Promise.allSettled(pool.#workers.map((w, i) => pool.#send(i, { type: 'init', module, memory, stackTop: stackTops[i] })));
      const bad = ready.find((r) => r.status === 'rejected');
      if (bad !== undefined) throw (bad as PromiseRejectedResult).reason;
    } catch (e) {
      await pool.close();
      throw e;
    }
    for (const w of pool.#workers) w.unref();
    return pool;
  }

  #settle(i: number, m: FromWorker | null, err: unknown): void {
    const p = this.#pending[i];
    if (p === null || p === undefined) return;
    this.#pending[i] = null;
    if (err !== null) p.reject(err);
    else p.resolve(m!);
  }

  #answer(i: number, m: FromWorker): void {
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
