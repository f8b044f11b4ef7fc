/**
 * Which dcnv2 backend runs the kernels of each tfjs backend. tfjs runs kernels synchronously, so on the
 * host it must be one whose kernels answer synchronously and which reads back synchronously
 * (`downloadSync`): the dcnv2 cpu backend for tfjs `cpu` (and, reading back, `webgl`), the dcnv2 wasm
 * backend for tfjs `wasm`. That one uses every core where the calling thread may block while its worker
 * threads compute (the wasm backend's `blocking` mode: Node, and a browser Web Worker on a
 * cross-origin-isolated page), and one thread where it may not (a browser's main thread, where
 * `Atomics.wait` is not allowed, or a page without shared memory). For tfjs `webgpu` it is a dcnv2 webgpu
 * backend on tfjs's own GPUDevice, whose calls on a caller's buffers record and submit synchronously
 * (webgpu-kernels.ts).
 */
import { BackendError, CapabilityError, type Backend } from '@dcnv2/core';
import { createCpuBackend } from '@dcnv2/backend-cpu';
import type { WebGpuBackend } from '@dcnv2/backend-webgpu';
import { findBackend, getBackend } from '@tensorflow/tfjs-core';

const chosen = new Map<string, Backend>();
const pending = new Map<string, Promise<Backend>>();

/**
 * The dcnv2 backend each tfjs backend gets when none was set (created and initialised by `prepareDcnv2`).
 * The wasm and webgpu backends are imported when first needed, so a bundle for one tfjs backend does not
 * carry the others' (bundlers split dynamic imports into their own chunks).
 */
function defaultFor(tfjsBackend: string): (() => Promise<Backend>) | null {
  if (tfjsBackend === 'cpu' || tfjsBackend === 'webgl') return async () => createCpuBackend();
  if (tfjsBackend === 'wasm') return wasmBackend;
  if (tfjsBackend === 'webgpu') {
    return async () => {
      const device = (findBackend('webgpu') as { device?: GPUDevice } | null)?.device;
      if (device === undefined) {
        throw new BackendError({ argument: 'tfjsBackend', expected: 'tfjs\'s webgpu backend, initialised', actual: 'none' }, "await tf.setBackend('webgpu') (with @tensorflow/tfjs-backend-webgpu imported) before prepareDcnv2('webgpu')");
      }
      return (await import('@dcnv2/backend-webgpu')).createWebGpuBackend({ device });
    };
  }
  return null;
}

/**
 * The wasm backend on every core with blocking (synchronous) threaded calls, initialised; where the
 * thread cannot block (`CapabilityError` from init), the wasm backend on this thread alone.
 */
async function wasmBackend(): Promise<Backend> {
  const { createWasmBackend } = await import('@dcnv2/backend-wasm');
  const threaded = createWasmBackend({ blocking: true });
  try {
    await threaded.init();
    return threaded;
  } catch (e) {
    await threaded.dispose();
    if (!(e instanceof CapabilityError)) throw e;
  }
  const single = createWasmBackend({ threads: 1 });
  await single.init();
  return single;
}

/** A dcnv2 webgpu backend (its synchronous calls on a caller's buffers are what the tfjs webgpu kernels run). */
function isWebGpu(b: Backend): b is Backend & WebGpuBackend {
  return typeof (b as Partial<WebGpuBackend>).submitDeformConv2d === 'function';
}

/**
 * Creates and initialises (once) the dcnv2 backend that runs the kernels of tfjs backend `tfjsBackend`
 * (default: the tfjs backend in use). Call it once before the first op on tfjs `wasm` and `webgpu`
 * (compiling the kernels is asynchronous, tfjs kernels are not); on `cpu` it is optional.
 */
export async function prepareDcnv2(tfjsBackend: string = getBackend()): Promise<Backend> {
  const have = chosen.get(tfjsBackend);
  if (have !== undefined) return have;
  let p = pending.get(tfjsBackend);
  if (p === undefined) {
    const make = defaultFor(tfjsBackend);
    if (make === null) {
      throw new BackendError({ argument: 'tfjsBackend', expected: 'a tfjs backend @dcnv2/tfjs runs on: cpu, wasm, webgl, webgpu', actual: tfjsBackend });
    }
    p = (async () => {
      const b = await make();
      try {
        await b.init(); // once: a second init does nothing
        if (isWebGpu(b)) await b.prepareBufferCalls();
      } catch (e) {
        await b.dispose();
        throw e;
      }
      chosen.set(tfjsBackend, b);
      return b;
    })().finally(() => pending.delete(tfjsBackend));
    pending.set(tfjsBackend, p);
  }
  return p;
}

/**
 * Runs the kernels of tfjs backend `tfjsBackend` on `backend` (initialised, synchronous: see the module
 * comment), for example a wasm backend with other options; for `webgpu`, a dcnv2 webgpu backend made on
 * tfjs's device after `prepareBufferCalls()`. Returns the one it replaces, which the caller still owns.
 */
export function setDcnv2Backend(tfjsBackend: string, backend: Backend): Backend | undefined {
  if (tfjsBackend === 'webgpu') {
    if (typeof backend !== 'object' || backend === null || !isWebGpu(backend)) {
      throw new BackendError({ argument: 'backend', expected: 'an initialised dcnv2 webgpu backend on tfjs\'s GPUDevice', actual: backend });
    }
  } else if (typeof backend !== 'object' || backend === null || typeof backend.downloadSync !== 'function') {
    throw new BackendError({ argument: 'backend', expected: 'an initialised dcnv2 backend with downloadSync (cpu, or wasm with threads: 1 or blocking: true)', actual: backend });
  } else if ((backend as { info?: { synchronous?: unknown } }).info?.synchronous === false) {
    throw new BackendError({ argument: 'backend', expected: 'a backend whose calls return synchronously (wasm: threads: 1, or blocking: true)', actual: 'a wasm backend with asynchronous threads' });
  }
  const old = chosen.get(tfjsBackend);
  chosen.set(tfjsBackend, backend);
  return old;
}

/** The dcnv2 backend for a kernel call on tfjs backend `tfjsBackend`; the cpu one is made on first use. */
export function dcnv2BackendFor(tfjsBackend: string): Backend {
  const have = chosen.get(tfjsBackend);
  if (have !== undefined) return have;
  if (tfjsBackend === 'cpu' || tfjsBackend === 'webgl') {
    // The cpu backend's init does nothing, so it can start synchronously, inside a kernel.
    const b = createCpuBackend();
    chosen.set(tfjsBackend, b);
    return b;
  }
  throw new BackendError({
    argument: 'backend',
    expected: `a dcnv2 backend prepared for tfjs backend "${tfjsBackend}"`,
    actual: 'none',
  }, `await prepareDcnv2('${tfjsBackend}') once before the first op (tfjs kernels are synchronous; compiling wasm is not)`);
}

/** Disposes the dcnv2 backends this package made or was given, and forgets them. */
export async function disposeDcnv2Backends(): Promise<void> {
  const all = [...chosen.values()];
  chosen.clear();
  for (const b of all) await b.dispose();
}
