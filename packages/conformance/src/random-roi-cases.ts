/**
 * Seeded random RoI pooling problems for the fuzz, cross and gradcheck suites: adaptive and fixed sampling
 * ratios, several spatial scales, RoIs inside, straddling and entirely outside the image, degenerate
 * (zero or negative size) and tiny RoIs, small and large offsets, missing offset or mask, batches > 1,
 * pooled sizes 1..7.
 *
 * Fairness to float32 kernels: the op is discontinuous where a sample crosses y = -1 or y = H (x = -1,
 * x = W), its offset gradient jumps at every integer coordinate in between (the floor picks the cell, and
 * 0 and H-1 switch clamping on), and an adaptive grid ceil(roi_h / ph) jumps at integers. A float32 kernel
 * computes positions with an error of a few ulps (about 1e-5 here), so near those places it may
 * legitimately land on the other side from the float64 reference. Every case is therefore drawn so that
 * each sample coordinate within reach of the image is at least `kinkMargin` (1e-3) from an integer, and
 * each adaptive bin-size ratio is at least that far from an integer, except ratios that are exact in
 * float32 (RoIs on a quarter-pixel grid with a power-of-two scale, or zero-size RoIs), which every
 * precision computes the same. Exact hits of those places are covered by the golden vectors and the
 * properties instead.
 */
import { roiPoolShapes, type RoiPoolGeometry } from '@dcnv2/core';
import { binDisplacement, binSamplePositions, roiFrame, type RoiFrame } from './reference/deform-roi-pool-f64.js';
import type { RoiPoolCase } from './roi-pool-case.js';
import type { Rng } from './random.js';
import { elementCount } from './tensor-ops.js';

export type RoiOffsetKind = 'none' | 'small' | 'large';
/** Where a RoI lies: inside the image, straddling its border, or entirely beyond one side of it. */
export type RoiPlacement = 'inside' | 'straddle' | 'outside';
export type RoiMaskKind = 'none' | 'sigmoid' | 'raw' | 'ones';

export interface RandomRoiCaseOptions {
  /** Batch range (default [1, 3]). */
  readonly batch?: readonly [number, number];
  /** RoI count range (default [1, 6]). */
  readonly rois?: readonly [number, number];
  /** Largest H and W (default 12). */
  readonly maxImage?: number;
  /** Channel counts to draw from (default mostly small, sometimes 16, 32 or 64). */
  readonly channels?: readonly number[];
  /** Largest pooled side (default 7). */
  readonly maxPooled?: number;
  readonly offsets?: readonly RoiOffsetKind[];
  readonly masks?: readonly RoiMaskKind[];
  /** Offset scales gamma to draw from. */
  readonly gammas?: readonly number[];
  /** Largest RoI side on the feature map, in multiples of the image side (default 2). */
  readonly maxRoiScale?: number;
  /** Placements to draw RoIs from (default inside and straddling twice as often as outside). */
  readonly placements?: readonly RoiPlacement[];
  /** Probability that a RoI has a zero or negative side (default 0.1). */
  readonly degenerate?: number;
  /** Smallest distance of sample coordinates and adaptive ratios from integers (default 1e-3). */
  readonly kinkMargin?: number;
  /** Upper bound on channel-sample reads, to keep the float64 reference fast (default 400000). */
  readonly maxWork?: number;
}

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

/** Distance of v from the nearest integer. */
function fromInteger(v: number): number {
  return Math.abs(v - Math.round(v));
}

/** True when a coordinate is near a place where a float32 kernel may differ (see the header). */
function nearKink(v: number, size: number, margin: number): boolean {
  return v > -1 - margin && v < size + margin && fromInteger(v) < margin;
}

/** True when an adaptive grid ceil(side / pooled) could come out differently in float32. */
function gridAmbiguous(side: number, pooled: number, exact: boolean, margin: number): boolean {
  if (side === 0 || exact) return false;
  return fromInteger(side / pooled) < margin;
}

