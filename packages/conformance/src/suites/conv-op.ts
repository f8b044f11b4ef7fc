/**
 * deform_conv2d as the suites run it (`CONV_OP`, for op-kit.ts's `checkOpCase` and the shared suites),
 * and the float16 side of judging a case: a float16 backend's grad_offset may match the derivative at
 * its rounded inputs (tolerances.ts says why).
 */
import { OPS, type Backend, type GradName } from '@dcnv2/core';
import { closerExpectation } from '../compare.js';
import { backendBackward, backendForward, describeCase, GRAD_NAMES, hasBackward, referenceBackward, referenceForward, type ConvCase } from '../conv-case.js';
import { blockedConvCase, randomConvCase } from '../random-cases.js';
import { defaultTolerance, gradTensorName, precisionOf } from '../tolerances.js';
import type { OpKit } from './op-kit.js';

/** The binary16 value nearest to `v` (ties to even; infinite beyond 65504): what a float16 backend stores. */
export function roundToFloat16(v: number): number {
  if (!Number.isFinite(v) || v === 0) return v;
  const a = Math.abs(v);
  if (a >= 65520) return Math.sign(v) * Infinity;
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  else if (2 ** (e + 1) <= a) e++;
  const ulp = 2 ** (Math.max(e, -14) - 10); // subnormals below 2^-14 share the ulp 2^-24
  const q = a / ulp; // exact: a power-of-two scaling
  let r = Math.floor(q);
  const frac = q - r;
  if (frac > 0.5 || (frac === 0.5 && r % 2 === 1)) r++;
  return Math.sign(v) * r * ulp;
}

/** The case with every tensor rounded to float16, as a float16 backend stores it. */
export function roundCaseToFloat16(c: ConvCase): ConvCase {
  const r = (t: Float32Array) => Float32Array.from(t, roundToFloat16);
  return {
    ...c,
    input: r(c.input), weight: r(c.weight), offset: r(c.offset),
    mask: c.mask && r(c.mask), bias: c.bias && r(c.bias), gradOutput: c.gradOutput && r(c.gradOutput),
  };
}

/**
 * For a comparison at float16: grad_offset as the float64 reference computes it on the inputs as
 * `backend` stores them (rounded to float16, or as given for a float32 backend). A float16 grad_offset
 * element may match this instead of the float32-input expectation (TOLERANCE_RULES_F16 says why).
 */
export function offsetGradAtStoredInputs(backend: Backend, c: ConvCase): Float64Array {
  return referenceBackward(precisionOf(backend) === 'float16' ? roundCaseToFloat16(c) : c).offset;
}

/** deform_conv2d for the suites. */
export const CONV_OP: OpKit<ConvCase, GradName> = {
  label: (suite) => suite,
  backwardName: 'backward',
  gradNames: GRAD_NAMES,
  hasBackward,
  // A gradient exists where its input does: required inputs always, optional ones when the case has them.
  gradExists: (c, k) => !OPS.deform_conv2d.inputs.find((i) => i.name === k)!.optional || c[k] !== null,
  tensorName: gradTensorName,
  shapes: (c) => OPS.deform_conv2d.shapes(c.geometry),
  tolerance: (t, c, precision) => defaultTolerance(t, c.geometry, precision),
  gradExpectation: (backend, c, k, got, want, tol, precision) =>
    k === 'offset' && precision === 'float16' ? closerExpectation(got, want, offsetGradAtStoredInputs(backend, c), tol) : want,
  describe: describeCase,
  forward: backendForward,
  backward: backendBackward,
  referenceForward,
  referenceBackward,
  randomCase: (rng) => randomConvCase(rng),
  blockedCase: blockedConvCase,
};
