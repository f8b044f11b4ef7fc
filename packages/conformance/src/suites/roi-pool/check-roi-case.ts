/**
 * Runs one RoI pooling problem on a backend and compares forward and gradients with an expectation: the
 * float64 reference (fuzz) or another backend (cross, properties). Shared so every RoI suite judges a case
 * the same way.
 */
import { roiPoolShapes, type Backend, type RoiPoolGradName } from '@dcnv2/core';
import {
  backendRoiBackward,
  backendRoiForward,
  hasRoiPoolBackward,
  referenceRoiBackward,
  referenceRoiForward,
  ROI_GRAD_NAMES,
  roiGradExists,
  type RoiPoolCase,
} from '../../roi-pool-case.js';
import type { Tolerance } from '../../tolerances.js';
import { defaultRoiPoolTolerance, roiGradTensorName } from '../../tolerances-roi-pool.js';
import type { RoiPoolTensorName } from '../../vectors.js';
import { comparisonRow, errorRow, type ConformanceRow } from '../types.js';

export interface RoiExpectation {
  readonly output: ArrayLike<number>;
  /** Gradients by name; absent when backward is not checked. */
  readonly grads?: { readonly [K in RoiPoolGradName]?: ArrayLike<number> | null };
}

/** The float64 reference's forward and (when the case has gradOutput) backward. */
export function referenceRoiExpectation(c: RoiPoolCase, withGrads: boolean): RoiExpectation {
  const output = referenceRoiForward(c);
  if (!withGrads || c.gradOutput === null) return { output };
  return { output, grads: referenceRoiBackward(c) };
}

/** An expectation computed by a backend. */
export async function backendRoiExpectation(b: Backend, c: RoiPoolCase, withGrads: boolean): Promise<RoiExpectation> {
  const output = await backendRoiForward(b, c);
  if (!withGrads || c.gradOutput === null) return { output };
  return { output, grads: await backendRoiBackward(b, c) };
}

export interface RoiCheckOptions {
  readonly suite: string;
  readonly caseName: string;
  /** Which gradients to request and compare (default all that exist). */
  readonly grads?: readonly RoiPoolGradName[];
  /** Widens every default tolerance (2 when comparing two float32 results). */
  readonly toleranceFactor?: number;
  /** Appended to the detail of failing rows (usually the configuration). */
  readonly note?: string;
}

/** Runs `c` on `backend` and returns one row per compared tensor. */
export async function checkRoiCase(backend: Backend, c: RoiPoolCase, want: RoiExpectation, o: RoiCheckOptions): Promise<ConformanceRow[]> {
  const rows: ConformanceRow[] = [];
  const g = c.geometry;
  const shapes = roiPoolShapes(g);
  const factor = o.toleranceFactor ?? 1;
  const tol = (t: RoiPoolTensorName): Tolerance => {
    const d = defaultRoiPoolTolerance(t, g, c.rois);
    return { atol: d.atol * factor, rtol: d.rtol * factor };
  };
  try {
    const out = await backendRoiForward(backend, c);
    rows.push(comparisonRow(o.suite, o.caseName, 'output', out, want.output, tol('output'), shapes.output, o.note));
  } catch (e) {
    rows.push(errorRow(o.suite, o.caseName, 'output', e, o.note));
  }
  if (want.grads === undefined || !hasRoiPoolBackward(backend) || c.gradOutput === null) return rows;
  const requested = (o.grads ?? ROI_GRAD_NAMES).filter((k) => roiGradExists(c, k));
  if (requested.length === 0) return rows;
  try {
    const got = await backendRoiBackward(backend, c, requested);
    for (const k of requested) {
      const name = roiGradTensorName(k);
      const w = want.grads[k];
      if (w === null || w === undefined) continue;
      const gk = got[k];
      if (gk === undefined) rows.push(errorRow(o.suite, o.caseName, name, new Error(`backend returned no ${name} although it was requested`), o.note));
      else rows.push(comparisonRow(o.suite, o.caseName, name, gk, w, tol(name), shapes[k], o.note));
    }
    for (const k of ROI_GRAD_NAMES) {
      if (!requested.includes(k) && got[k] !== undefined) {
        rows.push(errorRow(o.suite, o.caseName, roiGradTensorName(k), new Error(`backend returned ${roiGradTensorName(k)} although it was not requested`), o.note));
      }
    }
  } catch (e) {
    for (const k of requested) rows.push(errorRow(o.suite, o.caseName, roiGradTensorName(k), e, o.note));
  }
  return rows;
}
