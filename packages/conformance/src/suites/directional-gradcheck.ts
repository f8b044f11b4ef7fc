/**
 * The gradcheck suite of either op, written once: for a few small problems drawn where the op is smooth,
 * and for each gradient, the directional derivative of L = sum(output * gradOutput) along random
 * directions, by central differences of the float64 reference forward, is compared with (a) the
 * reference's own backward, which proves the oracle's gradients, and (b) the backend's backward, held to
 * the per-element tolerance of that gradient summed along the direction. Each op's gradcheck module says
 * why central differences are exact up to rounding on the problems it draws.
 */
import type { Backend } from '@dcnv2/core';
import { Rng } from '../random.js';
import { precisionOf } from '../tolerances.js';
import type { OpCase, OpKit } from './op-kit.js';
import { errorRow, type ConformanceRow, type SuiteContext } from './types.js';

const DIRECTIONS = 2;
/** Largest component of a direction (directions are clipped normals). */
export const GRADCHECK_MAX_DIRECTION = 3;
/**
 * Relative bound for the reference's own backward: float64 rounding of the directional sums and of the
 * finite difference (about 1e-16 * sum|out*gradOutput| / step) stays near 1e-12 on these sizes, four
 * orders below this bound.
 */
const SELF_RTOL = 1e-8;

/** One drawn problem, its reference gradients and the step of its central differences. */
export interface GradcheckProblem<C, K extends string> {
  readonly c: C;
  readonly ref: { readonly [P in K]: Float64Array | null };
  readonly step: number;
}

export interface GradcheckSpec<C, K extends string> {
  readonly cases: number;
  /** Problem `i` (the draws use `rng` before any direction does). */
  draw(rng: Rng, i: number): GradcheckProblem<C, K>;
  /** The float64 reference's output of `c` with tensor `k` replaced by `x`. */
  outputWith(c: C, k: K, x: Float64Array): Float64Array;
}

interface Check {
  err: number;
  allowed: number;
  got: number;
  want: number;
}

/** L = sum(output * gradOutput) with tensor `k` replaced by `x`. */
function loss<C extends OpCase, K extends string>(spec: GradcheckSpec<C, K>, c: C, k: K, x: Float64Array): number {
  const out = spec.outputWith(c, k, x);
  let s = 0;
  for (let i = 0; i < out.length; i++) s += out[i] * c.gradOutput![i];
  return s;
}

/** Central difference of L along `dir` in the space of tensor `k`. */
function directionalFD<C extends OpCase & { readonly [P in K]: Float32Array | null }, K extends string>(
  spec: GradcheckSpec<C, K>,
  c: C,
  k: K,
  dir: Float64Array,
  h: number,
): number {
  const x = c[k]!;
  const plus = Float64Array.from(x, (v, i) => v + h * dir[i]);
  const minus = Float64Array.from(x, (v, i) => v - h * dir[i]);
  return (loss(spec, c, k, plus) - loss(spec, c, k, minus)) / (2 * h);
}

function rowOf(suite: string, caseName: string, tensor: string, checks: Check[], note: string): ConformanceRow {
  // Report the direction furthest outside (or closest to) its bound.
  const worst = checks.reduce((a, b) => (b.err / b.allowed > a.err / a.allowed ? b : a));
  const pass = checks.every((c) => c.err <= c.allowed);
  return {
    suite,
    case: caseName,
    tensor,
    maxAbsError: worst.err,
    atol: worst.allowed,
    rtol: 0,
    pass,
    ...(pass ? {} : { detail: `directional derivative ${worst.got}, finite differences ${worst.want}; ${note}` }),
  };
}

export async function runGradcheck<C extends OpCase & { readonly [P in K]: Float32Array | null }, K extends string>(
  ctx: SuiteContext,
  op: OpKit<C, K>,
  spec: GradcheckSpec<C, K>,
): Promise<void> {
  const suite = op.label('gradcheck');
  const rng = Rng.derive(ctx.seed, suite);
  const backend: Backend = ctx.backend;
  const withBackend = op.hasBackward(backend);
  for (let i = 0; i < spec.cases; i++) {
    const { c, ref, step } = spec.draw(rng, i);
    const note = op.describe(c);
    let got: { [P in K]?: Float32Array } | null = null;
    let failure: unknown = null;
    if (withBackend) {
      try {
        got = await op.backward(backend, c);
      } catch (e) {
        failure = e;
      }
    }
    for (const k of op.gradNames) {
      const refGrad = ref[k];
      if (refGrad === null) continue;
      const tensor = op.tensorName(k);
      const selfChecks: Check[] = [];
      const backendChecks: Check[] = [];
      const tol = op.tolerance(tensor, c, precisionOf(backend));
      for (let d = 0; d < DIRECTIONS; d++) {
        const dir = Float64Array.from({ length: refGrad.length }, () => Math.max(-GRADCHECK_MAX_DIRECTION, Math.min(GRADCHECK_MAX_DIRECTION, rng.normal())));
        const fd = directionalFD(spec, c, k, dir, step);
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
      ctx.row(rowOf(suite, `gradcheck#${i} f64-reference`, tensor, selfChecks, note));
      if (!withBackend) continue;
      const name = `gradcheck#${i} ${backend.name}`;
      if (failure !== null) ctx.row(errorRow(suite, name, tensor, failure, note));
      else if (backendChecks.length === 0) ctx.row(errorRow(suite, name, tensor, new Error('backend returned no gradient'), note));
      else ctx.row(rowOf(suite, name, tensor, backendChecks, note));
    }
  }
  if (!withBackend) ctx.skip(`backend has no ${op.backwardName} (only the reference was checked)`);
}
