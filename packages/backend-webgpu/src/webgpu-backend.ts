/**
 * The WebGPU backend: tensors live in GPU storage buffers (`WebGpuTensor`), the forward convolution is one
 * dispatch of the tiled WGSL kernel (forward-shader.ts), the backward four gather/scatter kernels
 * (backward-shader.ts, backward.ts), downloads go through a MAP_READ staging buffer.
 */
import {
  BackendError,
  DeviceLostError,
  DisposedError,
  LimitError,
  type Backend,
  type BackendCapabilities,
  type ConvGeometry,
  type ConvGradRequest,
  type ConvGrads,
  type ConvInputs,
} from '@dcnv2/core';
import { BackwardKernels } from './backward.js';
import { forwardShader, PARAM_FIELDS, TILE_CO, TILE_P, WORKGROUP, WORKGROUP_BYTES } from './forward-shader.js';
import { defaultGpu } from './node-gpu.js';

// GPUBufferUsage / GPUMapMode values (the globals are absent in Node unless Dawn installs them).
const MAP_READ = 0x0001;
const COPY_SRC = 0x0004;
const COPY_DST = 0x0008;
const UNIFORM = 0x0040;
const STORAGE = 0x0080;
const MAP_MODE_READ = 0x0001;

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
}

/** A tensor of this backend: a storage buffer holding `length` float32 values. */
export class WebGpuTensor {
  /** False once released. */
  alive = true;
  constructor(
    readonly buffer: GPUBuffer,
    readonly length: number,
    /** False for adopted (foreign) buffers: release does not free them. */
    readonly owned: boolean,
  ) {}
}

const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
/** Pool size class: buffers are allocated at a multiple of 256 bytes (at least 4). */
const sizeClass = (bytes: number): number => Math.max(256, Math.ceil(bytes / 256) * 256);

export class WebGpuBackend implements Backend<WebGpuTensor> {
  readonly name = 'webgpu';
  readonly capabilities: BackendCapabilities = {
    backward: true,
    roiPool: false,
    threads: 1,
    float16: false,
    resident: true,
    externalBuffers: true,
  };

  private dev: GPUDevice | null = null;
  private ownsDevice = false;
  private lostInfo: GPUDeviceLostInfo | null = null;
  private disposed = false;
  private pipeline: GPUComputePipeline | null = null;
  private dummy: GPUBuffer | null = null;
  private bwd: BackwardKernels | null = null;
  private readonly pool = new Map<number, GPUBuffer[]>();
  private pooledBytes = 0;
  private readonly poolLimit: number;

  constructor(private readonly options: WebGpuBackendOptions = {}) {
    this.poolLimit = options.poolBytes ?? 256 * 1024 * 1024;
  }

  /** The device in use (after `init`). */
  get device(): GPUDevice {
    return this.live();
  }

