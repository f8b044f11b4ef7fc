/**
 * Host side of RoI pooling: pipelines of roi-pool-shader.ts (one explicit bind group layout for all entry
 * points, compiled lazily per storage type and entry point on first use, so a backend that never pools
 * never compiles them), bind groups and dispatches. Compiling is asynchronous (`ready`); recording and
 * submitting (`forward`, `backward`) is synchronous, so the backend runs it, with its allocations, inside
 * one group of GPU error scopes. Every buffer arrives allocated by the backend (also the float32
 * accumulator of an f16 grad_input), so its memory limit sees them all. Dispatches are 2-D grids split at
 * maxComputeWorkgroupsPerDimension; a problem beyond maxComputeWorkgroupsPerDimension^2 workgroups
 * throws LimitError.
 */
import { BackendError, LimitError, type RoiPoolGeometry } from '@dcnv2/core';
import { encodeDispatch, SlotBindings, uniformBuffer } from './gpu-plumbing.js';
import {
  BINS_PER_GROUP, ROI_CHANNEL_BLOCK, ROI_FLOAT_FIELDS, ROI_INT_FIELDS, ROI_WORKGROUP, roiPoolShader, type RoiEntry,
} from './roi-pool-shader.js';
import type { StorageType } from './storage-type.js';

export interface RoiPoolBuffers {
  readonly input: GPUBuffer;
  readonly rois: GPUBuffer;
  readonly offset: GPUBuffer | null;
  readonly mask: GPUBuffer | null;
}

/** Gradient outputs, allocated by the caller (null: not requested). */
export interface RoiPoolGradBuffers {
  readonly input: GPUBuffer | null;
  readonly offset: GPUBuffer | null;
  readonly mask: GPUBuffer | null;
}

type Params = Record<(typeof ROI_INT_FIELDS)[number], number> & Record<(typeof ROI_FLOAT_FIELDS)[number], number>;

/** One dispatch: its entry point, grid and the buffers of its writable slots. */
interface Dispatch {
  readonly entry: RoiEntry;
  /** Work items: invocations, or bins for `gradBin` (BINS_PER_GROUP per workgroup). */
  readonly items: number;
  readonly out0?: GPUBuffer | null;
  readonly out1?: GPUBuffer | null;
  readonly acc?: GPUBuffer | null;
  readonly gradOut?: GPUBuffer;
}

export class RoiPoolKernels {
  private readonly slots: SlotBindings;
  private readonly pipelineLayout: GPUPipelineLayout;
  private readonly modules = new Map<StorageType, GPUShaderModule>();
  private readonly pipelines = new Map<string, Promise<GPUComputePipeline>>();
  /** The pipelines compiled so far, by `storage:entry`. */
  private readonly compiled = new Map<string, GPUComputePipeline>();

  constructor(private readonly dev: GPUDevice) {
    this.slots = new SlotBindings(dev, 'dcnv2 roi pool');
    this.pipelineLayout = dev.createPipelineLayout({ bindGroupLayouts: [this.slots.layout] });
  }

  destroy(): void {
    this.slots.destroy();
  }

  private pipeline(storage: StorageType, entry: RoiEntry): Promise<GPUComputePipeline> {
    const key = `${storage}:${entry}`;
    let p = this.pipelines.get(key);
    if (p === undefined) {
      let module = this.modules.get(storage);
      if (module === undefined) {
        module = this.dev.createShaderModule({ code: roiPoolShader(storage), label: `dcnv2 deform_roi_pool (${storage})` });
        this.modules.set(storage, module);
      }
      p = this.dev.createComputePipelineAsync({ layout: this.pipelineLayout, compute: { module, entryPoint: entry }, label: `dcnv2 roi ${entry} (${storage})` });
      // A failed compile is not cached, so the next call reports it again instead of a stale rejection.
      p.catch(() => this.pipelines.delete(key));
      this.pipelines.set(key, p);
    }
    return p;
  }

  /** Compiles, once, the pipelines of `entries` for `storage`: `forward` and `backward` need them. */
  async ready(storage: StorageType, entries: readonly RoiEntry[]): Promise<void> {
    await Promise.all(entries.map(async (entry) => {
      const key = `${storage}:${entry}`;
      if (this.compiled.has(key)) return;
      try {
        this.compiled.set(key, await this.pipeline(storage, entry));
      } catch (e) {
        throw new BackendError({ argument: 'backend', expected: `the RoI pooling kernel ${entry} (${storage}) to compile`, actual: (e as Error)?.name ?? e }, String((e as Error)?.message ?? e));
      }
    }));
  }

  /** Forward into `output` (`[R, C, ph, pw]`, allocated by the caller). */
  forward(storage: StorageType, g: RoiPoolGeometry, b: RoiPoolBuffers, output: GPUBuffer, maxDim: number): void {
    const items = g.rois * cBlocks(g) * g.pooledH * g.pooledW;
    if (items === 0) return;
    this.record(storage, g, b, [{ entry: 'forward', items, out0: output }], maxDim, null);
  }

