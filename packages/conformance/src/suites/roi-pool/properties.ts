/**
 * roi-properties: identities every correct modulated deformable RoI pooling satisfies, checked on seeded
 * random problems, testing the backend against mathematics rather than against the deformable oracle:
 * - without offset and mask it is torchvision's roi_align(aligned=True) (an independent float64
 *   implementation, `roi-align-f64.ts`), forward and input gradient;
 * - an offset of zeros equals no offset, and a mask of ones equals no mask (forward and the gradients
 *   both sides have);
 * - the output is linear in the mask;
 * - RoIs entirely outside the image (every sample beyond y = -1, y = H, x = -1 or x = W, by 0.01 to a few
 *   pixels) give exactly 0 and exactly zero gradients;
 * - permuting the RoIs (with their offsets, masks and gradOutput) permutes the outputs and the offset and
 *   mask gradients and leaves the input gradient unchanged;
 * - no RoIs (R = 0), no channels (C = 0) and an empty batch (N = 0, R = 0) give empty outputs, and
 *   gradients that are empty or exactly zero;
 * - a NaN offset makes exactly its bin NaN (output in every channel, both offset gradients, the mask
 *   gradient) and leaves everything else as the float64 reference has it; the bin's samples cannot be
 *   placed, so it adds nothing to grad_input (the agreed rule of every backend: NaN propagates as
 *   arithmetic would, and never spreads to values that do not depend on it).
 * Comparisons of the backend with itself allow each side one tolerance (twice the default).
 */
import { roiPoolShapes, type Backend, type RoiPoolGeometry } from '@dcnv2/core';
import {
  backendRoiBackward,
  backendRoiForward,
  describeRoiCase,
  hasRoiPoolBackward,
  ROI_GRAD_NAMES,
  withRoiTensors,
  type RoiBackendGrads,
  type RoiPoolCase,
} from '../../roi-pool-case.js';
import { Rng } from '../../random.js';
import { randomRoiCase, type RandomRoiCaseOptions } from '../../random-roi-cases.js';
import { binDisplacement, binSamplePositions, roiFrame } from '../../reference/deform-roi-pool-f64.js';
import { roiAlignBackwardF64, roiAlignF64, type RoiAlignParams } from '../../reference/roi-align-f64.js';
import { elementCount } from '../../tensor-ops.js';
import type { Tolerance } from '../../tolerances.js';
import { defaultRoiPoolTolerance, roiGradTensorName } from '../../tolerances-roi-pool.js';
import { comparisonRow, errorRow, type ConformanceRow, type SuiteContext } from '../types.js';
import { runProperties, type Property } from '../op-suites.js';
import { backendExpectationOf, checkOpCase, referenceExpectationOf } from '../op-kit.js';
import { ROI_OP, type RoiExpectation } from './roi-op.js';
import { roiSuiteLabel } from './suite-label.js';

const SUITE = roiSuiteLabel('properties');
const EXACT: Tolerance = { atol: 0, rtol: 0 };

/** Small problems: the properties run each several times on the backend. */
const SMALL: RandomRoiCaseOptions = { channels: [1, 2, 3, 4, 5, 8], rois: [1, 5], maxWork: 100_000 };

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/** Runs a case and compares it with an expectation computed by the same backend on an equivalent case. */
async function sameAs(backend: Backend, c: RoiPoolCase, equivalent: RoiPoolCase, caseName: string): Promise<ConformanceRow[]> {
  let want: RoiExpectation;
  try {
    want = await backendExpectationOf(ROI_OP, backend, equivalent, hasRoiPoolBackward(backend));
  } catch (e) {
    return [errorRow(SUITE, caseName, 'output', e, describeRoiCase(equivalent))];
  }
  return checkOpCase(ROI_OP, backend, c, want, { suite: SUITE, caseName, toleranceFactor: 2, note: describeRoiCase(c) });
}

