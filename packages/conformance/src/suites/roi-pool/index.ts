/**
 * The deform_roi_pool suites, by the same names as the convolution's (`--suite golden,fuzz` selects them
 * for both ops); their rows are labelled `roi-<suite>`. ONNX has no deformable RoI pooling, so roi-onnx
 * checks the part it does have: RoiAlign, i.e. the op without offset and mask.
 */
import type { Suite, SuiteName } from '../types.js';
import { roiAdversarialSuite } from '../adversarial/roi-probes.js';
import { roiCrossSuite } from './cross.js';
import { roiFuzzSuite } from './fuzz.js';
import { roiGoldenSuite } from './golden.js';
import { roiGradcheckSuite } from './gradcheck.js';
import { roiOnnxSuite } from './onnx.js';
import { roiPropertiesSuite } from './properties.js';

export const ROI_SUITES: Readonly<Record<SuiteName, Suite>> = {
  golden: roiGoldenSuite,
  properties: roiPropertiesSuite,
  fuzz: roiFuzzSuite,
  onnx: roiOnnxSuite,
  gradcheck: roiGradcheckSuite,
  cross: roiCrossSuite,
  adversarial: roiAdversarialSuite,
};

export { roiSuiteLabel } from './suite-label.js';
export { ROI_PROPERTIES } from './properties.js';
export { roiVectorProblem } from './golden.js';
