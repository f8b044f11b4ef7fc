/** The paper's three analyses (DCNv2 section 2.1) on tfjs LayersModels with DeformConv2D layers. */
export { type AnalysisImage, type AnalysisNode } from './common.js';
export { effectiveReceptiveField, type ErfOptions, type ErfResult } from './erf.js';
export { errorBoundedSaliency, type SaliencyOptions, type SaliencyResult } from './saliency.js';
export {
  effectiveSamplingLocations,
  type SamplingLevel,
  type SamplingLocationsOptions,
  type SamplingLocationsResult,
  type SamplingPoint,
} from './sampling-locations.js';
