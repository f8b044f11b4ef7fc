/**
 * Element-wise comparison of a result with its expectation under `|got - want| <= atol + rtol * |want|`,
 * strict about non-finite values: a NaN expected must come out NaN, an infinity must come out the same
 * infinity, and a NaN or infinity where a finite value is expected fails however loose the tolerance.
 */
import type { Tolerance } from './tolerances.js';

export interface Comparison {
  readonly pass: boolean;
  /** Largest |got - want| over the elements; Infinity when a non-finite value mismatches. 0 when empty. */
  readonly maxAbsError: number;
  /** The element furthest outside its tolerance (or closest to it, when all pass); -1 when empty. */
  readonly worstIndex: number;
  /** How many elements are outside their tolerance. */
  readonly mismatches: number;
  /** What went wrong, with the worst element's index, got and want; absent when everything passes. */
  readonly detail?: string;
}

function at(index: number, shape: readonly number[] | undefined): string {
  if (shape === undefined || shape.length === 0) return `[${index}]`;
  const idx: number[] = [];
  let r = index;
  for (let d = shape.length - 1; d >= 0; d--) {
    idx.unshift(shape[d] === 0 ? 0 : r % shape[d]);
    r = shape[d] === 0 ? 0 : Math.floor(r / shape[d]);
  }
  return `[${idx.join(',')}]`;
}

/** Compares `got` with `want` element by element; `shape` only makes the reported index readable. */
export function compareTensors(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  tol: Tolerance,
  shape?: readonly number[],
): Comparison {
  if (got.length !== want.length) {
    return {
      pass: false,
      maxAbsError: Infinity,
      worstIndex: -1,
      mismatches: Math.max(got.length, want.length),
      detail: `length ${got.length}, expected ${want.length}`,
    };
  }
  let maxAbsError = 0;
  let worstIndex = -1;
  let worstExcess = -Infinity;
  let mismatches = 0;
  for (let i = 0; i < want.length; i++) {
    const g = got[i];
    const w = want[i];
    let err: number;
    let bad: boolean;
    let excess: number; // error / allowed error, to find the worst element
    if (Number.isNaN(w)) {
      bad = !Number.isNaN(g);
      err = bad ? Infinity : 0;
      excess = err;
    } else if (!Number.isFinite(w) || !Number.isFinite(g)) {
      bad = g !== w;
      err = bad ? Infinity : 0;
      excess = err;
    } else {
      err = Math.abs(g - w);
      const allowed = tol.atol + tol.rtol * Math.abs(w);
      bad = err > allowed;
      excess = allowed > 0 ? err / allowed : bad ? Infinity : 0;
    }
    if (err > maxAbsError) maxAbsError = err;
    if (bad) mismatches++;
    if (excess > worstExcess) {
      worstExcess = excess;
      worstIndex = i;
    }
  }
  const pass = mismatches === 0;
  if (pass) return { pass, maxAbsError, worstIndex, mismatches };
  const detail =
    `${mismatches} of ${want.length} outside tolerance; worst at ${at(worstIndex, shape)}: ` +
    `got ${got[worstIndex]}, expected ${want[worstIndex]}`;
  return { pass, maxAbsError, worstIndex, mismatches, detail };
}

/**
 * Per element, whichever of two admissible expectations `got` is closer to, relative to the tolerance
 * at each: for a result that may legitimately be either (a float16 backend's coordinate derivative at a
 * sampling position that its input rounding moved across an integer, where the exact derivative jumps).
 * Non-finite values keep `a` (compareTensors judges them exactly).
 */
export function closerExpectation(got: ArrayLike<number>, a: ArrayLike<number>, b: ArrayLike<number>, tol: Tolerance): Float64Array {
  const out = Float64Array.from(a);
  if (got.length !== a.length || b.length !== a.length) return out;
  const excess = (g: number, w: number) => Math.abs(g - w) / (tol.atol + tol.rtol * Math.abs(w) || Number.MIN_VALUE);
  for (let i = 0; i < out.length; i++) {
    const g = got[i];
    if (!Number.isFinite(g) || !Number.isFinite(a[i]) || !Number.isFinite(b[i])) continue;
    if (excess(g, b[i]) < excess(g, a[i])) out[i] = b[i];
  }
  return out;
}
