/**
 * properties: identities every correct deformable convolution satisfies, checked on seeded random
 * problems. They test the backend against mathematics rather than against another implementation:
 * - zero offsets and a unit (or absent) mask give the plain convolution (float64 `conv2dF64`);
 * - one integer offset (dy, dx) everywhere gives the plain convolution of the input shifted by it, with
 *   zeros shifted in (never clamped edge values);
 * - no mask equals a mask of ones, forward and gradients;
 * - the output minus bias is linear in the mask and in the weight;
 * - convolution groups and offset groups split into independent problems that reassemble exactly;
 * - samples entirely outside the image (far away, or exactly on y = -1, y = H, x = -1, x = W) give exactly
 *   the bias and exactly zero input, mask and weight gradients; the offset gradient is exactly zero far
 *   away and matches the reference on the border lines (torchvision's one-sided derivative at exactly
 *   y = -1 is v[0] - 0, not 0);
 * - a NaN pixel reaches exactly the outputs that read it and no others.
 * Comparisons of the backend with itself allow each side one tolerance (twice the default).
 */
import { convShapes, type Backend, type ConvGeometry, type GradName } from '@dcnv2/core';
import { backendBackward, backendForward, describeCase, GRAD_NAMES, hasBackward, referenceBackward, referenceForward, type BackendGrads, type ConvCase } from '../conv-case.js';
import { Rng } from '../random.js';
import { makeGeometry, randomCaseData, randomConvCase, type ConvSpec } from '../random-cases.js';
import { conv2dF64 } from '../reference/conv2d-f64.js';
import { addAxis, elementCount, filled, sliceAxis } from '../tensor-ops.js';
import { defaultTolerance, exactTolerance, gradTensorName, precisionOf, type Tolerance } from '../tolerances.js';
import { CONV_OP } from './conv-op.js';
import { backendExpectationOf, checkOpCase } from './op-kit.js';
import { runProperties, type Property } from './op-suites.js';
import { comparisonRow, errorRow, type ConformanceRow, type SuiteContext } from './types.js';

const SUITE = 'properties';

const times = (t: Tolerance, k: number): Tolerance => ({ atol: t.atol * k, rtol: t.rtol * k });

/** A small random geometry with the given groups and offset groups (channels are multiples of both). */
function smallGeometry(rng: Rng, groups: number, offsetGroups: number, hasMask: boolean, hasBias: boolean): ConvGeometry {
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  const lcm = (groups * offsetGroups) / gcd(groups, offsetGroups);
  for (;;) {
    const kernelH = rng.int(1, 3);
    const spec: ConvSpec = {
      batch: rng.int(1, 2),
      inChannels: lcm * rng.int(1, 2),
      inHeight: rng.int(3, 9),
      inWidth: rng.int(3, 9),
      outChannels: groups * rng.int(1, 2),
      kernelH,
      kernelW: rng.chance(0.5) ? kernelH : rng.int(1, 3),
      strideH: rng.int(1, 2),
      strideW: rng.int(1, 2),
      padTop: rng.int(0, 2),
      padLeft: rng.int(0, 2),
      padBottom: rng.int(0, 2),
      padRight: rng.int(0, 2),
      dilationH: rng.int(1, 2),
      dilationW: rng.int(1, 2),
      groups,
      offsetGroups,
      hasMask,
      hasBias,
    };
    try {
      return makeGeometry(spec);
    } catch {
      // empty output: draw again
    }
  }
}

function withOffset(c: ConvCase, offset: Float32Array): ConvCase {
  return { ...c, offset };
}

function withMask(c: ConvCase, mask: Float32Array | null): ConvCase {
  return { ...c, mask, geometry: { ...c.geometry, hasMask: mask !== null } };
}

function sub(a: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  return Float64Array.from({ length: a.length }, (_, i) => a[i] - b[i]);
}

