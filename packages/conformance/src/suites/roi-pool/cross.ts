/**
 * roi-cross: every pair of the backends given (the one under test and `others`, those with RoI pooling)
 * agrees on seeded random RoI pooling problems, forward and every gradient. Each side may be one tolerance
 * off the exact value, so the pair is held to twice the default tolerance.
 */
import { hasRoiPool } from '../../roi-pool-case.js';
import { runCross } from '../op-suites.js';
import type { SuiteContext } from '../types.js';
import { ROI_OP } from './roi-op.js';

const CASES_PER_PAIR = 20;

export function roiCrossSuite(ctx: SuiteContext): Promise<void> {
  const without = ctx.others.filter((b) => !hasRoiPool(b));
  if (without.length > 0) ctx.skip(`${without.map((b) => b.name).join(', ')}: no deform_roi_pool forward kernel, not compared`);
  // Float16 peers round the RoI coordinates themselves: the float32 rules cannot judge them (see run-conformance).
  const half = ctx.others.filter((b) => hasRoiPool(b) && b.precision === 'float16');
  if (half.length > 0) ctx.skip(`${half.map((b) => b.name).join(', ')}: float16 storage, not compared (float32 rules only)`);
  const peers = ctx.others.filter((b) => hasRoiPool(b) && b.precision !== 'float16');
  return runCross(ctx, ROI_OP, peers, CASES_PER_PAIR, 'no other backend with RoI pooling to compare with (pass `others`, or --other on the command line)');
}
