/**
 * Blocking mode (`options.blocking`): a threaded run that returns synchronously. The calling thread posts
 * the run to its workers, takes chunks from the shared counter like them, then blocks in `Atomics.wait` on
 * the completion block (completion.ts) until every worker it posted to has reported, so a kernel call
 * returns a value instead of a promise (core's `runOpSync`, framework kernels that must return at once).
 *
 * Why no messages: a blocked thread's event loop does not run, so a worker's 'done' message could only
 * arrive after the call had returned, into the pool's bookkeeping of a later call. Workers of a blocking
 * run therefore answer only in the completion block (also when their chunks threw: the message is kept
 * there and becomes a BackendError), and the pool never has anything pending for them.
 *
 * Why a finite wait: a worker that died (its death event is a message too, which cannot arrive while the
 * caller blocks) or hangs would otherwise hang the caller. After the caller has run out of chunks a worker
 * only has the chunk it holds left to do, so `timeoutMs` (generous by default) elapsing means something is
 * wrong: the call throws a BackendError saying which workers did not report. Those workers may still write
 * into the call's memory, so while any worker is still in a run (`stalled`) the backend frees none of the
 * call's blocks, and the next call does not start before they have all reported (it waits for them, up to
 * the timeout again, and throws if they still have not).
 */
import { backendFailure, type WorkerPool } from './pool.js';
import { CompletionWatch, createCompletion } from './completion.js';
import type { RunMessage } from './protocol.js';

export class BlockingRunner {
  readonly #watch: CompletionWatch;
  readonly #timeoutMs: number;
  /** Number of the last run (workers echo it in their slot); wraps harmlessly (compared for equality). */
  #seq = 0;
  /** Workers posted to in the last run: the count the completion word must reach before another run. */
  #last = 0;

  constructor(workers: number, timeoutMs: number) {
    this.#watch = new CompletionWatch(createCompletion(workers));
    this.#timeoutMs = timeoutMs;
  }

  /** The completion block the workers are given at init. */
  get completion(): SharedArrayBuffer {
    return this.#watch.buffer;
  }

  /** Chunks the workers ran in blocking runs. */
  get workerChunks(): number {
    return this.#watch.chunks;
  }

  /** Whether a worker is still in the last run (only after a run timed out): its memory must not be reused. */
  get stalled(): boolean {
    return this.#watch.finished < this.#last;
  }

  /** Workers (1-based, as in messages) posted to in the last run that have not reported it. */
  #lagging(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.#last; i++) if (this.#watch.seqOf(i) !== this.#seq) out.push(i + 1);
    return out;
  }

  /**
   * Before a call allocates anything: throws the pool's failure (a worker died, the pool is closed), and
   * waits (up to the timeout) for workers still in a run that timed out, throwing a BackendError when they
   * have not reported by then. Returns at once in the ordinary case.
   */
  ready(pool: WorkerPool): void {
    if (pool.failure !== null) throw pool.failure;
    if (!this.stalled) return;
    if (this.#watch.waitFinished(this.#last, this.#timeoutMs)) return;
    throw backendFailure(
      `worker ${this.#lagging().join(', ')} still running the chunks of an earlier call that timed out, after another ${this.#timeoutMs} ms; `
        + 'it died or hangs: dispose this backend and create a new one',
      undefined,
      `every worker idle before a call starts (options.blockingTimeoutMs = ${this.#timeoutMs})`,
    );
  }

  /**
   * Runs: posts `message(i)` to workers 0..n-1, runs `callerWork` (the caller's share of the chunks), then
   * blocks until each posted worker has reported. Throws, in this order: a timeout (BackendError), the
   * caller's own failure (as thrown), a worker's failure (BackendError with the message as cause), a failed
   * post. Never returns while a worker it posted to is still running, except by the timeout error.
   */
  run(pool: WorkerPool, n: number, message: (i: number) => RunMessage, callerWork: () => void): void {
    this.ready(pool);
    const seq = (this.#seq = (this.#seq + 1) | 0);
    this.#watch.reset();
    this.#last = 0;
    let postError: unknown = null;
    try {
      for (; this.#last < n; this.#last++) pool.postBlocking(this.#last, { ...message(this.#last), blocking: { seq, slot: this.#last } });
    } catch (e) {
      postError = e; // the workers already posted to still run: the caller takes what they leave, then waits
    }
    let mine: unknown = null;
    try {
      callerWork();
    } catch (e) {
      mine = e;
    }
    if (!this.#watch.waitFinished(this.#last, this.#timeoutMs)) {
      throw backendFailure(
        `worker ${this.#lagging().join(', ')} had not finished ${this.#timeoutMs} ms after the calling thread ran out of chunks `
          + `(${this.#watch.finished} of ${this.#last} reported): it died or hangs; the call's memory stays allocated while it runs`,
        mine ?? undefined,
        `every worker to report within options.blockingTimeoutMs = ${this.#timeoutMs}`,
      );
    }
    if (mine !== null) throw mine;
    for (let i = 0; i < this.#last; i++) {
      const failure = this.#watch.failureOf(i);
      if (failure !== null) throw backendFailure(`worker ${i + 1} failed in the kernels: ${failure}`, new Error(failure), 'kernels that run to completion');
    }
    if (postError !== null) throw postError;
  }
}