// No offset and no mask: torchvision's roi_align(aligned=True), forward and input gradient.
const isRoiAlign: Property = {
  name: 'no_offset_no_mask_is_roi_align',
  cases: 4,
  async run(backend, rng, caseName) {
    const c = randomRoiCase(rng, { ...SMALL, offsets: ['none'], masks: ['none'] });
    const g = c.geometry;
    const p: RoiAlignParams = {
      batch: g.batch,
      channels: g.channels,
      height: g.inHeight,
      width: g.inWidth,
      pooledH: g.pooledH,
      pooledW: g.pooledW,
      spatialScale: g.spatialScale,
      samplingRatio: g.samplingRatio,
    };
    const want: RoiExpectation = { output: roiAlignF64(p, c.input, c.rois), grads: { input: roiAlignBackwardF64(p, c.rois, c.gradOutput!) } };
    return checkOpCase(ROI_OP, backend, c, want, { suite: SUITE, caseName, note: describeRoiCase(c) });
  },
};

// An offset of zeros moves nothing: equal to no offset (forward, input and mask gradients).
const zeroOffsetIsNone: Property = {
  name: 'zero_offset_equals_no_offset',
  cases: 3,
  async run(backend, rng, caseName) {
    const c = randomRoiCase(rng, { ...SMALL, offsets: ['none'], masks: ['sigmoid', 'raw'] });
    const zeros = withRoiTensors(c, { offset: new Float32Array(elementCount(roiPoolShapes(c.geometry).offset)) });
    return sameAs(backend, zeros, c, caseName);
  },
};

// A mask of ones scales nothing: equal to no mask (forward, input and offset gradients).
const unitMaskIsNone: Property = {
  name: 'unit_mask_equals_no_mask',
  cases: 3,
  async run(backend, rng, caseName) {
    const c = randomRoiCase(rng, { ...SMALL, offsets: ['small', 'large'], masks: ['none'] });
    const ones = withRoiTensors(c, { mask: new Float32Array(elementCount(roiPoolShapes(c.geometry).mask)).fill(1) });
    return sameAs(backend, ones, c, caseName);
  },
};

// f(a*m1 + b*m2) == a*f(m1) + b*f(m2): the mask multiplies each bin's mean.
const linearInMask: Property = {
  name: 'linear_in_mask',
  cases: 3,
  async run(backend, rng, caseName) {
    const c = randomRoiCase(rng, { ...SMALL, masks: ['raw'] });
    const m1 = c.mask!;
    const m2 = rng.normals(m1.length);
    const a = rng.uniform(-2, 2);
    const b = rng.uniform(-2, 2);
    const m12 = Float32Array.from(m1, (v, k) => a * v + b * m2[k]);
    const note = `${describeRoiCase(c)} a=${a.toFixed(3)} b=${b.toFixed(3)}`;
    try {
      const f1 = await backendRoiForward(backend, c);
      const f2 = await backendRoiForward(backend, withRoiTensors(c, { mask: m2 }));
      const f12 = await backendRoiForward(backend, withRoiTensors(c, { mask: m12 }));
      const want = Float64Array.from(f1, (v, k) => a * v + b * f2[k]);
      // Three float32 results enter, weighted 1, |a| and |b|; each is within the output tolerance of the
      // truth, measured at the outputs' own magnitude.
      const out = defaultRoiPoolTolerance('output', c.geometry, c.rois);
      const scale = Math.max(maxAbs(f1), maxAbs(f2), maxAbs(f12));
      const tol = { atol: (out.atol + out.rtol * scale) * (1 + Math.abs(a) + Math.abs(b)), rtol: 0 };
      return [comparisonRow(SUITE, caseName, 'output', f12, want, tol, roiPoolShapes(c.geometry).output, note)];
    } catch (e) {
      return [errorRow(SUITE, caseName, 'output', e, note)];
    }
  },
};

