/**
 * Modulated deformable RoI pooling (DCNv2 section 2.2): types only for now; validation and kernels come
 * with the RoI pooling work. Semantics: mmcv's deformable RoI pooling (no rounding, half-pixel shift,
 * offsets x first, scaled by gamma times the RoI size) times a per-bin mask.
 */

export interface DeformRoiPoolParams {
  /** Bins per RoI, `[ph, pw]` or one number for both. */
  readonly outputSize: number | readonly [number, number];
  /** Multiplies RoI coordinates to map them onto the feature map. Default 1. */
  readonly spatialScale?: number;
  /** Samples per bin along each axis; 0 = adaptive (ceil of the bin size). Default 0. */
  readonly samplingRatio?: number;
  /** Offset scale gamma. Default 0.1. */
  readonly gamma?: number;
}

export interface RoiPoolGeometry {
  readonly batch: number;
  readonly channels: number;
  readonly inHeight: number;
  readonly inWidth: number;
  readonly rois: number;
  readonly pooledH: number;
  readonly pooledW: number;
  readonly spatialScale: number;
  readonly samplingRatio: number;
  readonly gamma: number;
  readonly hasOffset: boolean;
  readonly hasMask: boolean;
}

/** Tensors of a RoI pooling call; `rois` is `[R, 5]` = (batch index, x1, y1, x2, y2). */
export interface RoiPoolInputs<T> {
  readonly input: T;
  readonly rois: T;
  /** `[R, 2, ph, pw]`, x (width) first. */
  readonly offset: T | null;
  /** `[R, 1, ph, pw]`. */
  readonly mask: T | null;
}

export interface RoiPoolGradRequest {
  readonly input: boolean;
  readonly offset: boolean;
  readonly mask: boolean;
}

export interface RoiPoolGrads<T> {
  readonly input: T | null;
  readonly offset: T | null;
  readonly mask: T | null;
}
