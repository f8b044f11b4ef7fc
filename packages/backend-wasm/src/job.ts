/**
 * The host's side of the kernels: writing the convolution's job block (layout: `CONV_JOB` in
 * job-layout.ts), the chunk entry points, and the exports of a kernels instance.
 */
import type { ConvGeometry } from '@dcnv2/core';
import { CONV_JOB, writeJob, type ConvJobField } from './job-layout.js';

/** Writes a whole convolution job (`CONV_JOB`): the geometry, then `fields` (pointers, tiling); every other field is 0. */
export function writeConvJob(memory: WebAssembly.Memory, ptr: number, g: ConvGeometry, fields: Partial<Record<ConvJobField, number>>): void {
  writeJob(memory, ptr, CONV_JOB, {
    N: g.batch, CIN: g.inChannels, H: g.inHeight, W: g.inWidth, COUT: g.outChannels,
    KH: g.kernelH, KW: g.kernelW, SH: g.strideH, SW: g.strideW, PT: g.padTop, PL: g.padLeft,
    DH: g.dilationH, DW: g.dilationW, GROUPS: g.groups, OG: g.offsetGroups, HO: g.outHeight, WO: g.outWidth,
    ...fields,
  });
}

/** The kernel entry points that run one chunk of a job: `(job, chunk, workspace)`, shared by every thread. */
export type ChunkFn =
  | 'dcn_forward_chunk'
  | 'dcn_backward_chunk'
  | 'roi_pool_forward_chunk'
  | 'roi_pool_gather_chunk'
  | 'roi_pool_scatter_chunk';

/** The exports of a kernels instance. Pointers and sizes are int32. */
export interface KernelExports {
  readonly __heap_base: WebAssembly.Global;
  readonly __stack_pointer: WebAssembly.Global;
  dcn_pack_weight_fwd(job: number): void;
  dcn_pack_weight_bwd(job: number): void;
  dcn_forward_chunk(job: number, chunk: number, ws: number): void;
  /** Bytes of one thread's forward workspace; a double, as an absurd job's may exceed int32. */
  dcn_forward_ws_bytes(K: number, P: number, kcc: number, CB: number, Cg: number): number;
  dcn_backward_chunk(job: number, chunk: number, ws: number): void;
  /** Bytes of one thread's backward workspace; a double. */
  dcn_backward_ws_bytes(K: number, P: number, kcc: number, CoutG: number): number;
  dcn_grad_bias(job: number): void;
  dcn_reduce(dst: number, parts: number, nparts: number, stride: number, count: number): void;
  // RoI pooling (kernels/roi_pool.c; job layout ROI_JOB in job-layout.ts)
  roi_pool_forward_chunk(job: number, chunk: number, ws: number): void;
  roi_pool_gather_chunk(job: number, chunk: number, ws: number): void;
  roi_pool_scatter_chunk(job: number, chunk: number, ws: number): void;
  roi_pool_finish_grads(job: number): void;
  /** Largest plan (entries) a single bin of the job can need; a double, as it may exceed int32. */
  roi_pool_bin_entries(job: number): number;
  /** Bytes of one thread's workspace for the job's plan capacity. */
  roi_pool_ws_bytes(job: number, derivs: number, accs: number): number;
}

/** Stack of each worker instance (the main instance uses the 64 KiB region the linker puts first). */
export const WORKER_STACK_BYTES = 64 * 1024;
