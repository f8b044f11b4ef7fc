/**
 * The project's conformance suites on float16 storage: Dawn on lavapipe 25 (the CPU Vulkan driver with
 * shader-f16; scripts/fetch-lavapipe.sh), `precision: 'float16'`. The suites pick the float16 rule set of
 * conformance/src/tolerances.ts from `backend.precision`: the expectations stay the float32 inputs' (the
 * float64 reference, torchvision's golden values, onnxruntime, the cpu backend), so every result carries
 * the rounding of its inputs to 11 significant bits. test/precision.test.ts holds the tight check (the
 * float16-rounded problem within float32 arithmetic error plus one result rounding).
 */
import type { Backend } from '@dcnv2/core';
import { createCpuBackend } from '@dcnv2/backend-cpu';
import { createReferenceBackend, formatRow, runConformance, type SuiteName } from '@dcnv2/conformance';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWebGpuBackend } from '../dist/index.js';
import { float16Gpu } from './gpu.js';

const SUITES: readonly SuiteName[] = ['golden', 'properties', 'fuzz', 'onnx', 'gradcheck', 'cross'];

describe('webgpu backend conformance, float16 storage (lavapipe)', () => {
  const backend = createWebGpuBackend({ gpu: float16Gpu(), precision: 'float16' });
  const reference = createReferenceBackend();
  const cpu = createCpuBackend();
  beforeAll(async () => {
    await backend.init();
    await reference.init();
    await cpu.init();
    const info = backend.device.adapterInfo;
    console.log(`adapter: ${JSON.stringify({ vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description })}`);
  });
  afterAll(async () => {
    await backend.dispose();
    await reference.dispose();
    await cpu.dispose();
  });

  it('runs on a float16 device', () => {
    expect(backend.precision).toBe('float16');
    expect(backend.capabilities.float16).toBe(true);
  });

  for (const suite of SUITES) {
    it(suite, async () => {
      const others: Backend[] = suite === 'cross' ? [reference, cpu] : [reference];
      const r = await runConformance({ backend, others, suites: [suite] });
      for (const s of r.skipped) console.warn(`skipped ${s.suite}: ${s.reason}`);
      const failures = r.rows.filter((row) => !row.pass).map((row) => formatRow(row));
      expect(failures).toEqual([]);
      expect(r.skipped).toEqual([]);
      expect(r.passed).toBeGreaterThan(0);
      console.log(`${suite}: ${r.passed} passed, ${r.rows.length - r.passed} failed, ${r.skipped.length} skipped`);
    }, 180_000);
  }
});
