/** The RoI pooling suites must catch classic kernel bugs: each deliberately broken backend has to fail. */
import { describe, expect, it } from 'vitest';
import { runConformance, type ConformanceRow } from '../src/index.js';
import { ortAvailable } from '../src/onnx/index.js';
import { ROI_MUTANTS } from './roi-mutants.js';

const failing = (rows: readonly ConformanceRow[]) => rows.filter((r) => !r.pass);
const tensorsFailing = (rows: readonly ConformanceRow[]) => new Set(failing(rows).map((r) => r.tensor));

describe('broken RoI pooling kernels are caught', () => {
  it.each([
    // [mutant, suites that must report failures, tensors that must fail]
    ['offsets-y-first', ['roi-golden', 'roi-fuzz'], ['output', 'grad_offset']],
    ['no-half-pixel-shift', ['roi-golden', 'roi-fuzz', 'roi-properties', 'roi-onnx'], ['output', 'grad_input']],
    ['mask-applied-twice', ['roi-golden', 'roi-fuzz', 'roi-properties'], ['output']],
    ['conv-sampler-at-borders', ['roi-golden', 'roi-fuzz', 'roi-properties', 'roi-onnx'], ['output']],
    ['count-without-max', ['roi-fuzz'], ['output']],
    ['negated-grad-offset', ['roi-golden', 'roi-fuzz', 'roi-gradcheck'], ['grad_offset']],
    ['offset-y-scaled-by-roi-width', ['roi-golden', 'roi-fuzz'], ['output']],
    ['ignores-batch-index', ['roi-golden', 'roi-fuzz'], ['output', 'grad_input']],
  ] as const)('%s', async (name, suites, tensors) => {
    const backend = ROI_MUTANTS[name];
    const r = await runConformance({ backend, op: 'deform_roi_pool', suites: ['golden', 'fuzz', 'properties', 'gradcheck', ...((await ortAvailable()).ok ? (['onnx'] as const) : [])], fuzzCases: 100, blockedCases: 0 });
    expect(r.failed).toBeGreaterThan(0);
    for (const s of suites) {
      if (s === 'roi-onnx' && !(await ortAvailable()).ok) continue;
      expect(failing(r.rows.filter((row) => row.suite === s)).length, `${name} must fail in ${s}`).toBeGreaterThan(0);
    }
    const bad = tensorsFailing(r.rows);
    for (const t of tensors) expect(bad.has(t), `${name} must fail ${t}`).toBe(true);
  });

  it('a bug confined to one gradient fails only that gradient', async () => {
    const r = await runConformance({ backend: ROI_MUTANTS['negated-grad-offset'], op: 'deform_roi_pool', suites: ['golden', 'fuzz'], fuzzCases: 50, blockedCases: 0 });
    expect([...tensorsFailing(r.rows)]).toEqual(['grad_offset']);
  });
});
