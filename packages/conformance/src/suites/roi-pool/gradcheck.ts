/**
 * roi-gradcheck: RoI pooling gradients against finite differences, which depend on neither backend's
 * backward. For a few small random problems whose sample coordinates stay at least 0.02 from every
 * integer (where the op is smooth: no clamping switch, no cell change, no crossing of y = -1 or y = H)
 * and for each of input, offset and mask, the directional derivative of L = sum(output * gradOutput)
 * along random directions, by central differences of the float64 reference forward, is compared with
 * (a) the reference's own backward, which proves the oracle's gradients, and (b) the backend's backward.
 * L is linear in input and mask and, between those places, quadratic along a line in offset space (each
 * sample is bilinear in its (y, x), both linear in the bin's offsets), so central differences are exact
 * up to rounding and the check can be tight.
 */
import type { RoiPoolGradName } from '@dcnv2/core';
import { referenceRoiBackward, type RoiPoolCase } from '../../roi-pool-case.js';
import { deformRoiPoolF64, type RoiPoolGradsF64 } from '../../reference/deform-roi-pool-f64.js';
import type { Rng } from '../../random.js';
import { randomRoiCase } from '../../random-roi-cases.js';
import { offsetLever } from '../../tolerances-roi-pool.js';
import { GRADCHECK_MAX_DIRECTION, runGradcheck } from '../directional-gradcheck.js';
import type { SuiteContext } from '../types.js';
import { ROI_OP } from './roi-op.js';

const CASES = 4;
/** Distance of every sample coordinate from the nearest integer in the drawn cases. */
const MARGIN = 0.02;

/** Options of the drawn problems: small, so that the finite differences are fast. */
export const GRADCHECK_ROI_OPTIONS = {
  batch: [1, 2],
  rois: [1, 3],
  maxImage: 7,
  channels: [1, 2, 3, 4],
  maxPooled: 3,
  gammas: [0.05, 0.1, 0.2],
  maxRoiScale: 1,
  // RoIs that reach the image, so that every gradient has something to check.
  placements: ['inside', 'inside', 'straddle'],
  degenerate: 0,
  kinkMargin: MARGIN,
} as const;

/**
 * Step of the central differences: samples move by gamma * RoI side * step * |direction| along offsets,
 * kept under a third of the margin, so no sample crosses an integer.
 */
function stepFor(c: RoiPoolCase): number {
  return Math.min(1e-3, MARGIN / (3 * GRADCHECK_MAX_DIRECTION * Math.max(1e-9, offsetLever(c.geometry, c.rois))));
}

/**
 * A problem whose every gradient has something to compare (a 1-pixel image, for one, clamps every
 * coordinate and has no offset gradient at all): those are the fuzz suite's business, not this one's.
 */
function drawNonTrivial(rng: Rng, i: number): [RoiPoolCase, RoiPoolGradsF64] {
  // Offsets in all but the last case; masks sigmoid, raw, absent in turn.
  const offsets = [i === CASES - 1 ? 'none' : 'small'] as const;
  const masks = [(['sigmoid', 'raw', 'none'] as const)[i % 3]];
  for (;;) {
    const c = randomRoiCase(rng, { ...GRADCHECK_ROI_OPTIONS, offsets, masks });
    const ref = referenceRoiBackward(c);
    const grads = [ref.input, ref.offset, ref.mask].filter((t) => t !== null);
    if (grads.every((t) => t.some((v) => Math.abs(v) > 1e-3))) return [c, ref];
  }
}

export function roiGradcheckSuite(ctx: SuiteContext): Promise<void> {
  return runGradcheck<RoiPoolCase, RoiPoolGradName>(ctx, ROI_OP, {
    cases: CASES,
    draw(rng, i) {
      const [c, ref] = drawNonTrivial(rng, i);
      return { c, ref, step: stepFor(c) };
    },
    outputWith: (c, k, x) => deformRoiPoolF64(c.geometry, { ...c, [k]: x }),
  });
}
