/**
 * The WebGPU backend: tensors live in GPU storage buffers (`WebGpuTensor`), the forward convolution is one
 * dispatch of the tiled WGSL kernel (forward-shader.ts, forward.ts), the backward four gather/scatter kernels
 * (backward-shader.ts, backward.ts), RoI pooling its own (roi-pool-shader.ts, roi-pool.ts); downloads go
 * through a MAP_READ staging buffer. This file holds the memory (pool, limits), handles, errors and devices.
 *
 * Precision: tensors are stored as float32, or, with `precision: 'float16'` on a device with `shader-f16`,
 * as IEEE binary16 (half the memory and bandwidth); every kernel widens on load and accumulates in
 * float32 either way, and upload / download convert on the host (float16.ts), so callers always see
 * Float32Arrays.
 */
/// <reference types="@webgpu/types" preserve="true" />
import {
  BackendError,
  CapabilityError,
  DeviceLostError,
  DisposedError,
  LimitError,
  OPS,
  ParamError,
  DcnError,
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
import { BackwardKernels, type BackwardBuffers } from './backward.js';
import {
  checkCallBuffer, checkOptionalCallBuffer, type ConvBackwardBufferSet, type ConvForwardBufferSet, type RoiPoolBackwardBufferSet, type RoiPoolForwardBufferSet,
} from './buffer-calls.js';
import { ForwardKernel, type ForwardBuffers } from './forward.js';
import { FORWARD_WORKGROUP, FORWARD_WORKGROUP_BYTES } from './forward-shader.js';
import { decodeFloat16, encodeFloat16 } from './float16.js';
import { faultError, faultOf, withErrorScopes, type GpuFault } from './gpu-errors.js';
import { COPY_DST, COPY_SRC, MAP_MODE_READ, MAP_READ, STORAGE } from './gpu-flags.js';
import { defaultGpu, noAdapterHint } from '#node-gpu';
import { checkNodeAdapter, type NodeAdapterOptions } from './node-adapter.js';
import { RoiPoolKernels, type RoiPoolBuffers } from './roi-pool.js';
import { storageBytes, type StorageType } from './storage-type.js';

export interface WebGpuBackendOptions {
  /** A device to run on (it stays the caller's: `dispose` does not destroy it). */
  readonly device?: GPUDevice;
  /** A `GPU` to request the adapter from (default: navigator.gpu, or the `webgpu` package in Node). */
  readonly gpu?: GPU;
  /**
   * In Node, without `gpu` or `device`: which Vulkan driver(s) and adapter Dawn should use (default: the
   * `DCNV2_WEBGPU_VK_ICD` and `DCNV2_WEBGPU_ADAPTER` environment variables, else Dawn's default adapter).
   * `{ vulkanIcd: 'swiftshader' }` or `'lavapipe'` runs on a CPU driver on a machine without a GPU. The
   * drivers are a per-process choice (see `NodeAdapterOptions`). Ignored in browsers.
   */
  readonly nodeAdapter?: NodeAdapterOptions;
  /** Passed to `requestAdapter`. */
  readonly powerPreference?: GPUPowerPreference;
  /** Upper bound of bytes kept in the buffer pool for reuse (default 256 MiB). */
  readonly poolBytes?: number;
  /**
   * Most bytes of GPU buffers the backend holds at once (default 4 GiB; `Infinity` for no limit): its live
   * tensors (uploads, outputs, gradients), its buffer pool and a running call's scratch. A request beyond
   * it is refused with `LimitError` before anything is allocated (pooled buffers are freed first to make
   * room). WebGPU cannot tell how much memory a device has: on a software adapter (SwiftShader, lavapipe)
   * GPU buffers are host memory, and allocating past it gets the process killed rather than an error, so
   * the default stays modest; raise it on a GPU with more memory.
   */
  readonly maxMemoryBytes?: number;
  /** Ignored (a GPU backend has no thread count); accepted for the BackendProvider convention. */
  readonly threads?: number;
  /**
   * Storage precision of every tensor (default 'float32'). 'float16' stores binary16 and computes in
   * float32; it needs the `shader-f16` feature: `init` throws CapabilityError when the adapter (or the
   * injected device) lacks it. Results then carry the rounding of every input to 11 significant bits.
   */
  readonly precision?: 'float32' | 'float16';
}

/** The adapter behind a backend, as `GPUAdapterInfo` tells it, plus whether it is a CPU rasteriser. */
export interface WebGpuAdapterDescription {
  readonly vendor: string;
  readonly architecture: string;
  readonly description: string;
  readonly isFallbackAdapter: boolean;
  /** SwiftShader, llvmpipe/lavapipe or a fallback adapter: correct, but its timings mean nothing. */
  readonly software: boolean;
}

function describeAdapter(info: GPUAdapterInfo | null): WebGpuAdapterDescription | null {
  if (info === null) return null;
  const fallback = (info as { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
  const text = `${info.vendor} ${info.architecture} ${info.description}`;
  return {
    vendor: info.vendor,
    architecture: info.architecture,
    description: info.description,
    isFallbackAdapter: fallback,
    software: fallback || /swiftshader|llvmpipe|lavapipe|software/i.test(text),
  };
}

/**
 * Who made each tensor. Module-private, so only tensors this module made pass `checkHandle`: an object
 * built with `new WebGpuTensor(...)` or copied from a real one is refused, and so is a tensor of another
 * backend instance (whose buffer may live on another device).
 */
const OWNERS = new WeakMap<WebGpuTensor, WebGpuBackend>();

/** Where a tensor's making stands: the GPU has not answered yet, accepted it, or failed it (its buffer is gone). */
type TensorState = 'pending' | 'ok' | 'failed';

/** A tensor of this backend: a storage buffer holding `length` values of the backend's storage type. */
export class WebGpuTensor {
  /** False once released. */
  alive = true;
  /**
   * What the GPU reported on the work that made this tensor: null when it succeeded. `upload` is
   * synchronous and learns of an allocation failure only afterwards, so its tensor carries the error
   * here and every later use (download, a kernel) throws it.
   */
  fault: Promise<GpuFault | null> = Promise.resolve(null);
  /** @internal */
  state: TensorState = 'ok';
  /** @internal Bytes of the backend's memory budget this tensor's buffer holds (0: adopted, or given back). */
  accounted = 0;
  constructor(
    readonly buffer: GPUBuffer,
    readonly length: number,
    /** False for adopted (foreign) buffers: release does not free them. */
    readonly owned: boolean,
    /** The device the buffer belongs to: after `attachDevice` a tensor of the old one is refused. */
    readonly device: GPUDevice | null = null,
  ) {}
}

const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
/** Pool size class: buffers are allocated at a multiple of 256 bytes (at least 256). */
const sizeClass = (bytes: number): number => Math.max(256, Math.ceil(bytes / 256) * 256);
/** `bytes` rounded up to whole 4-byte words (the granularity of buffer copies and bindings). */
const wordBytes = (bytes: number): number => Math.ceil(bytes / 4) * 4;

/** Default `maxMemoryBytes`: 4 GiB of buffers held at once. */
export const DEFAULT_WEBGPU_MAX_MEMORY_BYTES = 2 ** 32;
/**
 * Elements per queue write of an upload that needs a host-side conversion (float16 storage) or copy
 * (shared memory): the temporary host array stays at most 16 Mi elements.
 */
const UPLOAD_CHUNK = 1 << 24;
/** Bytes per staging buffer of a download: a large tensor is read back in pieces of at most 64 MiB. */
const DOWNLOAD_CHUNK_BYTES = 1 << 26;

/** What a call may allocate: its results, and scratch buffers that live until the call has been validated. */
interface CallAllocator {
  /** A new tensor of `length` elements (of `elementBytes` bytes each, default the storage type's): a result. */
  result(length: number, elementBytes?: number): WebGpuTensor;
  /** A buffer of at least `bytes` bytes for this call only. */
  scratch(bytes: number): GPUBuffer;
}

/** Element counts of a convolution's tensors. */
function convLengths(g: ConvGeometry) {
  const taps = g.kernelH * g.kernelW;
  const HoWo = g.outHeight * g.outWidth;
  return {
    input: g.batch * g.inChannels * g.inHeight * g.inWidth,
    weight: g.outChannels * (g.inChannels / g.groups) * taps,
    offset: g.batch * 2 * g.offsetGroups * taps * HoWo,
    mask: g.batch * g.offsetGroups * taps * HoWo,
    bias: g.outChannels,
    output: g.batch * g.outChannels * HoWo,
  };
}

/** Element counts of a RoI pooling call's tensors. */
function roiLengths(g: RoiPoolGeometry) {
  const bins = g.rois * g.pooledH * g.pooledW;
  return {
    input: g.batch * g.channels * g.inHeight * g.inWidth,
    rois: g.rois * 5,
    offset: 2 * bins,
    mask: bins,
    output: g.rois * g.channels * g.pooledH * g.pooledW,
  };
}

/** A byte count option: a safe integer above 0 (or also 0 when `allowZero`), or Infinity (no limit). */
function checkBytes(v: unknown, argument: string, fallback: number, allowZero: boolean): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !(v === Infinity || (Number.isSafeInteger(v) && (v > 0 || (allowZero && v === 0))))) {
    throw new ParamError({ argument, expected: `${allowZero ? 'a non-negative' : 'a positive'} integer number of bytes, or Infinity`, actual: v });
  }
  return v;
}

export class WebGpuBackend implements Backend<WebGpuTensor> {
  readonly name = 'webgpu';
  /** Storage precision of every tensor (see WebGpuBackendOptions.precision). */
  readonly precision: 'float32' | 'float16';
  /** The WGSL element type of every tensor buffer (`ST` in the shaders): f16 exactly when precision is float16. */
  readonly storage: StorageType;
  /** See `WebGpuBackendOptions.maxMemoryBytes`. */
  readonly maxMemoryBytes: number;
  /** The methods below, registered per op and direction (RoI pooling only at float32). */
  readonly kernels: KernelTable<WebGpuTensor>;
  /** `float16` becomes true at `init` when the device has `shader-f16`. */
  private caps: BackendCapabilities = {
    threads: 1,
    float16: false,
    resident: true,
    externalBuffers: true,
  };

  private dev: GPUDevice | null = null;
  /** The caller's device to run on (options.device, or the one given to attachDevice); undefined: make one. */
  private injected: GPUDevice | undefined;
  private ownsDevice = false;
  private lostInfo: GPUDeviceLostInfo | null = null;
  private adapterDesc: WebGpuAdapterDescription | null = null;
  private disposed = false;
  /** The forward kernel (forward.ts), compiled at init. */
  private fwd: ForwardKernel | null = null;
  private bwd: BackwardKernels | null = null;
  /** RoI pooling kernels, made on the first RoI pooling call (init stays cheap for convolution-only use). */
  private roi: RoiPoolKernels | null = null;
  /** The device on which `prepareBufferCalls` compiled the RoI pooling kernels the `submit*` calls use. */
  private roiBufferCallsReady: GPUDevice | null = null;
  private readonly pool = new Map<number, GPUBuffer[]>();
  private pooled = 0;
  private readonly poolLimit: number;
  /** Bytes of the buffers this backend holds on the current device: live tensors, pooled buffers, a call's scratch. */
  private held = 0;
  /** A GPU error no scope caught (see onUncaptured), thrown by the next call. */
  private uncaptured: GpuFault | null = null;
  private readonly options: WebGpuBackendOptions;

  constructor(options: WebGpuBackendOptions = {}) {
    // null is accepted as "no options" (tools that create backends by name may pass it).
    if (options === null) options = {};
    if (typeof options !== 'object') {
      throw new ParamError({ argument: 'options', expected: 'an object { device?, gpu?, nodeAdapter?, powerPreference?, poolBytes?, maxMemoryBytes?, precision? }', actual: options });
    }
    checkNodeAdapter(options.nodeAdapter);
    this.options = options;
    this.poolLimit = checkBytes(options.poolBytes, 'options.poolBytes', 256 * 1024 * 1024, true);
    this.maxMemoryBytes = checkBytes(options.maxMemoryBytes, 'options.maxMemoryBytes', DEFAULT_WEBGPU_MAX_MEMORY_BYTES, false);
    this.injected = options.device;
    const precision = options.precision ?? 'float32';
    if (precision !== 'float32' && precision !== 'float16') {
      throw new ParamError({ argument: 'options.precision', expected: '"float32" or "float16"', actual: precision });
    }
    this.precision = precision;
    this.storage = precision === 'float16' ? 'f16' : 'f32';
    // RoI pooling is not offered at float16 yet: its RoI coordinates would be stored as binary16 too
    // (whole pixels only up to 2048, 1/16 px steps from 128), and no float16 tolerances judge it.
    this.kernels = kernelsFromMethods<WebGpuTensor>(this, this.storage === 'f16' ? [OPS.deform_conv2d] : [OPS.deform_conv2d, OPS.deform_roi_pool]);
  }

  /**
   * What runs the kernels (after `init`): the adapter's description and whether it is a software
   * rasteriser (SwiftShader, llvmpipe/lavapipe, a fallback adapter), whose timings say nothing about a
   * GPU. `variant` is the one-line form tools print.
   */
  get info(): { readonly variant: string; readonly adapter: WebGpuAdapterDescription | null } {
    const a = this.adapterDesc;
    const name = a === null ? 'unknown adapter' : a.description || [a.vendor, a.architecture].filter(Boolean).join(' ') || 'unnamed adapter';
    return { variant: `${this.storage}, ${name}${a?.software ? ', software' : ''}`, adapter: a };
  }

  get capabilities(): BackendCapabilities {
    return this.caps;
  }

  /** Bytes of GPU buffers the backend holds now (tensors, pool, a running call's scratch), counted against `maxMemoryBytes`. */
  get heldBytes(): number {
    return this.held;
  }

  /** The part of `heldBytes` in the buffer pool: released buffers kept for reuse, freed first when room is needed. */
  get pooledBytes(): number {
    return this.pooled;
  }

  /** Bytes per stored element. */
  private get elementBytes(): number {
    return storageBytes(this.storage);
  }

  /** The device in use (after `init`). */
  get device(): GPUDevice {
    return this.live();
  }

  async init(): Promise<void> {
    if (this.disposed) throw new DisposedError({ argument: 'backend', expected: 'a live backend', actual: 'disposed' });
    if (this.dev !== null) return;
    const f16 = this.storage === 'f16';
    const noF16 = (argument: string, what: string) =>
      new CapabilityError({ argument, expected: 'a WebGPU device with the "shader-f16" feature for precision "float16"', actual: what });
    let device = this.injected;
    let adapterInfo: GPUAdapterInfo | null = null;
    if (device === undefined) {
      const gpu = this.options.gpu ?? (await defaultGpu({ shaderF16: f16 }, this.options.nodeAdapter));
      let adapter: GPUAdapter | null;
      try {
        adapter = await gpu.requestAdapter(this.options.powerPreference ? { powerPreference: this.options.powerPreference } : undefined);
      } catch (e) {
        // Dawn rejects (rather than resolving null) when its adapter=NAME flag matches no adapter.
        const why = String((e as Error)?.message ?? e).replace(/\s*\n\s*/g, ' ');
        throw new BackendError({ argument: 'backend', expected: 'a WebGPU adapter', actual: null }, `requestAdapter() failed: ${why}; ${noAdapterHint(gpu)}`);
      }
      if (adapter === null) throw new BackendError({ argument: 'backend', expected: 'a WebGPU adapter', actual: null }, noAdapterHint(gpu));
      // shader-f16 is requested whenever the adapter has it, so capabilities.float16 tells what the device can do.
      const hasF16 = adapter.features.has('shader-f16');
      adapterInfo = adapter.info ?? null;
      if (f16 && !hasF16) throw noF16('options.precision', `an adapter without it (${adapter.info?.description || adapter.info?.vendor || 'unnamed'})`);
      const a = adapter.limits;
      device = await adapter.requestDevice({
        requiredFeatures: hasF16 ? ['shader-f16'] : [],
        requiredLimits: {
          maxStorageBufferBindingSize: a.maxStorageBufferBindingSize,
          maxBufferSize: a.maxBufferSize,
          maxComputeWorkgroupStorageSize: a.maxComputeWorkgroupStorageSize,
        },
      });
      this.ownsDevice = true;
    } else if (f16 && !device.features.has('shader-f16')) {
      throw noF16('options.device', 'a device created without it (pass requiredFeatures: ["shader-f16"] to requestDevice)');
    }
    this.caps = { ...this.caps, float16: device.features.has('shader-f16') };
    this.adapterDesc = describeAdapter(adapterInfo ?? (device as { adapterInfo?: GPUAdapterInfo }).adapterInfo ?? null);
    const lim = device.limits;
    if (lim.maxComputeWorkgroupStorageSize < FORWARD_WORKGROUP_BYTES) {
      throw new LimitError({ argument: 'device.limits.maxComputeWorkgroupStorageSize', expected: `>= ${FORWARD_WORKGROUP_BYTES}`, actual: lim.maxComputeWorkgroupStorageSize });
    }
    if (lim.maxComputeInvocationsPerWorkgroup < FORWARD_WORKGROUP) {
      throw new LimitError({ argument: 'device.limits.maxComputeInvocationsPerWorkgroup', expected: `>= ${FORWARD_WORKGROUP}`, actual: lim.maxComputeInvocationsPerWorkgroup });
    }
    const dev = device;
    void dev.lost.then((info) => {
      if (this.dev === dev && !this.disposed) this.lostInfo = info;
    });
    dev.addEventListener('uncapturederror', this.onUncaptured);
    this.dev = dev;
    this.held = 0;
    this.fwd = await ForwardKernel.create(dev, this.storage);
    this.bwd = await BackwardKernels.create(dev, this.storage);
  }

  /**
   * A GPU error outside every error scope: every GPU call of this backend runs inside scopes, so on the
   * backend's own device this is someone else's use of `backend.device`, and on a caller's device it is
   * ours only if it names a dcnv2 object (every buffer and pipeline is labelled "dcnv2 ..."). Either way it
   * is not left unreported: the next call of this backend throws it (see takeUncaptured).
   */
  private readonly onUncaptured = (ev: Event): void => {
    const error = (ev as GPUUncapturedErrorEvent).error;
    if (error === undefined || error === null) return;
    if (!this.ownsDevice && !/dcnv2/.test(error.message)) return;
    this.uncaptured ??= faultOf(error);
    ev.preventDefault();
  };

  private live(): GPUDevice {
    if (this.disposed) throw new DisposedError({ argument: 'backend', expected: 'a live backend', actual: 'disposed' });
    if (this.lostInfo !== null) {
      throw new DeviceLostError({ argument: 'device', expected: 'a live GPU device', actual: 'lost' }, `${this.lostInfo.reason}: ${this.lostInfo.message}; attachDevice() continues on a new device`);
    }
    if (this.dev === null) throw new BackendError({ argument: 'backend', expected: 'an initialised backend (call init())', actual: 'uninitialised' });
    return this.dev;
  }

  /** The live device, after reporting (once) a GPU error that no scope caught since the last call. */
  private enter(): GPUDevice {
    const dev = this.live();
    const f = this.uncaptured;
    if (f !== null) {
      this.uncaptured = null;
      throw faultError(f, 'device', undefined, 'reported outside every call of this backend');
    }
    return dev;
  }

  /** The live device, which must still be `dev` (a call whose handles and kernels were checked on it). */
  private sameDevice(dev: GPUDevice): GPUDevice {
    const now = this.live();
    if (now !== dev) throw new DeviceLostError({ argument: 'device', expected: 'the device the call started on', actual: 'a device replaced during the call (attachDevice)' });
    return now;
  }

  /** Refuses, before allocating, a buffer beyond the device's binding or buffer size limit. */
  private checkSize(argument: string, bytes: number): void {
    const lim = this.live().limits;
    if (bytes > lim.maxStorageBufferBindingSize) {
      throw new LimitError({ argument, expected: `at most maxStorageBufferBindingSize = ${lim.maxStorageBufferBindingSize} bytes`, actual: bytes });
    }
    if (bytes > lim.maxBufferSize) {
      throw new LimitError({ argument, expected: `at most maxBufferSize = ${lim.maxBufferSize} bytes`, actual: bytes });
    }
  }

  /** The size a buffer for `bytes` is allocated at: its pool size class, unless that would pass maxBufferSize. */
  private classFor(bytes: number): number {
    const cls = sizeClass(bytes);
    return cls <= this.live().limits.maxBufferSize ? cls : Math.max(4, wordBytes(bytes));
  }

  /**
   * Refuses, before anything is allocated, `bytes` more when the backend would then hold more than
   * `maxMemoryBytes`; pooled buffers are freed first to make room.
   */
  private room(argument: string, bytes: number): void {
    const max = this.maxMemoryBytes;
    if (this.held + bytes <= max) return;
    for (const [cls, list] of this.pool) {
      while (list.length > 0 && this.held + bytes > max) {
        list.pop()!.destroy();
        this.pooled -= cls;
        this.held -= cls;
      }
    }
    if (this.held + bytes > max) {
      throw new LimitError(
        { argument, expected: `at most maxMemoryBytes = ${max} bytes of GPU buffers held by the webgpu backend (${this.held} held now)`, actual: `${bytes} more bytes` },
        'release tensors, or raise maxMemoryBytes in createWebGpuBackend',
      );
    }
  }

  /**
   * Before a backward call allocates: each requested gradient (`on`) of `lens[k]` elements of `eb` bytes,
   * and with `f32Acc` the float32 grad_input accumulator, must fit a binding, and all of them the memory
   * limit (`room`).
   */
  private roomForGradients<K extends string>(on: Readonly<Record<K, boolean>>, lens: Readonly<Record<string, number>>, eb: number, f32Acc: boolean): void {
    let total = 0;
    for (const k of Object.keys(on) as K[]) {
      if (!on[k]) continue;
      this.checkSize(`grad_${k}`, lens[k]! * eb);
      total += this.classFor(lens[k]! * eb);
    }
    if (f32Acc) {
      this.checkSize('grad_input (float32 accumulator)', lens.input! * 4);
      total += this.classFor(lens.input! * 4);
    }
    this.room('gradients', total);
  }

  /** A buffer of at least `bytes` bytes (from the pool when one of its size class is there), counted as held. */
  private acquire(bytes: number): GPUBuffer {
    const cls = this.classFor(bytes);
    const list = this.pool.get(cls);
    const b = list?.pop();
    if (b !== undefined) {
      this.pooled -= cls;
      return b;
    }
    this.held += cls;
    return this.live().createBuffer({ size: cls, usage: STORAGE | COPY_SRC | COPY_DST, label: 'dcnv2 tensor' });
  }

  /** A new tensor of the current device, registered as this backend's. */
  private tensor(buffer: GPUBuffer, length: number, owned: boolean): WebGpuTensor {
    const t = new WebGpuTensor(buffer, length, owned, this.dev);
    if (owned) t.accounted = buffer.size;
    OWNERS.set(t, this);
    return t;
  }

  /**
   * `h` as a tensor this call may use as `argument`: made by this backend instance, not released, of the
   * current device, and holding exactly `length` elements (the shape the caller states must match the
   * storage, else a kernel would read past the buffer or a download return the wrong number of values).
   */
  private checkHandle(argument: string, h: unknown, length: number): WebGpuTensor {
    const owner = h instanceof WebGpuTensor ? OWNERS.get(h) : undefined;
    if (owner === undefined) throw new BackendError({ argument, expected: 'a tensor made by a webgpu backend', actual: h });
    if (owner !== this) {
      throw new BackendError({ argument, expected: 'a tensor of this webgpu backend instance', actual: 'a tensor of another webgpu backend instance' }, 'read it back and upload it here');
    }
    const t = h as WebGpuTensor;
    if (!t.alive) throw new DisposedError({ argument, expected: 'a live tensor', actual: 'released' });
    if (t.device !== null && t.device !== this.dev) {
      throw new DeviceLostError({ argument, expected: 'a tensor of the current device', actual: 'a tensor of a device that was lost or replaced (attachDevice)' });
    }
    if (t.length !== length) {
      throw new BackendError({ argument, expected: `a tensor of ${length} elements`, actual: `a tensor of ${t.length} elements` }, 'the shape given does not match the tensor\'s storage');
    }
    return t;
  }

  /** Frees a tensor's buffer now (never into the pool: it may be invalid) and gives its bytes back. */
  private discard(t: WebGpuTensor): void {
    t.alive = false;
    t.state = 'failed';
    if (!t.owned) return;
    if (t.accounted > 0 && t.device === this.dev) this.held -= t.accounted;
    t.accounted = 0;
    t.buffer.destroy();
  }

  /** The typed error of the first input whose making failed (an upload that ran out of memory), or null. */
  private async inputFault(inputs: Readonly<Record<string, WebGpuTensor | null>>): Promise<DcnError | null> {
    for (const [k, t] of Object.entries(inputs)) {
      if (t === null) continue;
      const f = await t.fault;
      if (f !== null) return faultError(f, k, t.length * this.elementBytes);
    }
    return null;
  }

  /**
   * Runs the synchronous GPU work of one call inside error scopes and resolves with its result once the
   * device has validated it; on any GPU error (or a failed input, or a device lost meanwhile) it frees
   * everything the call allocated and rejects with the typed error (see gpu-errors.ts): LimitError naming
   * `results` (what the call allocates) when the GPU ran out of memory, BackendError naming the call `op`
   * for a validation or internal error.
   */
  private async gpuCall<T>(op: string, results: string, inputs: Readonly<Record<string, WebGpuTensor | null>>, work: (a: CallAllocator) => T): Promise<T> {
    const dev = this.live();
    const made: WebGpuTensor[] = [];
    const temps: WebGpuTensor[] = [];
    const alloc: CallAllocator = {
      result: (length, elementBytes = this.elementBytes) => {
        const t = this.tensor(this.acquire(length * elementBytes), length, true);
        t.state = 'pending';
        made.push(t);
        return t;
      },
      scratch: (bytes) => {
        const t = this.tensor(this.acquire(bytes), 0, true);
        t.state = 'pending';
        temps.push(t);
        return t.buffer;
      },
    };
    let run: { value: T; fault: Promise<GpuFault | null> };
    try {
      run = withErrorScopes(dev, () => work(alloc));
    } catch (e) {
      for (const t of [...made, ...temps]) this.discard(t);
      throw e;
    }
    const [inFault, fault] = await Promise.all([this.inputFault(inputs), run.fault]);
    if (inFault !== null || fault !== null || this.dev !== dev || this.lostInfo !== null || this.disposed) {
      for (const t of [...made, ...temps]) this.discard(t);
      if (inFault !== null) throw inFault;
      this.sameDevice(dev);
      throw faultError(fault!, fault!.kind === 'out-of-memory' ? results : op);
    }
    for (const t of made) t.state = 'ok';
    // Scratch goes back to the pool: later submissions are ordered after the ones that use it.
    for (const t of temps) {
      t.state = 'ok';
      this.release(t);
    }
    return run.value;
  }

  /**
   * Copies `data` into a new buffer, rounded to binary16 (nearest, ties to even) with float16 storage.
   * The copy is made before returning (queue writes copy their source), so `data` is never read again.
   * Should the GPU fail to allocate the buffer, which it reports only later, the tensor carries the error
   * and its next use throws it (LimitError for out of memory).
   */
  upload(data: Float32Array, shape: readonly number[]): WebGpuTensor {
    const dev = this.enter();
    const n = size(shape);
    if (!(data instanceof Float32Array) || data.length !== n) {
      throw new BackendError({ argument: 'data', expected: `a Float32Array of ${n} elements (the shape's size)`, actual: data });
    }
    const bytes = n * this.elementBytes;
    this.checkSize('tensor', bytes);
    this.room('tensor', this.classFor(bytes));
    let t: WebGpuTensor | null = null;
    let fault: Promise<GpuFault | null>;
    try {
      ({ fault } = withErrorScopes(dev, () => {
        t = this.tensor(this.acquire(bytes), n, true);
        if (n > 0) this.write(t.buffer, data, n);
      }));
    } catch (e) {
      if (t !== null) this.discard(t);
      if (e instanceof DcnError) throw e;
      // Dawn throws (a TypeError) for arguments it cannot take at all: still a typed error of this upload.
      throw new BackendError({ argument: 'data', expected: 'data the GPU queue accepts', actual: data }, String((e as Error)?.message ?? e));
    }
    const made: WebGpuTensor = t!;
    made.state = 'pending';
    made.fault = fault.then((f) => {
      if (f !== null) {
        // The buffer is unusable (or was never made): free it now; the tensor keeps the error for its next use.
        const released = !made.alive;
        this.discard(made);
        made.alive = !released;
      } else if (made.state === 'pending') {
        made.state = 'ok';
      }
      return f;
    });
    return made;
  }

  /** Queue writes of `data[0, n)` into `buf`, converting or copying on the host in bounded chunks where needed. */
  private write(buf: GPUBuffer, data: Float32Array, n: number): void {
    const queue = this.live().queue;
    if (this.storage === 'f16') {
      // Each chunk but the last has an even length, so it covers whole 4-byte words (queue writes move words);
      // encodeFloat16 pads the last one, and the buffer's size class has room for that.
      for (let i = 0; i < n; i += UPLOAD_CHUNK) {
        const bits = encodeFloat16(data.subarray(i, Math.min(n, i + UPLOAD_CHUNK)));
        queue.writeBuffer(buf, i * 2, bits.buffer, bits.byteOffset, bits.byteLength);
      }
    } else if (data.buffer instanceof ArrayBuffer) {
      queue.writeBuffer(buf, 0, data.buffer, data.byteOffset, n * 4);
    } else {
      // SharedArrayBuffer memory (or a buffer from another realm): Dawn's writeBuffer takes no shared
      // memory, so the values go through a private staging array, a bounded chunk at a time.
      const staging = new Float32Array(Math.min(n, UPLOAD_CHUNK));
      for (let i = 0; i < n; i += staging.length) {
        const m = Math.min(staging.length, n - i);
        staging.set(data.subarray(i, i + m));
        queue.writeBuffer(buf, i * 4, staging.buffer, 0, m * 4);
      }
    }
  }

  /**
   * Wraps a caller's storage buffer (usage STORAGE | COPY_SRC) without a copy; release leaves it alone.
   * It must hold the tensor densely in this backend's storage type: float32 values, or IEEE binary16
   * values (WGSL `f16`) when `precision` is 'float16', and be at least that many bytes rounded up to 4.
   */
  adopt(external: unknown, shape: readonly number[]): WebGpuTensor {
    this.enter();
    const n = size(shape);
    const b = external as GPUBuffer;
    if (typeof b !== 'object' || b === null || typeof (b as { size?: unknown }).size !== 'number' || typeof b.destroy !== 'function') {
      throw new BackendError({ argument: 'external', expected: 'a GPUBuffer', actual: external });
    }
    const need = wordBytes(n * this.elementBytes);
    if (b.size < need) throw new BackendError({ argument: 'external.size', expected: `>= ${need} bytes (${n} ${this.storage} values)`, actual: b.size });
    this.checkSize('external', need);
    return this.tensor(b, n, false);
  }

  async download(handle: WebGpuTensor, shape: readonly number[]): Promise<Float32Array> {
    const dev = this.enter();
    const n = size(shape);
    const t = this.checkHandle('tensor', handle, n);
    const made = await t.fault;
    if (made !== null) throw faultError(made, 'tensor', n * this.elementBytes);
    if (n === 0) return new Float32Array(0);
    const eb = this.elementBytes;
    // Copies move whole 4-byte words: an odd count of f16 values reads one padding value too.
    const bytes = wordBytes(n * eb);
    const out = new Float32Array(n);
    for (let at = 0; at < bytes; at += DOWNLOAD_CHUNK_BYTES) {
      const len = Math.min(DOWNLOAD_CHUNK_BYTES, bytes - at);
      this.live();
      const { value: staging, fault } = withErrorScopes(dev, () => {
        const s = dev.createBuffer({ size: len, usage: MAP_READ | COPY_DST, label: 'dcnv2 download staging' });
        const enc = dev.createCommandEncoder({ label: 'dcnv2 download' });
        enc.copyBufferToBuffer(t.buffer, at, s, 0, len);
        dev.queue.submit([enc.finish()]);
        return s;
      });
      try {
        const mapped = staging.mapAsync(MAP_MODE_READ, 0, len).then(() => null, (e: unknown) => e);
        const [f, mapError] = await Promise.all([fault, mapped]);
        if (f !== null) throw faultError(f, 'tensor');
        if (mapError !== null) {
          this.live(); // a lost device reports as DeviceLostError
          throw new BackendError({ argument: 'tensor', expected: 'a staging buffer mapped for reading', actual: (mapError as Error)?.name ?? mapError }, String((mapError as Error)?.message ?? mapError));
        }
        const range = staging.getMappedRange(0, len);
        const first = at / eb;
        const count = Math.min(len / eb, n - first);
        out.set(this.storage === 'f16' ? decodeFloat16(new Uint16Array(range), count) : new Float32Array(range, 0, count), first);
        staging.unmap();
      } finally {
        staging.destroy();
      }
    }
    return out;
  }

  release(handle: WebGpuTensor): void {
    // Only tensors of this instance: a foreign or forged handle is none of its business.
    if (!(handle instanceof WebGpuTensor) || OWNERS.get(handle) !== this) return;
    if (!handle.alive) return;
    handle.alive = false;
    if (!handle.owned || handle.state === 'failed') return;
    if (handle.state === 'pending') {
      // An upload the GPU has not answered for yet may hold an invalid buffer: pool it only once it is
      // known to be good (a failed one is freed by upload itself).
      void handle.fault.then((f) => {
        if (f === null) this.recycle(handle);
      });
      return;
    }
    this.recycle(handle);
  }

  /** Puts a released tensor's valid buffer into the pool, or frees it when the pool is full or the device gone. */
  private recycle(t: WebGpuTensor): void {
    if (this.disposed || this.dev === null || (t.device !== null && t.device !== this.dev)) {
      t.accounted = 0;
      t.buffer.destroy();
      return;
    }
    const cls = t.buffer.size;
    if (this.pooled + cls > this.poolLimit) {
      this.held -= t.accounted;
      t.accounted = 0;
      t.buffer.destroy();
      return;
    }
    let list = this.pool.get(cls);
    if (list === undefined) this.pool.set(cls, (list = []));
    list.push(t.buffer);
    this.pooled += cls;
    // Its bytes stay held, now as pooled bytes.
    t.accounted = 0;
  }

  /** The convolution's input handles, each checked (own, live, on this device, of the geometry's size). */
  private checkConvHandles(inputs: ConvInputs<WebGpuTensor>, lens: ReturnType<typeof convLengths>) {
    return {
      input: this.checkHandle('input', inputs.input, lens.input),
      weight: this.checkHandle('weight', inputs.weight, lens.weight),
      offset: this.checkHandle('offset', inputs.offset, lens.offset),
      mask: inputs.mask === null ? null : this.checkHandle('mask', inputs.mask, lens.mask),
      bias: inputs.bias === null ? null : this.checkHandle('bias', inputs.bias, lens.bias),
    };
  }

  async deformConv2d(g: ConvGeometry, inputs: ConvInputs<WebGpuTensor>): Promise<WebGpuTensor> {
    const dev = this.enter();
    const lens = convLengths(g);
    const ins = this.checkConvHandles(inputs, lens);
    const outLen = lens.output;
    this.checkSize('output', outLen * this.elementBytes);
    const plan = ForwardKernel.plan(g, dev.limits.maxComputeWorkgroupsPerDimension);
    this.room('output', this.classFor(outLen * this.elementBytes));
    return this.gpuCall('deformConv2d', 'output', ins, (a) => {
      const result = a.result(outLen);
      const b = { input: ins.input.buffer, weight: ins.weight.buffer, offset: ins.offset.buffer, mask: ins.mask?.buffer ?? null, bias: ins.bias?.buffer ?? null };
      this.fwd!.run(g, { ...b, output: result.buffer }, plan);
      return result;
    });
  }

  /** Backward: every requested gradient of L = sum(output * gradOutput) (see backward-shader.ts). */
  async deformConv2dBackward(g: ConvGeometry, inputs: ConvInputs<WebGpuTensor>, gradOutput: WebGpuTensor, want: ConvGradRequest): Promise<ConvGrads<WebGpuTensor>> {
    const dev = this.enter();
    const lens = convLengths(g);
    const ins = {
      ...this.checkConvHandles(inputs, lens),
      gradOutput: this.checkHandle('gradOutput', gradOutput, lens.output),
    };
    const on = { input: want.input, offset: want.offset, mask: want.mask && ins.mask !== null, weight: want.weight, bias: want.bias };
    const eb = this.elementBytes;
    // f16 storage: grad_input is accumulated by 32-bit CAS adds in a float32 scratch buffer, then rounded.
    const f32Acc = on.input && this.storage === 'f16';
    this.roomForGradients(on, lens, eb, f32Acc);
    return this.gpuCall('deformConv2dBackward', 'gradients', ins, (a) => {
      const grads: ConvGrads<WebGpuTensor> = {
        input: on.input ? a.result(lens.input) : null,
        offset: on.offset ? a.result(lens.offset) : null,
        mask: on.mask ? a.result(lens.mask) : null,
        weight: on.weight ? a.result(lens.weight) : null,
        bias: on.bias ? a.result(lens.bias) : null,
      };
      const scratch = f32Acc ? a.scratch(lens.input * 4) : null;
      this.bwd!.run(
        g,
        {
          input: ins.input.buffer, weight: ins.weight.buffer, offset: ins.offset.buffer, mask: ins.mask?.buffer ?? null,
          gradOut: ins.gradOutput.buffer,
          gInput: grads.input?.buffer ?? null, gOffset: grads.offset?.buffer ?? null, gMask: grads.mask?.buffer ?? null,
          gWeight: grads.weight?.buffer ?? null, gBias: grads.bias?.buffer ?? null,
          gInputF32: scratch,
        },
        on,
        dev.limits.maxComputeWorkgroupsPerDimension,
      );
      return grads;
    });
  }

  /** The storage type RoI pooling handles are read and written as: the backend's. */
  private roiStorage(): StorageType {
    return this.storage;
  }

  private roiKernels(dev: GPUDevice): RoiPoolKernels {
    this.roi ??= new RoiPoolKernels(dev);
    return this.roi;
  }

  private roiInputs(g: RoiPoolGeometry, inputs: RoiPoolInputs<WebGpuTensor>) {
    const lens = roiLengths(g);
    return {
      input: this.checkHandle('input', inputs.input, lens.input),
      rois: this.checkHandle('rois', inputs.rois, lens.rois),
      offset: inputs.offset === null ? null : this.checkHandle('offset', inputs.offset, lens.offset),
      mask: inputs.mask === null ? null : this.checkHandle('mask', inputs.mask, lens.mask),
    };
  }

  /** RoI pooling forward: `[R, C, ph, pw]` (see roi-pool-shader.ts). */
  async deformRoiPool(g: RoiPoolGeometry, inputs: RoiPoolInputs<WebGpuTensor>): Promise<WebGpuTensor> {
    let dev = this.enter();
    const ins = this.roiInputs(g, inputs);
    const storage = this.roiStorage();
    const len = roiLengths(g).output;
    const bytes = len * storageBytes(storage);
    this.checkSize('output', bytes);
    this.room('output', this.classFor(bytes));
    const kernels = this.roiKernels(dev);
    // Compiling is asynchronous: done first, so the GPU work below is one synchronous, scoped block.
    await kernels.ready(storage, ['forward']);
    dev = this.sameDevice(dev);
    const b = { input: ins.input.buffer, rois: ins.rois.buffer, offset: ins.offset?.buffer ?? null, mask: ins.mask?.buffer ?? null };
    return this.gpuCall('deformRoiPool', 'output', ins, (a) => {
      const out = a.result(len, storageBytes(storage));
      kernels.forward(storage, g, b, out.buffer, dev.limits.maxComputeWorkgroupsPerDimension);
      return out;
    });
  }

  /** RoI pooling backward: the requested gradients of L = sum(output * gradOutput); RoIs are not differentiated. */
  async deformRoiPoolBackward(
    g: RoiPoolGeometry, inputs: RoiPoolInputs<WebGpuTensor>, gradOutput: WebGpuTensor, want: RoiPoolGradRequest,
  ): Promise<RoiPoolGrads<WebGpuTensor>> {
    let dev = this.enter();
    const ins = { ...this.roiInputs(g, inputs), gradOutput: this.checkHandle('gradOutput', gradOutput, roiLengths(g).output) };
    const storage = this.roiStorage();
    const eb = storageBytes(storage);
    const lens = roiLengths(g);
    const on = { input: want.input, offset: want.offset && ins.offset !== null, mask: want.mask && ins.mask !== null };
    // f16 storage: grad_input is accumulated in a float32 scratch buffer (atomics need 32-bit words).
    const f32Acc = on.input && storage === 'f16' && lens.input > 0;
    this.roomForGradients(on, lens, eb, f32Acc);
    const kernels = this.roiKernels(dev);
    await kernels.ready(storage, storage === 'f16' ? ['gradBin', 'gradInput', 'accToStorage'] : ['gradBin', 'gradInput']);
    dev = this.sameDevice(dev);
    const b = { input: ins.input.buffer, rois: ins.rois.buffer, offset: ins.offset?.buffer ?? null, mask: ins.mask?.buffer ?? null };
    return this.gpuCall('deformRoiPoolBackward', 'gradients', ins, (a) => {
      const grads: RoiPoolGrads<WebGpuTensor> = {
        input: on.input ? a.result(lens.input, eb) : null,
        offset: on.offset ? a.result(lens.offset, eb) : null,
        mask: on.mask ? a.result(lens.mask, eb) : null,
      };
      const out = { input: grads.input?.buffer ?? null, offset: grads.offset?.buffer ?? null, mask: grads.mask?.buffer ?? null };
      const scratch = f32Acc ? a.scratch(lens.input * 4) : null;
      kernels.backward(storage, g, b, ins.gradOutput.buffer, out, scratch, dev.limits.maxComputeWorkgroupsPerDimension);
      return grads;
    });
  }

  /**
   * Compiles what the `submit*` calls need beyond `init` (the RoI pooling kernels, which the handle-based
   * calls compile on first use, asynchronously): call it once before them.
   */
  async prepareBufferCalls(): Promise<void> {
    const dev = this.live();
    if (this.storage !== 'f32') return;
    await this.roiKernels(dev).ready('f32', ['forward', 'gradBin', 'gradInput']);
    this.sameDevice(dev);
    this.roiBufferCallsReady = dev;
  }

  /**
   * The device of a `submit*` call, after the checks every one makes: live, float32 storage (a framework's
   * tensors are float32), and no GPU error pending from an earlier call.
   */
  private enterBufferCall(what: string): GPUDevice {
    const dev = this.enter();
    if (this.storage !== 'f32') {
      throw new CapabilityError({ argument: 'backend.precision', expected: `"float32" for ${what} on a caller's buffers`, actual: this.precision });
    }
    return dev;
  }

  /**
   * Runs the synchronous recording `work` of a `submit*` call inside error scopes. What the GPU reports
   * arrives later, after the call has returned: the next call of this backend throws it (as `enter` does
   * for errors outside every scope), so it is never lost.
   */
  private submitScoped(dev: GPUDevice, what: string, work: () => void): void {
    let fault: Promise<GpuFault | null>;
    try {
      ({ fault } = withErrorScopes(dev, work));
    } catch (e) {
      if (e instanceof DcnError) throw e;
      // Dawn throws (a TypeError) for an argument it cannot take at all: a look-alike of a GPUBuffer.
      throw new BackendError({ argument: 'buffers', expected: 'GPUBuffers of this backend\'s device', actual: (e as Error)?.name ?? e }, `${what}: ${String((e as Error)?.message ?? e)}`);
    }
    void fault.then((f) => {
      if (f !== null && this.dev === dev) this.uncaptured ??= f;
    });
  }

  /**
   * Forward convolution into the caller's `output`, synchronously, on the caller's buffers (see
   * buffer-calls.ts): for a framework's kernel that must return at once, on this backend's device (made
   * with `device:` the framework's). `g` comes from core (`resolveConvGeometry`) and every buffer is checked
   * to hold its tensor. The dispatches are recorded and submitted before this returns, so whatever writes
   * the inputs must already be submitted, and any later submission that reads `output` sees it. GPU errors
   * are reported by the next call of this backend.
   */
  submitDeformConv2d(g: ConvGeometry, buffers: ConvForwardBufferSet): void {
    const dev = this.enterBufferCall('deformConv2d');
    const lens = convLengths(g);
    const max = dev.limits.maxStorageBufferBindingSize;
    const b = {
      input: checkCallBuffer('buffers.input', buffers.input, lens.input, max),
      weight: checkCallBuffer('buffers.weight', buffers.weight, lens.weight, max),
      offset: checkCallBuffer('buffers.offset', buffers.offset, lens.offset, max),
      mask: checkOptionalCallBuffer('buffers.mask', buffers.mask, lens.mask, max),
      bias: checkOptionalCallBuffer('buffers.bias', buffers.bias, lens.bias, max),
      output: checkCallBuffer('buffers.output', buffers.output, lens.output, max),
    };
    const plan = ForwardKernel.plan(g, dev.limits.maxComputeWorkgroupsPerDimension);
    if (plan.length === 0) return;
    // An empty input (null here) is bound as the kernel's placeholder: nothing reads it.
    this.submitScoped(dev, 'deformConv2d', () => this.fwd!.run(g, { ...b, output: b.output! } as ForwardBuffers, plan));
  }

  /**
   * Backward convolution into the caller's gradient buffers (each non-null one is computed; `gradMask` only
   * with `mask`), synchronously: as `submitDeformConv2d`.
   */
  submitDeformConv2dBackward(g: ConvGeometry, buffers: ConvBackwardBufferSet): void {
    const dev = this.enterBufferCall('deformConv2dBackward');
    const lens = convLengths(g);
    const max = dev.limits.maxStorageBufferBindingSize;
    const hasMask = buffers.mask !== null && buffers.mask !== undefined;
    if (!hasMask && buffers.gradMask !== null && buffers.gradMask !== undefined) {
      throw new BackendError({ argument: 'buffers.gradMask', expected: 'null for a call without mask', actual: 'a buffer' });
    }
    const b = {
      input: checkCallBuffer('buffers.input', buffers.input, lens.input, max),
      weight: checkCallBuffer('buffers.weight', buffers.weight, lens.weight, max),
      offset: checkCallBuffer('buffers.offset', buffers.offset, lens.offset, max),
      mask: checkOptionalCallBuffer('buffers.mask', buffers.mask, lens.mask, max),
      gradOut: checkCallBuffer('buffers.gradOutput', buffers.gradOutput, lens.output, max),
      gInput: checkOptionalCallBuffer('buffers.gradInput', buffers.gradInput, lens.input, max),
      gWeight: checkOptionalCallBuffer('buffers.gradWeight', buffers.gradWeight, lens.weight, max),
      gOffset: checkOptionalCallBuffer('buffers.gradOffset', buffers.gradOffset, lens.offset, max),
      gMask: checkOptionalCallBuffer('buffers.gradMask', buffers.gradMask, lens.mask, max),
      gBias: checkOptionalCallBuffer('buffers.gradBias', buffers.gradBias, lens.bias, max),
      gInputF32: null,
    };
    const want = { input: b.gInput !== null, offset: b.gOffset !== null, mask: b.gMask !== null, weight: b.gWeight !== null, bias: b.gBias !== null };
    if (!Object.values(want).some(Boolean)) return;
    this.submitScoped(dev, 'deformConv2dBackward', () => this.bwd!.run(g, b as BackwardBuffers, want, dev.limits.maxComputeWorkgroupsPerDimension));
  }

  /** The RoI pooling kernels for a `submit*` call: compiled by `prepareBufferCalls` on this device, else a BackendError. */
  private roiForBufferCall(dev: GPUDevice, what: string): RoiPoolKernels {
    if (this.roiBufferCallsReady !== dev || this.roi === null) {
      throw new BackendError({ argument: 'backend', expected: `RoI pooling kernels compiled for ${what} on a caller's buffers`, actual: 'not compiled' }, 'await backend.prepareBufferCalls() once first');
    }
    return this.roi;
  }

  /** RoI pooling forward into the caller's `output`, synchronously: as `submitDeformConv2d`; `rois` must hold checked values (core's `checkRoiValues`). */
  submitDeformRoiPool(g: RoiPoolGeometry, buffers: RoiPoolForwardBufferSet): void {
    const dev = this.enterBufferCall('deformRoiPool');
    const kernels = this.roiForBufferCall(dev, 'deformRoiPool');
    const lens = roiLengths(g);
    const max = dev.limits.maxStorageBufferBindingSize;
    const b = {
      input: checkCallBuffer('buffers.input', buffers.input, lens.input, max),
      rois: checkCallBuffer('buffers.rois', buffers.rois, lens.rois, max),
      offset: checkOptionalCallBuffer('buffers.offset', buffers.offset, lens.offset, max),
      mask: checkOptionalCallBuffer('buffers.mask', buffers.mask, lens.mask, max),
    };
    const output = checkCallBuffer('buffers.output', buffers.output, lens.output, max);
    if (output === null) return;
    this.submitScoped(dev, 'deformRoiPool', () => kernels.forward('f32', g, b as RoiPoolBuffers, output, dev.limits.maxComputeWorkgroupsPerDimension));
  }

  /** RoI pooling backward into the caller's gradient buffers (each non-null one is computed), synchronously: as `submitDeformConv2d`. */
  submitDeformRoiPoolBackward(g: RoiPoolGeometry, buffers: RoiPoolBackwardBufferSet): void {
    const dev = this.enterBufferCall('deformRoiPoolBackward');
    const kernels = this.roiForBufferCall(dev, 'deformRoiPoolBackward');
    const lens = roiLengths(g);
    const max = dev.limits.maxStorageBufferBindingSize;
    for (const k of ['offset', 'mask'] as const) {
      const grad = k === 'offset' ? buffers.gradOffset : buffers.gradMask;
      if ((buffers[k] === null || buffers[k] === undefined) && grad !== null && grad !== undefined) {
        throw new BackendError({ argument: `buffers.grad${k === 'offset' ? 'Offset' : 'Mask'}`, expected: `null for a call without ${k}`, actual: 'a buffer' });
      }
    }
    const b = {
      input: checkCallBuffer('buffers.input', buffers.input, lens.input, max),
      rois: checkCallBuffer('buffers.rois', buffers.rois, lens.rois, max),
      offset: checkOptionalCallBuffer('buffers.offset', buffers.offset, lens.offset, max),
      mask: checkOptionalCallBuffer('buffers.mask', buffers.mask, lens.mask, max),
    };
    const gradOut = checkCallBuffer('buffers.gradOutput', buffers.gradOutput, lens.output, max);
    const out = {
      input: checkOptionalCallBuffer('buffers.gradInput', buffers.gradInput, lens.input, max),
      offset: checkOptionalCallBuffer('buffers.gradOffset', buffers.gradOffset, lens.offset, max),
      mask: checkOptionalCallBuffer('buffers.gradMask', buffers.gradMask, lens.mask, max),
    };
    if (out.input === null && out.offset === null && out.mask === null) return;
    // gradOutput is empty only when there is nothing to scatter: the kernels then write zeros, and bind a placeholder.
    this.submitScoped(dev, 'deformRoiPoolBackward', () => kernels.backward('f32', g, b as RoiPoolBuffers, gradOut as GPUBuffer, out, null, dev.limits.maxComputeWorkgroupsPerDimension));
  }

  /**
   * Moves the backend to another device: after a loss (`DeviceLostError`), or to share a caller's device.
   * With no argument it requests a fresh device from the adapter, as `init` does. Everything made on the
   * old device (pipelines, pooled buffers) is dropped, and the old device is destroyed only if the backend
   * created it; tensors of the old device are refused from then on (`DeviceLostError`), so re-upload them.
   */
  async attachDevice(device?: GPUDevice): Promise<void> {
    if (this.disposed) throw new DisposedError({ argument: 'backend', expected: 'a live backend', actual: 'disposed' });
    this.dropDevice();
    this.injected = device;
    await this.init();
  }

  /** Frees everything tied to the current device and forgets it. */
  private dropDevice(): void {
    this.roi?.destroy();
    this.roi = null;
    this.roiBufferCallsReady = null;
    this.bwd?.destroy();
    this.bwd = null;
    for (const list of this.pool.values()) for (const b of list) b.destroy();
    this.pool.clear();
    this.pooled = 0;
    this.held = 0;
    this.uncaptured = null;
    this.fwd?.destroy();
    this.fwd = null;
    this.dev?.removeEventListener('uncapturederror', this.onUncaptured);
    if (this.ownsDevice) this.dev?.destroy();
    this.ownsDevice = false;
    this.dev = null;
    this.lostInfo = null;
    this.adapterDesc = null;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.dropDevice();
  }
}

export function createWebGpuBackend(options?: WebGpuBackendOptions): WebGpuBackend {
  return new WebGpuBackend(options);
}
