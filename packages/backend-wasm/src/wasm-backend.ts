/**
 * The `wasm` backend: tensors live in one WebAssembly memory (shared between threads when
 * SharedArrayBuffer is available), the kernels are C compiled to SIMD128 / relaxed-SIMD WebAssembly, and a
 * call is cut into chunks (batch image x tile of output pixels [x block of output channels]) that the
 * calling thread and the worker pool take dynamically from a shared counter. Modulated deformable RoI
 * pooling runs on the same memory, kernels and pool (see roi-pool.ts). With `options.blocking`, threaded
 * calls return synchronously, the caller blocking until its workers report (see blocking-run.ts).
 */
import {
  BackendError,
  CapabilityError,
  DcnError,
  DisposedError,
  LimitError,
  OPS,
  ParamError,
  kernelsFromMethods,
  type Backend,
  type BackendCapabilities,
  type ConvGeometry,
  type ConvGradRequest,
  type ConvGrads,
  type ConvInputs,
  type KernelTable,
  type RoiPoolGeometry,
  type RoiPoolGradRequest,
  type RoiPoolGrads,
  type RoiPoolInputs,
} from '@dcnv2/core';
import { canShareMemory, envVar, hardwareThreads, hasRelaxedSimd, hasSimd } from './env.js';
import { BlockingRunner } from './blocking-run.js';
import { whyCannotBlock } from './can-block.js';
import { Heap, align } from './heap.js';
import { WORKER_STACK_BYTES, writeConvJob, type ChunkFn, type KernelExports } from './job.js';
import { CONV_JOB, CONV_WANT } from './job-layout.js';
import { backendFailure, WorkerPool } from './pool.js';
import { roiPoolBackward, roiPoolForward, type RoiPoolContext, type RoiPoolPointers } from './roi-pool.js';
import { runChunks } from './run-chunks.js';
import { chooseBackwardTiling, chooseForwardTiling, partialThreads } from './tiling.js';
import { compileKernel } from './load.js';
import { checkWasmPaths, checkWorkerUrl, overriddenKernelUrl, overriddenWorkerUrl, type UrlLike, type WasmPaths } from './wasm-paths.js';
import { kernelFile, kernelUrl, type KernelVariant } from './wasm-urls.js';
import { WasmTensor } from './wasm-tensor.js';

export { WasmTensor } from './wasm-tensor.js';

export type SimdChoice = 'auto' | 'relaxed' | 'simd';

export interface WasmBackendOptions {
  /**
   * Threads to compute with, the calling thread included (default: `DCNV2_WASM_THREADS` in Node, else
   * the number of logical cores). More than 1 needs SharedArrayBuffer; without it (a page that is not
   * cross-origin isolated) the backend runs single-threaded.
   */
  readonly threads?: number;
  /** Kernel build: `relaxed` (FMA), `simd`, or `auto` (relaxed when the engine validates it; default, or `DCNV2_WASM_SIMD`). */
  readonly simd?: SimdChoice;
  /** Upper bound of the WebAssembly memory in bytes (default 2 GiB, at most 4 GiB - 64 KiB). */
  readonly maxMemoryBytes?: number;
  /** Upper bound on output pixels per tile (rounded up to a multiple of 8; default 64 forward, 128 backward). */
  readonly tilePixels?: number;
  /**
   * Where the `.wasm` builds are served, when not where the bundler put them (a CDN, esbuild, a custom
   * server): a folder (string or URL; `/` appended when missing) holding `dcn-simd.wasm`,
   * `dcn-relaxed.wasm`, `dcn-simd-mt.wasm`, `dcn-relaxed-mt.wasm`, or an object giving some of those files
   * their own URL (the others keep the default). Strings resolve against the page; in Node they may be file
   * paths. Default: `wasmEnv.wasmPaths`, else next to this module (`new URL('./wasm/…', import.meta.url)`).
   */
  readonly wasmPaths?: WasmPaths;
  /**
   * Where dist/worker.js (self-contained) is served, when not where the bundler put it. A browser loads a
   * script of another origin through a same-origin module that imports it (it needs CORS). In Node it must
   * be a file (URL or path). Default: `wasmEnv.workerUrl`, else the shipped worker.
   */
  readonly workerUrl?: UrlLike;
  /**
   * Synchronous threaded mode (default false). With `threads` > 1, every kernel call returns its result
   * synchronously instead of a promise: the calling thread posts the run to the workers, computes its share
   * of the chunks, then blocks in `Atomics.wait` until every worker has reported (in shared memory; a worker
   * whose chunks threw becomes a BackendError). For frameworks whose kernels must return at once (core's
   * `runOpSync`, TensorFlow.js kernels) on a thread that may block: Node's main thread and worker threads,
   * a browser's Web Worker. `init()` refuses it with a CapabilityError naming `options.blocking` where the
   * calling thread cannot block (a browser's main thread, where `Atomics.wait` throws) or memory cannot be
   * shared (no SharedArrayBuffer: a page that is not cross-origin isolated); pass `threads: 1` there. With
   * one thread calls are synchronous anyway and nothing is checked. Off: nothing changes.
   */
  readonly blocking?: boolean;
  /**
   * Blocking mode: how long the calling thread waits for the workers after it has run out of chunks, in
   * milliseconds (default 60000). A worker that has not reported by then died or hangs: the call throws a
   * BackendError naming it, the call's memory stays allocated while the worker may still write to it, and
   * the next call waits for it (up to this long again) before it starts.
   */
  readonly blockingTimeoutMs?: number;
}

