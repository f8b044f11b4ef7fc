/**
 * Runs one problem on a backend and compares forward and gradients with an expectation: the float64
 * reference (fuzz) or another backend (cross). Shared so both suites judge a case the same way.
 */
import { convShapes, type Backend, type GradName } from '@dcnv2/core';
import { closerExpectation } from '../compare.js';
import { backendBackward, backendForward, GRAD_NAMES, hasBackward, referenceBackward, referenceForward, type ConvCase } from '../conv-case.js';
import { coarserPrecision, defaultTolerance, gradTensorName, precisionOf, type Precision, type Tolerance } from '../tolerances.js';
import { comparisonRow, errorRow, type ConformanceRow } from './types.js';

export interface Expectation {
  readonly output: ArrayLike<number>;
  /** Gradients by name; absent when backward is not checked. */
  readonly grads?: { readonly [K in GradName]?: ArrayLike<number> | null };
  /** Storage precision of the backend that computed it; absent for the float64 reference (float32 inputs). */
  readonly precision?: Precision;
}

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

/** The float64 reference's forward and (when the case has gradOutput) backward. */
export function referenceExpectation(c: ConvCase, withGrads: boolean): Expectation {
  const output = referenceForward(c);
  if (!withGrads || c.gradOutput === null) return { output };
  const r = referenceBackward(c);
  return { output, grads: { input: r.input, offset: r.offset, mask: r.mask, weight: r.weight, bias: r.bias } };
}

/** An expectation computed by another backend. */
export async function backendExpectation(b: Backend, c: ConvCase, withGrads: boolean): Promise<Expectation> {
  const output = await backendForward(b, c);
  const precision = precisionOf(b);
  if (!withGrads || c.gradOutput === null) return { output, precision };
  return { output, grads: await backendBackward(b, c), precision };
}

export interface CheckOptions {
  readonly suite: string;
  readonly caseName: string;
  /** Which gradients to request and compare (default all that exist); empty = forward only. */
  readonly grads?: readonly GradName[];
  /** Widens every default tolerance (2 when comparing two float32 results). */
  readonly toleranceFactor?: number;
  /** Appended to the detail of failing rows (usually the configuration). */
  readonly note?: string;
}

/** Runs `c` on `backend` and returns one row per compared tensor. */
export async function checkCase(backend: Backend, c: ConvCase, want: Expectation, o: CheckOptions): Promise<ConformanceRow[]> {
  const rows: ConformanceRow[] = [];
  const g = c.geometry;
  const shapes = convShapes(g);
  const factor = o.toleranceFactor ?? 1;
  // Judged at the coarser precision of the two sides (the backend, and another backend's expectation).
  const precision = coarserPrecision(precisionOf(backend), want.precision ?? 'float32');
  const tol = (t: Parameters<typeof defaultTolerance>[0]): Tolerance => {
    const d = defaultTolerance(t, g, precision);
    return { atol: d.atol * factor, rtol: d.rtol * factor };
  };
  try {
    const out = await backendForward(backend, c);
    rows.push(comparisonRow(o.suite, o.caseName, 'output', out, want.output, tol('output'), shapes.output, o.note));
  } catch (e) {
    rows.push(errorRow(o.suite, o.caseName, 'output', e, o.note));
  }
  if (want.grads === undefined || !hasBackward(backend) || c.gradOutput === null) return rows;
  const exists = (k: GradName) => (k === 'mask' ? c.mask !== null : k === 'bias' ? c.bias !== null : true);
  const requested = (o.grads ?? GRAD_NAMES).filter(exists);
  if (requested.length === 0) return rows;
  try {
    const got = await backendBackward(backend, c, requested);
    for (const k of requested) {
      const name = gradTensorName(k);
      const w = want.grads[k];
      if (w === null || w === undefined) continue;
      const gk = got[k];
      if (gk === undefined) {
        rows.push(errorRow(o.suite, o.caseName, name, new Error(`backend returned no ${name} although it was requested`), o.note));
        continue;
      }
      const expected = k === 'offset' && precision === 'float16' ? closerExpectation(gk, w, offsetGradAtStoredInputs(backend, c), tol(name)) : w;
      rows.push(comparisonRow(o.suite, o.caseName, name, gk, expected, tol(name), shapes[k], o.note));
    }
    for (const k of GRAD_NAMES) {
      if (!requested.includes(k) && got[k] !== undefined) {
        rows.push(errorRow(o.suite, o.caseName, gradTensorName(k), new Error(`backend returned ${gradTensorName(k)} although it was not requested`), o.note));
      }
    }
  } catch (e) {
    for (const k of requested) rows.push(errorRow(o.suite, o.caseName, gradTensorName(k), e, o.note));
  }
  return rows;
}
