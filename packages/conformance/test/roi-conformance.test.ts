/**
 * The deform_roi_pool suites run against the float64 reference backend: every suite must pass on it
 * (golden passing proves the reference reproduces the generator's float64 torch reference), what cannot
 * run is reported as skipped, and a backend's failures are rows, not crashes.
 */
import { describe, expect, it } from 'vitest';
import type { Backend } from '@dcnv2/core';
import { ortAvailable } from '../src/onnx/index.js';
import { ONNX_ROI_CASES } from '../src/suites/roi-pool/onnx.js';
import { createReferenceBackend, DEFAULT_BLOCKED_CASES, DEFAULT_FUZZ_CASES, formatReport, ROI_PROPERTIES, referenceBackend, runConformance, type ConformanceResult } from '../src/index.js';
import { withKernelHooks, withoutKernels } from './kernel-hooks.js';

function expectClean(r: ConformanceResult): void {
  expect(r.failed, formatReport(r, { quiet: true })).toBe(0);
  expect(r.passed).toBeGreaterThan(0);
}

const op = 'deform_roi_pool' as const;

describe('every RoI pooling suite passes on the float64 reference backend', () => {
  it('roi-golden: all 6 cases, output and every gradient present', async () => {
    const r = await runConformance({ backend: referenceBackend, op, suites: ['golden'] });
    expectClean(r);
    expect(new Set(r.rows.map((row) => row.case)).size).toBe(6);
    // 6 cases x 4 tensors, less grad_offset and grad_mask of no_offset_no_mask
    expect(r.rows.length).toBe(6 * 4 - 2);
    expect(r.rows.every((row) => row.suite === 'roi-golden')).toBe(true);
    // float64 against float64-then-float32: nothing but the last rounding
    for (const row of r.rows) expect(row.maxAbsError).toBeLessThan(1e-6);
    expect(r.skipped).toEqual([]);
  });

  it('roi-properties: every property, forward and gradients', async () => {
    const r = await runConformance({ backend: referenceBackend, op, suites: ['properties'] });
    expectClean(r);
    const names = new Set(r.rows.map((row) => row.case.split('#')[0]));
    expect([...names].sort()).toEqual(ROI_PROPERTIES.map((p) => p.name).sort());
    expect([...names].sort()).toEqual(
      [
        'empty_problems',
        'linear_in_mask',
        'nan_offset_propagates_locally',
        'no_offset_no_mask_is_roi_align',
        'outside_image_gives_zero',
        'permuting_rois_permutes_outputs',
        'unit_mask_equals_no_mask',
        'zero_offset_equals_no_offset',
      ].sort(),
    );
    for (const t of ['output', 'grad_input', 'grad_offset', 'grad_mask']) expect(r.rows.some((row) => row.tensor === t)).toBe(true);
    // Exactly zero is exactly zero, on both sides of the image border.
    const outside = r.rows.filter((row) => row.case.startsWith('outside_image_gives_zero'));
    expect(outside.some((row) => row.case.endsWith('(near)'))).toBe(true);
    for (const row of outside) expect(row).toMatchObject({ atol: 0, rtol: 0, maxAbsError: 0 });
  });

  it('roi-fuzz: 300 seeded cases and 4 large ones by default, forward and every gradient', async () => {
    const r = await runConformance({ backend: referenceBackend, op, suites: ['fuzz'] });
    expectClean(r);
    const cases = [...new Set(r.rows.map((row) => row.case))];
    expect(cases.filter((c) => c.startsWith('fuzz#')).length).toBe(DEFAULT_FUZZ_CASES);
    expect(cases.filter((c) => c.startsWith('fuzz-blocked#')).length).toBe(DEFAULT_BLOCKED_CASES);
    for (const t of ['output', 'grad_input', 'grad_offset', 'grad_mask']) expect(r.rows.some((row) => row.tensor === t)).toBe(true);
  });

  it('roi-fuzz: the seed changes the cases and the same seed repeats them', async () => {
    const a = await runConformance({ backend: referenceBackend, op, suites: ['fuzz'], fuzzCases: 20, blockedCases: 0, seed: 1 });
    const b = await runConformance({ backend: referenceBackend, op, suites: ['fuzz'], fuzzCases: 20, blockedCases: 0, seed: 1 });
    const c = await runConformance({ backend: referenceBackend, op, suites: ['fuzz'], fuzzCases: 20, blockedCases: 0, seed: 2 });
    expect(b.rows).toEqual(a.rows);
    expect(c.rows.map((row) => row.detail ?? row.maxAbsError)).not.toEqual(a.rows.map((row) => row.detail ?? row.maxAbsError));
  });

  it('roi-gradcheck: the reference backward matches finite differences, and so does the backend', async () => {
    const r = await runConformance({ backend: referenceBackend, op, suites: ['gradcheck'] });
    expectClean(r);
    const self = r.rows.filter((row) => row.case.endsWith('f64-reference'));
    // input in all 4 cases, offset in the first three, mask in all but the third (sigmoid, raw, none, sigmoid)
    expect(self.length).toBe(4 + 3 + 3);
    expect(self.filter((row) => row.tensor === 'grad_offset').length).toBe(3);
    for (const row of self) expect(row.maxAbsError).toBeLessThan(1e-8);
    expect(r.rows.some((row) => row.case.endsWith(' reference'))).toBe(true);
  });

  it('roi-cross: two backends agree; with none to compare, the suite is skipped with a reason', async () => {
    const r = await runConformance({ backend: referenceBackend, others: [createReferenceBackend()], op, suites: ['cross'] });
    expectClean(r);
    expect(new Set(r.rows.map((row) => row.case)).size).toBe(20);
    const alone = await runConformance({ backend: referenceBackend, op, suites: ['cross'] });
    expect(alone.rows).toEqual([]);
    expect(alone.skipped).toEqual([{ suite: 'roi-cross', reason: expect.stringContaining('no other backend') }]);
  });

  it('roi-onnx: without offset and mask, agrees with onnxruntime-web RoiAlign (or says why it could not run)', async () => {
    const r = await runConformance({ backend: referenceBackend, op, suites: ['onnx'] });
    const ort = await ortAvailable();
    if (ort.ok) {
      expectClean(r);
      expect(r.rows.length).toBe(ONNX_ROI_CASES);
    } else {
      expect(r.skipped).toEqual([{ suite: 'roi-onnx', reason: expect.stringContaining(ort.reason) }]);
    }
  });
});

