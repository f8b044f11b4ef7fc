/**
 * The suite run against the float64 reference backend: every suite must pass on it (golden passing
 * proves the reference reproduces torchvision), and the reference's own backward must match finite
 * differences.
 */
import { describe, expect, it } from 'vitest';
import type { Backend } from '@dcnv2/core';
import {
  checkConformanceSuite,
  createReferenceBackend,
  DEFAULT_BLOCKED_CASES,
  DEFAULT_FUZZ_CASES,
  formatReport,
  referenceBackend,
  runConformance,
  type ConformanceResult,
} from '../src/index.js';
import { withKernelHooks, withoutKernels } from './kernel-hooks.js';
import { ortAvailable } from '../src/onnx/index.js';

function expectClean(r: ConformanceResult): void {
  expect(r.failed, formatReport(r, { quiet: true })).toBe(0);
  expect(r.passed).toBeGreaterThan(0);
}

describe('every suite passes on the float64 reference backend', () => {
  it('golden: all 17 torchvision cases, output and every gradient present', async () => {
    const r = await runConformance({ backend: referenceBackend, suites: ['golden'] });
    expectClean(r);
    expect(new Set(r.rows.map((row) => row.case)).size).toBe(17);
    // 17 cases x 6 tensors, less grad_mask and grad_bias of the one case without mask and bias
    expect(r.rows.length).toBe(17 * 6 - 2);
    expect(r.skipped).toEqual([]);
  });

  it('properties: every property, forward and gradients', async () => {
    const r = await runConformance({ backend: referenceBackend, suites: ['properties'] });
    expectClean(r);
    const names = new Set(r.rows.map((row) => row.case.split('#')[0]));
    expect([...names].sort()).toEqual(
      [
        'groups_decompose',
        'integer_shift_is_shifted_conv2d',
        'linear_in_mask',
        'linear_in_weight',
        'nan_propagates_locally',
        'no_mask_equals_unit_mask',
        'offset_groups_decompose',
        'outside_image_gives_bias',
        'zero_offset_is_conv2d',
      ].sort(),
    );
    expect(r.rows.some((row) => row.tensor === 'grad_offset')).toBe(true);
  });

  it('fuzz: 300 seeded cases and 4 large ones by default, forward and gradients', async () => {
    const r = await runConformance({ backend: referenceBackend, suites: ['fuzz'] });
    expectClean(r);
    const cases = [...new Set(r.rows.map((row) => row.case))];
    expect(cases.filter((c) => c.startsWith('fuzz#')).length).toBe(DEFAULT_FUZZ_CASES);
    expect(cases.filter((c) => c.startsWith('fuzz-blocked#')).length).toBe(DEFAULT_BLOCKED_CASES);
    for (const t of ['output', 'grad_input', 'grad_offset', 'grad_mask', 'grad_weight', 'grad_bias']) {
      expect(r.rows.some((row) => row.tensor === t)).toBe(true);
    }
  });

  it('fuzz: the seed changes the cases and the same seed repeats them', async () => {
    const a = await runConformance({ backend: referenceBackend, suites: ['fuzz'], fuzzCases: 20, seed: 1 });
    const b = await runConformance({ backend: referenceBackend, suites: ['fuzz'], fuzzCases: 20, seed: 1 });
    const c = await runConformance({ backend: referenceBackend, suites: ['fuzz'], fuzzCases: 20, seed: 2 });
    expect(b.rows).toEqual(a.rows);
    expect(c.rows.map((r) => r.maxAbsError)).not.toEqual(a.rows.map((r) => r.maxAbsError));
  });

  it('gradcheck: the reference backward matches finite differences, and so does the backend', async () => {
    const r = await runConformance({ backend: referenceBackend, suites: ['gradcheck'] });
    expectClean(r);
    const self = r.rows.filter((row) => row.case.endsWith('f64-reference'));
    expect(self.length).toBeGreaterThanOrEqual(4 * 3);
    // The self-check is a float64 check: its bound is tight.
    for (const row of self) expect(row.maxAbsError).toBeLessThan(1e-8);
    expect(r.rows.some((row) => row.case.endsWith(' reference'))).toBe(true);
  });

  it('onnx: agrees with onnxruntime-web DeformConv (or says why it could not run)', async () => {
    const r = await runConformance({ backend: referenceBackend, suites: ['onnx'] });
    const ort = await ortAvailable();
    if (ort.ok) {
      expectClean(r);
      expect(r.rows.length).toBe(40);
    } else {
      expect(r.skipped).toEqual([{ suite: 'onnx', reason: expect.stringContaining(ort.reason) }]);
    }
  });

  it('cross: two backends agree; with none to compare, the suite is skipped with a reason', async () => {
    const r = await runConformance({ backend: referenceBackend, others: [createReferenceBackend()], suites: ['cross'] });
    expectClean(r);
    expect(r.rows.length).toBeGreaterThan(20);
    const alone = await runConformance({ backend: referenceBackend, suites: ['cross'] });
    expect(alone.rows).toEqual([]);
    expect(alone.skipped).toEqual([{ suite: 'cross', reason: expect.stringContaining('no other backend') }]);
  });

  it('all suites by default, rows streamed through onRow', async () => {
    const streamed: unknown[] = [];
    const r = await runConformance({ backend: referenceBackend, fuzzCases: 30, onRow: (row) => streamed.push(row) });
    expectClean(r);
    expect(streamed).toEqual(r.rows);
    expect(new Set(r.rows.map((row) => row.suite))).toEqual(new Set(['golden', 'properties', 'fuzz', 'gradcheck', 'adversarial', ...((await ortAvailable()).ok ? ['onnx'] : [])]));
  });
});

