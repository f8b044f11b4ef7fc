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
import { CONV_OP } from './conv-op.js';
import { runFuzz } from './op-suites.js';
import type { SuiteContext } from './types.js';

export function fuzzSuite(ctx: SuiteContext): Promise<void> {
  return runFuzz(ctx, CONV_OP);
}