describe('what is not run is reported as skipped, never as passed', () => {
  const forwardOnly: Backend = withoutKernels(createReferenceBackend(), 'roi-forward-only', [['deform_roi_pool', 'backward']]);

  it('a backend without RoI pooling backward: no gradient rows, one skip per suite', async () => {
    const r = await runConformance({ backend: forwardOnly, op, suites: ['golden', 'fuzz', 'properties', 'gradcheck'], fuzzCases: 20 });
    expectClean(r);
    expect(r.rows.filter((row) => row.tensor.startsWith('grad_') && !row.case.endsWith('f64-reference'))).toEqual([]);
    expect(r.skipped.map((s) => s.suite).sort()).toEqual(['deform_roi_pool', 'roi-fuzz', 'roi-golden', 'roi-gradcheck', 'roi-properties']);
    expect(r.missing).toEqual([{ op: 'deform_roi_pool', direction: 'backward' }]);
    for (const s of r.skipped.slice(1)) expect(s.reason).toContain('no RoI pooling backward');
  });

  it('a float16 backend is skipped with the reason: the RoI rules are float32 rules', async () => {
    const half: Backend = { ...createReferenceBackend(), name: 'half', precision: 'float16' };
    const r = await runConformance({ backend: half, op });
    expect(r.rows).toEqual([]);
    expect(r.skipped).toEqual([{ suite: 'deform_roi_pool', reason: expect.stringContaining('stores float16') }]);
    const cross = await runConformance({ backend: referenceBackend, others: [half], op, suites: ['cross'] });
    expect(cross.rows).toEqual([]);
    expect(cross.skipped[0].reason).toContain('half: float16 storage, not compared');
  });

  it('cross leaves out, with the reason, other backends that cannot pool', async () => {
    const noRoi = withoutKernels(createReferenceBackend(), 'no-roi', [['deform_roi_pool', 'forward'], ['deform_roi_pool', 'backward']]);
    const r = await runConformance({ backend: referenceBackend, others: [noRoi], op, suites: ['cross'] });
    expect(r.rows).toEqual([]);
    expect(r.skipped.map((s) => s.reason)).toEqual([expect.stringContaining('no-roi: no deform_roi_pool forward kernel'), expect.stringContaining('no other backend')]);
  });

  it('a backend that throws fails its rows with the error, and the run goes on', async () => {
    const broken = withKernelHooks(createReferenceBackend(), 'throws', {
      deformRoiPool() {
        throw new Error('roi kernel exploded');
      },
    });
    const r = await runConformance({ backend: broken, op, suites: ['golden'] });
    const outputs = r.rows.filter((row) => row.tensor === 'output');
    expect(outputs).toHaveLength(6);
    for (const row of outputs) {
      expect(row.pass).toBe(false);
      expect(row.detail).toContain('roi kernel exploded');
    }
    // backward still ran and passed
    expect(r.passed).toBe(6 * 3 - 2);
  });
});
