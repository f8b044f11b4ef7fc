/**
 * The WebGPU backend: tensors live in GPU storage buffers (`WebGpuTensor`), the forward convolution is one
 * dispatch of the tiled WGSL kernel (forward-shader.ts), the backward four gather/scatter kernels
 * (backward-shader.ts, backward.ts), downloads go through a MAP_READ staging buffer.
 *
 * Precision: tensors are stored as float32, or, with `precision: 'float16'` on a device with `shader-f16`,
 * as IEEE binary16 (half the memory and bandwidth); every kernel widens on load and accumulates in
 * float32 either way, and upload / download convert on the host (float16.ts), so callers always see
 * Float32Arrays.
 */
import {
  BackendError,
  CapabilityError,
  DeviceLostError,
  DisposedError,
  LimitError,
  ParamError,
  type Backend,
  type BackendCapabilities,
  type ConvGeometry,
  type ConvGradRequest,
  type ConvGrads,
  type ConvInputs,
  type RoiPoolGeometry,
  type RoiPoolGradRequest,
  type RoiPoolGrads,
  type RoiPoolInputs,
} from '@dcnv2/core';
import { BackwardKernels } from './backward.js';
import { forwardFlushChunks, forwardShader, PARAM_FIELDS, TILE_CO, TILE_P, WORKGROUP, WORKGROUP_BYTES } from './forward-shader.js';
import { decodeFloat16, encodeFloat16 } from './float16.js';
import { COPY_DST, COPY_SRC, encodeDispatch, MAP_MODE_READ, MAP_READ, STORAGE, uniformBuffer } from './gpu-plumbing.js';
import { defaultGpu } from './node-gpu.js';
import { RoiPoolKernels } from './roi-pool.js';
import { storageBytes, type StorageType } from './storage-type.js';

export interface WebGpuBackendOptions {
  /** A device to run on (it stays the caller's: `dispose` does not destroy it). */
  readonly device?: GPUDevice;
  /** A `GPU` to request the adapter from (default: navigator.gpu, or the `webgpu` package in Node). */
  readonly gpu?: GPU;
  /** Passed to `requestAdapter`. */
  readonly powerPreference?: GPUPowerPreference;
  /** Upper bound of bytes kept in the buffer pool for reuse (default 256 MiB). */
  readonly poolBytes?: number;
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

/** A tensor of this backend: a storage buffer holding `length` values of the backend's storage type. */
export class WebGpuTensor {
  /** False once released. */
  alive = true;
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
/** Pool size class: buffers are allocated at a multiple of 256 bytes (at least 4). */
const sizeClass = (bytes: number): number => Math.max(256, Math.ceil(bytes / 256) * 256);
/** `bytes` rounded up to whole 4-byte words (the granularity of buffer copies and bindings). */
const wordBytes = (bytes: number): number => Math.ceil(bytes / 4) * 4;

export class WebGpuBackend implements Backend<WebGpuTensor> {
  readonly name = 'webgpu';
  /** Storage precision of every tensor (see WebGpuBackendOptions.precision). */
  readonly precision: 'float32' | 'float16';
  /** The WGSL element type of every tensor buffer (`ST` in the shaders): f16 exactly when precision is float16. */
  readonly storage: StorageType;
  /** `float16` becomes true at `init` when the device has `shader-f16`. */
  private caps: BackendCapabilities = {
    backward: true,
    roiPool: true,
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
  private pipeline: GPUComputePipeline | null = null;
  private dummy: GPUBuffer | null = null;
  private bwd: BackwardKernels | null = null;
  /** RoI pooling kernels, made on the first RoI pooling call (init stays cheap for convolution-only use). */
  private roi: RoiPoolKernels | null = null;
  private readonly pool = new Map<number, GPUBuffer[]>();
  private pooledBytes = 0;
  private readonly poolLimit: number;

  constructor(private readonly options: WebGpuBackendOptions = {}) {
    this.poolLimit = options.poolBytes ?? 256 * 1024 * 1024;
    this.injected = options.device;
    const precision = options.precision ?? 'float32';
    if (precision !== 'float32' && precision !== 'float16') {
      throw new ParamError({ argument: 'options.precision', expected: '"float32" or "float16"', actual: precision });
    }
    this.precision = precision;
    this.storage = precision === 'float16' ? 'f16' : 'f32';
    // RoI pooling is not offered at float16 yet: its RoI coordinates would be stored as binary16 too
    // (whole pixels only up to 2048, 1/16 px steps from 128), and no float16 tolerances judge it.
    if (this.storage === 'f16') this.caps = { ...this.caps, roiPool: false };
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
      const gpu = this.options.gpu ?? (await defaultGpu({ shaderF16: f16 }));
      const adapter = await gpu.requestAdapter(this.options.powerPreference ? { powerPreference: this.options.powerPreference } : undefined);
      if (adapter === null) throw new BackendError({ argument: 'backend', expected: 'a WebGPU adapter', actual: null }, 'requestAdapter() returned null');
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
    if (lim.maxComputeWorkgroupStorageSize < WORKGROUP_BYTES) {
      throw new LimitError({ argument: 'device.limits.maxComputeWorkgroupStorageSize', expected: `>= ${WORKGROUP_BYTES}`, actual: lim.maxComputeWorkgroupStorageSize });
    }
    if (lim.maxComputeInvocationsPerWorkgroup < WORKGROUP) {
      throw new LimitError({ argument: 'device.limits.maxComputeInvocationsPerWorkgroup', expected: `>= ${WORKGROUP}`, actual: lim.maxComputeInvocationsPerWorkgroup });
    }
    const dev = device;
    void dev.lost.then((info) => {
      if (this.dev === dev && !this.disposed) this.lostInfo = info;
    });
    this.dev = dev;
    const module = dev.createShaderModule({ code: forwardShader(this.storage), label: `dcnv2 deform_conv2d forward (${this.storage})` });
    this.pipeline = await dev.createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: 'dcnv2 forward' });
    this.dummy = dev.createBuffer({ size: 16, usage: STORAGE | COPY_DST });
    this.bwd = await BackwardKernels.create(dev, this.storage);
  }

