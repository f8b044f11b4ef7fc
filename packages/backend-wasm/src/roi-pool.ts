/**
 * Modulated deformable RoI pooling on the wasm kernels (kernels/roi_pool.c): memory for the call, the job
 * block, and the chunked runs. Forward: one run over (RoI, channel block) chunks. Backward: a gather run
 * for grad_offset / grad_mask (per-block partial sums, reduced in block order by the calling thread), then
 * a scatter run for grad_input over channel blocks (each channel written by one thread, no partial copies).
 * Everything a call allocates is checked against the memory limit before anything is written (LimitError),
 * and freed when it ends, so repeated calls reuse the same memory.
 */
import { OPS, type RoiPoolGeometry, type RoiPoolGradRequest, type RoiPoolGrads } from '@dcnv2/core';
import type { Heap } from './heap.js';
import type { ChunkFn, KernelExports } from './job.js';
import { ROI_JOB, ROI_WANT, setJobFields } from './job-layout.js';
import { writeRoiJob } from './roi-job.js';
import { chooseRoiBlocks, chooseScatterBlocks, planCapacity } from './roi-pool-tiling.js';
import type { WasmTensor } from './wasm-tensor.js';

/**
 * Byte addresses of a call's tensors (0: absent), taken by the backend from its own record of each handle
 * after checking it is live, its own and of the size the geometry implies: never from the handles.
 */
export interface RoiPoolPointers {
  readonly input: number;
  readonly rois: number;
  readonly offset: number;
  readonly mask: number;
}

/** What the backend lends a RoI pooling call. */
export interface RoiPoolContext {
  readonly k: KernelExports;
  readonly heap: Heap;
  readonly memory: WebAssembly.Memory;
  readonly threads: number;
  /** Allocates every block of `sizes` or none: LimitError before anything is allocated when they cannot fit. */
  allocAll(sizes: readonly number[], what: string): number[];
  /** Runs `total` chunks of `fn` of `job` on `nThreads` threads, thread i with workspace wss[i]. */
  run(fn: ChunkFn, job: number, wss: readonly number[], counter: number, total: number, nThreads: number): Promise<void> | void;
  /** A new handle of this backend for `length` floats at `ptr` (an output). */
  tensor(ptr: number, length: number): WasmTensor;
  release(h: WasmTensor): void;
  /** Whether the call's blocks must not be freed: the backend was disposed, or a timed-out worker may still write them. */
  keepMemory(): boolean;
}

/** Blocks that live for one call; freed together (not after dispose, when the heap is gone, nor while a timed-out worker may write them). */
class CallTemps {
  readonly #blocks: Array<{ ptr: number; bytes: number }> = [];
  constructor(private readonly ctx: RoiPoolContext) {}

  alloc(sizes: readonly number[], what: string): number[] {
    const ptrs = this.ctx.allocAll(sizes, what);
    this.adopt(ptrs, sizes);
    return ptrs;
  }

  adopt(ptrs: readonly number[], sizes: readonly number[]): void {
    for (let i = 0; i < ptrs.length; i++) this.#blocks.push({ ptr: ptrs[i], bytes: Math.max(16, sizes[i]) });
  }

