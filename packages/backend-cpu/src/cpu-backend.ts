/**
 * The `cpu` backend: tensors are plain Float32Arrays on the host and every kernel runs synchronously on
 * the calling thread. Core validates shapes and parameters before any kernel here runs.
 */
import {
  BackendError,
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
import { backward } from './backward.js';
import { forward } from './forward.js';
import { GemmScratch } from './gemm.js';
import { roiPoolForward } from './roi-pool.js';
import { roiPoolBackward } from './roi-pool-backward.js';
import { DEFAULT_WORKSPACE_BYTES, type TilingLimits } from './tiling.js';

export interface CpuBackendOptions {
  /**
   * Scratch budget in bytes for one call's sampling plan and column tiles (default 4 MiB); for RoI
   * pooling, for one chunk of a RoI's sampling plan. Smaller values mean narrower tiles, a reduction split
   * into more chunks, or a RoI walked in more chunks; results do not change beyond float rounding.
   */
  readonly workspaceBytes?: number;
  /** Upper bound on output pixels per tile (default: as many as the workspace allows). */
  readonly tilePixels?: number;
  /**
   * Most bytes of tensors the backend allocates at once (default 2 GiB): one uploaded tensor, or the
   * results of one call together (its output, or all its requested gradients). A larger request is
   * refused with `LimitError` before anything is allocated, instead of growing the process until the
   * system kills it. Raise it on a machine with the memory for bigger problems.
   */
  readonly maxMemoryBytes?: number;
}

/** Default `maxMemoryBytes`: 2 GiB, the size at which browsers' and Node's typed arrays start to fail. */
export const DEFAULT_CPU_MAX_MEMORY_BYTES = 2 ** 31;

function checkPositiveInt(v: unknown, argument: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw new ParamError({ argument, expected: 'a positive integer', actual: v });
  }
  return v;
}

export class CpuBackend implements Backend<Float32Array> {
  readonly name = 'cpu';
  readonly capabilities: BackendCapabilities = Object.freeze({
    threads: 1,
    float16: false,
    resident: false,
    externalBuffers: false,
  });
  /** Both ops, both directions: the methods below, registered per op and direction. */
  readonly kernels: KernelTable<Float32Array> = kernelsFromMethods<Float32Array>(this, [OPS.deform_conv2d, OPS.deform_roi_pool]);
  readonly limits: TilingLimits;
  /** See `CpuBackendOptions.maxMemoryBytes`. */
  readonly maxMemoryBytes: number;
  #disposed = false;
  /** Fixed-size GEMM packing buffers, created on the first call and reused (the kernels are synchronous). */
  #scratch: GemmScratch | null = null;

  constructor(options: CpuBackendOptions | null = {}) {
    // null is accepted as "no options" (tools that create backends by name may pass it).
    if (options === null) options = {};
    if (typeof options !== 'object') {
      throw new ParamError({ argument: 'options', expected: 'an object { workspaceBytes?, tilePixels?, maxMemoryBytes? }', actual: options });
    }
    const workspaceBytes = checkPositiveInt(options.workspaceBytes, 'options.workspaceBytes') ?? DEFAULT_WORKSPACE_BYTES;
    const tilePixels = checkPositiveInt(options.tilePixels, 'options.tilePixels');
    this.limits = Object.freeze(tilePixels === undefined ? { workspaceBytes } : { workspaceBytes, tilePixels });
    this.maxMemoryBytes = checkPositiveInt(options.maxMemoryBytes, 'options.maxMemoryBytes') ?? DEFAULT_CPU_MAX_MEMORY_BYTES;
  }