/** What `backend.info` reports after `init()`. */
export interface WasmBackendInfo {
  /** The kernel build that runs: `relaxed` (FMA) or `simd`; null before init. */
  readonly variant: KernelVariant | null;
  /** Threads that compute, the calling thread included (1: no workers). */
  readonly threads: number;
  /** Whether the memory is a shared WebAssembly memory (needed for threads). */
  readonly sharedMemory: boolean;
  /** The URL the kernel build was loaded from; null before init. */
  readonly wasmUrl: string | null;
  /** The script the workers were started from (as the bundler rewrote it); null without workers. */
  readonly workerUrl: string | null;
  /** Chunks of work the workers (not the calling thread) have run so far: above 0 once threads really computed. */
  readonly workerChunks: number;
  /**
   * Whether every kernel call returns synchronously: `options.blocking` on a threaded backend (the caller
   * blocks until its workers are done), or a backend on one thread; false before init.
   */
  readonly synchronous: boolean;
}

const DEFAULT_MAX_MEMORY = 2 * 1024 * 1024 * 1024;
const DEFAULT_BLOCKING_TIMEOUT_MS = 60_000;
const MAX_MEMORY = 4 * 1024 * 1024 * 1024 - 65536;
const PAGE = 65536;

function positiveInt(v: unknown, argument: string, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max) {
    throw new ParamError({ argument, expected: `an integer in [1, ${max}]`, actual: v });
  }
  return v;
}

function parseEnvInt(name: string): number | undefined {
  const s = envVar(name);
  if (s === undefined) return undefined;
  const n = Number(s);
  if (!Number.isInteger(n) || n < 1) throw new ParamError({ argument: `env ${name}`, expected: 'a positive integer', actual: s });
  return n;
}

interface Temp {
  ptr: number;
  bytes: number;
}

/**
 * The backend's own record of a tensor it made. Kernels and release() use it, never the handle's fields:
 * only handles in the registry are this instance's, `live` turns false once on release, and `pins` counts
 * the threaded calls that read it, which postpone the free (their workers may still read the block).
 */
interface Storage {
  readonly ptr: number;
  readonly length: number;
  live: boolean;
  pins: number;
}

/** Byte addresses of a convolution's tensors (0: absent or empty), from the backend's records. */
interface ConvPointers {
  readonly input: number;
  readonly weight: number;
  readonly offset: number;
  readonly mask: number;
  readonly bias: number;
  readonly gradOutput: number;
}

/** %TypedArray%.prototype's own getters: the real length and kind, whatever a subclass or Proxy claims. */
const typedArrayProto = Object.getPrototypeOf(Float32Array.prototype) as object;
const intrinsicLength = Object.getOwnPropertyDescriptor(typedArrayProto, 'length')!.get! as (this: unknown) => number;
const intrinsicTag = Object.getOwnPropertyDescriptor(typedArrayProto, Symbol.toStringTag)!.get! as (this: unknown) => string | undefined;

/** Number of float32 values `data` really holds; BackendError when it is not a Float32Array. */
function float32Length(data: unknown): number {
  let tag: string | undefined;
  try {
    tag = intrinsicTag.call(data);
  } catch {
    tag = undefined;
  }
  if (tag !== 'Float32Array') throw new BackendError({ argument: 'data', expected: 'a Float32Array', actual: data });
  return intrinsicLength.call(data);
}

/** Elements of a shape (a list of non-negative integers), or BackendError naming `argument`. */
function shapeElements(shape: unknown, argument: string): number {
  if (!Array.isArray(shape)) throw new BackendError({ argument, expected: 'a list of non-negative integers', actual: shape });
  let n = 1;
  for (const d of shape as unknown[]) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) throw new BackendError({ argument, expected: 'a list of non-negative integers', actual: shape });
    n *= d;
  }
  return n;
}

/** Any failure of a kernel run as a typed error: DcnErrors pass, anything else (a trap) is wrapped as the cause. */
function kernelError(e: unknown): Error {
  if (e instanceof DcnError) return e;
  const what = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return backendFailure(`the kernels failed: ${what}`, e, 'kernels that run to completion');
}

export class WasmBackend implements Backend<WasmTensor> {
  readonly name = 'wasm';
  /** Both ops, both directions: the methods below, registered per op and direction. */
  readonly kernels: KernelTable<WasmTensor> = kernelsFromMethods<WasmTensor>(this, [OPS.deform_conv2d, OPS.deform_roi_pool]);
  readonly options: Readonly<{
    threads: number | undefined;
    simd: SimdChoice;
    maxMemoryBytes: number;
    tilePixels: number | undefined;
    wasmPaths: WasmPaths | undefined;
    workerUrl: UrlLike | undefined;
    blocking: boolean;
    blockingTimeoutMs: number;
  }>;
  #disposed = false;
  #initialised: Promise<void> | null = null;
  #kernels: KernelExports | null = null;
  #memory: WebAssembly.Memory | null = null;
  #heap: Heap | null = null;
  #pool: WorkerPool | null = null;
  /** Blocking mode's runner (null: threaded calls return promises, or no workers). */
  #blocker: BlockingRunner | null = null;
  #threads = 1;
  #variant: KernelVariant | null = null;
  #shared = false;
  #wasmUrl: string | null = null;
  #workerUrl: string | null = null;
  /** Chunks the workers ran (by message and in blocking runs), kept when dispose() drops the pool. */
  #workerChunksAtDispose = 0;
  /** Serialises threaded calls (they share the pool and resolve asynchronously). */
  #queue: Promise<unknown> = Promise.resolve();
  /** Every tensor this instance made and has not freed: the only handles it accepts. */
  readonly #tensors = new WeakMap<WasmTensor, Storage>();

