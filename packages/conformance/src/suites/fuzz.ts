/**
 * fuzz: hundreds of seeded random configurations, forward and every gradient against the float64
 * reference. The configurations deliberately include empty batches, 1-pixel images, images smaller than
 * the kernel, rectangular kernels, asymmetric pads, strides and dilations up to 3, groups and offset
 * groups, exact-integer offsets and offsets far outside the image, and masks that are sigmoid, raw,
 * all-ones or absent. A quarter of the cases request a random subset of gradients, since a kernel's
 * result must not depend on what else was asked for. A few further cases are large enough (tens of
 * channels, reductions over several hundred terms, hundreds of output pixels) to cross the cache blocks,
 * pixel tiles and channel chunks that fast kernels cut their work into; small cases never reach those.
 */
import type { GradName } from '@dcnv2/core';
import { describeCase, GRAD_NAMES, hasBackward } from '../conv-case.js';
import { Rng } from '../random.js';
import { blockedConvCase, randomConvCase } from '../random-cases.js';
import { checkCase, referenceExpectation } from './check-case.js';
import type { SuiteContext } from './types.js';

const SUITE = 'fuzz';

export async function fuzzSuite(ctx: SuiteContext): Promise<void> {
  const rng = Rng.derive(ctx.seed, SUITE);
  const backward = hasBackward(ctx.backend);
  const total = ctx.fuzzCases > 0 ? ctx.fuzzCases + ctx.blockedCases : 0;
  for (let i = 0; i < total; i++) {
    const c = i < ctx.fuzzCases ? randomConvCase(rng) : blockedConvCase(rng);
    let grads: GradName[] | undefined;
    if (rng.chance(0.25)) {
      grads = GRAD_NAMES.filter(() => rng.chance(0.5));
      if (grads.length === 0) grads = [rng.pick(GRAD_NAMES)];
    }
    const want = referenceExpectation(c, backward);
    const rows = await checkCase(ctx.backend, c, want, {
      suite: SUITE,
      caseName: i < ctx.fuzzCases ? `fuzz#${i}` : `fuzz-blocked#${i - ctx.fuzzCases}`,
      note: `seed ${ctx.seed}: ${describeCase(c)}${grads ? ` grads=${grads.join(',')}` : ''}`,
      ...(grads ? { grads } : {}),
    });
    rows.forEach((r) => ctx.row(r));
  }
  if (!backward && ctx.fuzzCases > 0) ctx.skip('backend has no backward');
}