/** True when every sample of every bin of RoI r lies beyond the image by more than `margin`. */
function roiOutside(g: RoiPoolGeometry, rois: ArrayLike<number>, offset: ArrayLike<number> | null, r: number, margin: number): boolean {
  const f = roiFrame(g, rois, r);
  for (let i = 0; i < g.pooledH; i++) {
    for (let j = 0; j < g.pooledW; j++) {
      const [dy, dx] = binDisplacement(g, offset, f, r, i * g.pooledW + j);
      for (const p of binSamplePositions(f, i, j, dy, dx)) {
        const out = p.y < -1 - margin || p.y > g.inHeight + margin || p.x < -1 - margin || p.x > g.inWidth + margin;
        if (!out) return false;
      }
    }
  }
  return true;
}

/**
 * Moves every RoI of a case beyond one side of the image: 'near' puts the closest samples 0.01 to 0.3
 * pixels past y = -1, y = H, x = -1 or x = W (where a kernel testing `y <= -1` instead of `y < -1`, or
 * clamping first, reads the border), 'far' a few pixels away. Offsets are kept; RoIs whose bins still
 * reach the image are placed again.
 */
function moveOutside(rng: Rng, c: RoiPoolCase, style: 'near' | 'far'): RoiPoolCase {
  const g = c.geometry;
  const rois = c.rois.slice();
  for (let r = 0; r < g.rois; r++) {
    for (let attempt = 0; ; attempt++) {
      if (attempt > 1000) throw new Error('could not place a RoI outside the image');
      // Without offsets the extreme samples of a RoI lie half a sample step inside its edges; with
      // offsets they may move further, so place the box and verify.
      const f = roiFrame(g, rois, r);
      const w = Math.abs(f.roiW);
      const h = Math.abs(f.roiH);
      // Offsets can pull samples back inside: widen the gap slowly when a placement keeps failing.
      const gap = (style === 'near' ? rng.uniform(0.01, 0.3) : rng.uniform(2, 6)) + 0.01 * attempt;
      const side = rng.int(0, 3);
      let fx = rng.uniform(-w, g.inWidth);
      let fy = rng.uniform(-h, g.inHeight);
      if (side === 0) fy = -1 - gap - h;
      else if (side === 1) fy = g.inHeight + gap;
      else if (side === 2) fx = -1 - gap - w;
      else fx = g.inWidth + gap;
      // start = coord * scale - 0.5: keep the RoI's size, move its start to (fx, fy).
      const x1 = Math.fround((fx + 0.5) / g.spatialScale);
      const y1 = Math.fround((fy + 0.5) / g.spatialScale);
      rois[r * 5 + 1] = x1;
      rois[r * 5 + 2] = y1;
      rois[r * 5 + 3] = Math.fround(x1 + f.roiW / g.spatialScale);
      rois[r * 5 + 4] = Math.fround(y1 + f.roiH / g.spatialScale);
      if (roiOutside(g, rois, c.offset, r, 0.005)) break;
    }
  }
  return { ...c, rois };
}

// Every sample outside the image: exactly 0, and exactly zero gradients.
const outsideGivesZero: Property = {
  name: 'outside_image_gives_zero',
  cases: 4,
  async run(backend, rng, caseName, i) {
    const style = i % 2 === 0 ? 'near' : 'far';
    const c0 = randomRoiCase(rng, { ...SMALL, gammas: [0.05, 0.1], offsets: ['none', 'small'], masks: ['sigmoid', 'raw', 'none'] });
    const c = moveOutside(rng, c0, style);
    const name = `${caseName} (${style})`;
    const note = describeRoiCase(c);
    const s = roiPoolShapes(c.geometry);
    const rows: ConformanceRow[] = [];
    try {
      const out = await backendRoiForward(backend, c);
      rows.push(comparisonRow(SUITE, name, 'output', out, new Float64Array(out.length), EXACT, s.output, note));
    } catch (e) {
      rows.push(errorRow(SUITE, name, 'output', e, note));
    }
    if (!hasRoiPoolBackward(backend)) return rows;
    try {
      const grads = await backendRoiBackward(backend, c);
      for (const k of ROI_GRAD_NAMES) {
        const got = grads[k];
        if (got === undefined) continue;
        rows.push(comparisonRow(SUITE, name, roiGradTensorName(k), got, new Float64Array(got.length), EXACT, s[k], note));
      }
    } catch (e) {
      rows.push(errorRow(SUITE, name, 'gradients', e, note));
    }
    return rows;
  },
};

