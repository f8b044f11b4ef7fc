/**
 * onnx: forward cross-check against onnxruntime-web's `DeformConv` (opset 19, wasm CPU kernel) on seeded
 * random configurations: an implementation independent of both torchvision and this package's reference.
 * ORT has no DeformConv backward, so only outputs are compared; both sides are float32, so the pair is
 * held to twice the output tolerance. Skipped, with the reason, only when onnxruntime-web cannot run here.
 */
import { describeCase } from '../conv-case.js';
import { createOrtDeformConv, ortAvailable } from '../onnx/index.js';
import { Rng } from '../random.js';
import { randomConvCase } from '../random-cases.js';
import { checkCase } from './check-case.js';
import { errorRow, type SuiteContext } from './types.js';

const SUITE = 'onnx';
export const ONNX_CASES = 40;

export async function onnxSuite(ctx: SuiteContext): Promise<void> {
  const available = await ortAvailable();
  if (!available.ok) {
    ctx.skip(`onnxruntime-web is not available: ${available.reason}`);
    return;
  }
  const ort = createOrtDeformConv();
  const rng = Rng.derive(ctx.seed, SUITE);
  try {
    for (let i = 0; i < ONNX_CASES; i++) {
      const c = randomConvCase(rng, { batch: [1, 3] });
      const caseName = `onnx#${i}`;
      const note = `seed ${ctx.seed}: ${describeCase(c)}`;
      let want: Float32Array;
      try {
        want = await ort.run(c.geometry, c);
      } catch (e) {
        ctx.row(errorRow(SUITE, caseName, 'onnxruntime', e, note));
        continue;
      }
      const rows = await checkCase(ctx.backend, c, { output: want }, { suite: SUITE, caseName, toleranceFactor: 2, note });
      rows.forEach((r) => ctx.row(r));
    }
  } finally {
    await ort.dispose();
  }
}
