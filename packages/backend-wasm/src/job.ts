/** Field indices of the int32 job block the C kernels read (keep in sync with the enum in kernels/dcn.c). */
export const J = {
  N: 0, CIN: 1, H: 2, W: 3, COUT: 4, KH: 5, KW: 6, SH: 7, SW: 8, PT: 9, PL: 10, DH: 11, DW: 12,
  GROUPS: 13, OG: 14, HO: 15, WO: 16, P: 17, KCC: 18, NTILES: 19,
  INPUT: 20, WEIGHT: 21, OFFSET: 22, MASK: 23, BIAS: 24, WPACK: 25, OUT: 26,
  GOUT: 27, GIN: 28, GOFF: 29, GMASK: 30, GW: 31, GB: 32, WANT: 33, CB: 34, NCB: 35,
} as const;
export const JOB_FIELDS = 36;
export const JOB_BYTES = JOB_FIELDS * 4;

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
  // RoI pooling (kernels/roi_pool.c; job layout in roi-job.ts)
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
