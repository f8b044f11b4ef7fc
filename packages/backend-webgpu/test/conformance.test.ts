/**
 * The project's conformance suites on the WebGPU backend (Dawn + SwiftShader in Node): golden, properties,
 * fuzz, onnx, gradcheck and cross (against the float64 reference and the cpu backend), forward and
 * backward (gradient rows run because `capabilities.backward` is true).
 */
import type { Backend } from '@dcnv2/core';
import { createCpuBackend } from '@dcnv2/backend-cpu';
import { createReferenceBackend, formatRow, runConformance, type SuiteName } from '@dcnv2/conformance';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWebGpuBackend } from '../dist/index.js';
import { nodeGpu } from './gpu.js';

const SUITES: readonly SuiteName[] = ['golden', 'properties', 'fuzz', 'onnx', 'gradcheck', 'cross'];

describe('webgpu backend conformance', () => {
  const backend = createWebGpuBackend({ gpu: nodeGpu() });
  const reference = createReferenceBackend();
  const cpu = createCpuBackend();
  beforeAll(async () => {
    await backend.init();
    await reference.init();
    await cpu.init();
  });
  afterAll(async () => {
    await backend.dispose();
    await reference.dispose();
    await cpu.dispose();
  });

  for (const suite of SUITES) {
    it(suite, async () => {
      const others: Backend[] = suite === 'cross' ? [reference, cpu] : [reference];
      const r = await runConformance({ backend, others, suites: [suite] });
      for (const s of r.skipped) console.warn(`skipped ${s.suite}: ${s.reason}`);
      const failures = r.rows.filter((row) => !row.pass).map((row) => formatRow(row));
      expect(failures).toEqual([]);
      expect(r.passed).toBeGreaterThan(0);
      console.log(`${suite}: ${r.passed} passed, ${r.rows.length - r.passed} failed, ${r.skipped.length} skipped`);
    }, 180_000);
  }
});
