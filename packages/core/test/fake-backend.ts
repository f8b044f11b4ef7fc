/**
 * A minimal backend for core's own tests: it counts live handles so tests can prove core releases every
 * temporary, and computes a trivial "op" (output = bias broadcast) so results can be asserted.
 */
import type {
  Backend,
  BackendCapabilities,
  ConvGeometry,
  ConvGradRequest,
  ConvGrads,
  ConvInputs,
  BuiltinKernels,
  KernelTable,
  RoiPoolGeometry,
  RoiPoolGradRequest,
  RoiPoolGrads,
  RoiPoolInputs,
} from '../src/index.js';
import { hostTensor } from '../src/index.js';

export interface FakeHandle {
  readonly id: number;
  readonly data: Float32Array;
}

/** Which kernels a fake has: the convolution both ways, RoI pooling only when `roiPool`; no backward when `backward` is false. */
export interface FakeOptions extends Partial<BackendCapabilities> {
  readonly roiPool?: boolean;
  readonly backward?: boolean;
}

export class FakeBackend implements Backend<FakeHandle> {
  readonly capabilities: BackendCapabilities;
  readonly kernels: KernelTable<FakeHandle>;
  live = new Set<number>();
  initCalls = 0;
  disposed = false;
  #next = 1;
  constructor(readonly name = 'fake', options: FakeOptions = {}) {
    const { roiPool = false, backward = true, ...caps } = options;
    this.capabilities = { threads: 1, float16: false, resident: true, externalBuffers: false, ...caps };
    const conv: BuiltinKernels<FakeHandle>['deform_conv2d'] = {
      forward: ({ geometry, inputs }) => this.deformConv2d(geometry, inputs),
      ...(backward ? { backward: ({ geometry, inputs, gradOutput, want }) => this.deformConv2dBackward(geometry, inputs, gradOutput, want) } : {}),
    };
    const roi: BuiltinKernels<FakeHandle>['deform_roi_pool'] = {
      forward: ({ geometry, inputs }) => this.deformRoiPool(geometry, inputs),
      ...(backward ? { backward: ({ geometry, inputs, gradOutput, want }) => this.deformRoiPoolBackward(geometry, inputs, gradOutput, want) } : {}),
    };
    this.kernels = roiPool ? { deform_conv2d: conv, deform_roi_pool: roi } : { deform_conv2d: conv };
  }
  async init(): Promise<void> {
    this.initCalls++;
  }
  #make(data: Float32Array): FakeHandle {
    const h = { id: this.#next++, data };
    this.live.add(h.id);
    return h;
  }
  upload(data: Float32Array): FakeHandle {
    return this.#make(data.slice());
  }
  async download(h: FakeHandle): Promise<Float32Array> {
    if (!this.live.has(h.id)) throw new Error(`download of released handle ${h.id}`);
    return h.data.slice();
  }
  /** Synchronous read-back (core's runOpSync). */
  downloadSync(h: FakeHandle): Float32Array {
    if (!this.live.has(h.id)) throw new Error(`download of released handle ${h.id}`);
    return h.data.slice();
  }
  /** Synchronous read-back into the caller's array (core's runOpSync with `into`). */
  downloadSyncInto(h: FakeHandle, _shape: readonly number[], into: Float32Array): void {
    if (!this.live.has(h.id)) throw new Error(`download of released handle ${h.id}`);
    into.set(h.data);
  }
  release(h: FakeHandle): void {
    if (!this.live.delete(h.id)) throw new Error(`double release of handle ${h.id}`);
  }
  deformConv2d(g: ConvGeometry, inputs: ConvInputs<FakeHandle>): FakeHandle {
    const hw = g.outHeight * g.outWidth;
    const out = new Float32Array(g.batch * g.outChannels * hw);
    if (inputs.bias) for (let i = 0; i < out.length; i++) out[i] = inputs.bias.data[Math.floor(i / hw) % g.outChannels];
    return this.#make(out);
  }
  deformConv2dBackward(g: ConvGeometry, inputs: ConvInputs<FakeHandle>, gradOutput: FakeHandle, want: ConvGradRequest): ConvGrads<FakeHandle> {
    const like = (h: FakeHandle | null, on: boolean) => (on && h ? this.#make(new Float32Array(h.data.length).fill(1)) : null);
    return {
      input: like(inputs.input, want.input),
      offset: like(inputs.offset, want.offset),
      mask: like(inputs.mask, want.mask),
      weight: like(inputs.weight, want.weight),
      bias: like(inputs.bias, want.bias),
    };
  }
  /** RoI "pooling": each output value is its RoI's batch index (so tests can see which RoI went where). */
  deformRoiPool(g: RoiPoolGeometry, inputs: RoiPoolInputs<FakeHandle>): FakeHandle {
    const per = g.channels * g.pooledH * g.pooledW;
    const out = new Float32Array(g.rois * per);
    for (let r = 0; r < g.rois; r++) out.fill(inputs.rois.data[r * 5]!, r * per, (r + 1) * per);
    return this.#make(out);
  }
  deformRoiPoolBackward(_g: RoiPoolGeometry, inputs: RoiPoolInputs<FakeHandle>, _gradOutput: FakeHandle, want: RoiPoolGradRequest): RoiPoolGrads<FakeHandle> {
    const like = (h: FakeHandle | null, on: boolean) => (on && h ? this.#make(new Float32Array(h.data.length).fill(1)) : null);
    return { input: like(inputs.input, want.input), offset: like(inputs.offset, want.offset), mask: like(inputs.mask, want.mask) };
  }
  dispose(): void {
    this.disposed = true;
  }
}

/** A 1x1-output convolution call whose fake result is the bias, [5, 7]: the call-path tests' smallest case. */
export const tinyConvArgs = () => ({
  input: hostTensor([1, 1, 3, 3]),
  weight: hostTensor([2, 1, 3, 3]),
  offset: hostTensor([1, 18, 1, 1]),
  bias: hostTensor([2], [5, 7]),
});