/** Whether every sample of bin (i, j), displaced by (dy, dx), keeps its distance from the kinks. */
function binClear(g: RoiPoolGeometry, f: RoiFrame, i: number, j: number, dy: number, dx: number, margin: number): boolean {
  return binSamplePositions(f, i, j, dy, dx).every((p) => !nearKink(p.y, g.inHeight, margin) && !nearKink(p.x, g.inWidth, margin));
}

/**
 * Whether a whole case keeps its distance from every kink (sample coordinates and adaptive grids). Used
 * by the generators and by suites that build cases by hand; `exact` says the RoI sizes are exact in
 * float32 (quarter-pixel grid, power-of-two scale).
 */
export function roiCaseClear(c: Pick<RoiPoolCase, 'geometry' | 'rois' | 'offset'>, margin: number, exact = false): boolean {
  const g = c.geometry;
  for (let r = 0; r < g.rois; r++) {
    if (!roiClear(g, c.rois, c.offset, r, margin, exact)) return false;
  }
  return true;
}

function roiClear(g: RoiPoolGeometry, rois: ArrayLike<number>, offset: ArrayLike<number> | null, r: number, margin: number, exact: boolean): boolean {
  const f = roiFrame(g, rois, r);
  if (g.samplingRatio === 0 && (gridAmbiguous(f.roiH, g.pooledH, exact, margin) || gridAmbiguous(f.roiW, g.pooledW, exact, margin))) return false;
  for (let i = 0; i < g.pooledH; i++) {
    for (let j = 0; j < g.pooledW; j++) {
      const [dy, dx] = binDisplacement(g, offset, f, r, i * g.pooledW + j);
      if (!binClear(g, f, i, j, dy, dx, margin)) return false;
    }
  }
  return true;
}

/** Start and length of one side of a RoI on the feature map (length 0 or negative when degenerate). */
function drawSide(rng: Rng, size: number, placement: RoiPlacement, maxScale: number, degenerate: boolean): [number, number] {
  const kind = degenerate ? 'degenerate' : rng.pick(['tiny', 'small', 'small', 'medium', 'medium', 'large'] as const);
  let length: number;
  if (kind === 'tiny') length = rng.uniform(0.02, 0.6);
  else if (kind === 'small') length = rng.uniform(0.6, 3);
  else if (kind === 'medium') length = rng.uniform(1, Math.max(1.5, size));
  else if (kind === 'large') length = rng.uniform(size, Math.max(size + 1, maxScale * size + 2));
  else length = rng.chance(0.5) ? 0 : -rng.uniform(0.1, 2);
  let start: number;
  if (placement === 'inside') start = rng.uniform(-0.5, Math.max(-0.4, size - 0.5 - Math.max(0, length)));
  else if (placement === 'straddle') start = rng.uniform(-Math.abs(length) - 1, size);
  else start = rng.chance(0.5) ? size + 1.5 + rng.uniform(0, 4) : -Math.abs(length) - 2.5 - rng.uniform(0, 4);
  return [start, length];
}

/** Image coordinates (x1, x2) whose feature-map start is `start` and size `length` at this scale. */
function imageCoords(start: number, length: number, scale: number, exact: boolean): [number, number] {
  if (exact) {
    // A quarter-pixel grid and a power-of-two scale: the RoI's start and size are exact in float32, so an
    // integer bin ratio is exactly an integer in every precision.
    const s = Math.round(start * 4) / 4;
    const l = Math.round(length * 4) / 4;
    return [(s + 0.5) / scale, (s + l + 0.5) / scale];
  }
  const x1 = Math.fround((start + 0.5) / scale);
  return [x1, length === 0 ? x1 : Math.fround((start + length + 0.5) / scale)];
}

function drawOffsetPair(rng: Rng, kind: RoiOffsetKind): [number, number] {
  const sigma = kind === 'large' ? 3 : 0.3;
  return [Math.fround(rng.normal() * sigma), Math.fround(rng.normal() * sigma)];
}

/**
 * Draws RoI `r` (and its offsets) until it keeps its distance from the kinks; false when it cannot.
 * Bins with offsets are redrawn one by one; without offsets the box itself is redrawn.
 */