describe('what is not run is reported as skipped, never as passed', () => {
  const forwardOnly: Backend = withoutKernels(createReferenceBackend(), 'forward-only', [['deform_conv2d', 'backward']]);

  it('a backend without backward: no gradient rows, "backend has no backward" per suite', async () => {
    const r = await runConformance({ backend: forwardOnly, suites: ['golden', 'fuzz', 'properties', 'gradcheck'], fuzzCases: 20 });
    expectClean(r);
    expect(r.rows.filter((row) => row.tensor.startsWith('grad_') && !row.case.endsWith('f64-reference'))).toEqual([]);
    expect(r.skipped.map((s) => s.suite).sort()).toEqual(['deform_conv2d', 'fuzz', 'golden', 'gradcheck', 'properties']);
    expect(r.missing).toEqual([{ op: 'deform_conv2d', direction: 'backward' }]);
    expect(r.skipped[0]).toEqual({ suite: 'deform_conv2d', reason: 'missing kernel deform_conv2d backward: backend forward-only has none', missing: { op: 'deform_conv2d', direction: 'backward' } });
    for (const s of r.skipped.slice(1)) expect(s.reason).toContain('backend has no backward');
  });

  it('deform_roi_pool: each missing kernel skipped with the reason, after its vectors are checked', async () => {
    const noRoi = withoutKernels(createReferenceBackend(), 'no-roi', [['deform_roi_pool', 'forward'], ['deform_roi_pool', 'backward']]);
    const r = await runConformance({ backend: noRoi, op: 'deform_roi_pool' });
    expect(r).toMatchObject({ passed: 0, failed: 0, rows: [] });
    expect(r.skipped.map((s) => s.reason)).toEqual(['missing kernel deform_roi_pool forward: backend no-roi has none', 'missing kernel deform_roi_pool backward: backend no-roi has none']);
    expect(r.missing).toEqual([{ op: 'deform_roi_pool', direction: 'forward' }, { op: 'deform_roi_pool', direction: 'backward' }]);
    const missing = await runConformance({ backend: noRoi, op: 'deform_roi_pool', vectors: ['/nonexistent/roi.json'] });
    expect(missing.failed).toBe(1);
    expect(missing.rows[0]).toMatchObject({ suite: 'roi-golden', case: '(vectors)', pass: false });
  });

  it('a backend that throws fails its rows with the error, and the run goes on', async () => {
    const broken = withKernelHooks(createReferenceBackend(), 'throws', {
      deformConv2d() {
        throw new Error('kernel exploded');
      },
    });
    const r = await runConformance({ backend: broken, suites: ['golden'] });
    const outputs = r.rows.filter((row) => row.tensor === 'output');
    expect(outputs).toHaveLength(17);
    for (const row of outputs) {
      expect(row.pass).toBe(false);
      expect(row.detail).toContain('kernel exploded');
    }
    // backward still ran and passed
    expect(r.passed).toBe(17 * 5 - 2);
  });

  it('rejects bad options', async () => {
    await expect(runConformance({ backend: {} as Backend })).rejects.toThrow(/must be a Backend/);
    await expect(runConformance({ backend: referenceBackend, suites: ['nope' as 'golden'] })).rejects.toThrow(/unknown suite/);
    await expect(runConformance({ backend: referenceBackend, fuzzCases: -1 })).rejects.toThrow(/fuzzCases/);
  });
});

describe('checkConformanceSuite: one suite summarised for a backend\'s own test', () => {
  it('a passing suite has no problems and a one-line summary', async () => {
    const r = await checkConformanceSuite({ backend: referenceBackend, suite: 'golden' });
    expect(r.problems).toEqual([]);
    expect(r).toMatchObject({ passed: 17 * 6 - 2, failed: 0, skipped: [] });
    expect(r.summary).toBe(`deform_conv2d golden: ${17 * 6 - 2} passed, 0 failed`);
  });

  it('failed rows, skips and a run with nothing passed are problems; skips and empty runs can be allowed', async () => {
    const broken = withKernelHooks(createReferenceBackend(), 'throws', { deformRoiPool() { throw new Error('roi kernel exploded'); } });
    const failing = await checkConformanceSuite({ backend: broken, op: 'deform_roi_pool', suite: 'golden' });
    expect(failing.problems).toHaveLength(6);
    // Core wraps what a backend throws as a BackendError that keeps the message.
    for (const p of failing.problems) expect(p).toMatch(/^roi-golden .* output .* FAIL\n {4}BackendError: .*roi kernel exploded/);
    const alone = await checkConformanceSuite({ backend: referenceBackend, suite: 'cross' });
    expect(alone.problems).toEqual([expect.stringMatching(/^skipped cross: no other backend/), 'no row passed']);
    expect(alone.summary).toMatch(/^deform_conv2d cross: 0 passed, 0 failed, 1 skipped; skipped cross: no other backend/);
    expect((await checkConformanceSuite({ backend: referenceBackend, suite: 'cross', allowSkips: true, allowEmpty: true })).problems).toEqual([]);
  });
});
