/**
 * Runs one problem on a backend and compares forward and gradients with an expectation: the float64
 * reference (fuzz) or another backend (cross). Shared so both suites judge a case the same way.
 */
import { convShapes, type Backend, type GradName } from '@dcnv2/core';
import { backendBackward, backendForward, GRAD_NAMES, hasBackward, referenceBackward, referenceForward, type ConvCase } from '../conv-case.js';
import { defaultTolerance, gradTensorName, type Tolerance } from '../tolerances.js';
import { comparisonRow, errorRow, type ConformanceRow } from './types.js';

export interface Expectation {
  readonly output: ArrayLike<number>;
  /** Gradients by name; absent when backward is not checked. */
  readonly grads?: { readonly [K in GradName]?: ArrayLike<number> | null };
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
  if (!withGrads || c.gradOutput === null) return { output };
  return { output, grads: await backendBackward(b, c) };
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
  const tol = (t: Parameters<typeof defaultTolerance>[0]): Tolerance => {
    const d = defaultTolerance(t, g);
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
      if (gk === undefined) rows.push(errorRow(o.suite, o.caseName, name, new Error(`backend returned no ${name} although it was requested`), o.note));
      else rows.push(comparisonRow(o.suite, o.caseName, name, gk, w, tol(name), shapes[k], o.note));
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
