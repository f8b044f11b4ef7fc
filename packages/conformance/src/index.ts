/**
 * @dcnv2/conformance: the suite every dcnv2 backend must pass (golden vectors, properties, fuzzing and
 * gradient checks against a float64 reference, a cross-check with onnxruntime-web, and agreement between
 * backends), as a library for a backend's own tests and as the `dcnv2-conformance` CLI.
 */
export { runConformance, DEFAULT_SEED, DEFAULT_FUZZ_CASES, DEFAULT_BLOCKED_CASES, type ConformanceOptions, type ConformanceResult } from './run-conformance.js';
export { checkConformanceSuite, type SuiteCheck, type SuiteCheckOptions } from './suite-check.js';
export { SUITE_NAMES, type SuiteName, type ConformanceRow, type SkipEntry, type SuiteContext } from './suites/types.js';
export { PROPERTIES } from './suites/properties.js';
// The extension API: what an op defined outside core (core's defineOp) needs to run the shared suites.
export { checkOpCase, referenceExpectationOf, backendExpectationOf, type OpKit, type OpCase, type OpGrads, type OpTensorName, type Expectation, type CheckOptions } from './suites/op-kit.js';
export { runGolden, runCross, runFuzz, type GoldenCase } from './suites/op-suites.js';
export { formatReport, formatRow, formatHeader, formatSkip, formatSummary, type ReportOptions } from './format.js';
export {
  CONV_TENSORS,
  TOLERANCE_RULES,
  TOLERANCE_RULES_F16,
  FLOAT16_UNIT_ROUNDOFF,
  defaultTolerance,
  caseTolerance,
  exactTolerance,
  pairTolerance,
  precisionOf,
  type ConvTensorName,
  type Precision,
  type Tolerance,
} from './tolerances.js';
export { compareTensors, closerExpectation, type Comparison } from './compare.js';
export { roundToFloat16, roundCaseToFloat16 } from './suites/conv-op.js';
export {
  loadVectors,
  parseVectors,
  defaultVectorsDir,
  packagedVectorsDir,
  defaultVectorsFiles,
  VectorsError,
  VECTOR_OPS,
  ROI_POOL_TENSORS,
  type VectorsOp,
  type Vectors,
  type ConvVectors,
  type ConvVectorCase,
  type RoiPoolVectors,
  type RoiPoolVectorCase,
  type RoiPoolVectorParams,
  type RoiPoolTensorName,
  type VectorTensor,
} from './vectors.js';
export {
  deformConv2dF64,
  deformConv2dBackwardF64,
  bilinear,
  bilinearGradient,
  type ConvTensors,
  type ConvGradsF64,
  type Values,
} from './reference/deform-conv2d-f64.js';
export { conv2dF64 } from './reference/conv2d-f64.js';
export { referenceBackend, referenceProvider, createReferenceBackend } from './reference/reference-backend.js';
export {
  backendForward,
  backendBackward,
  referenceForward,
  referenceBackward,
  convParams,
  describeCase,
  hasBackward,
  type ConvCase,
  type BackendGrads,
} from './conv-case.js';
export { randomConvCase, blockedConvCase, randomCaseData, makeGeometry, awayFromIntegers, type RandomCaseOptions, type ConvSpec, type MaskKind, type OffsetStyle } from './random-cases.js';
export { Rng, uniformSource, uniformTensor } from './random.js';
export {
  deformRoiPoolF64,
  deformRoiPoolBackwardF64,
  roiFrame,
  binSamplePositions,
  type RoiPoolTensors,
  type RoiPoolGradsF64,
  type RoiFrame,
} from './reference/deform-roi-pool-f64.js';
export { roiAlignF64, roiAlignBackwardF64, type RoiAlignParams } from './reference/roi-align-f64.js';
export {
  backendRoiForward,
  backendRoiBackward,
  referenceRoiForward,
  referenceRoiBackward,
  roiPoolParams,
  describeRoiCase,
  hasRoiPool,
  hasRoiPoolBackward,
  withRoiTensors,
  ROI_GRAD_NAMES,
  type RoiPoolCase,
  type RoiBackendGrads,
} from './roi-pool-case.js';
export {
  randomRoiCase,
  blockedRoiCase,
  randomRoiCaseData,
  roiCaseClear,
  roiCaseWork,
  type RandomRoiCaseOptions,
  type RoiGeometrySpec,
  type RoiOffsetKind,
  type RoiMaskKind,
  type RoiPlacement,
  type RoiDataOptions,
} from './random-roi-cases.js';
export {
  ROI_POOL_TOLERANCE_RULES,
  defaultRoiPoolTolerance,
  roiPoolCaseTolerance,
  offsetLever,
  roiGradTensorName,
} from './tolerances-roi-pool.js';
export { ROI_SUITES, ROI_PROPERTIES, roiSuiteLabel, roiVectorProblem } from './suites/roi-pool/index.js';
export * from './onnx/index.js';
export { workspacePackages, packageEntry, type WorkspacePackage } from './workspace.js';