/** Reorders the first axis of a tensor of R blocks of `block` values: block k of the result is block perm[k]. */
function permuteBlocks(t: Float32Array, perm: readonly number[], block: number): Float32Array {
  const out = new Float32Array(t.length);
  perm.forEach((from, k) => out.set(t.subarray(from * block, (from + 1) * block), k * block));
  return out;
}

// Permuting the RoIs permutes everything per RoI and leaves the input gradient as it is.
const permutationEquivariant: Property = {
  name: 'permuting_rois_permutes_outputs',
  cases: 3,
  async run(backend, rng, caseName) {
    const c = randomRoiCase(rng, { ...SMALL, rois: [2, 6] });
    const g = c.geometry;
    const R = g.rois;
    const perm = Array.from({ length: R }, (_, k) => k);
    for (let k = R - 1; k > 0; k--) {
      const j = rng.int(0, k);
      [perm[k], perm[j]] = [perm[j], perm[k]];
    }
    if (perm.every((v, k) => v === k)) [perm[0], perm[1]] = [perm[1], perm[0]];
    const bins = g.pooledH * g.pooledW;
    const p = (t: Float32Array | null, block: number) => (t === null ? null : permuteBlocks(t, perm, block));
    const permuted: RoiPoolCase = {
      ...c,
      rois: p(c.rois, 5)!,
      offset: p(c.offset, 2 * bins),
      mask: p(c.mask, bins),
      gradOutput: p(c.gradOutput, g.channels * bins),
    };
    const name = `${caseName} (${perm.join(',')})`;
    const withGrads = hasRoiPoolBackward(backend);
    let base;
    try {
      base = await backendExpectationOf(ROI_OP, backend, c, withGrads);
    } catch (e) {
      return [errorRow(SUITE, name, 'output', e, describeRoiCase(c))];
    }
    const f32 = (a: ArrayLike<number>) => Float32Array.from(a);
    const want: RoiExpectation = {
      output: permuteBlocks(f32(base.output), perm, g.channels * bins),
      ...(base.grads
        ? {
            grads: {
              input: base.grads.input,
              offset: base.grads.offset ? permuteBlocks(f32(base.grads.offset), perm, 2 * bins) : null,
              mask: base.grads.mask ? permuteBlocks(f32(base.grads.mask), perm, bins) : null,
            },
          }
        : {}),
    };
    return checkOpCase(ROI_OP, backend, permuted, want, { suite: SUITE, caseName: name, toleranceFactor: 2, note: describeRoiCase(permuted) });
  },
};

/** Zero RoIs, zero channels, or an empty batch: empty outputs, gradients empty or exactly zero. */
const emptyProblems: Property = {
  name: 'empty_problems',
  cases: 3,
  async run(backend, rng, caseName, i) {
    const kind = (['no_rois', 'no_channels', 'empty_batch'] as const)[i % 3];
    let c = randomRoiCase(rng, { ...SMALL, batch: [1, 2], offsets: ['small'], masks: ['sigmoid'] });
    const g = c.geometry;
    if (kind === 'no_channels') {
      c = { ...c, geometry: { ...g, channels: 0 }, input: new Float32Array(0), gradOutput: new Float32Array(0) };
    } else {
      const batch = kind === 'empty_batch' ? 0 : g.batch;
      const gg = { ...g, rois: 0, batch };
      c = { geometry: gg, input: new Float32Array(elementCount(roiPoolShapes(gg).input)).map(() => rng.normal()), rois: new Float32Array(0), offset: new Float32Array(0), mask: new Float32Array(0), gradOutput: new Float32Array(0) };
    }
    const s = roiPoolShapes(c.geometry);
    const size = elementCount;
    const name = `${caseName} (${kind})`;
    const note = describeRoiCase(c);
    const rows: ConformanceRow[] = [];
    try {
      const out = await backendRoiForward(backend, c);
      rows.push(comparisonRow(SUITE, name, 'output', out, new Float64Array(size(s.output)), EXACT, s.output, note));
    } catch (e) {
      rows.push(errorRow(SUITE, name, 'output', e, note));
    }
    if (!hasRoiPoolBackward(backend)) return rows;
    try {
      const grads: RoiBackendGrads = await backendRoiBackward(backend, c);
      for (const k of ROI_GRAD_NAMES) {
        const got = grads[k];
        const tensor = roiGradTensorName(k);
        if (got === undefined) rows.push(errorRow(SUITE, name, tensor, new Error(`backend returned no ${tensor}`), note));
        else rows.push(comparisonRow(SUITE, name, tensor, got, new Float64Array(size(s[k])), EXACT, s[k], note));
      }
    } catch (e) {
      rows.push(errorRow(SUITE, name, 'gradients', e, note));
    }
    return rows;
  },
};