  constructor(options: WasmBackendOptions | null = {}) {
    if (options === null) options = {};
    if (typeof options !== 'object') {
      throw new ParamError({ argument: 'options', expected: 'an object { threads?, simd?, maxMemoryBytes?, tilePixels?, wasmPaths?, workerUrl?, blocking?, blockingTimeoutMs? }', actual: options });
    }
    const threads = positiveInt(options.threads, 'options.threads', 256) ?? parseEnvInt('DCNV2_WASM_THREADS');
    const simd = options.simd ?? (envVar('DCNV2_WASM_SIMD') as SimdChoice | undefined) ?? 'auto';
    if (simd !== 'auto' && simd !== 'relaxed' && simd !== 'simd') {
      throw new ParamError({ argument: options.simd === undefined ? 'env DCNV2_WASM_SIMD' : 'options.simd', expected: '"auto", "relaxed" or "simd"', actual: simd });
    }
    const maxMemoryBytes = positiveInt(options.maxMemoryBytes, 'options.maxMemoryBytes', MAX_MEMORY) ?? DEFAULT_MAX_MEMORY;
    const tilePixels = positiveInt(options.tilePixels, 'options.tilePixels', 1 << 20);
    const wasmPaths = checkWasmPaths(options.wasmPaths, 'options.wasmPaths');
    const workerUrl = checkWorkerUrl(options.workerUrl, 'options.workerUrl');
    const blocking = options.blocking ?? false;
    if (typeof blocking !== 'boolean') throw new ParamError({ argument: 'options.blocking', expected: 'a boolean', actual: blocking });
    const blockingTimeoutMs = positiveInt(options.blockingTimeoutMs, 'options.blockingTimeoutMs', 2 ** 31 - 1) ?? DEFAULT_BLOCKING_TIMEOUT_MS;
    this.options = Object.freeze({ threads, simd, maxMemoryBytes, tilePixels, wasmPaths, workerUrl, blocking, blockingTimeoutMs });
  }

