/**
 * The project's conformance suites on float16 storage: Dawn on lavapipe 25 (the CPU Vulkan driver with
 * shader-f16; scripts/fetch-lavapipe.sh), `precision: 'float16'`. The suites pick the float16 rule set of
 * conformance/src/tolerances.ts from `backend.precision`: the expectations stay the float32 inputs' (the
 * float64 reference, torchvision's golden values, onnxruntime, the cpu backend), so every result carries
 * the rounding of its inputs to 11 significant bits. test/precision.test.ts holds the tight check (the
 * float16-rounded problem within float32 arithmetic error plus one result rounding).
 */
import { createCpuBackend } from '@dcnv2/backend-cpu';
import { checkConformanceSuite, createReferenceBackend, SUITE_NAMES } from '@dcnv2/conformance';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWebGpuBackend } from '../dist/index.js';
import { float16Gpu } from './gpu.js';

describe('webgpu backend conformance, float16 storage (lavapipe)', () => {
  const backend = createWebGpuBackend({ gpu: float16Gpu(), precision: 'float16' });
  const reference = createReferenceBackend();
  const cpu = createCpuBackend();
  beforeAll(async () => {
    for (const b of [backend, reference, cpu]) await b.init();
    const info = backend.device.adapterInfo;
    console.log(`adapter: ${JSON.stringify({ vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description })}`);
  });
  afterAll(async () => {
    for (const b of [backend, reference, cpu]) await b.dispose();
  });

  it('runs on a float16 device', () => {
    expect(backend.precision).toBe('float16');
    expect(backend.capabilities.float16).toBe(true);
  });

  // Every suite must run (no skips) and pass; `others` matter to cross only.
  for (const suite of SUITE_NAMES) {
    it(suite, async () => {
      const r = await checkConformanceSuite({ backend, others: [reference, cpu], suite, create: () => createWebGpuBackend({ gpu: float16Gpu(), precision: 'float16' }) });
      console.log(r.summary);
      expect(r.problems).toEqual([]);
    }, 180_000);
  }
});
