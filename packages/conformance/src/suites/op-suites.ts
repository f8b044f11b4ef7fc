/**
 * The suites that run the same way for both ops, written once over an `OpKit`: fuzz (random problems
 * against the float64 reference), cross (every pair of backends), onnx (a forward-only peer:
 * onnxruntime-web), and the properties driver. Each op's suite module keeps its own documentation and what
 * is particular to it (which problems, which peers, which properties).
 */
import type { Backend } from '@dcnv2/core';
import { ortAvailable } from '../onnx/index.js';
import { Rng } from '../random.js';
import { backendExpectationOf, checkOpCase, referenceExpectationOf, type OpCase, type OpGrads, type OpKit } from './op-kit.js';
import { errorRow, type ConformanceRow, type SuiteContext } from './types.js';

/**
 * fuzz: `ctx.fuzzCases` random problems then `ctx.blockedCases` large ones, forward and every gradient
 * against the float64 reference; a quarter of the cases request a random subset of the gradients.
 */
export async function runFuzz<C extends OpCase, K extends string>(ctx: SuiteContext, op: OpKit<C, K>): Promise<void> {
  const suite = op.label('fuzz');
  const rng = Rng.derive(ctx.seed, suite);
  const backward = op.hasBackward(ctx.backend);
  const total = ctx.fuzzCases > 0 ? ctx.fuzzCases + ctx.blockedCases : 0;
  for (let i = 0; i < total; i++) {
    const c = i < ctx.fuzzCases ? op.randomCase(rng) : op.blockedCase(rng);
    let grads: K[] | undefined;
    if (rng.chance(0.25)) {
      grads = op.gradNames.filter(() => rng.chance(0.5));
      if (grads.length === 0) grads = [rng.pick(op.gradNames)];
    }
    const want = referenceExpectationOf(op, c, backward);
    const rows = await checkOpCase(op, ctx.backend, c, want, {
      suite,
      caseName: i < ctx.fuzzCases ? `fuzz#${i}` : `fuzz-blocked#${i - ctx.fuzzCases}`,
      note: `seed ${ctx.seed}: ${op.describe(c)}${grads ? ` grads=${grads.join(',')}` : ''}`,
      ...(grads ? { grads } : {}),
    });
    rows.forEach((r) => ctx.row(r));
  }
  if (!backward && ctx.fuzzCases > 0) ctx.skip(`backend has no ${op.backwardName}`);
}

/** A golden case of any op: a problem and its expected tensors (from a vectors file, another tool, or known by construction). */
export interface GoldenCase<C extends OpCase, K extends string> {
  readonly name: string;
  readonly problem: C;
  readonly expected: { readonly output: ArrayLike<number>; readonly grads?: OpGrads<K> };
}

/**
 * golden, for any op: each case's output, and each gradient the case expects, against the expected values
 * at the op's default tolerance. The built-in ops' golden suites read their vectors files with their own
 * per-case tolerances; an op defined outside core runs its cases through this.
 */
export async function runGolden<C extends OpCase, K extends string>(ctx: SuiteContext, op: OpKit<C, K>, cases: readonly GoldenCase<C, K>[]): Promise<void> {
  const suite = op.label('golden');
  const backward = op.hasBackward(ctx.backend);
  let gradsSkipped = false;
  for (const gc of cases) {
    const expectedGrads = gc.expected.grads;
    const wanted = expectedGrads === undefined ? [] : op.gradNames.filter((k) => expectedGrads[k] !== undefined && expectedGrads[k] !== null);
    if (wanted.length > 0 && !backward) gradsSkipped = true;
    const want = backward && wanted.length > 0 ? { output: gc.expected.output, grads: expectedGrads } : { output: gc.expected.output };
    const rows = await checkOpCase(op, ctx.backend, gc.problem, want, { suite, caseName: gc.name, grads: backward ? wanted : [] });
    rows.forEach((r) => ctx.row(r));
  }
  if (gradsSkipped) ctx.skip(`backend has no ${op.backwardName}`);
}

/**
 * cross: every pair of `ctx.backend` and `peers` agrees on `casesPerPair` random problems, forward and
 * (where both have a backward) every gradient, at twice the default tolerance: each side may be one
 * tolerance off the exact value. Skipped with `noPeers` when there is no peer.
 */