  /** Refuses, before allocating, `elements` float32 values for `what` beyond `maxMemoryBytes`. */
  #fits(elements: number, what: string): void {
    const bytes = elements * 4;
    if (bytes > this.maxMemoryBytes) {
      throw new LimitError({ argument: what, expected: `at most ${this.maxMemoryBytes} bytes (the cpu backend's maxMemoryBytes)`, actual: `${bytes} bytes` });
    }
  }

  get disposed(): boolean {
    return this.#disposed;
  }

  #check(): void {
    if (this.#disposed) throw new DisposedError({ argument: 'backend', expected: 'a live backend', actual: 'the disposed backend "cpu"' });
  }

  #gemmScratch(): GemmScratch {
    return (this.#scratch ??= new GemmScratch());
  }

  async init(): Promise<void> {
    this.#check();
  }

  upload(data: Float32Array, _shape: readonly number[]): Float32Array {
    this.#check();
    this.#fits(data.length, 'upload');
    return new Float32Array(data);
  }

  async download(handle: Float32Array, shape: readonly number[]): Promise<Float32Array> {
    return this.downloadSync(handle, shape);
  }

  /** The same copy, synchronously (core's `runOpSync`: tfjs kernels). */
  downloadSync(handle: Float32Array, _shape: readonly number[]): Float32Array {
    this.#check();
    return handle.slice();
  }

  /** The same copy into the caller's array (core's `runOpSync` with `into`). */
  downloadSyncInto(handle: Float32Array, _shape: readonly number[], into: Float32Array): void {
    this.#check();
    if (!(into instanceof Float32Array) || into.length !== handle.length) {
      throw new BackendError({ argument: 'into', expected: `a Float32Array of ${handle.length} elements`, actual: into });
    }
    into.set(handle);
  }

  /** Nothing to free: handles are garbage-collected arrays. Tolerated after dispose too (core calls it in `finally`). */
  release(_handle: Float32Array): void {}

  deformConv2d(g: ConvGeometry, inputs: ConvInputs<Float32Array>): Float32Array {
    this.#check();
    this.#fits(g.batch * g.outChannels * g.outHeight * g.outWidth, 'deformConv2d output');
    return forward(g, inputs, this.limits, this.#gemmScratch());
  }

  deformConv2dBackward(
    g: ConvGeometry,
    inputs: ConvInputs<Float32Array>,
    gradOutput: Float32Array,
    want: ConvGradRequest,
  ): ConvGrads<Float32Array> {
    this.#check();
    const taps = g.kernelH * g.kernelW;
    const pixels = g.outHeight * g.outWidth;
    const n = (want.input ? g.batch * g.inChannels * g.inHeight * g.inWidth : 0)
      + (want.offset ? g.batch * 2 * g.offsetGroups * taps * pixels : 0)
      + (want.mask ? g.batch * g.offsetGroups * taps * pixels : 0)
      + (want.weight ? g.outChannels * (g.inChannels / g.groups) * taps : 0)
      + (want.bias ? g.outChannels : 0);
    this.#fits(n, 'deformConv2dBackward gradients');
    return backward(g, inputs, gradOutput, want, this.limits, this.#gemmScratch());
  }

  deformRoiPool(g: RoiPoolGeometry, inputs: RoiPoolInputs<Float32Array>): Float32Array {
    this.#check();
    this.#fits(g.rois * g.channels * g.pooledH * g.pooledW, 'deformRoiPool output');
    return roiPoolForward(g, inputs, this.limits.workspaceBytes);
  }

  deformRoiPoolBackward(
    g: RoiPoolGeometry,
    inputs: RoiPoolInputs<Float32Array>,
    gradOutput: Float32Array,
    want: RoiPoolGradRequest,
  ): RoiPoolGrads<Float32Array> {
    this.#check();
    const bins = g.rois * g.pooledH * g.pooledW;
    this.#fits((want.input ? g.batch * g.channels * g.inHeight * g.inWidth : 0) + (want.offset ? 2 * bins : 0) + (want.mask ? bins : 0), 'deformRoiPoolBackward gradients');
    return roiPoolBackward(g, inputs, gradOutput, want, this.limits.workspaceBytes);
  }

  dispose(): void {
    this.#disposed = true;
    this.#scratch = null;
  }
}
