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
import type { Backend, RoiPoolGradName } from '@dcnv2/core';
import { backendRoiBackward, describeRoiCase, hasRoiPoolBackward, referenceRoiBackward, ROI_GRAD_NAMES, type RoiPoolCase } from '../../roi-pool-case.js';
import { deformRoiPoolF64, type RoiPoolGradsF64, type RoiPoolTensors } from '../../reference/deform-roi-pool-f64.js';
import { Rng } from '../../random.js';
import { randomRoiCase } from '../../random-roi-cases.js';
import { defaultRoiPoolTolerance, offsetLever, roiGradTensorName } from '../../tolerances-roi-pool.js';
import { errorRow, type ConformanceRow, type SuiteContext } from '../types.js';
import { roiSuiteLabel } from './suite-label.js';

const SUITE = roiSuiteLabel('gradcheck');
const CASES = 4;
const DIRECTIONS = 2;
/** Distance of every sample coordinate from the nearest integer in the drawn cases. */
const MARGIN = 0.02;
/** Largest offset component of a direction (directions are clipped normals). */
const MAX_DIR = 3;
/**
 * Relative bound for the reference's own backward: float64 rounding of the directional sums and of the
 * finite difference (about 1e-16 * sum|out*gradOutput| / step) stays near 1e-12 on these sizes.
 */
const SELF_RTOL = 1e-8;

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

function loss(c: RoiPoolCase, t: RoiPoolTensors): number {
  const out = deformRoiPoolF64(c.geometry, t);
  let s = 0;
  for (let i = 0; i < out.length; i++) s += out[i] * c.gradOutput![i];
  return s;
}

/**
 * Step of the central differences: samples move by gamma * RoI side * step * |direction| along offsets,
 * kept under a third of the margin, so no sample crosses an integer.
 */
function stepFor(c: RoiPoolCase): number {
  return Math.min(1e-3, MARGIN / (3 * MAX_DIR * Math.max(1e-9, offsetLever(c.geometry, c.rois))));
}

/** Central difference of L along `dir` in the space of tensor `k`. */
function directionalFD(c: RoiPoolCase, k: RoiPoolGradName, dir: Float64Array, h: number): number {
  const base: RoiPoolTensors = { input: c.input, rois: c.rois, offset: c.offset, mask: c.mask };
  const x = base[k]!;
  const plus = Float64Array.from(x, (v, i) => v + h * dir[i]);
  const minus = Float64Array.from(x, (v, i) => v - h * dir[i]);
  return (loss(c, { ...base, [k]: plus }) - loss(c, { ...base, [k]: minus })) / (2 * h);
}

interface Check {
  err: number;
  allowed: number;
  got: number;
  want: number;
}

function rowOf(caseName: string, k: RoiPoolGradName, checks: Check[], note: string): ConformanceRow {
  const worst = checks.reduce((a, b) => (b.err / b.allowed > a.err / a.allowed ? b : a));
  const pass = checks.every((c) => c.err <= c.allowed);
  return {
    suite: SUITE,
    case: caseName,
    tensor: roiGradTensorName(k),
    maxAbsError: worst.err,
    atol: worst.allowed,
    rtol: 0,
    pass,
    ...(pass ? {} : { detail: `directional derivative ${worst.got}, finite differences ${worst.want}; ${note}` }),
  };
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

export async function roiGradcheckSuite(ctx: SuiteContext): Promise<void> {
  const rng = Rng.derive(ctx.seed, SUITE);
  const backend: Backend = ctx.backend;
  const withBackend = hasRoiPoolBackward(backend);
  for (let i = 0; i < CASES; i++) {
    const [c, ref] = drawNonTrivial(rng, i);
    const note = describeRoiCase(c);
    const h = stepFor(c);
    let got: Awaited<ReturnType<typeof backendRoiBackward>> | null = null;
    let failure: unknown = null;
    if (withBackend) {
      try {
        got = await backendRoiBackward(backend, c);
      } catch (e) {
        failure = e;
      }
    }
    for (const k of ROI_GRAD_NAMES) {
      const refGrad = ref[k];
      if (refGrad === null) continue;
      const selfChecks: Check[] = [];
      const backendChecks: Check[] = [];
      const tol = defaultRoiPoolTolerance(roiGradTensorName(k), c.geometry, c.rois);
      for (let d = 0; d < DIRECTIONS; d++) {
        const dir = Float64Array.from({ length: refGrad.length }, () => Math.max(-MAX_DIR, Math.min(MAX_DIR, rng.normal())));
        const fd = directionalFD(c, k, dir, h);
        let a = 0;
        let scale = 0;
        for (let j = 0; j < dir.length; j++) {
          a += refGrad[j] * dir[j];
          scale += Math.abs(refGrad[j] * dir[j]);
        }
        selfChecks.push({ err: Math.abs(a - fd), allowed: SELF_RTOL * (1 + scale), got: a, want: fd });
        const gk = got?.[k];
        if (gk !== undefined) {
          // The per-element tolerance of this gradient, summed along the direction.
          let b = 0;
          let allowed = 0;
          for (let j = 0; j < dir.length; j++) {
            b += gk[j] * dir[j];
            allowed += Math.abs(dir[j]) * (tol.atol + tol.rtol * Math.abs(refGrad[j]));
          }
          backendChecks.push({ err: Number.isFinite(b) ? Math.abs(b - fd) : Infinity, allowed, got: b, want: fd });
        }
      }
      ctx.row(rowOf(`gradcheck#${i} f64-reference`, k, selfChecks, note));
      if (!withBackend) continue;
      const name = `gradcheck#${i} ${backend.name}`;
      if (failure !== null) ctx.row(errorRow(SUITE, name, roiGradTensorName(k), failure, note));
      else if (backendChecks.length === 0) ctx.row(errorRow(SUITE, name, roiGradTensorName(k), new Error('backend returned no gradient'), note));
      else ctx.row(rowOf(name, k, backendChecks, note));
    }
  }
  if (!withBackend) ctx.skip('backend has no RoI pooling backward (only the reference was checked)');
}