  async init(): Promise<void> {
    if (this.disposed) throw new DisposedError({ argument: 'backend', expected: 'a live backend', actual: 'disposed' });
    if (this.dev !== null) return;
    let device = this.options.device;
    if (device === undefined) {
      const gpu = this.options.gpu ?? (await defaultGpu());
      const adapter = await gpu.requestAdapter(this.options.powerPreference ? { powerPreference: this.options.powerPreference } : undefined);
      if (adapter === null) throw new BackendError({ argument: 'backend', expected: 'a WebGPU adapter', actual: null }, 'requestAdapter() returned null');
      const a = adapter.limits;
      device = await adapter.requestDevice({
        requiredLimits: {
          maxStorageBufferBindingSize: a.maxStorageBufferBindingSize,
          maxBufferSize: a.maxBufferSize,
          maxComputeWorkgroupStorageSize: a.maxComputeWorkgroupStorageSize,
        },
      });
      this.ownsDevice = true;
    }
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
    const module = dev.createShaderModule({ code: forwardShader(), label: 'dcnv2 deform_conv2d forward' });
    this.pipeline = await dev.createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: 'dcnv2 forward' });
    this.dummy = dev.createBuffer({ size: 16, usage: STORAGE | COPY_DST });
    this.bwd = await BackwardKernels.create(dev);
  }

  private live(): GPUDevice {
    if (this.disposed) throw new DisposedError({ argument: 'backend', expected: 'a live backend', actual: 'disposed' });
    if (this.lostInfo !== null) {
      throw new DeviceLostError({ argument: 'device', expected: 'a live GPU device', actual: 'lost' }, `${this.lostInfo.reason}: ${this.lostInfo.message}`);
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

  upload(data: Float32Array, shape: readonly number[]): WebGpuTensor {
    const dev = this.live();
    const n = size(shape);
    this.checkSize('tensor', n * 4);
    const buf = this.acquire(n * 4);
    if (n > 0) dev.queue.writeBuffer(buf, 0, data.buffer, data.byteOffset, n * 4);
    return new WebGpuTensor(buf, n, true);
  }

  /** Wraps a caller's storage buffer (usage STORAGE | COPY_SRC) holding float32 values; release leaves it alone. */
  adopt(external: unknown, shape: readonly number[]): WebGpuTensor {
    this.live();
    const n = size(shape);
    const b = external as GPUBuffer;
    if (typeof b !== 'object' || b === null || typeof (b as { size?: unknown }).size !== 'number' || typeof b.destroy !== 'function') {
      throw new BackendError({ argument: 'external', expected: 'a GPUBuffer', actual: external });
    }
    if (b.size < n * 4) throw new BackendError({ argument: 'external.size', expected: `>= ${n * 4} bytes`, actual: b.size });
    return new WebGpuTensor(b, n, false);
  }

  async download(handle: WebGpuTensor, shape: readonly number[]): Promise<Float32Array> {
    const dev = this.live();
    const n = size(shape);
    if (!handle.alive) throw new DisposedError({ argument: 'tensor', expected: 'a live tensor', actual: 'released' });
    const out = new Float32Array(n);
    if (n === 0) return out;
    const staging = dev.createBuffer({ size: sizeClass(n * 4), usage: MAP_READ | COPY_DST });
    try {
      const enc = dev.createCommandEncoder();
      enc.copyBufferToBuffer(handle.buffer, 0, staging, 0, n * 4);
      dev.queue.submit([enc.finish()]);
      try {
        await staging.mapAsync(MAP_MODE_READ, 0, n * 4);
      } catch (e) {
        this.live(); // a lost device reports as DeviceLostError
        throw e;
      }
      out.set(new Float32Array(staging.getMappedRange(0, n * 4)));
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
    if (this.disposed || this.dev === null) {
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
    this.checkSize('output', outLen * 4);
    for (const [k, t] of Object.entries(inputs) as [string, WebGpuTensor | null][]) {
      if (t !== null && !t.alive) throw new DisposedError({ argument: k, expected: 'a live tensor', actual: 'released' });
    }
    const out = this.acquire(outLen * 4);
    const result = new WebGpuTensor(out, outLen, true);
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
      cinPerG: g.inChannels / g.groups, coutPerG, cinPerOg: g.inChannels / g.offsetGroups, k: taps, coTiles, n0: 0, pad0: 0,
    };
    const pipeline = this.pipeline!;
    const dummy = this.dummy!;
    const enc = dev.createCommandEncoder();
    const uniforms: GPUBuffer[] = [];
    for (let n0 = 0; n0 < g.batch; n0 += maxDim) {
      p.n0 = n0;
      const u = dev.createBuffer({ size: PARAM_FIELDS.length * 4, usage: UNIFORM | COPY_DST });
      dev.queue.writeBuffer(u, 0, new Int32Array(PARAM_FIELDS.map((f) => p[f])));
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
      const pass = enc.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bind);
      pass.dispatchWorkgroups(gx, gy, Math.min(maxDim, g.batch - n0));
      pass.end();
    }
    dev.queue.submit([enc.finish()]);
    for (const u of uniforms) u.destroy();
    return result;
  }

  /** Backward: every requested gradient of L = sum(output * gradOutput) (see backward-shader.ts). */
  deformConv2dBackward(g: ConvGeometry, inputs: ConvInputs<WebGpuTensor>, gradOutput: WebGpuTensor, want: ConvGradRequest): ConvGrads<WebGpuTensor> {
    const dev = this.live();
    for (const [k, t] of Object.entries({ ...inputs, gradOutput }) as [string, WebGpuTensor | null][]) {
      if (t !== null && !t.alive) throw new DisposedError({ argument: k, expected: 'a live tensor', actual: 'released' });
    }
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
      this.checkSize(`grad_${name}`, lens[name] * 4);
      return new WebGpuTensor(this.acquire(lens[name] * 4), lens[name], true);
    };
    const grads = {
      input: alloc('input', want.input),
      offset: alloc('offset', want.offset),
      mask: alloc('mask', wantMask),
      weight: alloc('weight', want.weight),
      bias: alloc('bias', wantBias),
    };
    try {
      this.bwd!.run(
        g,
        {
          input: inputs.input.buffer, weight: inputs.weight.buffer, offset: inputs.offset.buffer, mask: inputs.mask?.buffer ?? null,
          gradOut: gradOutput.buffer,
          gInput: grads.input?.buffer ?? null, gOffset: grads.offset?.buffer ?? null, gMask: grads.mask?.buffer ?? null,
          gWeight: grads.weight?.buffer ?? null, gBias: grads.bias?.buffer ?? null,
        },
        { ...want, mask: wantMask, bias: wantBias },
        dev.limits.maxComputeWorkgroupsPerDimension,
      );
    } catch (e) {
      for (const t of Object.values(grads)) if (t !== null) this.release(t);
      if (e instanceof RangeError) throw new LimitError({ argument: 'gradOutput', expected: 'a problem within maxComputeWorkgroupsPerDimension^2 * 64 invocations', actual: e.message });
      throw e;
    }
    return grads;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.bwd?.destroy();
    this.bwd = null;
    for (const list of this.pool.values()) for (const b of list) b.destroy();
    this.pool.clear();
    this.pooledBytes = 0;
    this.dummy?.destroy();
    if (this.ownsDevice) this.dev?.destroy();
    this.dev = null;
    this.pipeline = null;
  }
}

export function createWebGpuBackend(options?: WebGpuBackendOptions): WebGpuBackend {
  return new WebGpuBackend(options);
}