function drawRoi(rng: Rng, g: RoiPoolGeometry, rois: Float32Array, offset: Float32Array | null, r: number, o: RoiDataOptions): boolean {
  const margin = o.margin;
  const bins = g.pooledH * g.pooledW;
  for (let attempt = 0; attempt < 60; attempt++) {
    const placement = rng.pick(o.placements);
    // A degenerate RoI has one side (or, rarely, both) of zero or negative size.
    const degenerate = rng.chance(o.degenerate);
    const degenerateX = degenerate && rng.chance(0.6);
    const degenerateY = degenerate && (!degenerateX || rng.chance(0.2));
    // Outside on one axis is enough to be outside; the other axis may be anywhere.
    const [sx, lx] = drawSide(rng, g.inWidth, placement === 'outside' && rng.chance(0.5) ? 'straddle' : placement, o.maxScale, degenerateX);
    const [sy, ly] = drawSide(rng, g.inHeight, placement, o.maxScale, degenerateY);
    const exact = o.exact;
    const [x1, x2] = imageCoords(sx, lx, g.spatialScale, exact);
    const [y1, y2] = imageCoords(sy, ly, g.spatialScale, exact);
    rois.set([rng.int(0, g.batch - 1), x1, y1, x2, y2], r * 5);
    const f = roiFrame(g, rois, r);
    if (g.samplingRatio === 0 && (gridAmbiguous(f.roiH, g.pooledH, exact, margin) || gridAmbiguous(f.roiW, g.pooledW, exact, margin))) continue;
    let clear = true;
    for (let i = 0; i < g.pooledH && clear; i++) {
      for (let j = 0; j < g.pooledW && clear; j++) {
        const bin = i * g.pooledW + j;
        if (offset === null) {
          clear = binClear(g, f, i, j, 0, 0, margin);
          continue;
        }
        clear = false;
        for (let t = 0; t < 40 && !clear; t++) {
          const [ox, oy] = drawOffsetPair(rng, o.offset);
          offset[(r * 2 + 0) * bins + bin] = ox;
          offset[(r * 2 + 1) * bins + bin] = oy;
          clear = binClear(g, f, i, j, g.gamma * f.roiH * oy, g.gamma * f.roiW * ox, margin);
        }
      }
    }
    if (clear) return true;
  }
  return false;
}

/** Channel-sample reads of the forward: what the float64 reference's time grows with. */
export function roiCaseWork(g: RoiPoolGeometry, rois: ArrayLike<number>): number {
  let samples = 0;
  for (let r = 0; r < g.rois; r++) {
    const f = roiFrame(g, rois, r);
    samples += Math.max(0, f.gridH) * Math.max(0, f.gridW);
  }
  return samples * g.pooledH * g.pooledW * g.channels;
}

function drawMask(rng: Rng, n: number, kind: RoiMaskKind): Float32Array | null {
  if (kind === 'none') return null;
  return Float32Array.from({ length: n }, () => (kind === 'ones' ? 1 : kind === 'raw' ? rng.normal() : sigmoid(rng.normal())));
}

/** A geometry less hasOffset / hasMask, which the data options decide. */
export type RoiGeometrySpec = Omit<RoiPoolGeometry, 'hasOffset' | 'hasMask'>;

/** How `randomRoiCaseData` draws a problem's data. */
export interface RoiDataOptions {
  readonly offset: RoiOffsetKind;
  readonly mask: RoiMaskKind;
  /** RoIs on a quarter-pixel grid with a power-of-two scale (every size exact in float32). */
  readonly exact: boolean;
  readonly margin: number;
  readonly maxScale: number;
  readonly placements: readonly RoiPlacement[];
  readonly degenerate: number;
}

/**
 * Data for a geometry: RoIs and offsets drawn clear of the kinks, then input, mask and gradOutput. Null
 * when no clear RoIs were found (the caller draws another geometry).
 */
