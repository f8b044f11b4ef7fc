/**
 * Modulated deformable RoI pooling (DCNv2 section 2.2): parameters, resolved geometry and tensor shapes.
 * Semantics: mmcv's deformable RoI pooling (no rounding, half-pixel shift, offsets x first, scaled by
 * gamma times the RoI size) times a per-bin mask; see shared/golden/README.md.
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

export interface RoiPoolShapes {
  readonly input: readonly number[];
  readonly rois: readonly number[];
  readonly offset: readonly number[];
  readonly mask: readonly number[];
  /** `[R, C, ph, pw]`, also the shape of `gradOutput`. */
  readonly output: readonly number[];
}

/** Shapes of every tensor of a RoI pooling call (offset and mask as they would be when present). */
export function roiPoolShapes(g: RoiPoolGeometry): RoiPoolShapes {
  return {
    input: [g.batch, g.channels, g.inHeight, g.inWidth],
    rois: [g.rois, 5],
    offset: [g.rois, 2, g.pooledH, g.pooledW],
    mask: [g.rois, 1, g.pooledH, g.pooledW],
    output: [g.rois, g.channels, g.pooledH, g.pooledW],
  };
}

/**
 * Samples per bin along y and x of one RoI, as every backend computes them: the sampling ratio, or when
 * it is 0 the ceiling of the bin size (adaptive). Either may be <= 0 for a degenerate RoI (then the bin
 * has no samples and pools to 0). RoI coordinates are in input-image units, before `spatialScale`.
 */
export function roiSamplingGrid(g: Pick<RoiPoolGeometry, 'spatialScale' | 'samplingRatio' | 'pooledH' | 'pooledW'>, x1: number, y1: number, x2: number, y2: number): [number, number] {
  if (g.samplingRatio > 0) return [g.samplingRatio, g.samplingRatio];
  // Exactly the reference's float64 arithmetic (end - start, both shifted by half a pixel), so the grid
  // agrees with every kernel even where roiH / ph is within a rounding of an integer.
  const roiH = (y2 * g.spatialScale - 0.5) - (y1 * g.spatialScale - 0.5);
  const roiW = (x2 * g.spatialScale - 0.5) - (x1 * g.spatialScale - 0.5);
  return [Math.ceil(roiH / g.pooledH), Math.ceil(roiW / g.pooledW)];
}
