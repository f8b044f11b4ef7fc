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
import { runFuzz } from '../op-suites.js';
import type { SuiteContext } from '../types.js';
import { ROI_OP } from './roi-op.js';

export function roiFuzzSuite(ctx: SuiteContext): Promise<void> {
  return runFuzz(ctx, ROI_OP);
}
