/**
 * The inputs of one RoI pooling case, drawn once from a seeded generator so every implementation gets the very
 * same numbers (and a rerun with the same --seed gets them again):
 *   input ~ N(0, 1); RoIs = boxes inside the image the feature map was computed from (H/scale x W/scale
 *   pixels: 800x1344 for R1 and R2), sides log-uniform in 32..512 px (less on a small custom image), anywhere
 *   in the image, batch index uniform; offsets ~ N(0, 0.1²) (times gamma 0.1 times the RoI size: a bin moves
 *   about 1% of the RoI); masks = sigmoid(N(0, 1)); gradOutput ~ N(0, 1).
 *
 * Well-conditioned on purpose: the bilinear sampler's derivative jumps where a sample coordinate crosses an
 * integer (the corner pixels change), and so does its value at the image edges (-1, H, W) and the adaptive grid
 * size where RoI size / bins is an integer. A float32 kernel computes positions to about 1e-5 px here, so a
 * sample within that of an integer could legitimately differ from the float64 reference by O(1) in
 * grad_offset. RoIs and offsets are therefore redrawn until every sample coordinate within reach of the image
 * (with and without offsets) and every adaptive bin-size ratio lies at least WELL_CONDITIONED_PX from an
 * integer, by the conformance suite's own test (`roiCaseClear`); the agreement check then holds every element
 * to the conformance tolerances with nothing excused.
 */
import { roiPoolShapes, type RoiPoolGeometry } from '@dcnv2/core';
import { Rng, roiCaseClear, roiFrame } from '@dcnv2/conformance';
import { caseEntries, elementCount, readCaseTensors, sigmoidMasks } from './case-tensors.js';
import { roiShapeGeometry, type RoiShapeSpec } from './roi-shapes.js';
import type { TensorEntry } from './tensor-file.js';

export const ROI_OFFSET_STD = 0.1;
/** Box sides in image pixels: log-uniform in [min, max] (each capped by the image side, see `boxSideRange`). */
export const ROI_BOX_SIDE_PX = { min: 32, max: 512 } as const;
/** Closest a sample coordinate may come to an integer, in feature-map pixels (float32 rounding is ~1e-5). */
export const WELL_CONDITIONED_PX = 1e-3;
const MAX_REDRAWS = 1000;

export const ROI_CASE_TENSORS = ['input', 'rois', 'offset', 'mask', 'gradOutput'] as const;
export type RoiCaseTensorName = (typeof ROI_CASE_TENSORS)[number];

export interface RoiCaseData {
  /** With offsets and masks (hasOffset, hasMask): the plain variant leaves them out per call. */
  readonly geometry: RoiPoolGeometry;
  readonly input: Float32Array;
  /** `[R, 5]` = (batch index, x1, y1, x2, y2) in image pixels. */
  readonly rois: Float32Array;
  /** `[R, 2, ph, pw]`, x first. */
  readonly offset: Float32Array;
  /** `[R, 1, ph, pw]`. */
  readonly mask: Float32Array;
  /** `[R, C, ph, pw]`. */
  readonly gradOutput: Float32Array;
}

/** What the case file's JSON header carries besides the tensors. */
export interface RoiCaseMeta {
  readonly op: 'deform_roi_pool';
  readonly geometry: RoiPoolGeometry;
  readonly seed: number;
}

/** Box sides to draw along an image side of `imagePx`: 32..512 px, shrunk to fit a small image. */
export function boxSideRange(imagePx: number): { min: number; max: number } {
  const max = Math.min(ROI_BOX_SIDE_PX.max, imagePx);
  return { min: Math.min(ROI_BOX_SIDE_PX.min, max / 4), max };
}

/** A case of one RoI (index `r`) with its offsets, or none: what `roiCaseClear` inspects. */
function oneRoi(g: RoiPoolGeometry, rois: Float32Array, offset: Float32Array | null, r: number) {
  const bins = g.pooledH * g.pooledW;
  return {
    geometry: { ...g, rois: 1 },
    rois: rois.subarray(r * 5, r * 5 + 5),
    offset: offset === null ? null : offset.subarray(r * 2 * bins, (r + 1) * 2 * bins),
  };
}