  get capabilities(): BackendCapabilities {
    return Object.freeze({ threads: this.#threads, float16: false, resident: true, externalBuffers: false });
  }

  /**
   * After init: which build runs (`simd` or `relaxed`), threads in use, whether memory is shared, where
   * the kernels and the worker came from, and how many chunks the workers have run.
   */
  get info(): WasmBackendInfo {
    return {
      variant: this.#variant,
      threads: this.#threads,
      sharedMemory: this.#shared,
      wasmUrl: this.#wasmUrl,
      workerUrl: this.#workerUrl,
      workerChunks: this.#pool === null ? this.#workerChunksAtDispose : this.#pool.workerChunks + (this.#blocker?.workerChunks ?? 0),
      synchronous: this.#kernels !== null && (this.#pool === null || this.#blocker !== null),
    };
  }

  /** Memory statistics (for tests and diagnostics): memory size, bytes allocated, heap top. */
  get memoryStats(): { memoryBytes: number; inUse: number; top: number } {
    const h = this.#heap;
    return h === null ? { memoryBytes: 0, inUse: 0, top: 0 } : { memoryBytes: h.memoryBytes, inUse: h.inUse, top: h.top };
  }

  get disposed(): boolean {
    return this.#disposed;
  }

  #check(): void {
    if (this.#disposed) throw this.#disposedError('the disposed backend "wasm"');
  }

  #disposedError(actual: string): DisposedError {
    return new DisposedError({ argument: 'backend', expected: 'a live backend', actual });
  }

  #ready(): { k: KernelExports; heap: Heap; memory: WebAssembly.Memory } {
    this.#check();
    if (this.#kernels === null || this.#heap === null || this.#memory === null) {
      throw new BackendError({ argument: 'backend', expected: 'an initialised backend (await init())', actual: 'the uninitialised backend "wasm"' });
    }
    return { k: this.#kernels, heap: this.#heap, memory: this.#memory };
  }

  init(): Promise<void> {
    try {
      this.#check();
    } catch (e) {
      return Promise.reject(e);
    }
    return (this.#initialised ??= this.#init());
  }

  async #init(): Promise<void> {
    if (!hasSimd()) throw new BackendError({ argument: 'backend', expected: 'a WebAssembly engine with SIMD128', actual: 'an engine without it' });
    const want = this.options.simd;
    const relaxedOk = want === 'simd' ? false : await hasRelaxedSimd();
    if (want === 'relaxed' && !relaxedOk) {
      throw new BackendError({ argument: 'options.simd', expected: 'an engine with relaxed SIMD', actual: '"relaxed" on an engine without it' });
    }
    const variant: KernelVariant = relaxedOk ? 'relaxed' : 'simd';
    const requested = this.options.threads ?? (await hardwareThreads());
    const shared = requested > 1 && canShareMemory();
    if (this.options.blocking && requested > 1) {
      // Refused rather than run on one thread: the caller asked for threads, and would not notice losing them.
      const why = shared ? whyCannotBlock() : 'memory cannot be shared here (no SharedArrayBuffer, or no Worker: a page that is not cross-origin isolated)';
      if (why !== null) {
        throw new CapabilityError(
          { argument: 'options.blocking', expected: `a thread that may block in Atomics.wait on shared memory (for ${requested} threads)`, actual: why },
          'pass threads: 1 on such a thread, or run dcnv2 in a Web Worker of a cross-origin-isolated page',
        );
      }
    }
    const file = kernelFile(variant, shared);
    const located = await overriddenKernelUrl(file, this.options.wasmPaths);
    const wasmUrl = located?.url ?? kernelUrl(variant, shared);
    const workerTarget = shared ? await overriddenWorkerUrl(this.options.workerUrl) : null;
    const module = await compileKernel(wasmUrl, file, located?.argument ?? null);
    const maxPages = Math.floor(this.options.maxMemoryBytes / PAGE);
    const memory = new WebAssembly.Memory({ initial: 2, maximum: maxPages, ...(shared ? { shared: true } : {}) } as WebAssembly.MemoryDescriptor);
    const instance = await WebAssembly.instantiate(module, { env: { memory } });
    const k = instance.exports as unknown as KernelExports;
    const heap = new Heap(memory, k.__heap_base.value as number, maxPages * PAGE);
    let pool: WorkerPool | null = null;
    let blocker: BlockingRunner | null = null;
    let threads = 1;
    if (shared) {
      const workers = requested - 1;
      const stacks = heap.alloc(workers * WORKER_STACK_BYTES, 'worker stacks');
      const tops = Array.from({ length: workers }, (_, i) => stacks + (i + 1) * WORKER_STACK_BYTES);
      blocker = this.options.blocking ? new BlockingRunner(workers, this.options.blockingTimeoutMs) : null;
      pool = await WorkerPool.create(workers, module, memory, tops, workerTarget, blocker?.completion ?? null);
      threads = requested;
    }
    if (this.#disposed) {
      await pool?.close();
      throw new DisposedError({ argument: 'backend', expected: 'a live backend', actual: 'the backend "wasm", disposed during init' });
    }
    this.#kernels = k;
    this.#memory = memory;
    this.#heap = heap;
    this.#pool = pool;
    this.#blocker = blocker;
    this.#threads = threads;
    this.#variant = variant;
    this.#shared = shared;
    this.#wasmUrl = wasmUrl.href;
    this.#workerUrl = pool?.url ?? null;
  }

  #f32(): Float32Array {
    return new Float32Array(this.#memory!.buffer);
  }

  /** A new handle of this instance for `length` floats at `ptr`. */
  #tensor(ptr: number, length: number): WasmTensor {
    const h = new WasmTensor(ptr, length);
    this.#tensors.set(h, { ptr, length, live: true, pins: 0 });
    return h;
  }