  private live(): GPUDevice {
    if (this.disposed) throw new DisposedError({ argument: 'backend', expected: 'a live backend', actual: 'disposed' });
    if (this.lostInfo !== null) {
      throw new DeviceLostError({ argument: 'device', expected: 'a live GPU device', actual: 'lost' }, `${this.lostInfo.reason}: ${this.lostInfo.message}; attachDevice() continues on a new device`);
    }
    if (this.dev === null) throw new BackendError({ argument: 'backend', expected: 'an initialised backend (call init())', actual: 'uninitialised' });
    return this.dev;
  }

  private checkSize(argument: string, bytes: number): void {
    const lim = this.live().limits;
    if (bytes > lim.maxStorageBufferBindingSize) {
      throw new LimitError({ argument, expected: `at most maxStorageBufferBindingSize = ${lim.maxStorageBufferBindingSize} bytes`, actual: bytes });
    }
    if (bytes > lim.maxBufferSize) {
      throw new LimitError({ argument, expected: `at most maxBufferSize = ${lim.maxBufferSize} bytes`, actual: bytes });
    }
  }

  /** A tensor of the current device. */
  private tensor(buffer: GPUBuffer, length: number, owned: boolean): WebGpuTensor {
    return new WebGpuTensor(buffer, length, owned, this.dev);
  }

  /** Every given tensor must be alive and of the current device. */
  private checkTensors(tensors: Record<string, WebGpuTensor | null>): void {
    for (const [k, t] of Object.entries(tensors)) {
      if (t === null) continue;
      if (!t.alive) throw new DisposedError({ argument: k, expected: 'a live tensor', actual: 'released' });
      if (t.device !== null && t.device !== this.dev) {
        throw new DeviceLostError({ argument: k, expected: 'a tensor of the current device', actual: 'a tensor of a device that was lost or replaced (attachDevice)' });
      }
    }
  }

  private acquire(bytes: number): GPUBuffer {
    const cls = sizeClass(bytes);
    const list = this.pool.get(cls);
    const b = list?.pop();
    if (b !== undefined) {
      this.pooledBytes -= cls;
      return b;
    }
    return this.live().createBuffer({ size: cls, usage: STORAGE | COPY_SRC | COPY_DST });
  }

