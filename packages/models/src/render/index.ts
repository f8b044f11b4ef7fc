/** PNG renderers of the three analyses (fast-png; platform-free). */
export { colorOf, type ColorMapName, type RenderImage, type RenderOptions } from './common.js';
export { renderHeatmap, type HeatmapRenderOptions } from './erf.js';
export { renderMask, type MaskRenderOptions } from './saliency.js';
export { renderSamplingLocations, type SamplingRenderOptions } from './sampling.js';
