/**
 * roi-onnx: deformable RoI pooling without offset and mask against onnxruntime-web's `RoiAlign` (opset 16,
 * half_pixel, avg: torchvision's roi_align(aligned=True)) on seeded random problems, an implementation
 * independent of this package. ONNX has no deformable RoI pooling and no RoiAlign gradient, so this checks
 * the RoIAlign core of the forward only; both sides are float32, so the pair is held to twice the output
 * tolerance. Skipped, with the reason, only when onnxruntime-web cannot run here.
 */
import { createOrtRoiAlign } from '../../onnx/index.js';
import { randomRoiCase } from '../../random-roi-cases.js';
import { runOnnx } from '../op-suites.js';
import type { SuiteContext } from '../types.js';
import { ROI_OP } from './roi-op.js';

export const ONNX_ROI_CASES = 30;

export function roiOnnxSuite(ctx: SuiteContext): Promise<void> {
  return runOnnx(
    ctx,
    ROI_OP,
    ONNX_ROI_CASES,
    () => {
      const ort = createOrtRoiAlign();
      return { run: (c) => ort.run(c.geometry, c.input, c.rois), dispose: () => ort.dispose() };
    },
    // No degenerate RoIs: ONNX Runtime 1.30 fails a RoI of negative size under adaptive sampling with a
    // SafeInt overflow (its sample count is negative) instead of pooling it to 0.
    (rng) => randomRoiCase(rng, { offsets: ['none'], masks: ['none'], degenerate: 0 }),
  );
}
