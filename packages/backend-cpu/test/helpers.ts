/** Shared test utilities: seeded random tensors, call plumbing and a tolerance check that reports the worst element. */
import { resolveConvGeometry, type ConvGeometry, type ConvGradRequest, type DeformConv2dParams, type HostTensor } from '@dcnv2/core';
import type { CpuBackend } from '../src/index.js';

/** Seeded uniform numbers and tensors: the conformance package's PRNG, under the names these tests use. */
import { uniformSource as rng, uniformTensor as randTensor } from '@dcnv2/conformance';
export { rng, randTensor };

export interface ConvCase {
  readonly input: HostTensor;
  readonly weight: HostTensor;
  readonly offset: HostTensor;
  readonly mask: HostTensor | null;
  readonly bias: HostTensor | null;
  readonly gradOutput: HostTensor;
  readonly params: DeformConv2dParams;
}

export interface CaseSpec {
  N: number;
  Cin: number;
  H: number;
  W: number;
  Cout: number;
  kh: number;
  kw: number;
  stride?: [number, number];
  pads?: [number, number, number, number];
  dilation?: [number, number];
  groups?: number;
  offsetGroups?: number;
  mask?: boolean;
  bias?: boolean;
  /** Offsets are uniform in [-offsetScale/2, offsetScale/2), rounded to integers when `integerOffsets`. */
  offsetScale?: number;
  integerOffsets?: boolean;
}

export function makeCase(s: CaseSpec, seed: number): ConvCase {
  const r = rng(seed);
  const [sh, sw] = s.stride ?? [1, 1];
  const [pt, pl, pb, pr] = s.pads ?? [0, 0, 0, 0];
  const [dh, dw] = s.dilation ?? [1, 1];
  const groups = s.groups ?? 1;
  const og = s.offsetGroups ?? 1;
  const Ho = Math.floor((s.H + pt + pb - (dh * (s.kh - 1) + 1)) / sh) + 1;
  const Wo = Math.floor((s.W + pl + pr - (dw * (s.kw - 1) + 1)) / sw) + 1;
  const K = s.kh * s.kw;
  const offset = randTensor([s.N, 2 * og * K, Ho, Wo], r, s.offsetScale ?? 3);
  if (s.integerOffsets) for (let i = 0; i < offset.data.length; i++) offset.data[i] = Math.round(offset.data[i]);
  return {
    input: randTensor([s.N, s.Cin, s.H, s.W], r, 2),
    weight: randTensor([s.Cout, s.Cin / groups, s.kh, s.kw], r, 2 / Math.sqrt((s.Cin / groups) * K)),
    offset,
    mask: s.mask === false ? null : randTensor([s.N, og * K, Ho, Wo], r, 1.5, -0.25),
    bias: s.bias === false ? null : randTensor([s.Cout], r),
    gradOutput: randTensor([s.N, s.Cout, Ho, Wo], r, 2),
    params: { stride: [sh, sw], padding: [pt, pl, pb, pr], dilation: [dh, dw], groups, offsetGroups: og },
  };
}

export function geometryOf(c: ConvCase): ConvGeometry {
  return resolveConvGeometry(c, c.params);
}

export function allGrads(g: ConvGeometry): ConvGradRequest {
  return { input: true, offset: true, mask: g.hasMask, weight: true, bias: g.hasBias };
}

export interface Run {
  readonly output: Float32Array;
  readonly grads: { input: Float32Array | null; offset: Float32Array | null; mask: Float32Array | null; weight: Float32Array | null; bias: Float32Array | null };
}

/** Forward and full backward of a case straight through the backend's methods. */
export function runBackend(be: CpuBackend, c: ConvCase, want?: ConvGradRequest): Run {
  const g = geometryOf(c);
  const inputs = { input: c.input.data, weight: c.weight.data, offset: c.offset.data, mask: c.mask?.data ?? null, bias: c.bias?.data ?? null };
  const output = be.deformConv2d(g, inputs);
  const grads = be.deformConv2dBackward(g, inputs, c.gradOutput.data, want ?? allGrads(g));
  return { output, grads };
}

export interface Tol {
  readonly atol: number;
  readonly rtol: number;
}

/**
 * Index and size of the worst violation of |got - want| <= atol + rtol*|want|, or null if none. Non-finite
 * values must match exactly: NaN where NaN, the same infinity where infinity.
 */
export function worstViolation(got: ArrayLike<number>, want: ArrayLike<number>, tol: Tol): string | null {
  if (got.length !== want.length) return `length ${got.length} != ${want.length}`;
  let worst = -1;
  let excess = 0;
  for (let i = 0; i < want.length; i++) {
    const a = got[i];
    const b = want[i];
    if (!Number.isFinite(b) || !Number.isFinite(a)) {
      if (Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b))) continue;
      return `element ${i}: got ${a}, want ${b}`;
    }
    const d = Math.abs(a - b) - (tol.atol + tol.rtol * Math.abs(b));
    if (d > excess) {
      excess = d;
      worst = i;
    }
  }
  return worst < 0 ? null : `element ${worst}: got ${got[worst]}, want ${want[worst]} (|diff| ${Math.abs(got[worst] - want[worst]).toExponential(2)}, atol ${tol.atol.toExponential(2)}, rtol ${tol.rtol})`;
}

/** Largest |a - b| over finite pairs (for reporting). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (d > m) m = d;
  }
  return m;
}
