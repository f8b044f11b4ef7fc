/**
 * The project's conformance suites on the WebGPU backend (Dawn + SwiftShader in Node): golden, properties,
 * fuzz, onnx, gradcheck and cross (against the float64 reference and the cpu backend), forward and
 * backward (gradient rows run because `capabilities.backward` is true), for deform_conv2d and for
 * deform_roi_pool.
 */
import { createCpuBackend } from '@dcnv2/backend-cpu';
import { checkConformanceSuite, createReferenceBackend, SUITE_NAMES } from '@dcnv2/conformance';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWebGpuBackend } from '../dist/index.js';
import { nodeGpu } from './gpu.js';

// adversarial's 2000x2000 reduction alone takes about a minute on SwiftShader; with the other test files
// running beside it on 2 busy cores the suite has taken over 180 s.
const suiteTimeout = (suite: string): number => (suite === 'adversarial' ? 600_000 : 180_000);

describe('webgpu backend conformance', () => {
  const backend = createWebGpuBackend({ gpu: nodeGpu() });
  const reference = createReferenceBackend();
  const cpu = createCpuBackend();
  const all = [backend, reference, cpu];
  beforeAll(async () => { for (const b of all) await b.init(); });
  afterAll(async () => { for (const b of all) await b.dispose(); });

  // Skips are logged, not failed; `others` matter to cross only.
  for (const suite of SUITE_NAMES) {
    it(suite, async () => {
      const r = await checkConformanceSuite({ backend, others: [reference, cpu], suite, allowSkips: true, create: () => createWebGpuBackend({ gpu: nodeGpu() }) });
      console.log(r.summary);
      expect(r.problems).toEqual([]);
    }, suiteTimeout(suite));
  }
  for (const suite of SUITE_NAMES) {
    it(`deform_roi_pool ${suite}`, async () => {
      // onnx (RoiAlign) may only report that onnxruntime-web is not available here.
      const r = await checkConformanceSuite({ backend, others: [reference, cpu], op: 'deform_roi_pool', suite, allowSkips: true, allowEmpty: suite === 'onnx', create: () => createWebGpuBackend({ gpu: nodeGpu() }) });
      console.log(r.summary);
      expect(r.problems).toEqual([]);
    }, suiteTimeout(suite));
  }
});
