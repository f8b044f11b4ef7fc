/**
 * gradcheck: gradients against finite differences, which depend on neither backend's backward.
 * For a few small random problems whose sampling positions stay at least 0.05 from integer coordinates
 * (where the op is smooth), and for each input, the directional derivative of L = sum(output *
 * gradOutput) along random directions, by central differences of the float64 reference forward, is
 * compared with (a) the reference's own backward, which proves the oracle's gradients, and (b) the
 * backend's backward. L is linear in input, weight, mask and bias and, between integer coordinates,
 * quadratic along a line in offset space (bilinear weights), so central differences are exact up to
 * rounding and the check can be tight.
 */
import { referenceBackward } from '../conv-case.js';
import { deformConv2dF64 } from '../reference/deform-conv2d-f64.js';
import { randomConvCase } from '../random-cases.js';
import { CONV_OP } from './conv-op.js';
import { runGradcheck } from './directional-gradcheck.js';
import type { SuiteContext } from './types.js';

const CASES = 4;
/** Step of the central differences; sampling positions move by at most ~4h < 0.05, never crossing an integer. */
const STEP = 1e-3;

export function gradcheckSuite(ctx: SuiteContext): Promise<void> {
  return runGradcheck(ctx, CONV_OP, {
    cases: CASES,
    draw(rng) {
      const c = randomConvCase(rng, {
        offsets: 'smooth',
        batch: [1, 2],
        maxImage: 6,
        maxChannels: 4,
        maxKernel: 3,
        maxMacs: 3000,
        masks: ['sigmoid', 'raw', 'none'],
      });
      return { c, ref: referenceBackward(c), step: STEP };
    },
    outputWith: (c, k, x) => deformConv2dF64(c.geometry, { ...c, [k]: x }),
  });
}
