/**
 * gradcheck: gradients against finite differences, which depend on neither backend's backward.
 * For a few small random problems whose sampling positions stay at least 0.05 from integer coordinates
 * (where the op is smooth), and for each input, the directional derivative of L = sum(output *
 * gradOutput) along random directions, by central differences of the float64 reference forward, is
 * compared with (a) the reference's own backward, which proves the oracle's gradients, and (b) the
 * backend's backward. L is linear in input, weight, mask and bias and, between integer coordinates,
 * quadratic along a line in offset space (bilinear weights), so central differences are exact up to
 * rounding and the check can be tight.
 */
import type { Backend, GradName } from '@dcnv2/core';
import { backendBackward, describeCase, GRAD_NAMES, hasBackward, referenceBackward, type ConvCase } from '../conv-case.js';
import { deformConv2dF64, type ConvTensors } from '../reference/deform-conv2d-f64.js';
import { Rng } from '../random.js';
import { randomConvCase } from '../random-cases.js';
import { defaultTolerance, gradTensorName, precisionOf } from '../tolerances.js';
import { errorRow, type ConformanceRow, type SuiteContext } from './types.js';

const SUITE = 'gradcheck';
const CASES = 4;
const DIRECTIONS = 2;
/** Step of the central differences; sampling positions move by at most ~4h < 0.05, never crossing an integer. */
const STEP = 1e-3;
/**
 * Relative bound for the reference's own backward: float64 rounding of the directional sums and of the
 * finite difference (about 1e-16 * sum|out*gradOutput| / STEP) stays near 1e-12 on these sizes, four orders below this bound.
 */
const SELF_RTOL = 1e-8;

function loss(c: ConvCase, t: ConvTensors): number {
  const out = deformConv2dF64(c.geometry, t);
  let s = 0;
  for (let i = 0; i < out.length; i++) s += out[i] * c.gradOutput![i];
  return s;
}

function tensorsOf(c: ConvCase): ConvTensors {
  return { input: c.input, weight: c.weight, offset: c.offset, mask: c.mask, bias: c.bias };
}

/** Central difference of L along `dir` in the space of tensor `k`. */
function directionalFD(c: ConvCase, k: GradName, dir: Float64Array): number {
  const base = tensorsOf(c);
  const x = base[k]!;
  const plus = Float64Array.from(x, (v, i) => v + STEP * dir[i]);
  const minus = Float64Array.from(x, (v, i) => v - STEP * dir[i]);
  return (loss(c, { ...base, [k]: plus }) - loss(c, { ...base, [k]: minus })) / (2 * STEP);
}

interface Check {
  err: number;
  allowed: number;
  got: number;
  want: number;
}

function rowOf(caseName: string, k: GradName, checks: Check[], note: string): ConformanceRow {
  // Report the direction furthest outside (or closest to) its bound.
  const worst = checks.reduce((a, b) => (b.err / b.allowed > a.err / a.allowed ? b : a));
  const pass = checks.every((c) => c.err <= c.allowed);
  return {
    suite: SUITE,
    case: caseName,
    tensor: gradTensorName(k),
    maxAbsError: worst.err,
    atol: worst.allowed,
    rtol: 0,
    pass,
    ...(pass ? {} : { detail: `directional derivative ${worst.got}, finite differences ${worst.want}; ${note}` }),
  };
}

export async function gradcheckSuite(ctx: SuiteContext): Promise<void> {
  const rng = Rng.derive(ctx.seed, SUITE);
  const backend: Backend = ctx.backend;
  const withBackend = hasBackward(backend);
  for (let i = 0; i < CASES; i++) {
    const c = randomConvCase(rng, {
      offsets: 'smooth',
      batch: [1, 2],
      maxImage: 6,
      maxChannels: 4,
      maxKernel: 3,
      maxMacs: 3000,
      masks: ['sigmoid', 'raw', 'none'],
    });
    const note = describeCase(c);
    const ref = referenceBackward(c);
    let got: Awaited<ReturnType<typeof backendBackward>> | null = null;
    let failure: unknown = null;
    if (withBackend) {
      try {
        got = await backendBackward(backend, c);
      } catch (e) {
        failure = e;
      }
    }
    for (const k of GRAD_NAMES) {
      const refGrad = ref[k];
      if (refGrad === null) continue;
      const selfChecks: Check[] = [];
      const backendChecks: Check[] = [];
      const tol = defaultTolerance(gradTensorName(k), c.geometry, precisionOf(backend));
      for (let d = 0; d < DIRECTIONS; d++) {
        const dir = Float64Array.from({ length: refGrad.length }, () => Math.max(-3, Math.min(3, rng.normal())));
        const fd = directionalFD(c, k, dir);
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
      if (failure !== null) ctx.row(errorRow(SUITE, name, gradTensorName(k), failure, note));
      else if (backendChecks.length === 0) ctx.row(errorRow(SUITE, name, gradTensorName(k), new Error('backend returned no gradient'), note));
      else ctx.row(rowOf(name, k, backendChecks, note));
    }
  }
  if (!withBackend) ctx.skip('backend has no backward (only the reference was checked)');
}
