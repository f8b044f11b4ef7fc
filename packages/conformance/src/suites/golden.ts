/**
 * golden: every case of every vectors file, forward and each of the five gradients present in the file,
 * against the file's expected values (torchvision's for the project's golden set).
 */
import { convShapes } from '@dcnv2/core';
import { backendBackward, backendForward, GRAD_NAMES, hasBackward } from '../conv-case.js';
import { closerExpectation } from '../compare.js';
import { caseTolerance, gradTensorName, precisionOf } from '../tolerances.js';
import { offsetGradAtStoredInputs } from './conv-op.js';
import type { ConvVectors } from '../vectors.js';
import { forEachGoldenCase } from './golden-cases.js';
import { comparisonRow, errorRow, type SuiteContext } from './types.js';

const SUITE = 'golden';

export async function goldenSuite(ctx: SuiteContext): Promise<void> {
  const backward = hasBackward(ctx.backend);
  const precision = precisionOf(ctx.backend);
  let skippedGrads = false;
  await forEachGoldenCase<ConvVectors>(ctx, SUITE, 'deform_conv2d', async (label, vc) => {
    const p = vc.problem;
    const g = p.geometry;
    const shapes = convShapes(g);
    if (vc.expected.output !== undefined) {
      try {
        const out = await backendForward(ctx.backend, p);
        ctx.row(comparisonRow(SUITE, label, 'output', out, vc.expected.output, caseTolerance('output', g, vc.tolerance.output, precision), shapes.output));
      } catch (e) {
        ctx.row(errorRow(SUITE, label, 'output', e));
      }
    }
    const wanted = GRAD_NAMES.filter((k) => vc.expected[gradTensorName(k)] !== undefined);
    if (wanted.length === 0) return;
    if (!backward) {
      skippedGrads = true;
      return;
    }
    try {
      const grads = await backendBackward(ctx.backend, p);
      for (const k of wanted) {
        const name = gradTensorName(k);
        const got = grads[k];
        const tol = caseTolerance(name, g, vc.tolerance[name], precision);
        if (got === undefined) {
          ctx.row(errorRow(SUITE, label, name, new Error('backend returned no gradient')));
          continue;
        }
        let want: ArrayLike<number> = vc.expected[name]!;
        // float16: a position rounded across an integer may take the other one-sided derivative (tolerances.ts).
        if (k === 'offset' && precision === 'float16') want = closerExpectation(got, want, offsetGradAtStoredInputs(ctx.backend, p), tol);
        ctx.row(comparisonRow(SUITE, label, name, got, want, tol, shapes[k]));
      }
    } catch (e) {
      for (const k of wanted) ctx.row(errorRow(SUITE, label, gradTensorName(k), e));
    }
  });
  if (skippedGrads) ctx.skip('backend has no backward');
}
