/**
 * cross: every pair of the backends given (the one under test and `others`) agrees on seeded random
 * configurations, forward and every gradient. Each side may be one tolerance off the exact value, so
 * the pair is held to twice the default tolerance.
 */
import { CONV_OP } from './conv-op.js';
import { runCross } from './op-suites.js';
import type { SuiteContext } from './types.js';

const CASES_PER_PAIR = 20;

export function crossSuite(ctx: SuiteContext): Promise<void> {
  return runCross(ctx, CONV_OP, ctx.others, CASES_PER_PAIR, 'no other backend to compare with (pass `others`, or --other on the command line)');
}