  /** Copies `data` into a new buffer, rounded to binary16 (nearest, ties to even) with float16 storage. */
  upload(data: Float32Array, shape: readonly number[]): WebGpuTensor {
    const dev = this.live();
    const n = size(shape);
    const bytes = n * this.elementBytes;
    this.checkSize('tensor', bytes);
    const buf = this.acquire(bytes);
    if (n > 0) {
      if (this.storage === 'f16') {
        // Padded to whole 4-byte words, as queue writes require; the buffer's size class has room.
        const bits = encodeFloat16(data.subarray(0, n));
        dev.queue.writeBuffer(buf, 0, bits.buffer, bits.byteOffset, bits.byteLength);
      } else {
        dev.queue.writeBuffer(buf, 0, data.buffer, data.byteOffset, bytes);
      }
    }
    return this.tensor(buf, n, true);
  }

  /**
   * Wraps a caller's storage buffer (usage STORAGE | COPY_SRC) without a copy; release leaves it alone.
   * It must hold the tensor densely in this backend's storage type: float32 values, or IEEE binary16
   * values (WGSL `f16`) when `precision` is 'float16', and be at least that many bytes rounded up to 4.
   */
  adopt(external: unknown, shape: readonly number[]): WebGpuTensor {
    this.live();
    const n = size(shape);
    const b = external as GPUBuffer;
    if (typeof b !== 'object' || b === null || typeof (b as { size?: unknown }).size !== 'number' || typeof b.destroy !== 'function') {
      throw new BackendError({ argument: 'external', expected: 'a GPUBuffer', actual: external });
    }
    const need = wordBytes(n * this.elementBytes);
    if (b.size < need) throw new BackendError({ argument: 'external.size', expected: `>= ${need} bytes (${n} ${this.storage} values)`, actual: b.size });
    return this.tensor(b, n, false);
  }

  async download(handle: WebGpuTensor, shape: readonly number[]): Promise<Float32Array> {
    const dev = this.live();
    const n = size(shape);
    this.checkTensors({ tensor: handle });
    if (n === 0) return new Float32Array(0);
    // Copies move whole 4-byte words: an odd count of f16 values reads one padding value too.
    const bytes = wordBytes(n * this.elementBytes);
    const staging = dev.createBuffer({ size: sizeClass(bytes), usage: MAP_READ | COPY_DST });
    let out: Float32Array;
    try {
      const enc = dev.createCommandEncoder();
      enc.copyBufferToBuffer(handle.buffer, 0, staging, 0, bytes);
      dev.queue.submit([enc.finish()]);
      try {
        await staging.mapAsync(MAP_MODE_READ, 0, bytes);
      } catch (e) {
        this.live(); // a lost device reports as DeviceLostError
        throw e;
      }
      const range = staging.getMappedRange(0, bytes);
      out = this.storage === 'f16' ? decodeFloat16(new Uint16Array(range), n) : new Float32Array(range.slice(0));
      staging.unmap();
    } finally {
      staging.destroy();
    }
    return out;
  }

  release(handle: WebGpuTensor): void {
    if (!handle.alive) return;
    handle.alive = false;
    if (!handle.owned) return;
    if (this.disposed || this.dev === null || (handle.device !== null && handle.device !== this.dev)) {
      handle.buffer.destroy();
      return;
    }
    const cls = handle.buffer.size;
    if (this.pooledBytes + cls > this.poolLimit) {
      handle.buffer.destroy();
      return;
    }
    let list = this.pool.get(cls);
    if (list === undefined) this.pool.set(cls, (list = []));
    list.push(handle.buffer);
    this.pooledBytes += cls;
  }

