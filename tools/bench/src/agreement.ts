/**
 * The agreement check that runs before any timing, so that a fast wrong kernel is reported as WRONG, never as
 * fast. Each implementation's first run is compared element by element with:
 *
 * - forward output: the float64 reference of its op (reference.ts, roi-reference.ts; for the plain yardsticks,
 *   a dense conv or RoIAlign, the plain op's, since they are checked as what they are);
 * - gradients (forward + backward): the float64 backward where the shape allows it, else the first
 *   implementation of the same kind whose forward passed (in row order, so a dcnv2 backend), which then serves
 *   as the baseline of the others.
 *
 * `checkAgainst` is the op-independent part; `checkImpl` the convolution's expectations, `checkRoiImpl`
 * (roi-reference.ts) the RoI pooling's. Tolerances are the conformance suite's (|got - want| <= atol +
 * rtol*|want|, atol growing with the reduction length): against float64 as they are, between two float32
 * implementations doubled (`pairTolerance`), since each may be off by one tolerance.
 */
import type { ConvGeometry } from '@dcnv2/core';
import { compareTensors, defaultTolerance, pairTolerance, type ConvTensorName, type Tolerance } from '@dcnv2/conformance';
import type { ConvKind } from './impls.js';
import { EXPECTED_GRADS, gatherChannels, type ForwardReference, type GradTensor } from './reference.js';
import type { Direction } from './shapes.js';

export interface TensorCheck {
  readonly tensor: string;
  readonly pass: boolean;
  readonly maxAbsError: number;
  readonly atol: number;
  readonly rtol: number;
  /** What it was compared with: `f64`, `f64 (12 of 256 channels)`, `dcnv2-cpu`. */
  readonly against: string;
  readonly detail?: string;
}

export type CheckStatus = 'ok' | 'wrong';

export interface CheckResult {
  readonly status: CheckStatus;
  /** Largest |got - want| over every compared tensor. */
  readonly maxAbsError: number;
  /** Short description of the references, for the table's footnotes and the JSON. */
  readonly against: string;
  readonly tensors: readonly TensorCheck[];
  /** Parts that could not be checked, in words (empty when everything was). */
  readonly unchecked: readonly string[];
}

export interface GradBaseline {
  readonly id: string;
  readonly grads: ReadonlyMap<string, Float32Array>;
}

/** One implementation's first run of a kind `K`, as its op's check receives it. */
export interface CheckedRun<K extends string> {
  readonly kind: K;
  readonly direction: Direction;
  /** The worker's tensors: `output`, and `grad_*` for forward + backward. */
  readonly outputs: ReadonlyMap<string, Float32Array>;
}

/** What a run is checked against: its op's float64 forward `F` and gradients (named `G`), or a baseline. */
export interface CheckReferencesOf<F, G extends string> {
  readonly forward: F;
  /** Float64 gradients, or null above the budget. */
  readonly grads: Partial<Record<G, Float64Array>> | null;
  /** When `grads` is null: the implementation to compare with, or null when this one is the first. */
  readonly baseline: GradBaseline | null;
}

export interface CheckInput extends CheckedRun<ConvKind> {
  readonly geometry: ConvGeometry;
}

export type CheckReferences = CheckReferencesOf<ForwardReference, GradTensor>;

function compareOne(tensor: string, got: Float32Array | undefined, want: ArrayLike<number>, tol: Tolerance, against: string): TensorCheck {
  if (got === undefined) return { tensor, pass: false, maxAbsError: Infinity, atol: tol.atol, rtol: tol.rtol, against, detail: `no ${tensor} returned` };
  const c = compareTensors(got, want, tol);
  return { tensor, pass: c.pass, maxAbsError: c.maxAbsError, atol: tol.atol, rtol: tol.rtol, against, ...(c.detail ? { detail: c.detail } : {}) };
}

/** What one implementation's tensors are held to: the float64 forward, and the float64 gradients when available. */
export interface Expectations {
  readonly output: {
    readonly want: ArrayLike<number>;
    readonly tol: Tolerance;
    /** `f64`, `plain conv f64 (12 of 256 channels)`, ... */
    readonly against: string;
    /** The part of the implementation's output the reference covers (default: all of it). */
    readonly select?: (got: Float32Array) => Float32Array;
  };
  /** Gradients the implementation must return in forward + backward. */
  readonly gradNames: readonly string[];
  readonly gradTolerance: (name: string) => Tolerance;
  /** Float64 gradients by name, or null above the budget (then the baseline, or finiteness only). */
  readonly grads: Partial<Record<string, ArrayLike<number>>> | null;
  /** What the float64 gradients are called in the report: `f64`, `plain conv f64`. */
  readonly gradsAgainst: string;
}

