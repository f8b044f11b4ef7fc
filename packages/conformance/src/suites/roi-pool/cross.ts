/**
 * roi-cross: every pair of the backends given (the one under test and `others`, those with RoI pooling)
 * agrees on seeded random RoI pooling problems, forward and every gradient. Each side may be one tolerance
 * off the exact value, so the pair is held to twice the default tolerance.
 */
import { describeRoiCase, hasRoiPool, hasRoiPoolBackward } from '../../roi-pool-case.js';
import { Rng } from '../../random.js';
import { randomRoiCase } from '../../random-roi-cases.js';
import { errorRow, type SuiteContext } from '../types.js';
import { backendRoiExpectation, checkRoiCase } from './check-roi-case.js';
import { roiSuiteLabel } from './suite-label.js';

const SUITE = roiSuiteLabel('cross');
const CASES_PER_PAIR = 20;

export async function roiCrossSuite(ctx: SuiteContext): Promise<void> {
  const without = ctx.others.filter((b) => !hasRoiPool(b));
  if (without.length > 0) ctx.skip(`${without.map((b) => b.name).join(', ')}: no roiPool capability, not compared`);
  // Float16 peers round the RoI coordinates themselves: the float32 rules cannot judge them (see run-conformance).
  const half = ctx.others.filter((b) => hasRoiPool(b) && b.precision === 'float16');
  if (half.length > 0) ctx.skip(`${half.map((b) => b.name).join(', ')}: float16 storage, not compared (float32 rules only)`);
  const all = [ctx.backend, ...ctx.others.filter((b) => hasRoiPool(b) && b.precision !== 'float16')];
  if (all.length < 2) {
    ctx.skip('no other backend with RoI pooling to compare with (pass `others`, or --other on the command line)');
    return;
  }
  let gradsSkipped = false;
  for (let a = 0; a < all.length; a++) {
    for (let b = a + 1; b < all.length; b++) {
      const [A, B] = [all[a], all[b]];
      const pair = `${A.name}~${B.name}`;
      const rng = Rng.derive(ctx.seed, `${SUITE}:${a}:${b}`);
      const withGrads = hasRoiPoolBackward(A) && hasRoiPoolBackward(B);
      if (!withGrads) gradsSkipped = true;
      for (let i = 0; i < CASES_PER_PAIR; i++) {
        const c = randomRoiCase(rng);
        const caseName = `${pair}#${i}`;
        const note = `seed ${ctx.seed}: ${describeRoiCase(c)}`;
        let want;
        try {
          want = await backendRoiExpectation(B, c, withGrads);
        } catch (e) {
          ctx.row(errorRow(SUITE, caseName, B.name, e, note));
          continue;
        }
        const rows = await checkRoiCase(A, c, want, { suite: SUITE, caseName, toleranceFactor: 2, note });
        rows.forEach((r) => ctx.row(r));
      }
    }
  }
  if (gradsSkipped) ctx.skip('backend has no RoI pooling backward (gradients compared only between backends that have one)');
}