// A NaN offset component: its bin is NaN everywhere it appears, every other value is the reference's.
const nanOffsetIsLocal: Property = {
  name: 'nan_offset_propagates_locally',
  cases: 3,
  async run(backend, rng, caseName, i) {
    const c = randomRoiCase(rng, { ...SMALL, offsets: ['small'], masks: i === 2 ? ['none'] : ['sigmoid'] });
    const g = c.geometry;
    const bins = g.pooledH * g.pooledW;
    const r = rng.int(0, g.rois - 1);
    const bin = rng.int(0, bins - 1);
    const component = i % 2;
    // Expectation: the reference on the case with that bin's offset zeroed and its gradOutput zeroed (so
    // it feeds no gradient into the input), then the bin's own values replaced by NaN.
    const offset = c.offset!.slice();
    offset[(r * 2 + 0) * bins + bin] = 0;
    offset[(r * 2 + 1) * bins + bin] = 0;
    const gradOutput = c.gradOutput!.slice();
    for (let ch = 0; ch < g.channels; ch++) gradOutput[(r * g.channels + ch) * bins + bin] = 0;
    const finite = withRoiTensors(c, { offset, gradOutput });
    const want = referenceExpectationOf(ROI_OP, finite, hasRoiPoolBackward(backend));
    const output = Float64Array.from(want.output);
    for (let ch = 0; ch < g.channels; ch++) output[(r * g.channels + ch) * bins + bin] = NaN;
    let grads: RoiExpectation['grads'];
    if (want.grads) {
      const gOff = Float64Array.from(want.grads.offset!);
      gOff[(r * 2 + 0) * bins + bin] = NaN;
      gOff[(r * 2 + 1) * bins + bin] = NaN;
      const gMask = want.grads.mask ? Float64Array.from(want.grads.mask) : null;
      if (gMask) gMask[r * bins + bin] = NaN;
      grads = { input: want.grads.input, offset: gOff, mask: gMask };
    }
    const nanOffset = c.offset!.slice();
    nanOffset[(r * 2 + component) * bins + bin] = NaN;
    const bad = withRoiTensors(c, { offset: nanOffset });
    const name = `${caseName} (roi ${r}, bin ${bin}, ${component === 0 ? 'x' : 'y'})`;
    return checkOpCase(ROI_OP, backend, bad, grads ? { output, grads } : { output }, { suite: SUITE, caseName: name, note: describeRoiCase(bad) });
  },
};

export const ROI_PROPERTIES: readonly Property[] = [
  isRoiAlign,
  zeroOffsetIsNone,
  unitMaskIsNone,
  linearInMask,
  outsideGivesZero,
  permutationEquivariant,
  emptyProblems,
  nanOffsetIsLocal,
];

export function roiPropertiesSuite(ctx: SuiteContext): Promise<void> {
  return runProperties(ctx, ROI_OP, ROI_PROPERTIES);
}