/** Draws RoI `r` (float32-rounded) until its undisplaced samples and adaptive grid keep clear of the kinks. */
function drawRoi(g: RoiPoolGeometry, rng: Rng, rois: Float32Array, r: number): void {
  const imageH = g.inHeight / g.spatialScale;
  const imageW = g.inWidth / g.spatialScale;
  const sideX = boxSideRange(imageW);
  const sideY = boxSideRange(imageH);
  for (let attempt = 0; attempt < MAX_REDRAWS; attempt++) {
    const w = Math.exp(rng.uniform(Math.log(sideX.min), Math.log(sideX.max)));
    const h = Math.exp(rng.uniform(Math.log(sideY.min), Math.log(sideY.max)));
    const x1 = Math.fround(rng.uniform(0, imageW - w));
    const y1 = Math.fround(rng.uniform(0, imageH - h));
    rois.set([rng.int(0, g.batch - 1), x1, y1, Math.fround(x1 + w), Math.fround(y1 + h)], r * 5);
    if (roiCaseClear(oneRoi(g, rois, null, r), WELL_CONDITIONED_PX)) return;
  }
  throw new Error(`no well-conditioned RoI in ${MAX_REDRAWS} draws for ${JSON.stringify(g)}`);
}

/** Redraws RoI `r`'s offsets, N(0, std²) float32, until its displaced samples keep clear of the kinks too. */
function clearOffsets(g: RoiPoolGeometry, rois: Float32Array, offset: Float32Array, r: number, redraw: Rng): void {
  const bins = g.pooledH * g.pooledW;
  for (let attempt = 0; attempt < MAX_REDRAWS; attempt++) {
    if (roiCaseClear(oneRoi(g, rois, offset, r), WELL_CONDITIONED_PX)) return;
    offset.set(redraw.normals(2 * bins, ROI_OFFSET_STD), r * 2 * bins);
  }
  throw new Error(`no well-conditioned offsets in ${MAX_REDRAWS} draws for RoI ${r}`);
}

export function makeRoiCaseData(spec: RoiShapeSpec, seed: number): RoiCaseData {
  const g = roiShapeGeometry(spec);
  const s = roiPoolShapes(g);
  // One derived stream per tensor: adding a tensor later does not change the others.
  const stream = (name: string) => Rng.derive(seed, `bench:roi:${name}`);
  const roiRng = stream('rois');
  const rois = new Float32Array(elementCount(s.rois));
  for (let r = 0; r < g.rois; r++) drawRoi(g, roiRng, rois, r);
  const offset = stream('offset').normals(elementCount(s.offset), ROI_OFFSET_STD);
  const redraw = stream('offset:redraw');
  for (let r = 0; r < g.rois; r++) clearOffsets(g, rois, offset, r, redraw);

  return {
    geometry: g,
    input: stream('input').normals(elementCount(s.input)),
    rois,
    offset,
    mask: sigmoidMasks(stream('mask'), elementCount(s.mask)),
    gradOutput: stream('gradOutput').normals(elementCount(s.output)),
  };
}

/**
 * Bilinear samples one forward call interpolates, per channel summed over every bin of every RoI:
 * C * ph * pw * sum over RoIs of grid_h * grid_w (the grid varies per RoI when adaptive).
 */
export function roiSampleCount(c: RoiCaseData): number {
  const g = c.geometry;
  let perChannel = 0;
  for (let r = 0; r < g.rois; r++) {
    const f = roiFrame(g, c.rois, r);
    perChannel += Math.max(0, f.gridH) * Math.max(0, f.gridW) * g.pooledH * g.pooledW;
  }
  return perChannel * g.channels;
}

export function roiCaseTensorEntries(c: RoiCaseData): TensorEntry[] {
  const s = roiPoolShapes(c.geometry);
  return caseEntries(ROI_CASE_TENSORS, (name) => (name === 'gradOutput' ? s.output : s[name]), c);
}

/** Rebuilds the case from a decoded file (workers). */
export function roiCaseFromTensors(meta: RoiCaseMeta, tensors: ReadonlyMap<string, TensorEntry>): RoiCaseData {
  return { geometry: meta.geometry, ...readCaseTensors(tensors, ROI_CASE_TENSORS) };
}