  /**
   * Every requested gradient. grad_input is cleared first (a RoI-less call gives zeros); with f16 storage it
   * is accumulated in `scratch`, a float32 buffer of as many elements (null with f32 storage), and
   * converted at the end.
   */
  backward(storage: StorageType, g: RoiPoolGeometry, b: RoiPoolBuffers, gradOut: GPUBuffer, out: RoiPoolGradBuffers, scratch: GPUBuffer | null, maxDim: number): void {
    const bins = g.rois * g.pooledH * g.pooledW;
    const inputLen = g.batch * g.channels * g.inHeight * g.inWidth;
    const work = g.channels > 0 && bins > 0;
    const list: Dispatch[] = [];
    // Also with no channels: every bin then writes its zero gradient (a pooled buffer holds old values).
    if (bins > 0 && (out.offset !== null || out.mask !== null)) {
      list.push({ entry: 'gradBin', items: bins, out0: out.offset, out1: out.mask, gradOut });
    }
    let acc: GPUBuffer | null = null;
    if (out.input !== null && inputLen > 0) {
      if (storage === 'f32') {
        if (work) list.push({ entry: 'gradInput', items: bins * cBlocks(g), acc: out.input, gradOut });
      } else if (work) {
        if (scratch === null) throw new Error('deformRoiPoolBackward: float16 grad_input needs a float32 scratch buffer');
        acc = scratch;
        list.push({ entry: 'gradInput', items: bins * cBlocks(g), acc: scratch, gradOut });
        list.push({ entry: 'accToStorage', items: inputLen, out0: out.input, acc: scratch });
      }
    }
    // Cleared in the same command buffer, before the scatter: f32 accumulates into the result itself,
    // and f16 without work is all zeros (the f16 bit pattern of 0 is 0).
    const clear = out.input !== null && inputLen > 0 ? (acc ?? out.input) : null;
    this.record(storage, g, b, list, maxDim, clear);
  }

  /** Records `list` (after clearing `clear`) into one command buffer and submits it; `ready` compiled its pipelines. */
  private record(storage: StorageType, g: RoiPoolGeometry, b: RoiPoolBuffers, list: readonly Dispatch[], maxDim: number, clear: GPUBuffer | null): void {
    const dev = this.dev;
    const grids = list.map((d) => grid(d, maxDim));
    const pipes = list.map((d) => {
      const p = this.compiled.get(`${storage}:${d.entry}`);
      if (p === undefined) throw new Error(`RoI pooling kernel ${d.entry} (${storage}) used before ready()`);
      return p;
    });
    const enc = dev.createCommandEncoder({ label: 'dcnv2 roi pool' });
    if (clear !== null) enc.clearBuffer(clear);
    const uniforms: GPUBuffer[] = [];
    list.forEach((d, k) => {
      const [gx, gy] = grids[k]!;
      // forward / gradInput / accToStorage index invocations, gradBin workgroups.
      const rowStride = d.entry === 'gradBin' ? gx : gx * ROI_WORKGROUP;
      // Only gradBin reads the want flags: its two outputs are optional.
      const gathers = d.entry === 'gradBin';
      const u = this.uniform(params(g, d.items, rowStride, { offset: gathers && (d.out0 ?? null) !== null, mask: gathers && (d.out1 ?? null) !== null }));
      uniforms.push(u);
      const bind = this.slots.bindGroup(u, [b.input, b.rois, b.offset, b.mask, d.gradOut ?? null], [d.out0 ?? null, d.out1 ?? null, d.acc ?? null]);
      encodeDispatch(enc, pipes[k]!, bind, gx, gy);
    });
    dev.queue.submit([enc.finish()]);
    for (const u of uniforms) u.destroy();
  }

  private uniform(p: Params): GPUBuffer {
    const bytes = new ArrayBuffer((ROI_INT_FIELDS.length + ROI_FLOAT_FIELDS.length) * 4);
    new Int32Array(bytes, 0, ROI_INT_FIELDS.length).set(ROI_INT_FIELDS.map((f) => p[f]));
    new Float32Array(bytes, ROI_INT_FIELDS.length * 4).set(ROI_FLOAT_FIELDS.map((f) => p[f]));
    return uniformBuffer(this.dev, bytes);
  }
}

/** Channel blocks of `forward` / `gradInput` (each invocation handles ROI_CHANNEL_BLOCK channels). */
function cBlocks(g: RoiPoolGeometry): number {
  return Math.ceil(g.channels / ROI_CHANNEL_BLOCK);
}

/** Workgroup grid (x, y) of a dispatch: x up to maxDim, rows of x workgroups along y. */
function grid(d: Dispatch, maxDim: number): [number, number] {
  const per = d.entry === 'gradBin' ? BINS_PER_GROUP : ROI_WORKGROUP;
  const groups = Math.ceil(d.items / per);
  const gx = Math.min(groups, maxDim);
  const gy = Math.ceil(groups / gx);
  // The shaders index with u32 (and params are i32): keep every linear index below 2^31 too.
  if (gy > maxDim || d.items >= 2 ** 31) {
    throw new LimitError({
      argument: 'rois',
      expected: `at most maxComputeWorkgroupsPerDimension^2 = ${maxDim * maxDim} workgroups (and 2^31 work items) per dispatch`,
      actual: `${d.items} work items of ${d.entry}`,
    });
  }
  return [gx, gy];
}

function params(g: RoiPoolGeometry, total: number, rowStride: number, want: { offset: boolean; mask: boolean }): Params {
  return {
    n: g.batch, c: g.channels, h: g.inHeight, w: g.inWidth, rois: g.rois, ph: g.pooledH, pw: g.pooledW,
    ratio: g.samplingRatio, hasOffset: g.hasOffset ? 1 : 0, hasMask: g.hasMask ? 1 : 0, cBlocks: cBlocks(g),
    total, rowStride, wantOffset: want.offset ? 1 : 0, wantMask: want.mask ? 1 : 0, pad0: 0, scale: g.spatialScale, gamma: g.gamma, fpad0: 0, fpad1: 0,
  };
}
