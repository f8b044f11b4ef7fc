/**
 * Host side of RoI pooling: the program of roi-pool-shader.ts (ROI_POOL_PROGRAM; its pipelines compiled
 * lazily per storage type and entry point on first use, so a backend that never pools never compiles
 * them), and the dispatches. Compiling is asynchronous (`ready`); recording and
 * submitting (`forward`, `backward`) is synchronous, so the backend runs it, with its allocations, inside
 * one group of GPU error scopes. Every buffer arrives allocated by the backend (also the float32
 * accumulator of an f16 grad_input), so its memory limit sees them all. Dispatch grids come from
 * `linearGrid` (dispatch-grid.ts): a problem beyond maxComputeWorkgroupsPerDimension^2 workgroups throws
 * LimitError.
 */
import { BackendError, type RoiPoolGeometry } from '@dcnv2/core';
import { ComputeProgram, Recording } from './compute-program.js';
import { linearGrid } from './dispatch-grid.js';
import type { UniformValues } from './program-interface.js';
import { BINS_PER_GROUP, ROI_CHANNEL_BLOCK, ROI_POOL_PROGRAM, ROI_WORKGROUP, roiPoolShader, type RoiEntry } from './roi-pool-shader.js';
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

/** One dispatch: its entry point, work items and the buffers of its writable bindings. */
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
  /** One program for both storage types: its pipelines are compiled lazily, per storage type and entry point. */
  private readonly program: ComputeProgram<typeof ROI_POOL_PROGRAM>;

  constructor(private readonly dev: GPUDevice) {
    this.program = new ComputeProgram(dev, ROI_POOL_PROGRAM, roiPoolShader);
  }

  destroy(): void {
    this.program.destroy();
  }

  /** Compiles, once, the pipelines of `entries` for `storage`: `forward` and `backward` need them. */
  async ready(storage: StorageType, entries: readonly RoiEntry[]): Promise<void> {
    await Promise.all(entries.map(async (entry) => {
      try {
        await this.program.ready(storage, [entry]);
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
    // Every grid is checked before anything is recorded.
    const grids = list.map((d) => linearGrid(d.items, d.entry === 'gradBin' ? BINS_PER_GROUP : ROI_WORKGROUP, { maxDim, argument: 'rois', kernel: d.entry }));
    const rec = new Recording(this.dev, 'dcnv2 roi pool');
    if (clear !== null) rec.encoder.clearBuffer(clear);
    list.forEach((d, k) => {
      const grid = grids[k]!;
      // forward / gradInput / accToStorage index invocations, gradBin workgroups.
      const rowStride = d.entry === 'gradBin' ? grid.x : grid.x * ROI_WORKGROUP;
      // Only gradBin reads the want flags: its two outputs are optional.
      const gathers = d.entry === 'gradBin';
      const u = roiUniforms(g, d.items, rowStride, { offset: gathers && (d.out0 ?? null) !== null, mask: gathers && (d.out1 ?? null) !== null });
      const buffers = { inp: b.input, rois: b.rois, off: b.offset, msk: b.mask, gout: d.gradOut, out0: d.out0, out1: d.out1, acc: d.acc };
      this.program.dispatch(rec, storage, d.entry, u, buffers, grid);
    });
    rec.submit();
  }
}

/** Channel blocks of `forward` / `gradInput` (each invocation handles ROI_CHANNEL_BLOCK channels). */
function cBlocks(g: RoiPoolGeometry): number {
  return Math.ceil(g.channels / ROI_CHANNEL_BLOCK);
}

function roiUniforms(g: RoiPoolGeometry, total: number, rowStride: number, want: { offset: boolean; mask: boolean }): UniformValues<typeof ROI_POOL_PROGRAM> {
  return {
    n: g.batch, c: g.channels, h: g.inHeight, w: g.inWidth, rois: g.rois, ph: g.pooledH, pw: g.pooledW,
    ratio: g.samplingRatio, hasOffset: g.hasOffset ? 1 : 0, hasMask: g.hasMask ? 1 : 0, cBlocks: cBlocks(g),
    total, rowStride, wantOffset: want.offset ? 1 : 0, wantMask: want.mask ? 1 : 0, pad0: 0, scale: g.spatialScale, gamma: g.gamma, fpad0: 0, fpad1: 0,
  };
}
