/**
 * The worker pool: `size` workers created once (at init) over the backend's shared memory, each with its
 * own stack. A run posts the job to every worker, the calling thread takes chunks too, and the run resolves
 * when every worker has reported. In Node the workers are unref'd while idle, so an idle pool never keeps
 * the process alive, and `close()` terminates them.
 */
import { isNode, importNode } from './env.js';
import type { FromWorker, RunMessage, ToWorker } from './protocol.js';
import { workerUrl } from './wasm-urls.js';

interface AnyWorker {
  post(m: ToWorker): void;
  onMessage(h: (m: FromWorker) => void): void;
  onError(h: (e: unknown) => void): void;
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
      onError: (h) => {
        w.on('error', h as (x: never) => void);
        w.on('exit', ((code: number) => h(new Error(`worker exited with code ${code}`))) as (x: never) => void);
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
    onError: (h) => {
      w.onerror = (e) => {
        const msg = (e as { message?: string } | null)?.message;
        h(new Error(`@dcnv2/backend-wasm worker failed${msg ? `: ${msg}` : ' to load or crashed (a cross-origin-isolated page needs COEP on the worker script too)'}`));
      };
    },
    ref: () => {},
    unref: () => {},
    terminate: () => w.terminate(),
  };
}

export class WorkerPool {
  #workers: AnyWorker[] = [];
  #pending: Array<{ resolve: (m: FromWorker) => void; reject: (e: unknown) => void } | null> = [];
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
        w.onMessage((m) => pool.#settle(idx, m, null));
        w.onError((e) => pool.#settle(idx, null, e));
      }
      await Promise.all(pool.#workers.map((w, i) => pool.#send(i, { type: 'init', module, memory, stackTop: stackTops[i] })));
    } catch (e) {
      await pool.close();
      throw e;
    }
    for (const w of pool.#workers) w.unref();
    return pool;
  }

  #settle(i: number, m: FromWorker | null, err: unknown): void {
    const p = this.#pending[i];
    if (p === null) return;
    this.#pending[i] = null;
    if (err !== null) p.reject(err);
    else if (m !== null && m.type === 'error') p.reject(new Error(`@dcnv2/backend-wasm worker: ${m.message}`));
    else p.resolve(m!);
  }

  #send(i: number, m: ToWorker): Promise<FromWorker> {
    return new Promise((resolve, reject) => {
      this.#pending[i] = { resolve, reject };
      this.#workers[i].post(m);
    });
  }

  /**
   * Starts `run` on the first `n` workers (each with its own job/workspace from `perWorker`) and returns
   * the promise of their completion. The caller works on the same counter meanwhile.
   */
  start(n: number, perWorker: (i: number) => RunMessage): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('worker pool closed'));
    const ws = this.#workers.slice(0, n);
    for (const w of ws) w.ref();
    const all = ws.map((_, i) => this.#send(i, perWorker(i)));
    return Promise.all(all).then(
      () => { for (const w of ws) w.unref(); },
      (e) => { for (const w of ws) w.unref(); throw e; },
    );
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const ws = this.#workers;
    this.#workers = [];
    for (let i = 0; i < this.#pending.length; i++) this.#settle(i, null, new Error('worker pool closed'));
    await Promise.all(ws.map((w) => w.terminate()));
  }
}
