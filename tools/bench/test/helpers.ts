import type { BenchRecord } from '../src/records.js';
import { withRatios } from '../src/records.js';

/** A plausible record for rendering and validation tests. */
export function record(over: Partial<Omit<BenchRecord, 'ratios'>> = {}): Omit<BenchRecord, 'ratios'> {
  return {
    op: 'deform_conv2d',
    impl: 'dcnv2-cpu',
    shape: 'C',
    direction: 'fwd',
    threads: 1,
    median_ms: 75,
    min_ms: 70,
    max_ms: 90,
    mean_ms: 77,
    p25_ms: 72,
    p75_ms: 80,
    runs: 10,
    gflops: 3.08,
    gflop: 0.231211,
    kind: 'deformable',
    dims: { n: 1, cin: 256, h: 14, w: 14, cout: 256, k: 3, stride: 1, pad: 1, dil: 1, groups: 1, og: 1 },
    version: '@dcnv2/backend-cpu 0.1.0',
    check: 'ok',
    check_max_abs_err: 9e-7,
    check_against: 'f64',
    peak_rss_mb: 105,
    setup_rss_mb: 55,
    rss_growth_mb: 50,
    wasm_growth_mb: null,
    wasm_total_mb: null,
    ...over,
  };
}

export function records(): BenchRecord[] {
  return withRatios([
    record(),
    record({ impl: 'ort-web', median_ms: 15, min_ms: 12, max_ms: 20, wasm_growth_mb: 0, wasm_total_mb: 34, version: 'onnxruntime-web 1.30.0' }),
    record({ impl: 'ort-web', threads: 2, median_ms: 9, min_ms: 8, max_ms: 11, wasm_growth_mb: 0, wasm_total_mb: 34 }),
    record({ impl: 'ort-node', median_ms: 3, min_ms: 2.5, max_ms: 4 }),
    record({ impl: 'dense-tfjs-wasm', kind: 'dense', median_ms: 25, min_ms: 20, max_ms: 30, check_against: 'plain conv f64' }),
    record({ impl: 'dcnv2-cpu', direction: 'fwdbwd', median_ms: 240, min_ms: 220, max_ms: 250, gflop: 0.693633 }),
    record({ impl: 'torchvision', direction: 'fwdbwd', median_ms: 200, min_ms: 190, max_ms: 240, gflop: 0.693633 }),
  ]);
}

/** A plausible RoI pooling record (R1). */
export function roiRecord(over: Partial<Omit<BenchRecord, 'ratios'>> = {}): Omit<BenchRecord, 'ratios'> {
  return record({
    op: 'deform_roi_pool',
    shape: 'R1',
    median_ms: 40,
    min_ms: 35,
    max_ms: 50,
    mean_ms: 41,
    p25_ms: 38,
    p75_ms: 44,
    gflops: 2.57,
    gflop: 0.102760448,
    dims: { n: 1, c: 256, h: 50, w: 84, rois: 256, ph: 7, pw: 7, ratio: 2, scale: 0.0625 },
    check_max_abs_err: 1.2e-7,
    ...over,
  });
}

/** A RoI pooling run: dcnv2 modulated and plain, the RoIAlign peers; and a convolution record of the same run. */
export function roiRecords(): BenchRecord[] {
  return withRatios([
    roiRecord(),
    roiRecord({ impl: 'dcnv2-cpu-plain', kind: 'plain', median_ms: 30, min_ms: 28, max_ms: 33, check_against: 'RoIAlign f64' }),
    roiRecord({ impl: 'roialign-torchvision', kind: 'plain', median_ms: 10, min_ms: 9, max_ms: 12, check_against: 'RoIAlign f64', version: 'torch 1.13.0' }),
    roiRecord({ impl: 'roialign-ort-node', kind: 'plain', median_ms: 20, min_ms: 18, max_ms: 25, check_against: 'RoIAlign f64' }),
    roiRecord({ direction: 'fwdbwd', median_ms: 120, min_ms: 110, max_ms: 130, gflop: 0.308281344 }),
    roiRecord({ impl: 'roialign-torchvision', kind: 'plain', direction: 'fwdbwd', median_ms: 40, min_ms: 38, max_ms: 45, check_against: 'RoIAlign f64' }),
    record(),
  ]);
}
