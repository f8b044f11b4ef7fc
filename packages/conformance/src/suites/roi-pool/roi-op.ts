/**
 * deform_roi_pool as the suites run it (`ROI_OP`): what op-kit.ts's `checkOpCase` and the shared suites
 * (fuzz, cross, onnx, gradcheck, properties) need to know to run and judge a RoI pooling problem.
 */
import { OPS, type RoiPoolGradName } from '@dcnv2/core';
import {
  backendRoiBackward,
  backendRoiForward,
  describeRoiCase,
  hasRoiPoolBackward,
  referenceRoiBackward,
  referenceRoiForward,
  ROI_GRAD_NAMES,
  roiGradExists,
  type RoiPoolCase,
} from '../../roi-pool-case.js';
import { blockedRoiCase, randomRoiCase } from '../../random-roi-cases.js';
import { defaultRoiPoolTolerance, roiGradTensorName } from '../../tolerances-roi-pool.js';
import type { Expectation, OpKit } from '../op-kit.js';
import { roiSuiteLabel } from './suite-label.js';

export type RoiExpectation = Expectation<RoiPoolGradName>;

/** deform_roi_pool for the suites (float32 rules only: see run-conformance). */
export const ROI_OP: OpKit<RoiPoolCase, RoiPoolGradName> = {
  label: roiSuiteLabel,
  backwardName: 'RoI pooling backward',
  gradNames: ROI_GRAD_NAMES,
  hasBackward: hasRoiPoolBackward,
  gradExists: roiGradExists,
  tensorName: roiGradTensorName,
  shapes: (c) => OPS.deform_roi_pool.shapes(c.geometry),
  tolerance: (t, c) => defaultRoiPoolTolerance(t, c.geometry, c.rois),
  describe: describeRoiCase,
  forward: backendRoiForward,
  backward: backendRoiBackward,
  referenceForward: referenceRoiForward,
  referenceBackward: referenceRoiBackward,
  randomCase: (rng) => randomRoiCase(rng),
  blockedCase: blockedRoiCase,
};
