/**
 * Problem shapes of the RoI pooling op: the named ones (R1, R2: detection heads on a feature map of an
 * 800x1344 image) and custom ones from `--roi-shape N,C,H,W,R,ph,pw,ratio,scale`. A shape becomes a core
 * `RoiPoolGeometry`, which is what every implementation and the work count see.
 */
import type { RoiPoolGeometry } from '@dcnv2/core';
import { ShapeError } from './shapes.js';

export interface RoiShapeSpec {
  /** Feature map `[n, c, h, w]`. */
  readonly n: number;
  readonly c: number;
  readonly h: number;
  readonly w: number;
  /** RoIs R. */
  readonly rois: number;
  /** Bins per RoI, ph x pw. */
  readonly ph: number;
  readonly pw: number;
  /** Samples per bin along each axis; 0 = adaptive (ceil of the bin size). */
  readonly ratio: number;
  /** Feature-map pixels per image pixel (1/16: a stride-16 feature map). */
  readonly scale: number;
}

export interface RoiNamedShape {
  readonly label: string;
  readonly spec: RoiShapeSpec;
}

/** The offset scale of every case (DCNv2's and mmcv's default). */
export const ROI_GAMMA = 0.1;

/**
 * R1: a Faster R-CNN box head on the stride-16 feature map of an 800x1344 image (50x84, 256 channels), 256
 * RoIs pooled to 7x7 with 2x2 samples per bin. R2: a Mask R-CNN mask head on the stride-8 map of the same
 * image (100x168), 100 RoIs pooled to 14x14.
 */
export const NAMED_ROI_SHAPES: Readonly<Record<string, RoiShapeSpec>> = {
  R1: { n: 1, c: 256, h: 50, w: 84, rois: 256, ph: 7, pw: 7, ratio: 2, scale: 1 / 16 },
  R2: { n: 1, c: 256, h: 100, w: 168, rois: 100, ph: 14, pw: 14, ratio: 2, scale: 1 / 8 },
};

export const NAMED_ROI_SHAPE_KEYS = Object.keys(NAMED_ROI_SHAPES);

/** `1/16` for reciprocals of integers, else the decimal. */
export function formatScale(scale: number): string {
  const inv = 1 / scale;
  return Number.isInteger(inv) && inv > 1 ? `1/${inv}` : String(scale);
}

/** `1x256x50x84 R256 7x7 sr2 scale1/16`. */
export function roiShapeLabel(s: RoiShapeSpec): string {
  return `${s.n}x${s.c}x${s.h}x${s.w} R${s.rois} ${s.ph}x${s.pw} sr${s.ratio} scale${formatScale(s.scale)}`;
}

/** Checks a spec with messages that name the flag's fields. R = 0 and N*C = 0 are valid (empty results). */
export function checkRoiShape(s: RoiShapeSpec, what = 'RoI shape'): void {
  const nonNegative: Array<keyof RoiShapeSpec> = ['n', 'c', 'rois', 'ratio'];
  for (const key of nonNegative) {
    const v = s[key];
    if (!Number.isSafeInteger(v) || v < 0) throw new ShapeError(`${what}: ${key} must be a non-negative integer, got ${v}`);
  }
  const positive: Array<keyof RoiShapeSpec> = ['h', 'w', 'ph', 'pw'];
  for (const key of positive) {
    const v = s[key];
    if (!Number.isSafeInteger(v) || v < 1) throw new ShapeError(`${what}: ${key} must be a positive integer, got ${v}`);
  }
  if (!Number.isFinite(s.scale) || s.scale <= 0) throw new ShapeError(`${what}: scale must be a finite number > 0, got ${s.scale}`);
  if (s.rois > 0 && s.n === 0) throw new ShapeError(`${what}: ${s.rois} RoIs need a batch of at least 1 to point into`);
}

/** A scale written as a decimal (`0.0625`) or a fraction (`1/16`). */
function parseScale(v: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)(?:\/(\d+(?:\.\d+)?))?$/.exec(v);
  if (m === null) throw new ShapeError(`${what}: scale must be a number or a fraction like 1/16, got ${JSON.stringify(v)}`);
  return m[2] === undefined ? Number(m[1]) : Number(m[1]) / Number(m[2]);
}

/** A named RoI shape (`R1`), or null when `name` is not one. */
export function namedRoiShape(name: string): RoiNamedShape | null {
  const key = name.toUpperCase();
  const spec = NAMED_ROI_SHAPES[key];
  return spec === undefined ? null : { label: key, spec };
}

/** One `--roi-shape` value: `N,C,H,W,R,ph,pw,ratio,scale` (ratio 0 = adaptive; scale like 0.0625 or 1/16). */
export function parseRoiShapeArg(value: string): RoiNamedShape {
  const what = `--roi-shape ${value}`;
  const parts = value.split(',').map((p) => p.trim());
  if (parts.some((p) => p === '')) throw new ShapeError(`${what}: empty field`);
  if (parts.length !== 9) throw new ShapeError(`${what}: expected 9 fields N,C,H,W,R,ph,pw,ratio,scale, got ${parts.length}`);
  const ints = parts.slice(0, 8);
  if (!ints.every((p) => /^\d+$/.test(p))) throw new ShapeError(`${what}: N,C,H,W,R,ph,pw,ratio must be non-negative integers`);
  const [n, c, h, w, rois, ph, pw, ratio] = ints.map(Number);
  const spec: RoiShapeSpec = { n, c, h, w, rois, ph, pw, ratio, scale: parseScale(parts[8], what) };
  checkRoiShape(spec, what);
  return { label: roiShapeLabel(spec), spec };
}

/** The geometry core resolves for this shape, with offsets and masks (the plain variant drops them per call). */
export function roiShapeGeometry(s: RoiShapeSpec): RoiPoolGeometry {
  checkRoiShape(s);
  return {
    batch: s.n,
    channels: s.c,
    inHeight: s.h,
    inWidth: s.w,
    rois: s.rois,
    pooledH: s.ph,
    pooledW: s.pw,
    spatialScale: s.scale,
    samplingRatio: s.ratio,
    gamma: ROI_GAMMA,
    hasOffset: true,
    hasMask: true,
  };
}