/**
 * Compares an implementation's tensors with `e` (forward + backward: the gradients too, against float64 or,
 * above its budget, against `baseline` with doubled tolerances). Shared by every op.
 */
export function checkAgainst(direction: Direction, outputs: ReadonlyMap<string, Float32Array>, e: Expectations, baseline: GradBaseline | null): CheckResult {
  const checks: TensorCheck[] = [];
  const unchecked: string[] = [];
  const output = outputs.get('output');
  const o = e.output;
  checks.push(compareOne('output', output === undefined ? undefined : o.select ? o.select(output) : output, o.want, o.tol, o.against));

  let gradsAgainst = '';
  if (direction === 'fwdbwd') {
    if (e.grads !== null) {
      gradsAgainst = e.gradsAgainst;
      for (const name of e.gradNames) {
        const want = e.grads[name];
        if (want === undefined) continue;
        checks.push(compareOne(name, outputs.get(name), want, e.gradTolerance(name), gradsAgainst));
      }
    } else if (baseline !== null) {
      gradsAgainst = baseline.id;
      for (const name of e.gradNames) {
        const want = baseline.grads.get(name);
        if (want === undefined) {
          unchecked.push(`${name} (the baseline ${baseline.id} has none)`);
          continue;
        }
        checks.push(compareOne(name, outputs.get(name), want, pairTolerance(e.gradTolerance(name)), gradsAgainst));
      }
    } else {
      // The first of its kind above the float64 budget: still require every gradient to be present and finite.
      for (const name of e.gradNames) {
        const got = outputs.get(name);
        const finite = got !== undefined && got.every((v) => Number.isFinite(v));
        if (!finite) checks.push({ tensor: name, pass: false, maxAbsError: Infinity, atol: 0, rtol: 0, against: 'finiteness', detail: got === undefined ? `no ${name} returned` : `${name} has non-finite values` });
      }
      gradsAgainst = 'none (the baseline of the others)';
      unchecked.push('gradients (above the float64 budget; this implementation is the baseline for the others)');
    }
  }
  const pass = checks.every((c) => c.pass);
  const maxAbsError = checks.reduce((m, c) => Math.max(m, c.maxAbsError), 0);
  const against = gradsAgainst === '' || gradsAgainst === o.against ? o.against : `output: ${o.against}; grads: ${gradsAgainst}`;
  return { status: pass ? 'ok' : 'wrong', maxAbsError, against, tensors: checks, unchecked };
}

/** The convolution's check: a deformable conv against its float64 reference, a dense one against a plain conv. */
export function checkImpl(input: CheckInput, refs: CheckReferences): CheckResult {
  const g = input.geometry;
  const f = refs.forward;
  const dense = input.kind === 'dense';
  const expectations: Expectations = {
    output: {
      want: f.values,
      tol: defaultTolerance('output', g),
      against: `${dense ? 'plain conv ' : ''}f64${f.full ? '' : ` (${f.channels.length} of ${g.outChannels} channels)`}`,
      ...(f.full ? {} : { select: (got: Float32Array) => gatherChannels(got, g, f.channels) }),
    },
    gradNames: EXPECTED_GRADS[input.kind],
    gradTolerance: (name) => defaultTolerance(name as ConvTensorName, g),
    grads: refs.grads,
    gradsAgainst: dense ? 'plain conv f64' : 'f64',
  };
  return checkAgainst(input.direction, input.outputs, expectations, refs.grads === null ? refs.baseline : null);
}

/** One line per failing tensor, for the WRONG report. */
export function describeFailures(r: CheckResult): string {
  return r.tensors
    .filter((t) => !t.pass)
    .map((t) => `${t.tensor} vs ${t.against}: max |err| ${t.maxAbsError.toExponential(2)} > atol ${t.atol.toExponential(1)} + rtol ${t.rtol.toExponential(1)}*|want|${t.detail ? ` (${t.detail})` : ''}`)
    .join('; ');
}
