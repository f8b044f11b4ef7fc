/**
 * @dcnv2/conformance: the suite every dcnv2 backend must pass (golden vectors, properties, fuzzing and
 * gradient checks against a float64 reference, a cross-check with onnxruntime-web, and agreement between
 * backends), as a library for a backend's own tests and as the `dcnv2-conformance` CLI.
 */
export { runConformance, DEFAULT_SEED, DEFAULT_FUZZ_CASES, DEFAULT_BLOCKED_CASES, type ConformanceOptions, type ConformanceResult } from './run-conformance.js';
export { SUITE_NAMES, type SuiteName, type ConformanceRow, type SkipEntry, type SuiteContext } from './suites/types.js';
export { PROPERTIES } from './suites/properties.js';
export { formatReport, formatRow, formatHeader, formatSkip, formatSummary, type ReportOptions } from './format.js';
export {
  CONV_TENSORS,
  TOLERANCE_RULES,
  defaultTolerance,
  caseTolerance,
  pairTolerance,
  type ConvTensorName,
  type Tolerance,
} from './tolerances.js';
export { compareTensors, type Comparison } from './compare.js';
export {
  loadVectors,
  parseVectors,
  defaultVectorsDir,
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
export { Rng } from './random.js';
export * from './onnx/index.js';
export { workspacePackages, packageEntry, type WorkspacePackage } from './workspace.js';
