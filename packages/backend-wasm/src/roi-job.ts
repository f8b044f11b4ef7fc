/**
 * The RoI pooling job block the C kernels read (`RoiJob` in kernels/roi_pool.c, which asserts this
 * layout): 24 int32 fields (sizes, pointers, chunking), then spatial scale and gamma as float64 at bytes
 * 96 and 104, so the per-RoI geometry is computed in double from the exact parameters.
 */
import type { RoiPoolGeometry } from '@dcnv2/core';

export const RJ = {
  N: 0, C: 1, H: 2, W: 3, R: 4, PH: 5, PW: 6, SR: 7,
  INPUT: 8, ROIS: 9, OFFSET: 10, MASK: 11, OUT: 12, GOUT: 13, GIN: 14, GOFF: 15, GMASK: 16, PART: 17,
  CB: 18, NCB: 19, SCB: 20, CAP: 21, WANT: 22,
} as const;
export type RoiJobField = keyof typeof RJ;

const INT_FIELDS = 24;
const SCALE_F64 = 12;
const GAMMA_F64 = 13;
export const ROI_JOB_BYTES = 112;

/** Bits of the WANT field. */
export const ROI_WANT = { input: 1, offset: 2, mask: 4 } as const;

/** Writes a whole job: the geometry, then `fields` (pointers, chunking); every other field is 0. */
export function writeRoiJob(memory: WebAssembly.Memory, ptr: number, g: RoiPoolGeometry, fields: Partial<Record<RoiJobField, number>>): void {
  const v = new Int32Array(memory.buffer, ptr, INT_FIELDS);
  v.fill(0);
  v[RJ.N] = g.batch;
  v[RJ.C] = g.channels;
  v[RJ.H] = g.inHeight;
  v[RJ.W] = g.inWidth;
  v[RJ.R] = g.rois;
  v[RJ.PH] = g.pooledH;
  v[RJ.PW] = g.pooledW;
  v[RJ.SR] = g.samplingRatio;
  setRoiJobFields(memory, ptr, fields);
  const d = new Float64Array(memory.buffer, ptr, ROI_JOB_BYTES / 8);
  d[SCALE_F64] = g.spatialScale;
  d[GAMMA_F64] = g.gamma;
}

export function setRoiJobFields(memory: WebAssembly.Memory, ptr: number, fields: Partial<Record<RoiJobField, number>>): void {
  const v = new Int32Array(memory.buffer, ptr, INT_FIELDS);
  for (const [k, val] of Object.entries(fields)) v[RJ[k as RoiJobField]] = val as number;
}