  /**
   * The storage behind `handle`, checked: a tensor this instance made (BackendError otherwise: another
   * instance's, a forged or a foreign object), not released (DisposedError), of exactly `length` elements
   * (BackendError: the shape or geometry does not match what it holds).
   */
  #storage(handle: unknown, argument: string, length: number): Storage {
    const s = handle instanceof WasmTensor ? this.#tensors.get(handle) : undefined;
    if (s === undefined) {
      const actual = handle instanceof WasmTensor ? 'a wasm tensor this backend instance did not make (another instance\'s, or forged)' : handle;
      throw new BackendError({ argument, expected: 'a tensor of this wasm backend instance', actual });
    }
    if (!s.live) throw new DisposedError({ argument, expected: 'a live tensor', actual: 'a released wasm tensor' });
    if (s.length !== length) {
      throw new BackendError({ argument, expected: `a tensor of ${length} elements (its shape or the call's geometry)`, actual: `one of ${s.length} elements` });
    }
    return s;
  }

  /** `handle`'s storage when it is present, as #storage checks it; null when absent (and `present` is false). */
  #optionalStorage(handle: WasmTensor | null, present: boolean, argument: string, length: number): Storage | null {
    if (handle === null || handle === undefined) {
      if (present) throw new BackendError({ argument, expected: 'a tensor (the geometry says it is present)', actual: handle });
      return null;
    }
    if (!present) throw new BackendError({ argument, expected: 'null (the geometry says it is absent)', actual: 'a tensor' });
    return this.#storage(handle, argument, length);
  }

  /**
   * Whether the call memory must not be freed: the heap is gone (disposed), or a worker is still in a
   * blocking run that timed out and may write into any block of it (see blocking-run.ts). Such blocks leak.
   */
  #keepMemory(): boolean {
    return this.#disposed || (this.#blocker?.stalled ?? false);
  }

  #free(s: Storage): void {
    if (this.#keepMemory() || this.#heap === null || s.length === 0) return;
    this.#heap.free(s.ptr, s.length * 4);
  }

  /**
   * Runs a call on `used` (already checked) storages. A threaded call pins them until it settles, so that
   * a release meanwhile (core keeps its inputs alive, a direct caller might not) only frees them after the
   * workers are done with them.
   */
  #pinned<T>(used: ReadonlyArray<Storage | null>, work: () => T | Promise<T>): T | Promise<T> {
    const pins = used.filter((s): s is Storage => s !== null);
    for (const s of pins) s.pins++;
    const unpin = () => {
      for (const s of pins) if (--s.pins === 0 && !s.live) this.#free(s);
    };
    let r: T | Promise<T>;
    try {
      r = work();
    } catch (e) {
      unpin();
      throw e;
    }
    if (!(r instanceof Promise)) {
      unpin();
      return r;
    }
    return r.finally(unpin);
  }

  upload(data: Float32Array, shape: readonly number[]): WasmTensor {
    const { heap } = this.#ready();
    // The length the copy really has (not what a subclass claims), checked before anything is allocated.
    const n = float32Length(data);
    const want = shapeElements(shape, 'shape');
    if (n !== want) throw new BackendError({ argument: 'data', expected: `${want} values (the product of its shape)`, actual: `${n} values` });
    if (n === 0) return this.#tensor(0, 0);
    const ptr = heap.alloc(n * 4, 'data');
    // Copied now, once (TypedArray set reads the source's real length): the caller may change data afterwards.
    this.#f32().set(data, ptr >>> 2);
    return this.#tensor(ptr, n);
  }

  async download(handle: WasmTensor, shape: readonly number[]): Promise<Float32Array> {
    return this.downloadSync(handle, shape);
  }

  /** The same copy, synchronously (core's `runOpSync`: tfjs kernels; the kernels themselves are synchronous on one thread). */
  downloadSync(handle: WasmTensor, shape: readonly number[]): Float32Array {
    this.#ready();
    const s = this.#storage(handle, 'handle', shapeElements(shape, 'shape'));
    if (s.length === 0) return new Float32Array(0);
    return this.#f32().slice(s.ptr >>> 2, (s.ptr >>> 2) + s.length);
  }

  /** The same copy into the caller's array (core's `runOpSync` with `into`: a framework's own memory). */
  downloadSyncInto(handle: WasmTensor, shape: readonly number[], into: Float32Array): void {
    this.#ready();
    const s = this.#storage(handle, 'handle', shapeElements(shape, 'shape'));
    if (!(into instanceof Float32Array) || into.length !== s.length) {
      throw new BackendError({ argument: 'into', expected: `a Float32Array of ${s.length} elements`, actual: into });
    }
    if (s.length > 0) into.set(this.#f32().subarray(s.ptr >>> 2, (s.ptr >>> 2) + s.length));
  }

  /**
   * Frees a tensor's memory. Tolerated twice and after dispose (core calls it in `finally`). A handle this
   * instance did not make throws BackendError and frees nothing: its address names someone else's block.
   */
  release(handle: WasmTensor): void {
    if (this.#disposed) return;
    const s = handle instanceof WasmTensor ? this.#tensors.get(handle) : undefined;
    if (s === undefined) {
      throw new BackendError({ argument: 'handle', expected: 'a tensor of this wasm backend instance', actual: handle instanceof WasmTensor ? 'a wasm tensor of another instance, or forged' : handle });
    }
    if (!s.live) return;
    s.live = false;
    handle.markReleased();
    if (s.pins === 0) this.#free(s);
  }

  // -------------------------------------------------------------------------------------------------

  /** Allocates every block of `sizes` or none: LimitError before anything is allocated when they cannot fit. */
  #allocAll(heap: Heap, sizes: readonly number[], what: string): number[] {
    const total = sizes.reduce((s, b) => s + align(Math.max(16, b)), 0);
    if (total > heap.available) {
      throw new LimitError({
        argument: what,
        expected: `at most ${heap.available} bytes (what is left of the wasm memory limit, options.maxMemoryBytes = ${this.options.maxMemoryBytes})`,
        actual: `${total} bytes`,
      });
    }
    const got: number[] = [];
    try {
      for (const b of sizes) got.push(heap.alloc(Math.max(16, b), what));
    } catch (e) {
      for (let i = 0; i < got.length; i++) heap.free(got[i], Math.max(16, sizes[i]));
      throw e;
    }
    return got;
  }

  /** Runs `total` chunks of `fn` on `nThreads` threads (jobs[i], wss[i] for thread i; thread 0 is the caller). */
  #run(
    k: KernelExports,
    memory: WebAssembly.Memory,
    fn: ChunkFn,
    jobs: readonly number[],
    wss: readonly number[],
    counter: number,
    total: number,
    nThreads: number,
  ): Promise<void> | void {
    new Int32Array(memory.buffer, counter, 1)[0] = 0;
    const pool = this.#pool;
    if (nThreads <= 1 || pool === null) {
      try {
        runChunks(k, memory, fn, jobs[0], wss[0], counter, total);
      } catch (e) {
        throw kernelError(e);
      }
      return;
    }
    if (this.#blocker !== null) {
      const caller = () => runChunks(k, memory, fn, jobs[0], wss[0], counter, total);
      try {
        this.#blocker.run(pool, nThreads - 1, (i) => ({ type: 'run', fn, job: jobs[i + 1], ws: wss[i + 1], counter, total }), caller);
      } catch (e) {
        throw kernelError(e);
      }
      return;
    }
    const done = pool.start(nThreads - 1, (i) => ({ type: 'run', fn, job: jobs[i + 1], ws: wss[i + 1], counter, total }));
    let mine: unknown = null;
    try {
      runChunks(k, memory, fn, jobs[0], wss[0], counter, total);
    } catch (e) {
      mine = e;
    }
    // Settles once every worker of the run has answered (pool.start), so nothing writes the call's memory after.
    return done.then(
      () => {
        if (mine !== null) throw kernelError(mine);
      },
      (e: unknown) => {
        throw kernelError(e instanceof DisposedError || mine === null ? e : mine);
      },
    );
  }

  /**
   * Runs `work` now (single thread, or blocking mode: synchronously; calls cannot overlap) or after the
   * previous threaded call.
   */
  #serial<T>(work: () => T | Promise<T>): T | Promise<T> {
    if (this.#pool === null) return work();
    if (this.#blocker !== null) {
      // Before anything is allocated: a dead pool, or a worker still in a timed-out run, refuses the call.
      this.#blocker.ready(this.#pool);
      return work();
    }
    const p = this.#queue.then(() => {
      this.#check();
      return work();
    });
    this.#queue = p.catch(() => undefined);
    return p;
  }

  /**
   * The addresses of a convolution's tensors, each checked (see #storage) against the size the geometry
   * gives it, when the call runs (a queued call sees a release that happened while it waited).
   */
  #convTensors(g: ConvGeometry, inputs: ConvInputs<WasmTensor>, gradOutput: WasmTensor | null): { p: ConvPointers; used: Array<Storage | null> } {
    const K = g.kernelH * g.kernelW;
    const HoWo = g.outHeight * g.outWidth;
    const input = this.#storage(inputs.input, 'input', g.batch * g.inChannels * g.inHeight * g.inWidth);
    const weight = this.#storage(inputs.weight, 'weight', g.outChannels * (g.inChannels / g.groups) * K);
    const offset = this.#storage(inputs.offset, 'offset', g.batch * 2 * g.offsetGroups * K * HoWo);
    const mask = this.#optionalStorage(inputs.mask, g.hasMask, 'mask', g.batch * g.offsetGroups * K * HoWo);
    const bias = this.#optionalStorage(inputs.bias, g.hasBias, 'bias', g.outChannels);
    const gout = gradOutput === null ? null : this.#storage(gradOutput, 'gradOutput', g.batch * g.outChannels * HoWo);
    return {
      p: { input: input.ptr, weight: weight.ptr, offset: offset.ptr, mask: mask?.ptr ?? 0, bias: bias?.ptr ?? 0, gradOutput: gout?.ptr ?? 0 },
      used: [input, weight, offset, mask, bias, gout],
    };
  }

  deformConv2d(g: ConvGeometry, inputs: ConvInputs<WasmTensor>): WasmTensor | Promise<WasmTensor> {
    this.#ready();
    return this.#serial(() => {
      const { p, used } = this.#convTensors(g, inputs, null);
      return this.#pinned(used, () => this.#forward(g, p));
    });
  }

  #forward(g: ConvGeometry, p: ConvPointers): WasmTensor | Promise<WasmTensor> {
    const { k, heap, memory } = this.#ready();
    const HoWo = g.outHeight * g.outWidth;
    const outLen = g.batch * g.outChannels * HoWo;
    if (outLen === 0) return this.#tensor(0, 0);
    const K = g.kernelH * g.kernelW;
    const Cg = g.inChannels / g.groups;
    const CoutG = g.outChannels / g.groups;
    const t = chooseForwardTiling(g, this.#threads, this.options.tilePixels);
    const total = g.batch * t.ntiles * t.ncb;
    const nThreads = Math.min(this.#threads, total);
    const wsBytes = k.dcn_forward_ws_bytes(K, t.P, t.kcc, t.cb, Cg);
    const wpackBytes = g.groups * Math.ceil(CoutG / 4) * 4 * Cg * K * 4;
    // [output, packed weight, job, counter, workspace per thread]
    const sizes = [outLen * 4, wpackBytes, CONV_JOB.bytes, 16, ...Array.from({ length: nThreads }, () => wsBytes)];
    const ptrs = this.#allocAll(heap, sizes, 'deformConv2d workspace');
    const [out, wpack, job, counter] = ptrs;
    const wss = ptrs.slice(4);
    const temps: Temp[] = sizes.slice(1).map((bytes, i) => ({ ptr: ptrs[i + 1], bytes: Math.max(16, bytes) }));
    const freeTemps = () => {
      if (!this.#keepMemory()) for (const tmp of temps) heap.free(tmp.ptr, tmp.bytes);
    };
    const output = this.#tensor(out, outLen);
    const fail = (e: unknown): never => {
      freeTemps();
      this.release(output);
      throw e;
    };
    try {
      writeConvJob(memory, job, g, {
        P: t.P, kcc: t.kcc, ntiles: t.ntiles, cb: t.cb, ncb: t.ncb,
        input: p.input, weight: p.weight, offset: p.offset, mask: p.mask, bias: p.bias, wpack, out,
      });
      k.dcn_pack_weight_fwd(job);
      const r = this.#run(k, memory, 'dcn_forward_chunk', Array(nThreads).fill(job), wss, counter, total, nThreads);
      if (r instanceof Promise) {
        return r.then(() => {
          freeTemps();
          return output;
        }, fail);
      }
    } catch (e) {
      fail(e);
    }
    freeTemps();
    return output;
  }

  deformConv2dBackward(
    g: ConvGeometry,
    inputs: ConvInputs<WasmTensor>,
    gradOutput: WasmTensor,
    want: ConvGradRequest,
  ): ConvGrads<WasmTensor> | Promise<ConvGrads<WasmTensor>> {
    this.#ready();
    return this.#serial(() => {
      const { p, used } = this.#convTensors(g, inputs, gradOutput);
      return this.#pinned(used, () => this.#backward(g, p, want));
    });
  }

  #backward(g: ConvGeometry, p: ConvPointers, want: ConvGradRequest): ConvGrads<WasmTensor> | Promise<ConvGrads<WasmTensor>> {
    const { k, heap, memory } = this.#ready();
    const N = g.batch;
    const K = g.kernelH * g.kernelW;
    const HW = g.inHeight * g.inWidth;
    const HoWo = g.outHeight * g.outWidth;
    const Cg = g.inChannels / g.groups;
    const CoutG = g.outChannels / g.groups;
    const CgK = Cg * K;
    const wantMask = want.mask && g.hasMask;
    const wantBias = want.bias;
    const lens = {
      input: want.input ? N * g.inChannels * HW : -1,
      offset: want.offset ? N * 2 * g.offsetGroups * K * HoWo : -1,
      mask: wantMask ? N * g.offsetGroups * K * HoWo : -1,
      weight: want.weight ? g.outChannels * CgK : -1,
      bias: wantBias ? g.outChannels : -1,
    };
    const needCol2im = N > 0 && (want.input || want.offset || wantMask);
    const needIm2col = N > 0 && want.weight;
    const t = chooseBackwardTiling(g, this.options.tilePixels);
    const total = N * t.ntiles;
    const ginLen = Math.max(0, lens.input);
    const gwLen = Math.max(0, lens.weight);
    const nThreads = needCol2im || needIm2col ? partialThreads(this.#threads, total, (ginLen + gwLen) * 4) : 1;
    const wsBytes = needCol2im || needIm2col ? k.dcn_backward_ws_bytes(K, t.P, t.kcc, CoutG) : 0;
    const wtBytes = needCol2im ? g.groups * Math.ceil(CgK / 4) * 4 * CoutG * 4 : 0;
    const extra = nThreads - 1;
    // The op table's order (input, offset, mask, weight, bias): the indices below rely on it.
    const gradKeys = OPS.deform_conv2d.grads;
    const gradSizes = gradKeys.map((key) => Math.max(0, lens[key]) * 4);
    // [5 grads, packed W^T, jobs (one per thread), counter, partial grad_input, partial grad_weight, workspaces]
    const sizes = [
      ...gradSizes, wtBytes, CONV_JOB.bytes * nThreads, 16, extra * ginLen * 4, extra * gwLen * 4,
      ...Array.from({ length: needCol2im || needIm2col ? nThreads : 0 }, () => wsBytes),
    ];
    const ptrs = this.#allocAll(heap, sizes, 'deformConv2dBackward workspace');
    const grads = gradKeys.map((key, i) => (lens[key] < 0 ? null : lens[key] === 0 ? this.#tensor(0, 0) : this.#tensor(ptrs[i], lens[key])));
    // Absent and zero-length grads did not need their (minimum 16-byte) blocks.
    gradKeys.forEach((key, i) => {
      if (lens[key] <= 0) heap.free(ptrs[i], 16);
    });
    const first = gradKeys.length;
    const [wt, jobs0, counter, pgin, pgw] = ptrs.slice(first, first + 5);
    const wss = ptrs.slice(first + 5);
    const temps: Temp[] = sizes.slice(first).map((bytes, i) => ({ ptr: ptrs[i + first], bytes: Math.max(16, bytes) }));
    const freeTemps = () => {
      if (!this.#keepMemory()) for (const tmp of temps) heap.free(tmp.ptr, tmp.bytes);
    };
    const result = (): ConvGrads<WasmTensor> => Object.fromEntries(gradKeys.map((key, i) => [key, grads[i]])) as unknown as ConvGrads<WasmTensor>;
    const fail = (e: unknown): never => {
      freeTemps();
      for (const h of grads) if (h !== null) this.release(h);
      throw e;
    };
    try {
      const f32 = this.#f32();
      const zero = (ptr: number, len: number) => {
        if (len > 0) f32.fill(0, ptr >>> 2, (ptr >>> 2) + len);
      };
      zero(grads[0]?.ptr ?? 0, ginLen);
      zero(grads[3]?.ptr ?? 0, gwLen);
      zero(pgin, extra * ginLen);
      zero(pgw, extra * gwLen);
      if (N === 0) {
        zero(grads[4]?.ptr ?? 0, Math.max(0, lens.bias));
      }
      const common = {
        P: t.P, kcc: t.kcc, ntiles: t.ntiles, cb: CoutG, ncb: 1,
        input: p.input, weight: p.weight, offset: p.offset, mask: p.mask, bias: p.bias, wpack: wt, gout: p.gradOutput,
        goff: grads[1]?.ptr ?? 0, gmask: grads[2]?.ptr ?? 0, gb: grads[4]?.ptr ?? 0,
        want: (want.input ? CONV_WANT.input : 0) | (want.offset ? CONV_WANT.offset : 0) | (wantMask ? CONV_WANT.mask : 0)
          | (want.weight ? CONV_WANT.weight : 0) | (wantBias ? CONV_WANT.bias : 0),
      };
      const jobs: number[] = [];
      for (let i = 0; i < nThreads; i++) {
        const job = jobs0 + i * CONV_JOB.bytes;
        jobs.push(job);
        writeConvJob(memory, job, g, {
          ...common,
          gin: lens.input <= 0 ? 0 : i === 0 ? grads[0]!.ptr : pgin + (i - 1) * ginLen * 4,
          gw: lens.weight <= 0 ? 0 : i === 0 ? grads[3]!.ptr : pgw + (i - 1) * gwLen * 4,
        });
      }
      if (wantBias && N > 0) k.dcn_grad_bias(jobs[0]);
      if (!needCol2im && !needIm2col) {
        freeTemps();
        return result();
      }
      if (needCol2im) k.dcn_pack_weight_bwd(jobs[0]);
      const finish = (): ConvGrads<WasmTensor> => {
        if (extra > 0) {
          if (ginLen > 0) k.dcn_reduce(grads[0]!.ptr, pgin, extra, ginLen, ginLen);
          if (gwLen > 0) k.dcn_reduce(grads[3]!.ptr, pgw, extra, gwLen, gwLen);
        }
        freeTemps();
        return result();
      };
      const r = this.#run(k, memory, 'dcn_backward_chunk', jobs, wss, counter, total, nThreads);
      if (r instanceof Promise) return r.then(finish, fail);
      return finish();
    } catch (e) {
      return fail(e);
    }
  }

  // -------------------------------------------------------------------------------------------------
  // Modulated deformable RoI pooling

  /** What a RoI pooling call borrows from the backend: memory, kernels, the chunk runner. */
  #roiContext(): RoiPoolContext {
    const { k, heap, memory } = this.#ready();
    return {
      k,
      heap,
      memory,
      threads: this.#threads,
      allocAll: (sizes, what) => this.#allocAll(heap, sizes, what),
      run: (fn, job, wss, counter, total, nThreads) =>
        this.#run(k, memory, fn, Array<number>(nThreads).fill(job), wss, counter, total, nThreads),
      tensor: (ptr, length) => this.#tensor(ptr, length),
      release: (h) => this.release(h),
      keepMemory: () => this.#keepMemory(),
    };
  }

  /** The addresses of a RoI pooling call's tensors, checked as for the convolution (#convTensors). */
  #roiTensors(g: RoiPoolGeometry, inputs: RoiPoolInputs<WasmTensor>, gradOutput: WasmTensor | null): { p: RoiPoolPointers; gout: number; used: Array<Storage | null> } {
    const bins = g.pooledH * g.pooledW;
    const input = this.#storage(inputs.input, 'input', g.batch * g.channels * g.inHeight * g.inWidth);
    const rois = this.#storage(inputs.rois, 'rois', g.rois * 5);
    const offset = this.#optionalStorage(inputs.offset, g.hasOffset, 'offset', g.rois * 2 * bins);
    const mask = this.#optionalStorage(inputs.mask, g.hasMask, 'mask', g.rois * bins);
    const gout = gradOutput === null ? null : this.#storage(gradOutput, 'gradOutput', g.rois * g.channels * bins);
    return {
      p: { input: input.ptr, rois: rois.ptr, offset: offset?.ptr ?? 0, mask: mask?.ptr ?? 0 },
      gout: gout?.ptr ?? 0,
      used: [input, rois, offset, mask, gout],
    };
  }

  deformRoiPool(g: RoiPoolGeometry, inputs: RoiPoolInputs<WasmTensor>): WasmTensor | Promise<WasmTensor> {
    this.#ready();
    return this.#serial(() => {
      const { p, used } = this.#roiTensors(g, inputs, null);
      return this.#pinned(used, () => roiPoolForward(this.#roiContext(), g, p));
    });
  }

  deformRoiPoolBackward(
    g: RoiPoolGeometry,
    inputs: RoiPoolInputs<WasmTensor>,
    gradOutput: WasmTensor,
    want: RoiPoolGradRequest,
  ): RoiPoolGrads<WasmTensor> | Promise<RoiPoolGrads<WasmTensor>> {
    this.#ready();
    return this.#serial(() => {
      const { p, gout, used } = this.#roiTensors(g, inputs, gradOutput);
      return this.#pinned(used, () => roiPoolBackward(this.#roiContext(), g, p, gout, want));
    });
  }

  /**
   * Terminates the workers and drops the memory. A call in flight rejects with DisposedError (its workers
   * are stopped; nothing of it is delivered), and so does every queued call, before it touches memory.
   */
  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    const pool = this.#pool;
    this.#workerChunksAtDispose = this.info.workerChunks;
    this.#pool = null;
    this.#blocker = null;
    this.#kernels = null;
    this.#heap = null;
    this.#memory = null;
    await pool?.close(this.#disposedError('the backend "wasm", disposed while the call ran'));
  }
}