/** The bias broadcast over [N, Cout, Ho, Wo] (zeros without bias). */
function biasMap(c: ConvCase): Float64Array {
  const g = c.geometry;
  const P = g.outHeight * g.outWidth;
  const out = new Float64Array(elementCount(convShapes(g).output));
  if (c.bias === null) return out;
  for (let n = 0; n < g.batch; n++) for (let co = 0; co < g.outChannels; co++) out.fill(c.bias[co], (n * g.outChannels + co) * P, (n * g.outChannels + co + 1) * P);
  return out;
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/** Forward compared with a float64 expectation, as one row. */
async function forwardRow(backend: Backend, c: ConvCase, want: ArrayLike<number>, caseName: string, tol?: Tolerance): Promise<ConformanceRow> {
  const note = describeCase(c);
  try {
    const got = await backendForward(backend, c);
    return comparisonRow(SUITE, caseName, 'output', got, want, tol ?? defaultTolerance('output', c.geometry, precisionOf(backend)), convShapes(c.geometry).output, note);
  } catch (e) {
    return errorRow(SUITE, caseName, 'output', e, note);
  }
}

// Zero offsets with a unit or absent mask: the plain convolution.
const zeroOffsetIsConv: Property = {
  name: 'zero_offset_is_conv2d',
  cases: 4,
  async run(backend, rng, caseName, i) {
    const c0 = randomConvCase(rng, { batch: [1, 2], mask: i % 2 === 0 ? 'ones' : 'none', maxMacs: 20000 });
    const c = withOffset(c0, new Float32Array(c0.offset.length));
    return [await forwardRow(backend, c, conv2dF64(c.geometry, c.input, c.weight, c.bias), caseName)];
  },
};

// The same integer (dy, dx) everywhere: the plain convolution of the shifted input, zeros shifted in.
const integerShiftIsConv: Property = {
  name: 'integer_shift_is_shifted_conv2d',
  cases: 4,
  async run(backend, rng, caseName, i) {
    const c0 = randomConvCase(rng, { batch: [1, 2], mask: i % 2 === 0 ? 'ones' : 'none', maxMacs: 20000 });
    const g = c0.geometry;
    let dy = 0;
    let dx = 0;
    while (dy === 0 && dx === 0) [dy, dx] = [rng.int(-3, 3), rng.int(-3, 3)];
    if (i === 3) dy = g.inHeight + 1; // everything shifted out: only the bias remains
    // Offset channel 2*slot holds dy and 2*slot+1 holds dx, each a plane of Ho*Wo values.
    const P = g.outHeight * g.outWidth;
    const offset = Float32Array.from({ length: c0.offset.length }, (_, k) => (Math.floor(k / P) % 2 === 0 ? dy : dx));
    const c = withOffset(c0, offset);
    // The shifted image must cover the padding too: a tap whose unshifted position lies in the padding
    // can land inside the image after the shift. So build the padded, shifted image explicitly
    // (E[y][x] = input[y - padTop + dy][x - padLeft + dx], zero outside the image) and convolve it unpadded.
    const eh = g.inHeight + g.padTop + g.padBottom;
    const ew = g.inWidth + g.padLeft + g.padRight;
    const shifted = new Float32Array(g.batch * g.inChannels * eh * ew);
    for (let plane = 0; plane < g.batch * g.inChannels; plane++) {
      for (let y = 0; y < eh; y++) {
        for (let x = 0; x < ew; x++) {
          const sy = y - g.padTop + dy;
          const sx = x - g.padLeft + dx;
          if (sy >= 0 && sy < g.inHeight && sx >= 0 && sx < g.inWidth) shifted[(plane * eh + y) * ew + x] = c.input[(plane * g.inHeight + sy) * g.inWidth + sx];
        }
      }
    }
    const unpadded = { ...g, inHeight: eh, inWidth: ew, padTop: 0, padLeft: 0, padBottom: 0, padRight: 0 };
    return [await forwardRow(backend, c, conv2dF64(unpadded, shifted, c.weight, c.bias), `${caseName} (dy ${dy}, dx ${dx})`)];
  },
};

// No mask is a mask of ones: forward and the gradients they share.
const noMaskIsOnes: Property = {
  name: 'no_mask_equals_unit_mask',
  cases: 3,
  async run(backend, rng, caseName) {
    const c = randomConvCase(rng, { batch: [1, 2], mask: 'ones', maxMacs: 20000 });
    const withGrads = hasBackward(backend);
    let want;
    try {
      want = await backendExpectationOf(CONV_OP, backend, c, withGrads);
    } catch (e) {
      return [errorRow(SUITE, caseName, 'output', e, describeCase(c))];
    }
    return checkOpCase(CONV_OP, backend, withMask(c, null), want, { suite: SUITE, caseName, toleranceFactor: 2, note: describeCase(c) });
  },
};

/** f(a*x1 + b*x2) - bias == a*(f(x1) - bias) + b*(f(x2) - bias) for x the mask or the weight. */
function linearity(which: 'mask' | 'weight'): Property {
  return {
    name: `linear_in_${which}`,
    cases: 3,
    async run(backend, rng, caseName) {
      const c = randomConvCase(rng, { batch: [1, 2], mask: 'raw', maxMacs: 20000 });
      const x1 = which === 'mask' ? c.mask! : c.weight;
      const x2 = which === 'mask' ? rng.normals(x1.length) : rng.normals(x1.length, maxAbs(x1) / 2);
      const a = rng.uniform(-2, 2);
      const b = rng.uniform(-2, 2);
      const x12 = Float32Array.from(x1, (v, k) => a * v + b * x2[k]);
      const make = (x: Float32Array): ConvCase => (which === 'mask' ? withMask(c, x) : { ...c, weight: x });
      const note = `${describeCase(c)} a=${a.toFixed(3)} b=${b.toFixed(3)}`;
      try {
        const [f1, f2, f12] = [await backendForward(backend, make(x1)), await backendForward(backend, make(x2)), await backendForward(backend, make(x12))];
        const bias = biasMap(c);
        const want = Float64Array.from(sub(f1, bias), (v, k) => a * v + b * (f2[k] - bias[k]));
        // Three float32 results enter, weighted 1, |a| and |b|; each is within the output tolerance of
        // the truth, measured at the outputs' own magnitude (which includes the bias).
        const out = defaultTolerance('output', c.geometry, precisionOf(backend));
        const scale = Math.max(maxAbs(f1), maxAbs(f2), maxAbs(f12));
        const tol = { atol: (out.atol + out.rtol * scale) * (1 + Math.abs(a) + Math.abs(b)), rtol: 0 };
        return [comparisonRow(SUITE, caseName, 'output', sub(f12, bias), want, tol, convShapes(c.geometry).output, note)];
      } catch (e) {
        return [errorRow(SUITE, caseName, 'output', e, note)];
      }
    },
  };
}

interface Part {
  readonly problem: ConvCase;
  /** Where the part's results go in the whole problem's tensors. */
  readonly place: (totals: Totals, out: Float32Array, grads: BackendGrads | null) => void;
}

interface Totals {
  readonly output: Float64Array;
  readonly input: Float64Array;
  readonly offset: Float64Array;
  readonly mask: Float64Array | null;
  readonly weight: Float64Array;
  readonly bias: Float64Array | null;
}

function emptyTotals(c: ConvCase): Totals {
  const s = convShapes(c.geometry);
  const n = elementCount;
  return {
    output: new Float64Array(n(s.output)),
    input: new Float64Array(n(s.input)),
    offset: new Float64Array(n(s.offset)),
    mask: c.mask === null ? null : new Float64Array(n(s.mask)),
    weight: new Float64Array(n(s.weight)),
    bias: c.bias === null ? null : new Float64Array(n(s.bias)),
  };
}

/** Runs the whole problem and its parts on the backend and compares the whole with the reassembled parts. */
async function compareWithParts(backend: Backend, c: ConvCase, parts: readonly Part[], caseName: string, factor: number): Promise<ConformanceRow[]> {
  const note = describeCase(c);
  const withGrads = hasBackward(backend);
  const totals = emptyTotals(c);
  try {
    for (const p of parts) {
      const out = await backendForward(backend, p.problem);
      const grads = withGrads ? await backendBackward(backend, p.problem) : null;
      p.place(totals, out, grads);
    }
  } catch (e) {
    return [errorRow(SUITE, caseName, 'parts', e, note)];
  }
  const want = {
    output: totals.output,
    ...(withGrads ? { grads: { input: totals.input, offset: totals.offset, mask: totals.mask, weight: totals.weight, bias: totals.bias } } : {}),
  };
  return checkOpCase(CONV_OP, backend, c, want, { suite: SUITE, caseName, toleranceFactor: factor, note });
}

// Convolution groups: each group is an independent groups=1 problem on its channel slices.
const groupsDecompose: Property = {
  name: 'groups_decompose',
  cases: 3,
  async run(backend, rng, caseName) {
    const G = rng.pick([2, 3, 4]);
    // Offset groups either split evenly across convolution groups or contain whole ones.
    const og = rng.pick([1, G, 2 * G, ...(G === 4 ? [2] : [])]);
    const g = smallGeometry(rng, G, og, rng.chance(0.7), rng.chance(0.7));
    const c = randomCaseData(rng, g);
    const s = convShapes(g);
    const cinG = g.inChannels / G;
    const coutG = g.outChannels / G;
    const taps = g.kernelH * g.kernelW;
    const parts: Part[] = [];
    for (let k = 0; k < G; k++) {
      const ogPerPart = og % G === 0 ? og / G : 1;
      const firstOg = og % G === 0 ? k * ogPerPart : Math.floor((k * cinG) / (g.inChannels / og));
      const [o0, o1] = [firstOg * 2 * taps, (firstOg + ogPerPart) * 2 * taps];
      const [m0, m1] = [firstOg * taps, (firstOg + ogPerPart) * taps];
      const problem: ConvCase = {
        geometry: { ...c.geometry, inChannels: cinG, outChannels: coutG, groups: 1, offsetGroups: ogPerPart },
        input: sliceAxis(c.input, s.input, 1, k * cinG, (k + 1) * cinG),
        weight: sliceAxis(c.weight, s.weight, 0, k * coutG, (k + 1) * coutG),
        offset: sliceAxis(c.offset, s.offset, 1, o0, o1),
        mask: c.mask === null ? null : sliceAxis(c.mask, s.mask, 1, m0, m1),
        bias: c.bias === null ? null : c.bias.slice(k * coutG, (k + 1) * coutG),
        gradOutput: sliceAxis(c.gradOutput!, s.output, 1, k * coutG, (k + 1) * coutG),
      };
      parts.push({
        problem,
        place(t, out, grads) {
          addAxis(t.output, s.output, 1, k * coutG, out);
          if (grads === null) return;
          addAxis(t.input, s.input, 1, k * cinG, grads.input!);
          addAxis(t.weight, s.weight, 0, k * coutG, grads.weight!);
          // Several convolution groups may share one offset group: their offset gradients add up.
          addAxis(t.offset, s.offset, 1, o0, grads.offset!);
          if (t.mask) addAxis(t.mask, s.mask, 1, m0, grads.mask!);
          if (t.bias) addAxis(t.bias, s.bias, 0, k * coutG, grads.bias!);
        },
      });
    }
    return compareWithParts(backend, c, parts, `${caseName} (groups ${G}, offset groups ${og})`, 2 + G);
  },
};

// Offset groups: each is an independent offsetGroups=1 problem on its channels; outputs add up.
const offsetGroupsDecompose: Property = {
  name: 'offset_groups_decompose',
  cases: 3,
  async run(backend, rng, caseName) {
    const og = rng.pick([2, 3, 4]);
    const g = smallGeometry(rng, 1, og, rng.chance(0.7), rng.chance(0.7));
    const c = randomCaseData(rng, g);
    const s = convShapes(g);
    const cpo = g.inChannels / og;
    const taps = g.kernelH * g.kernelW;
    const parts: Part[] = [];
    for (let k = 0; k < og; k++) {
      const problem: ConvCase = {
        geometry: { ...c.geometry, inChannels: cpo, offsetGroups: 1, hasBias: k === 0 && c.bias !== null },
        input: sliceAxis(c.input, s.input, 1, k * cpo, (k + 1) * cpo),
        weight: sliceAxis(c.weight, s.weight, 1, k * cpo, (k + 1) * cpo),
        offset: sliceAxis(c.offset, s.offset, 1, k * 2 * taps, (k + 1) * 2 * taps),
        mask: c.mask === null ? null : sliceAxis(c.mask, s.mask, 1, k * taps, (k + 1) * taps),
        // The bias is added once, by the first part.
        bias: k === 0 ? c.bias : null,
        gradOutput: c.gradOutput,
      };
      parts.push({
        problem,
        place(t, out, grads) {
          addAxis(t.output, s.output, 1, 0, out);
          if (grads === null) return;
          addAxis(t.input, s.input, 1, k * cpo, grads.input!);
          addAxis(t.weight, s.weight, 1, k * cpo, grads.weight!);
          addAxis(t.offset, s.offset, 1, k * 2 * taps, grads.offset!);
          if (t.mask) addAxis(t.mask, s.mask, 1, k * taps, grads.mask!);
          if (t.bias && k === 0) addAxis(t.bias, s.bias, 0, 0, grads.bias!);
        },
      });
    }
    return compareWithParts(backend, c, parts, `${caseName} (offset groups ${og})`, 1 + og);
  },
};

/**
 * Offsets that put every sample outside the image: 'far' well outside, 'boundary' exactly on y = -1,
 * y = H, x = -1 or x = W (where the value is 0 although a corner inside the image is in reach: a kernel
 * that clamps, or tests `y < -1` instead of `y <= -1`, shows here), or a mix.
 */
function outsideOffsets(rng: Rng, g: ConvGeometry, style: 'far' | 'boundary' | 'mixed'): Float32Array {
  const taps = g.kernelH * g.kernelW;
  const P = g.outHeight * g.outWidth;
  const off = new Float32Array(elementCount(convShapes(g).offset));
  for (let n = 0; n < g.batch; n++) {
    for (let slot = 0; slot < g.offsetGroups * taps; slot++) {
      const tap = slot % taps;
      const [i, j] = [Math.floor(tap / g.kernelW), tap % g.kernelW];
      for (let oy = 0; oy < g.outHeight; oy++) {
        for (let ox = 0; ox < g.outWidth; ox++) {
          const y0 = oy * g.strideH - g.padTop + i * g.dilationH;
          const x0 = ox * g.strideW - g.padLeft + j * g.dilationW;
          let ty: number;
          let tx: number;
          const far = style === 'far' || (style === 'mixed' && rng.chance(0.5));
          if (far) {
            const d = g.inHeight + g.inWidth + rng.uniform(1, 40);
            [ty, tx] = rng.chance(0.5) ? [rng.chance(0.5) ? -d : d, rng.uniform(-d, d)] : [rng.uniform(-d, d), rng.chance(0.5) ? -d : d];
          } else {
            const inside = (size: number) => rng.uniform(-0.9, size - 0.1);
            const side = rng.int(0, 3);
            [ty, tx] = side === 0 ? [-1, inside(g.inWidth)] : side === 1 ? [g.inHeight, inside(g.inWidth)] : side === 2 ? [inside(g.inHeight), -1] : [inside(g.inHeight), g.inWidth];
          }
          const p = oy * g.outWidth + ox;
          off[((n * g.offsetGroups * taps + slot) * 2 + 0) * P + p] = ty - y0;
          off[((n * g.offsetGroups * taps + slot) * 2 + 1) * P + p] = tx - x0;
        }
      }
    }
  }
  return off;
}

// Every sample outside: the output is exactly the bias and the gradients are exactly zero (but see offset).
const outsideGivesBias: Property = {
  name: 'outside_image_gives_bias',
  cases: 4,
  async run(backend, rng, caseName, i) {
    const style = (['far', 'boundary', 'mixed', 'boundary'] as const)[i % 4];
    const c0 = randomConvCase(rng, { batch: [1, 2], mask: rng.pick(['sigmoid', 'raw', 'none'] as const), maxMacs: 20000 });
    const c = withOffset(c0, outsideOffsets(rng, c0.geometry, style));
    const name = `${caseName} (${style})`;
    const note = describeCase(c);
    const exact = exactTolerance(precisionOf(backend));
    const rows = [await forwardRow(backend, c, biasMap(c), name, exact)];
    if (!hasBackward(backend)) return rows;
    const s = convShapes(c.geometry);
    const ref = referenceBackward(c);
    try {
      const grads = await backendBackward(backend, c);
      for (const k of GRAD_NAMES) {
        const got = grads[k];
        if (got === undefined) continue;
        const tensor = gradTensorName(k);
        if (k === 'bias' || (k === 'offset' && style !== 'far')) {
          rows.push(comparisonRow(SUITE, name, tensor, got, ref[k]!, defaultTolerance(tensor, c.geometry, precisionOf(backend)), s[k], note));
        } else {
          rows.push(comparisonRow(SUITE, name, tensor, got, new Float64Array(got.length), exact, s[k], note));
        }
      }
    } catch (e) {
      rows.push(errorRow(SUITE, name, 'gradients', e, note));
    }
    return rows;
  },
};

// A NaN pixel: NaN exactly in the outputs that sample it (with a non-zero weight), finite elsewhere.
const nanPropagates: Property = {
  name: 'nan_propagates_locally',
  cases: 2,
  async run(backend, rng, caseName, i) {
    const g = makeGeometry({
      batch: 1, inChannels: 4, inHeight: 9, inWidth: 9, outChannels: 4, kernelH: 3, kernelW: 3,
      strideH: 1, strideW: 1, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1, dilationH: 1, dilationW: 1,
      // groups 2: channel 0's NaN must not reach the second group's outputs at all
      groups: i === 0 ? 2 : 1, offsetGroups: i === 0 ? 1 : 2, hasMask: true, hasBias: true,
    });
    // Offsets at least 0.05 from integers: every corner read has a non-zero bilinear weight, so a
    // backend that skips zero-weight corners and one that reads them agree on where NaN must appear.
    const c = randomCaseData(rng, g, { offsets: 'smooth', mask: 'sigmoid' });
    c.input[4 * g.inWidth + 4] = NaN; // image 0, channel 0, pixel (4, 4)
    const want = referenceForward(c);
    const nans = want.filter((v) => Number.isNaN(v)).length;
    if (nans === 0 || nans === want.length) {
      return [errorRow(SUITE, caseName, 'output', new Error(`degenerate property case: ${nans} of ${want.length} outputs NaN`))];
    }
    return [await forwardRow(backend, c, want, `${caseName} (${nans}/${want.length} NaN)`)];
  },
};

export const PROPERTIES: readonly Property[] = [
  zeroOffsetIsConv,
  integerShiftIsConv,
  noMaskIsOnes,
  linearity('mask'),
  linearity('weight'),
  groupsDecompose,
  offsetGroupsDecompose,
  outsideGivesBias,
  nanPropagates,
];

export function propertiesSuite(ctx: SuiteContext): Promise<void> {
  return runProperties(ctx, CONV_OP, PROPERTIES);
}
