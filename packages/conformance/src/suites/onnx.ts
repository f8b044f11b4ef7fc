/**
 * onnx: forward cross-check against onnxruntime-web's `DeformConv` (opset 19, wasm CPU kernel) on seeded
 * random configurations: an implementation independent of both torchvision and this package's reference.
 * ORT has no DeformConv backward, so only outputs are compared; both sides are float32, so the pair is
 * held to twice the output tolerance. Skipped, with the reason, only when onnxruntime-web cannot run here.
 */
import { createOrtDeformConv } from '../onnx/index.js';
import { randomConvCase } from '../random-cases.js';
import { CONV_OP } from './conv-op.js';
import { runOnnx } from './op-suites.js';
import type { SuiteContext } from './types.js';

export const ONNX_CASES = 40;

export function onnxSuite(ctx: SuiteContext): Promise<void> {
  return runOnnx(
    ctx,
    CONV_OP,
    ONNX_CASES,
    () => {
      const ort = createOrtDeformConv();
      return { run: (c) => ort.run(c.geometry, c), dispose: () => ort.dispose() };
    },
    (rng) => randomConvCase(rng, { batch: [1, 3] }),
  );
}
