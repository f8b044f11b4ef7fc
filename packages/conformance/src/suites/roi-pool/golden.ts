/**
 * roi-golden: every case of every deform_roi_pool vectors file (the project's golden set by default, or
 * any file in that format), forward and each gradient present in the file, against the file's values.
 */
import { roiPoolShapes } from '@dcnv2/core';
import { backendRoiBackward, backendRoiForward, hasRoiPoolBackward, ROI_GRAD_NAMES, type RoiPoolCase } from '../../roi-pool-case.js';
import { roiGradTensorName, roiPoolCaseTolerance } from '../../tolerances-roi-pool.js';
import type { RoiPoolVectorCase, RoiPoolVectors } from '../../vectors.js';
import { forEachGoldenCase } from '../golden-cases.js';
import { comparisonRow, errorRow, type SuiteContext } from '../types.js';
import { roiSuiteLabel } from './suite-label.js';

const SUITE = roiSuiteLabel('golden');

/** A vectors case as a runnable problem (the loader has already checked its shapes against each other). */
export function roiVectorProblem(vc: RoiPoolVectorCase): RoiPoolCase {
  const [N, C, H, W] = vc.input.shape;
  const [ph, pw] = vc.params.outputSize;
  return {
    geometry: {
      batch: N,
      channels: C,
      inHeight: H,
      inWidth: W,
      rois: vc.rois.shape[0],
      pooledH: ph,
      pooledW: pw,
      spatialScale: vc.params.spatialScale,
      samplingRatio: vc.params.samplingRatio,
      gamma: vc.params.gamma,
      hasOffset: vc.offset !== null,
      hasMask: vc.mask !== null,
    },
    input: vc.input.data,
    rois: vc.rois.data,
    offset: vc.offset?.data ?? null,
    mask: vc.mask?.data ?? null,
    gradOutput: vc.gradOutput?.data ?? null,
  };
}

export async function roiGoldenSuite(ctx: SuiteContext): Promise<void> {
  const backward = hasRoiPoolBackward(ctx.backend);
  let skippedGrads = false;
  await forEachGoldenCase<RoiPoolVectors>(ctx, SUITE, 'deform_roi_pool', async (label, vc) => {
    const p = roiVectorProblem(vc);
    const g = p.geometry;
    const shapes = roiPoolShapes(g);
    const expectedOutput = vc.expected.output;
    if (expectedOutput !== undefined) {
      try {
        const out = await backendRoiForward(ctx.backend, p);
        ctx.row(comparisonRow(SUITE, label, 'output', out, expectedOutput.data, roiPoolCaseTolerance('output', g, p.rois, vc.tolerance.output), shapes.output));
      } catch (e) {
        ctx.row(errorRow(SUITE, label, 'output', e));
      }
    }
    const wanted = ROI_GRAD_NAMES.filter((k) => vc.expected[roiGradTensorName(k)] !== undefined);
    if (wanted.length === 0) return;
    if (!backward) {
      skippedGrads = true;
      return;
    }
    try {
      const grads = await backendRoiBackward(ctx.backend, p, wanted);
      for (const k of wanted) {
        const name = roiGradTensorName(k);
        const got = grads[k];
        const tol = roiPoolCaseTolerance(name, g, p.rois, vc.tolerance[name]);
        if (got === undefined) ctx.row(errorRow(SUITE, label, name, new Error('backend returned no gradient')));
        else ctx.row(comparisonRow(SUITE, label, name, got, vc.expected[name]!.data, tol, shapes[k]));
      }
    } catch (e) {
      for (const k of wanted) ctx.row(errorRow(SUITE, label, roiGradTensorName(k), e));
    }
  });
  if (skippedGrads) ctx.skip('backend has no RoI pooling backward');
}
