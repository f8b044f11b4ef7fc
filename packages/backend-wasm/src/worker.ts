/**
 * A kernel worker (Node worker_threads or a browser module Worker): instantiates the kernels on the
 * backend's shared memory with its own stack, then runs chunks of whatever job it is sent until the
 * shared counter runs out.
 *
 * Built into dist/worker.js by scripts/build-worker.mjs as one self-contained module (no imports), so a
 * bundler can take it as a worker entry and a server can serve it alone. No top-level await and no
 * Node-only static import: Node's parentPort comes from a dynamic import of a computed specifier (its
 * port queues messages until the listener is attached), the browser's handler is set synchronously.
 */
import { finishRun } from './completion.js';
import { isNode, importNode } from './env.js';
import type { KernelExports } from './job.js';
import type { FromWorker, ToWorker } from './protocol.js';
import { runChunks } from './run-chunks.js';

/** The message handler of a worker that answers through `post` and ends with `close`. */
function handler(post: (m: FromWorker) => void, close: () => void): (m: ToWorker) => void {
  let kernels: KernelExports | null = null;
  let memory: WebAssembly.Memory | null = null;
  let completion: SharedArrayBuffer | null = null;
  return (m) => {
    if (m.type === 'run' && m.blocking !== undefined) {
      // Blocking mode: the caller waits on the completion block, so report there whatever happens.
      let chunks = 0;
      let error: string | null = null;
      try {
        if (kernels === null || memory === null) throw new Error('worker not initialised');
        chunks = runChunks(kernels, memory, m.fn, m.job, m.ws, m.counter, m.total);
      } catch (e) {
        error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      }
      if (completion !== null) finishRun(completion, m.blocking.slot, m.blocking.seq, chunks, error);
      else post({ type: 'error', message: 'a blocking run on a worker started without a completion block' });
      return;
    }
    try {
      if (m.type === 'init') {
        memory = m.memory;
        completion = m.completion ?? null;
        const inst = new WebAssembly.Instance(m.module, { env: { memory: m.memory } });
        kernels = inst.exports as unknown as KernelExports;
        kernels.__stack_pointer.value = m.stackTop;
        post({ type: 'ready' });
      } else if (m.type === 'run') {
        if (kernels === null || memory === null) throw new Error('worker not initialised');
        const chunks = runChunks(kernels, memory, m.fn, m.job, m.ws, m.counter, m.total);
        post({ type: 'done', chunks });
      } else if (m.type === 'close') {
        close();
      }
    } catch (e) {
      post({ type: 'error', message: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
    }
  };
}

if (isNode) {
  type ParentPort = { postMessage(m: unknown): void; on(e: 'message', h: (m: ToWorker) => void): void; close(): void };
  // A failure here is an unhandled rejection: the worker dies and the backend reports its message.
  void importNode<{ parentPort: ParentPort | null }>('worker_threads').then((wt) => {
    const p = wt.parentPort;
    if (p === null) throw new Error('@dcnv2/backend-wasm worker: not running in a worker thread');
    p.on('message', handler((m) => p.postMessage(m), () => p.close()));
  });
} else {
  const scope = globalThis as unknown as { postMessage(m: unknown): void; onmessage: ((e: { data: ToWorker }) => void) | null; close(): void };
  const h = handler((m) => scope.postMessage(m), () => scope.close());
  scope.onmessage = (e) => h(e.data);
}
