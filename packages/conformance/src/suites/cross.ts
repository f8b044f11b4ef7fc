/**
 * cross: every pair of the backends given (the one under test and `others`) agrees on seeded random
 * configurations, forward and every gradient. Each side may be one tolerance off the exact value, so
 * the pair is held to twice the default tolerance.
 */
import { describeCase, hasBackward } from '../conv-case.js';
import { Rng } from '../random.js';
import { randomConvCase } from '../random-cases.js';
import { backendExpectation, checkCase } from './check-case.js';
import { errorRow, type SuiteContext } from './types.js';

const SUITE = 'cross';
const CASES_PER_PAIR = 20;

export async function crossSuite(ctx: SuiteContext): Promise<void> {
  const all = [ctx.backend, ...ctx.others];
  if (all.length < 2) {
    ctx.skip('no other backend to compare with (pass `others`, or --other on the command line)');
    return;
  }
  let gradsSkipped = false;
  for (let a = 0; a < all.length; a++) {
    for (let b = a + 1; b < all.length; b++) {
      const [A, B] = [all[a], all[b]];
      const pair = `${A.name}~${B.name}`;
      const rng = Rng.derive(ctx.seed, `${SUITE}:${a}:${b}`);
      const withGrads = hasBackward(A) && hasBackward(B);
      if (!withGrads) gradsSkipped = true;
      for (let i = 0; i < CASES_PER_PAIR; i++) {
        const c = randomConvCase(rng);
        const caseName = `${pair}#${i}`;
        const note = `seed ${ctx.seed}: ${describeCase(c)}`;
        let want;
        try {
          want = await backendExpectation(B, c, withGrads);
        } catch (e) {
          ctx.row(errorRow(SUITE, caseName, B.name, e, note));
          continue;
        }
        const rows = await checkCase(A, c, want, { suite: SUITE, caseName, toleranceFactor: 2, note });
        rows.forEach((r) => ctx.row(r));
      }
    }
  }
  if (gradsSkipped) ctx.skip('backend has no backward (gradients compared only between backends that have one)');
}
