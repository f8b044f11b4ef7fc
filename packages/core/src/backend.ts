/**
 * The interface a backend implements. Core validates every call and resolves its geometry before a
 * backend sees it, so kernels may trust shapes and parameters. `H` is the backend's own tensor storage
 * (a Float32Array on cpu, a GPUBuffer on webgpu, ...): inputs arrive as handles, outputs leave as handles,
 * and core decides when to read them back, so a GPU backend can chain ops without leaving the device.
 */
import type { KernelTable } from './kernels.js';

/**
 * What a backend's hardware and storage allow. Which ops and directions it runs is not declared here:
 * it is derived from its kernels (`listKernels`, `hasKernel`).
 */
export interface BackendCapabilities {
  /** Largest number of threads it can use (1: single-threaded). */
  readonly threads: number;
  /** Can store tensors as float16 (with float32 accumulation). */
  readonly float16: boolean;
  /** Keeps tensors in its own memory (GPU buffers, wasm heap) rather than host Float32Arrays. */
  readonly resident: boolean;
  /** Can adopt storage created outside dcnv2 (a tfjs tensor's buffer, a caller's GPUDevice). */
  readonly externalBuffers: boolean;
}

/** The tensors of one convolution call (a `deform_conv2d` kernel's inputs). `mask` null = DCNv1 (mask 1); `bias` null = 0. */
export interface ConvInputs<H> {
  readonly input: H;
  readonly weight: H;
  readonly offset: H;
  readonly mask: H | null;
  readonly bias: H | null;
}

/** Which gradients to compute. Core never asks for the gradient of an absent mask or bias. */
export interface ConvGradRequest {
  readonly input: boolean;
  readonly offset: boolean;
  readonly mask: boolean;
  readonly weight: boolean;
  readonly bias: boolean;
}

/** Gradients of L = sum(output * gradOutput); null where not requested. */
export interface ConvGrads<H> {
  readonly input: H | null;
  readonly offset: H | null;
  readonly mask: H | null;
  readonly weight: H | null;
  readonly bias: H | null;
}

export type MaybePromise<T> = T | Promise<T>;

export interface Backend<H = unknown> {
  /** Registry name, e.g. `cpu`. */
  readonly name: string;
  readonly capabilities: BackendCapabilities;
  /** Storage precision of its tensors: 'float16' stores binary16 and computes in float32. Absent = 'float32'. */
  readonly precision?: 'float32' | 'float16';

  /** Acquires what the backend needs (compile wasm, request a GPU device). Called once by the registry. */
  init(): Promise<void>;

  /** Copies host data into a new handle. The caller owns the handle and releases it. */
  upload(data: Float32Array, shape: readonly number[]): H;
  /** Copies a handle's values to the host. Leaves the handle alive. */
  download(handle: H, shape: readonly number[]): Promise<Float32Array>;
  /**
   * Optional: the same copy, synchronously, for the synchronous call path (`runOpSync`, which frameworks
   * with synchronous kernels such as tfjs use). Backends whose tensors live on the host or in wasm memory
   * have it; a GPU backend does not.
   */
  downloadSync?(handle: H, shape: readonly number[]): Float32Array;
  /**
   * Optional: the same copy into the caller's `into` (exactly the shape's size), synchronously: the
   * synchronous path uses it when the caller names where a result goes (`runOpSync`'s `into`: a
   * framework's own memory), saving the intermediate array `downloadSync` would allocate.
   */
  downloadSyncInto?(handle: H, shape: readonly number[], into: Float32Array): void;
  /** Frees a handle. Must tolerate handles of any op of this backend. */
  release(handle: H): void;
  /**
   * Optional: wraps storage created outside dcnv2 (for example a tfjs WebGPU tensor's GPUBuffer) without a
   * copy. The caller keeps ownership; `release` on the result must not free the foreign storage.
   */
  adopt?(external: unknown, shape: readonly number[]): H;

  /**
   * Its kernels, by op and direction (`{ deform_conv2d: { forward, backward }, deform_roi_pool: { forward } }`).
   * Core reads this table for every call; a kernel it lacks is a `CapabilityError` naming op and direction.
   */
  readonly kernels: KernelTable<H>;

  /** Frees everything (workers, devices, pools). The backend is unusable afterwards. */
  dispose(): MaybePromise<void>;
}

/**
 * What a backend package exports (as `dcnBackend`) so tools (the conformance CLI, benchmarks) can create
 * it by name. By convention `create` accepts `{ threads?: number }`: benchmarks pass the thread count they
 * measure, and a single-threaded backend ignores it.
 */
export interface BackendProvider<Options = unknown> {
  readonly name: string;
  create(options?: Options): MaybePromise<Backend>;
}