  free(): void {
    if (this.ctx.keepMemory()) return;
    for (const b of this.#blocks) this.ctx.heap.free(b.ptr, b.bytes);
    this.#blocks.length = 0;
  }
}

function chain(r: Promise<void> | void, next: () => Promise<void> | void): Promise<void> | void {
  return r instanceof Promise ? r.then(next) : next();
}

/** Threads worth starting for `chunks` chunks (each needs its own workspace). */
function threadsFor(ctx: RoiPoolContext, chunks: number): number {
  return Math.max(1, Math.min(ctx.threads, chunks));
}

/**
 * Writes the job and sizes the plan from the RoIs (the kernels measure the largest bin); returns the plan
 * capacity written into the job.
 */
function prepareJob(ctx: RoiPoolContext, job: number, g: RoiPoolGeometry, fields: Parameters<typeof writeRoiJob>[3]): number {
  writeRoiJob(ctx.memory, job, g, fields);
  const cap = planCapacity(ctx.k.roi_pool_bin_entries(job), g.pooledH * g.pooledW);
  setJobFields(ctx.memory, job, ROI_JOB, { cap });
  return cap;
}

export function roiPoolForward(ctx: RoiPoolContext, g: RoiPoolGeometry, inputs: RoiPoolPointers): WasmTensor | Promise<WasmTensor> {
  const bins = g.pooledH * g.pooledW;
  const outLen = g.rois * g.channels * bins;
  if (outLen === 0) return ctx.tensor(0, 0);
  const what = 'deformRoiPool workspace';
  const temps = new CallTemps(ctx);
  let output: WasmTensor | null = null;
  const fail = (e: unknown): never => {
    temps.free();
    if (output !== null) ctx.release(output);
    throw e;
  };
  try {
    const [job, counter] = temps.alloc([ROI_JOB.bytes, 16], what);
    const blocks = chooseRoiBlocks(g.rois, g.channels);
    prepareJob(ctx, job, g, { input: inputs.input, rois: inputs.rois, offset: inputs.offset, mask: inputs.mask, cb: blocks.cb, ncb: blocks.ncb });
    const total = g.rois * blocks.ncb;
    const nThreads = threadsFor(ctx, total);
    const wsBytes = ctx.k.roi_pool_ws_bytes(job, 0, 0);
    const sizes = [outLen * 4, ...Array.from({ length: nThreads }, () => wsBytes)];
    const [out, ...wss] = ctx.allocAll(sizes, what);
    output = ctx.tensor(out, outLen);
    temps.adopt(wss, sizes.slice(1));
    setJobFields(ctx.memory, job, ROI_JOB, { out });
    const done = (): WasmTensor => {
      temps.free();
      return output!;
    };
    const r = ctx.run('roi_pool_forward_chunk', job, wss, counter, total, nThreads);
    return r instanceof Promise ? r.then(done, fail) : done();
  } catch (e) {
    return fail(e);
  }
}

export function roiPoolBackward(
  ctx: RoiPoolContext,
  g: RoiPoolGeometry,
  inputs: RoiPoolPointers,
  gradOutput: number,
  want: RoiPoolGradRequest,
): RoiPoolGrads<WasmTensor> | Promise<RoiPoolGrads<WasmTensor>> {
  const R = g.rois;
  const C = g.channels;
  const bins = g.pooledH * g.pooledW;
  const wantOffset = want.offset && g.hasOffset;
  const wantMask = want.mask && g.hasMask;
  const lens = {
    input: want.input ? g.batch * C * g.inHeight * g.inWidth : -1,
    offset: wantOffset ? R * 2 * bins : -1,
    mask: wantMask ? R * bins : -1,
  };
  const gather = (lens.offset > 0 || lens.mask > 0) && R > 0;
  const scatter = lens.input > 0 && R > 0 && C > 0;
  const blocks = chooseRoiBlocks(R, C);
  const sblocks = chooseScatterBlocks(C, ctx.threads);
  const gatherChunks = R * blocks.ncb;
  const gatherThreads = gather ? threadsFor(ctx, gatherChunks) : 0;
  const scatterThreads = scatter ? threadsFor(ctx, sblocks.chunks) : 0;
  const what = 'deformRoiPoolBackward workspace';
  const temps = new CallTemps(ctx);
  // The op table's order (input, offset, mask): the job fields and the result below rely on it.
  const keys = OPS.deform_roi_pool.grads;
  let grads: Array<WasmTensor | null> = [null, null, null];
  const fail = (e: unknown): never => {
    temps.free();
    for (const h of grads) if (h !== null) ctx.release(h);
    throw e;
  };
  try {
    const [job, counter] = temps.alloc([ROI_JOB.bytes, 16], what);
    prepareJob(ctx, job, g, {
      input: inputs.input, rois: inputs.rois, offset: inputs.offset, mask: inputs.mask,
      gout: gradOutput, cb: blocks.cb, ncb: blocks.ncb, scb: sblocks.scb,
      want: (want.input ? ROI_WANT.input : 0) | (wantOffset ? ROI_WANT.offset : 0) | (wantMask ? ROI_WANT.mask : 0),
    });
    const wsBytes = Math.max(
      gather ? ctx.k.roi_pool_ws_bytes(job, wantOffset ? 1 : 0, 1) : 0,
      scatter ? ctx.k.roi_pool_ws_bytes(job, 0, 0) : 0,
    );
    const partLen = gather ? blocks.ncb * R * 3 * bins : 0;
    const nws = Math.max(gatherThreads, scatterThreads);
    // [3 grads, gather partials, workspaces]
    const sizes = [...keys.map((key) => Math.max(0, lens[key]) * 4), partLen * 4, ...Array.from({ length: nws }, () => wsBytes)];
    const ptrs = ctx.allocAll(sizes, what);
    grads = keys.map((key, i) => (lens[key] < 0 ? null : lens[key] === 0 ? ctx.tensor(0, 0) : ctx.tensor(ptrs[i], lens[key])));
    // Absent and empty gradients did not need their (minimum 16-byte) blocks.
    keys.forEach((key, i) => {
      if (lens[key] <= 0) ctx.heap.free(ptrs[i], 16);
    });
    temps.adopt(ptrs.slice(3), sizes.slice(3));
    const part = ptrs[3];
    const wss = ptrs.slice(4);
    setJobFields(ctx.memory, job, ROI_JOB, { gin: grads[0]?.ptr ?? 0, goff: grads[1]?.ptr ?? 0, gmask: grads[2]?.ptr ?? 0, part });
    const f32 = new Float32Array(ctx.memory.buffer);
    // grad_input accumulates; grad_offset and grad_mask are written whole by the finishing step (or stay 0 without RoIs).
    for (const h of grads) if (h !== null && h.length > 0) f32.fill(0, h.ptr >>> 2, (h.ptr >>> 2) + h.length);
    const result = (): RoiPoolGrads<WasmTensor> => {
      temps.free();
      return { input: grads[0], offset: grads[1], mask: grads[2] };
    };
    const gathered = gather ? ctx.run('roi_pool_gather_chunk', job, wss, counter, gatherChunks, gatherThreads) : undefined;
    const r = chain(gathered, () => {
      if (gather) ctx.k.roi_pool_finish_grads(job);
      return scatter ? ctx.run('roi_pool_scatter_chunk', job, wss, counter, sblocks.chunks, scatterThreads) : undefined;
    });
    return r instanceof Promise ? r.then(result, fail) : result();
  } catch (e) {
    return fail(e);
  }
}