export async function runCross<C extends OpCase, K extends string>(
  ctx: SuiteContext,
  op: OpKit<C, K>,
  peers: readonly Backend[],
  casesPerPair: number,
  noPeers: string,
): Promise<void> {
  const suite = op.label('cross');
  const all = [ctx.backend, ...peers];
  if (all.length < 2) {
    ctx.skip(noPeers);
    return;
  }
  let gradsSkipped = false;
  for (let a = 0; a < all.length; a++) {
    for (let b = a + 1; b < all.length; b++) {
      const [A, B] = [all[a], all[b]];
      const pair = `${A.name}~${B.name}`;
      const rng = Rng.derive(ctx.seed, `${suite}:${a}:${b}`);
      const withGrads = op.hasBackward(A) && op.hasBackward(B);
      if (!withGrads) gradsSkipped = true;
      for (let i = 0; i < casesPerPair; i++) {
        const c = op.randomCase(rng);
        const caseName = `${pair}#${i}`;
        const note = `seed ${ctx.seed}: ${op.describe(c)}`;
        let want;
        try {
          want = await backendExpectationOf(op, B, c, withGrads);
        } catch (e) {
          ctx.row(errorRow(suite, caseName, B.name, e, note));
          continue;
        }
        const rows = await checkOpCase(op, A, c, want, { suite, caseName, toleranceFactor: 2, note });
        rows.forEach((r) => ctx.row(r));
      }
    }
  }
  if (gradsSkipped) ctx.skip(`backend has no ${op.backwardName} (gradients compared only between backends that have one)`);
}

/** An onnxruntime-web runner of an op's forward, opened for one suite run. */
export interface OnnxPeer<C> {
  run(c: C): Promise<Float32Array>;
  dispose(): Promise<void>;
}

/**
 * onnx: a forward-only cross-check with onnxruntime-web, an independent float32 implementation: `cases`
 * problems drawn by `draw`, outputs held to twice the output tolerance (a failing ORT call fails its case).
 * Skipped, with the reason, only when onnxruntime-web cannot run here.
 */
export async function runOnnx<C extends OpCase, K extends string>(
  ctx: SuiteContext,
  op: OpKit<C, K>,
  cases: number,
  open: () => OnnxPeer<C>,
  draw: (rng: Rng) => C,
): Promise<void> {
  const available = await ortAvailable();
  if (!available.ok) {
    ctx.skip(`onnxruntime-web is not available: ${available.reason}`);
    return;
  }
  const suite = op.label('onnx');
  const ort = open();
  const rng = Rng.derive(ctx.seed, suite);
  try {
    for (let i = 0; i < cases; i++) {
      const c = draw(rng);
      const caseName = `onnx#${i}`;
      const note = `seed ${ctx.seed}: ${op.describe(c)}`;
      let want: Float32Array;
      try {
        want = await ort.run(c);
      } catch (e) {
        ctx.row(errorRow(suite, caseName, 'onnxruntime', e, note));
        continue;
      }
      const rows = await checkOpCase(op, ctx.backend, c, { output: want }, { suite, caseName, toleranceFactor: 2, note });
      rows.forEach((r) => ctx.row(r));
    }
  } finally {
    await ort.dispose();
  }
}

/** An identity of the op, checked on `cases` seeded problems. */
export interface Property {
  readonly name: string;
  readonly cases: number;
  /** Gradient parts are left out (forward part still runs) when the backend has no backward. */
  readonly run: (backend: Backend, rng: Rng, caseName: string, i: number) => Promise<ConformanceRow[]>;
}

/** properties: every property's cases, `<name>#i`, each property with its own generator; a throw fails the case. */
export async function runProperties<C extends OpCase, K extends string>(ctx: SuiteContext, op: OpKit<C, K>, properties: readonly Property[]): Promise<void> {
  const suite = op.label('properties');
  for (const p of properties) {
    const rng = Rng.derive(ctx.seed, `${suite}:${p.name}`);
    for (let i = 0; i < p.cases; i++) {
      let rows: ConformanceRow[];
      try {
        rows = await p.run(ctx.backend, rng, `${p.name}#${i}`, i);
      } catch (e) {
        rows = [errorRow(suite, `${p.name}#${i}`, '-', e)];
      }
      rows.forEach((r) => ctx.row(r));
    }
  }
  if (!op.hasBackward(ctx.backend)) ctx.skip(`backend has no ${op.backwardName} (gradient parts of the properties)`);
}