export function randomRoiCaseData(rng: Rng, spec: RoiGeometrySpec, o: RoiDataOptions): RoiPoolCase | null {
  const g: RoiPoolGeometry = { ...spec, hasOffset: o.offset !== 'none', hasMask: o.mask !== 'none' };
  const s = roiPoolShapes(g);
  const size = elementCount;
  const rois = new Float32Array(size(s.rois));
  const offset = o.offset === 'none' ? null : new Float32Array(size(s.offset));
  for (let r = 0; r < g.rois; r++) {
    if (!drawRoi(rng, g, rois, offset, r, o)) return null;
  }
  return {
    geometry: g,
    input: rng.normals(size(s.input)),
    rois,
    offset,
    mask: drawMask(rng, size(s.mask), o.mask),
    gradOutput: rng.normals(size(s.output)),
  };
}

/** A random configuration and its data. */
export function randomRoiCase(rng: Rng, opts: RandomRoiCaseOptions = {}): RoiPoolCase {
  const [minN, maxN] = opts.batch ?? [1, 3];
  const [minR, maxR] = opts.rois ?? [1, 6];
  const maxImage = opts.maxImage ?? 12;
  const channels = opts.channels ?? [1, 1, 2, 3, 3, 4, 5, 8, 8, 16, 32, 64];
  const maxPooled = opts.maxPooled ?? 7;
  const margin = opts.kinkMargin ?? 1e-3;
  const maxWork = opts.maxWork ?? 400_000;
  for (let attempt = 0; attempt < 1000; attempt++) {
    const exact = rng.chance(0.4);
    const pooledH = rng.int(1, maxPooled);
    const side = () => (rng.chance(0.1) ? 1 : rng.int(2, maxImage));
    const spec: RoiGeometrySpec = {
      batch: rng.int(minN, maxN),
      channels: rng.pick(channels),
      inHeight: side(),
      inWidth: side(),
      rois: rng.int(minR, maxR),
      pooledH,
      pooledW: rng.chance(0.5) ? pooledH : rng.int(1, maxPooled),
      spatialScale: exact ? rng.pick([1, 1, 0.5, 0.25, 0.125, 0.0625, 2]) : rng.pick([1, 0.5, 0.3, 0.25, 1 / 12, 0.7]),
      samplingRatio: rng.chance(0.5) ? 0 : rng.int(1, 4),
      gamma: rng.pick(opts.gammas ?? [0.1, 0.1, 0.1, 0.05, 0.3, 0.5, 1, -0.2, 0]),
    };
    const c = randomRoiCaseData(rng, spec, {
      offset: rng.pick(opts.offsets ?? ['none', 'small', 'small', 'small', 'large']),
      mask: rng.pick(opts.masks ?? ['none', 'sigmoid', 'sigmoid', 'raw', 'ones']),
      exact,
      margin,
      maxScale: opts.maxRoiScale ?? 2,
      placements: opts.placements ?? ['inside', 'inside', 'straddle', 'straddle', 'outside'],
      degenerate: opts.degenerate ?? 0.1,
    });
    if (c === null || roiCaseWork(c.geometry, c.rois) > maxWork) continue;
    return c;
  }
  throw new Error('randomRoiCase: no configuration fits the options');
}

/**
 * A case large enough to cross the tiling of fast kernels: 48 to 64 channels, 16 to 32 RoIs on a batch of
 * 2, 7x7 bins, 16 to 24 pixel sides, so channel chunks, RoI batches and workgroups all split it, while the
 * float64 reference still evaluates it in well under a second.
 */
export function blockedRoiCase(rng: Rng): RoiPoolCase {
  for (;;) {
    const side = rng.int(16, 24);
    const c = randomRoiCaseData(
      rng,
      {
        batch: 2,
        channels: 2 * rng.int(24, 32),
        inHeight: side,
        inWidth: rng.int(16, 24),
        rois: rng.int(16, 32),
        pooledH: 7,
        pooledW: 7,
        spatialScale: rng.pick([0.25, 0.5]),
        samplingRatio: rng.pick([0, 2]),
        gamma: 0.1,
      },
      {
        offset: 'small',
        mask: rng.pick(['sigmoid', 'none'] as const),
        exact: false,
        margin: 1e-3,
        maxScale: 1,
        placements: ['inside', 'inside', 'inside', 'straddle'],
        degenerate: 0.05,
      },
    );
    if (c !== null && roiCaseWork(c.geometry, c.rois) <= 4_000_000) return c;
  }
}
