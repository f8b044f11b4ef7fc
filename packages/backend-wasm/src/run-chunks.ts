import type { ChunkFn, KernelExports } from './job.js';

/**
 * Takes chunk indices from the shared counter until none are left and runs them: the dynamic schedule
 * every thread (the caller's included) follows, so faster cores simply take more chunks.
 */
export function runChunks(
  k: KernelExports,
  memory: WebAssembly.Memory,
  fn: ChunkFn,
  job: number,
  ws: number,
  counter: number,
  total: number,
): number {
  let done = 0;
  const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
  const view = new Int32Array(memory.buffer, counter, 1);
  for (;;) {
    const i = shared ? Atomics.add(view, 0, 1) : view[0]++;
    if (i >= total) return done;
    k[fn](job, i, ws);
    done++;
  }
}