  deformConv2d(g: ConvGeometry, inputs: ConvInputs<WebGpuTensor>): WebGpuTensor {
    const dev = this.live();
    const HoWo = g.outHeight * g.outWidth;
    const outLen = g.batch * g.outChannels * HoWo;
    this.checkSize('output', outLen * this.elementBytes);
    this.checkTensors({ ...inputs });
    const out = this.acquire(outLen * this.elementBytes);
    const result = this.tensor(out, outLen, true);
    if (outLen === 0) return result;

    const lim = dev.limits;
    const coutPerG = g.outChannels / g.groups;
    const coTiles = Math.ceil(coutPerG / TILE_CO);
    const gx = Math.ceil(HoWo / TILE_P);
    const gy = coTiles * g.groups;
    const maxDim = lim.maxComputeWorkgroupsPerDimension;
    if (gx > maxDim || gy > maxDim) {
      this.release(result);
      throw new LimitError({ argument: 'output', expected: `at most maxComputeWorkgroupsPerDimension = ${maxDim} workgroups along an axis`, actual: Math.max(gx, gy) });
    }
    const taps = g.kernelH * g.kernelW;
    const p: Record<(typeof PARAM_FIELDS)[number], number> = {
      cin: g.inChannels, h: g.inHeight, w: g.inWidth, cout: g.outChannels, kh: g.kernelH, kw: g.kernelW,
      sh: g.strideH, sw: g.strideW, padT: g.padTop, padL: g.padLeft, dh: g.dilationH, dw: g.dilationW,
      og: g.offsetGroups, ho: g.outHeight, wo: g.outWidth, hasMask: inputs.mask ? 1 : 0, hasBias: inputs.bias ? 1 : 0,
      cinPerG: g.inChannels / g.groups, coutPerG, cinPerOg: g.inChannels / g.offsetGroups, k: taps, coTiles, n0: 0,
      flush: forwardFlushChunks(g.inChannels / g.groups, taps),
    };
    const pipeline = this.pipeline!;
    const dummy = this.dummy!;
    const enc = dev.createCommandEncoder();
    const uniforms: GPUBuffer[] = [];
    for (let n0 = 0; n0 < g.batch; n0 += maxDim) {
      p.n0 = n0;
      const u = uniformBuffer(dev, new Int32Array(PARAM_FIELDS.map((f) => p[f])));
      uniforms.push(u);
      const bind = dev.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: [
          { binding: 0, resource: { buffer: u } },
          { binding: 1, resource: { buffer: inputs.input.buffer } },
          { binding: 2, resource: { buffer: inputs.weight.buffer } },
          { binding: 3, resource: { buffer: inputs.offset.buffer } },
          { binding: 4, resource: { buffer: inputs.mask?.buffer ?? dummy } },
          { binding: 5, resource: { buffer: inputs.bias?.buffer ?? dummy } },
          { binding: 6, resource: { buffer: out } },
        ],
      });
      encodeDispatch(enc, pipeline, bind, gx, gy, Math.min(maxDim, g.batch - n0));
    }
    dev.queue.submit([enc.finish()]);
    for (const u of uniforms) u.destroy();
    return result;
  }

  /** Backward: every requested gradient of L = sum(output * gradOutput) (see backward-shader.ts). */
  deformConv2dBackward(g: ConvGeometry, inputs: ConvInputs<WebGpuTensor>, gradOutput: WebGpuTensor, want: ConvGradRequest): ConvGrads<WebGpuTensor> {
    const dev = this.live();
    this.checkTensors({ ...inputs, gradOutput });
    const taps = g.kernelH * g.kernelW;
    const HoWo = g.outHeight * g.outWidth;
    const lens = {
      input: g.batch * g.inChannels * g.inHeight * g.inWidth,
      offset: g.batch * 2 * g.offsetGroups * taps * HoWo,
      mask: g.batch * g.offsetGroups * taps * HoWo,
      weight: g.outChannels * (g.inChannels / g.groups) * taps,
      bias: g.outChannels,
    };
    const wantMask = want.mask && inputs.mask !== null;
    const wantBias = want.bias;
    const alloc = (name: keyof typeof lens, on: boolean): WebGpuTensor | null => {
      if (!on) return null;
      this.checkSize(`grad_${name}`, lens[name] * this.elementBytes);
      return this.tensor(this.acquire(lens[name] * this.elementBytes), lens[name], true);
    };
    const grads = {
      input: alloc('input', want.input),
      offset: alloc('offset', want.offset),
      mask: alloc('mask', wantMask),
      weight: alloc('weight', want.weight),
      bias: alloc('bias', wantBias),
    };
    // f16 storage: grad_input is accumulated by 32-bit CAS adds in a float32 scratch buffer, then rounded.
    let scratch: WebGpuTensor | null = null;
    try {
      if (grads.input !== null && this.storage === 'f16') {
        this.checkSize('grad_input (float32 accumulator)', lens.input * 4);
        scratch = this.tensor(this.acquire(lens.input * 4), lens.input, true);
      }
      this.bwd!.run(
        g,
        {
          input: inputs.input.buffer, weight: inputs.weight.buffer, offset: inputs.offset.buffer, mask: inputs.mask?.buffer ?? null,
          gradOut: gradOutput.buffer,
          gInput: grads.input?.buffer ?? null, gOffset: grads.offset?.buffer ?? null, gMask: grads.mask?.buffer ?? null,
          gWeight: grads.weight?.buffer ?? null, gBias: grads.bias?.buffer ?? null,
          gInputF32: scratch?.buffer ?? null,
        },
        { ...want, mask: wantMask, bias: wantBias },
        dev.limits.maxComputeWorkgroupsPerDimension,
      );
    } catch (e) {
      for (const t of Object.values(grads)) if (t !== null) this.release(t);
      if (e instanceof RangeError) throw new LimitError({ argument: 'gradOutput', expected: 'a problem within maxComputeWorkgroupsPerDimension^2 * 64 invocations', actual: e.message });
      throw e;
    } finally {
      // Back to the pool: later submissions are ordered after the ones that use it.
      if (scratch !== null) this.release(scratch);
    }
    return grads;
  }

  /** The storage type RoI pooling handles are read and written as: the backend's. */
  private roiStorage(): StorageType {
    return this.storage;
  }

  private roiKernels(dev: GPUDevice): RoiPoolKernels {
    this.roi ??= new RoiPoolKernels(dev);
    return this.roi;
  }

  /** RoI pooling forward: `[R, C, ph, pw]` (see roi-pool-shader.ts). */
  async deformRoiPool(g: RoiPoolGeometry, inputs: RoiPoolInputs<WebGpuTensor>): Promise<WebGpuTensor> {
    const dev = this.live();
    this.checkTensors({ ...inputs });
    const storage = this.roiStorage();
    const len = g.rois * g.channels * g.pooledH * g.pooledW;
    this.checkSize('output', len * storageBytes(storage));
    const out = this.tensor(this.acquire(len * storageBytes(storage)), len, true);
    try {
      const b = { input: inputs.input.buffer, rois: inputs.rois.buffer, offset: inputs.offset?.buffer ?? null, mask: inputs.mask?.buffer ?? null };
      await this.roiKernels(dev).forward(storage, g, b, out.buffer, dev.limits.maxComputeWorkgroupsPerDimension);
    } catch (e) {
      this.release(out);
      throw e;
    }
    return out;
  }

  /** RoI pooling backward: the requested gradients of L = sum(output * gradOutput); RoIs are not differentiated. */
  async deformRoiPoolBackward(
    g: RoiPoolGeometry, inputs: RoiPoolInputs<WebGpuTensor>, gradOutput: WebGpuTensor, want: RoiPoolGradRequest,
  ): Promise<RoiPoolGrads<WebGpuTensor>> {
    const dev = this.live();
    this.checkTensors({ ...inputs, gradOutput });
    const storage = this.roiStorage();
    const bins = g.rois * g.pooledH * g.pooledW;
    const lens = { input: g.batch * g.channels * g.inHeight * g.inWidth, offset: 2 * bins, mask: bins };
    const alloc = (name: keyof typeof lens, on: boolean): WebGpuTensor | null => {
      if (!on) return null;
      this.checkSize(`grad_${name}`, lens[name] * storageBytes(storage));
      return this.tensor(this.acquire(lens[name] * storageBytes(storage)), lens[name], true);
    };
    const grads: { input: WebGpuTensor | null; offset: WebGpuTensor | null; mask: WebGpuTensor | null } = { input: null, offset: null, mask: null };
    try {
      grads.input = alloc('input', want.input);
      grads.offset = alloc('offset', want.offset && inputs.offset !== null);
      grads.mask = alloc('mask', want.mask && inputs.mask !== null);
      const b = { input: inputs.input.buffer, rois: inputs.rois.buffer, offset: inputs.offset?.buffer ?? null, mask: inputs.mask?.buffer ?? null };
      const out = { input: grads.input?.buffer ?? null, offset: grads.offset?.buffer ?? null, mask: grads.mask?.buffer ?? null };
      await this.roiKernels(dev).backward(storage, g, b, gradOutput.buffer, out, dev.limits.maxComputeWorkgroupsPerDimension);
    } catch (e) {
      for (const t of Object.values(grads)) if (t !== null) this.release(t);
      throw e;
    }
    return grads;
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
    this.bwd?.destroy();
    this.bwd = null;
    for (const list of this.pool.values()) for (const b of list) b.destroy();
    this.pool.clear();
    this.pooledBytes = 0;
    this.dummy?.destroy();
    this.dummy = null;
    if (this.ownsDevice) this.dev?.destroy();
    this.ownsDevice = false;
    this.dev = null;
    this.pipeline = null;
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
