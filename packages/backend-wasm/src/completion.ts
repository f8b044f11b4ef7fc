/**
 * The completion block of blocking mode (`options.blocking`): a small SharedArrayBuffer, separate from the
 * wasm memory, through which workers report the end of a run without a message, so that a caller that
 * blocks in `Atomics.wait` (its event loop stopped, no message can reach it) learns that every worker is
 * done, and whether one failed and why.
 *
 * It is its own buffer rather than a block of the wasm memory so that a run whose addresses are wrong
 * (a trap, a counter outside the memory) can still be reported, and so that it never moves or grows.
 *
 * Layout (int32 words):
 *   [FINISHED]  workers of the current run that are done (ok or failed): the word the caller waits on;
 *   [CHUNKS]    chunks the workers ran in blocking runs, summed over the pool's life (info.workerChunks);
 *   then one slot per worker: [SEQ] the run number it finished last, [STATUS] 0 ok / 1 failed,
 *   [LEN] bytes of its error message, then the message (UTF-8, cut at MESSAGE_BYTES).
 *
 * This module is imported by the worker bundle too: no imports, nothing Node- or browser-specific.
 */

const FINISHED = 0;
const CHUNKS = 1;
const HEADER_INTS = 4;
const MESSAGE_BYTES = 496;
const SLOT_SEQ = 0;
const SLOT_STATUS = 1;
const SLOT_LEN = 2;
const SLOT_HEADER_INTS = 4;
const SLOT_INTS = SLOT_HEADER_INTS + MESSAGE_BYTES / 4;

/** A completion block for `workers` workers (every word 0: no run yet, every worker idle at run 0). */
export function createCompletion(workers: number): SharedArrayBuffer {
  return new SharedArrayBuffer((HEADER_INTS + workers * SLOT_INTS) * 4);
}

const slotBase = (slot: number) => HEADER_INTS + slot * SLOT_INTS;

/**
 * Worker side: reports the end of run `seq` on worker `slot` (after its chunks, also when they threw, so the
 * caller never waits for a failure). The slot is written first and published by the atomic add the caller
 * waits on (sequentially consistent), so the caller reads the status and message of this run, and every
 * store the kernels made into the wasm memory is visible to it as well.
 */
export function finishRun(buffer: SharedArrayBuffer, slot: number, seq: number, chunks: number, error: string | null): void {
  const words = new Int32Array(buffer);
  const base = slotBase(slot);
  let len = 0;
  if (error !== null) {
    const bytes = new TextEncoder().encode(error);
    len = Math.min(bytes.length, MESSAGE_BYTES);
    new Uint8Array(buffer, (base + SLOT_HEADER_INTS) * 4, MESSAGE_BYTES).set(bytes.subarray(0, len));
  }
  words[base + SLOT_LEN] = len;
  words[base + SLOT_STATUS] = error === null ? 0 : 1;
  Atomics.store(words, base + SLOT_SEQ, seq);
  Atomics.add(words, CHUNKS, chunks);
  Atomics.add(words, FINISHED, 1);
  Atomics.notify(words, FINISHED);
}

/** Caller side of the completion block. */
export class CompletionWatch {
  readonly buffer: SharedArrayBuffer;
  readonly #words: Int32Array;

  constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
    this.#words = new Int32Array(buffer);
  }

  /** Starts counting a new run: only when no worker is still in the previous one (see `finished`). */
  reset(): void {
    Atomics.store(this.#words, FINISHED, 0);
  }

  /** Workers of the current run that have reported. */
  get finished(): number {
    return Atomics.load(this.#words, FINISHED);
  }

  /** Chunks the workers ran in blocking runs so far. */
  get chunks(): number {
    return Atomics.load(this.#words, CHUNKS);
  }

  /**
   * Blocks the calling thread until `n` workers of the current run have reported, or `timeoutMs` passed.
   * Returns whether they all did. Spurious or early wake-ups (another worker's notify) just loop.
   */
  waitFinished(n: number, timeoutMs: number): boolean {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const seen = Atomics.load(this.#words, FINISHED);
      if (seen >= n) return true;
      const left = deadline - Date.now();
      if (left <= 0) return false;
      Atomics.wait(this.#words, FINISHED, seen, left);
    }
  }

  /** The run number worker `slot` finished last. */
  seqOf(slot: number): number {
    return Atomics.load(this.#words, slotBase(slot) + SLOT_SEQ);
  }

  /** Worker `slot`'s error message for the run it finished last, or null when its chunks ran. */
  failureOf(slot: number): string | null {
    const base = slotBase(slot);
    if (Atomics.load(this.#words, base + SLOT_STATUS) === 0) return null;
    const len = this.#words[base + SLOT_LEN];
    // TextDecoder refuses views of a SharedArrayBuffer: copy the bytes out first.
    const bytes = new Uint8Array(len);
    bytes.set(new Uint8Array(this.buffer, (base + SLOT_HEADER_INTS) * 4, len));
    return new TextDecoder().decode(bytes);
  }
}
