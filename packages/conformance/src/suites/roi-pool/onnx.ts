/**
 * roi-onnx: deformable RoI pooling without offset and mask against onnxruntime-web's `RoiAlign` (opset 16,
 * half_pixel, avg: torchvision's roi_align(aligned=True)) on seeded random problems, an implementation
 * independent of this package. ONNX has no deformable RoI pooling and no RoiAlign gradient, so this checks
 * the RoIAlign core of the forward only; both sides are float32, so the pair is held to twice the output
 * tolerance. Skipped, with the reason, only when onnxruntime-web cannot run here.
 */
import { describeRoiCase } from '../../roi-pool-case.js';
import { createOrtRoiAlign, ortAvailable } from '../../onnx/index.js';
import { Rng } from '../../random.js';
import { randomRoiCase } from '../../random-roi-cases.js';
import { errorRow, type SuiteContext } from '../types.js';
import { checkRoiCase } from './check-roi-case.js';
import { roiSuiteLabel } from './suite-label.js';

const SUITE = roiSuiteLabel('onnx');
export const ONNX_ROI_CASES = 30;

export async function roiOnnxSuite(ctx: SuiteContext): Promise<void> {
  const available = await ortAvailable();
  if (!available.ok) {
    ctx.skip(`onnxruntime-web is not available: ${available.reason}`);
    return;
  }
  const ort = createOrtRoiAlign();
  const rng = Rng.derive(ctx.seed, SUITE);
  try {
    for (let i = 0; i < ONNX_ROI_CASES; i++) {
      // No degenerate RoIs: ONNX Runtime 1.30 fails a RoI of negative size under adaptive sampling with a
      // SafeInt overflow (its sample count is negative) instead of pooling it to 0.
      const c = randomRoiCase(rng, { offsets: ['none'], masks: ['none'], degenerate: 0 });
      const caseName = `onnx#${i}`;
      const note = `seed ${ctx.seed}: ${describeRoiCase(c)}`;
      let want: Float32Array;
      try {
        want = await ort.run(c.geometry, c.input, c.rois);
      } catch (e) {
        ctx.row(errorRow(SUITE, caseName, 'onnxruntime', e, note));
        continue;
      }
      const rows = await checkRoiCase(ctx.backend, c, { output: want }, { suite: SUITE, caseName, toleranceFactor: 2, note });
      rows.forEach((r) => ctx.row(r));
    }
  } finally {
    await ort.dispose();
  }
}
