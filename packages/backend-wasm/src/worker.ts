/**
 * A kernel worker (Node worker_threads or a browser module Worker): instantiates the kernels on the
 * backend's shared memory with its own stack, then runs chunks of whatever job it is sent until the
 * shared counter runs out. No Node-only static imports: Node's parentPort is imported at run time.
 */
import { isNode, importNode } from './env.js';
import type { KernelExports } from './job.js';
import type { FromWorker, ToWorker } from './protocol.js';
import { runChunks } from './run-chunks.js';

interface Port {
  post(m: FromWorker): void;
  listen(h: (m: ToWorker) => void): void;
  close(): void;
}

async function port(): Promise<Port> {
  if (isNode) {
    const wt = await importNode<{ parentPort: { postMessage(m: unknown): void; on(e: 'message', h: (m: ToWorker) => void): void; close(): void } | null }>('worker_threads');
    const p = wt.parentPort;
    if (p === null) throw new Error('@dcnv2/backend-wasm worker: not running in a worker thread');
    return { post: (m) => p.postMessage(m), listen: (h) => p.on('message', h), close: () => p.close() };
  }
  const scope = globalThis as unknown as { postMessage(m: unknown): void; onmessage: ((e: { data: ToWorker }) => void) | null; close(): void };
  return { post: (m) => scope.postMessage(m), listen: (h) => { scope.onmessage = (e) => h(e.data); }, close: () => scope.close() };
}

const p = await port();
let kernels: KernelExports | null = null;
let memory: WebAssembly.Memory | null = null;

p.listen((m) => {
  try {
    if (m.type === 'init') {
      memory = m.memory;
      const inst = new WebAssembly.Instance(m.module, { env: { memory: m.memory } });
      kernels = inst.exports as unknown as KernelExports;
      kernels.__stack_pointer.value = m.stackTop;
      p.post({ type: 'ready' });
    } else if (m.type === 'run') {
      if (kernels === null || memory === null) throw new Error('worker not initialised');
      const chunks = runChunks(kernels, memory, m.fn, m.job, m.ws, m.counter, m.total);
      p.post({ type: 'done', chunks });
    } else if (m.type === 'close') {
      p.close();
    }
  } catch (e) {
    p.post({ type: 'error', message: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
  }
});
