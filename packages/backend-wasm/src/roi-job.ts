/**
 * Writing the RoI pooling job block (`ROI_JOB` in job-layout.ts, `RoiJob` in kernels/roi_pool.c): the
 * geometry's sizes, then spatial scale and gamma as float64, so the per-RoI geometry is computed in double
 * from the exact parameters.
 */
import type { RoiPoolGeometry } from '@dcnv2/core';
import { ROI_JOB, writeJob, type RoiJobField } from './job-layout.js';

/** Writes a whole job: the geometry, then `fields` (pointers, chunking); every other field is 0. */
export function writeRoiJob(memory: WebAssembly.Memory, ptr: number, g: RoiPoolGeometry, fields: Partial<Record<RoiJobField, number>>): void {
  writeJob(memory, ptr, ROI_JOB, {
    N: g.batch, C: g.channels, H: g.inHeight, W: g.inWidth, R: g.rois,
    PH: g.pooledH, PW: g.pooledW, SR: g.samplingRatio, scale: g.spatialScale, gamma: g.gamma,
    ...fields,
  });
}
