/**
 * roi-fuzz: seeded random RoI pooling problems, forward and every gradient against the float64 reference.
 * The cases cover adaptive and fixed sampling ratios, several spatial scales (powers of two and not),
 * RoIs inside, straddling and entirely outside the image, degenerate (zero or negative size) and tiny
 * RoIs, small and large offsets, missing offset or mask, batches of 1..3, 1..64 channels and pooled sizes
 * 1..7; sample coordinates keep 1e-3 from the places where a float32 kernel may legitimately differ
 * (see random-roi-cases.ts). A quarter of the cases request a random subset of the gradients, since a
 * kernel's result must not depend on what else was asked for. Then a few large cases (48..64 channels,
 * 16..32 RoIs, 7x7 bins) cross the chunks and workgroups fast kernels cut their work into.
 */
import type { RoiPoolGradName } from '@dcnv2/core';
import { describeRoiCase, hasRoiPoolBackward, ROI_GRAD_NAMES } from '../../roi-pool-case.js';
import { Rng } from '../../random.js';
import { blockedRoiCase, randomRoiCase } from '../../random-roi-cases.js';
import type { SuiteContext } from '../types.js';
import { checkRoiCase, referenceRoiExpectation } from './check-roi-case.js';
import { roiSuiteLabel } from './suite-label.js';

const SUITE = roiSuiteLabel('fuzz');

export async function roiFuzzSuite(ctx: SuiteContext): Promise<void> {
  const rng = Rng.derive(ctx.seed, SUITE);
  const backward = hasRoiPoolBackward(ctx.backend);
  const total = ctx.fuzzCases > 0 ? ctx.fuzzCases + ctx.blockedCases : 0;
  for (let i = 0; i < total; i++) {
    const c = i < ctx.fuzzCases ? randomRoiCase(rng) : blockedRoiCase(rng);
    let grads: RoiPoolGradName[] | undefined;
    if (rng.chance(0.25)) {
      grads = ROI_GRAD_NAMES.filter(() => rng.chance(0.5));
      if (grads.length === 0) grads = [rng.pick(ROI_GRAD_NAMES)];
    }
    const want = referenceRoiExpectation(c, backward);
    const rows = await checkRoiCase(ctx.backend, c, want, {
      suite: SUITE,
      caseName: i < ctx.fuzzCases ? `fuzz#${i}` : `fuzz-blocked#${i - ctx.fuzzCases}`,
      note: `seed ${ctx.seed}: ${describeRoiCase(c)}${grads ? ` grads=${grads.join(',')}` : ''}`,
      ...(grads ? { grads } : {}),
    });
    rows.forEach((r) => ctx.row(r));
  }
  if (!backward && ctx.fuzzCases > 0) ctx.skip('backend has no RoI pooling backward');
}
