/** The suite must catch classic kernel bugs: each deliberately broken backend has to fail. */
import { describe, expect, it } from 'vitest';
import { runConformance, type ConformanceRow } from '../src/index.js';
import { MUTANTS } from './mutants.js';

const failing = (rows: readonly ConformanceRow[]) => rows.filter((r) => !r.pass);
const tensorsFailing = (rows: readonly ConformanceRow[]) => new Set(failing(rows).map((r) => r.tensor));

describe('broken kernels are caught', () => {
  it.each([
    // [mutant, suites that must report failures, tensors that must fail]
    ['clamps-at-borders', ['golden', 'fuzz', 'properties'], ['output']],
    ['swaps-dy-dx', ['golden', 'fuzz'], ['output', 'grad_offset']],
    ['ignores-mask', ['golden', 'fuzz'], ['output']],
    ['offset-group-off-by-one', ['golden', 'fuzz'], ['output']],
    ['negated-grad-offset', ['golden', 'fuzz', 'gradcheck'], ['grad_offset']],
    ['ceil-derivative-at-integers', ['golden', 'fuzz'], ['grad_offset']],
    ['mmcv-border-gradient', ['golden', 'fuzz', 'properties'], ['grad_offset']],
    ['bias-added-twice', ['golden', 'fuzz', 'properties'], ['output']],
    ['nan-inputs-read-as-zero', ['properties'], ['output']],
  ] as const)('%s', async (name, suites, tensors) => {
    const backend = MUTANTS[name];
    const r = await runConformance({ backend, suites: ['golden', 'fuzz', 'properties', 'gradcheck'], fuzzCases: 100, blockedCases: 0 });
    expect(r.failed).toBeGreaterThan(0);
    for (const s of suites) {
      expect(failing(r.rows.filter((row) => row.suite === s)).length, `${name} must fail in ${s}`).toBeGreaterThan(0);
    }
    const bad = tensorsFailing(r.rows);
    for (const t of tensors) expect(bad.has(t), `${name} must fail ${t}`).toBe(true);
  });

  it('a bug confined to one gradient fails only that gradient', async () => {
    const r = await runConformance({ backend: MUTANTS['negated-grad-offset'], suites: ['golden', 'fuzz'], fuzzCases: 50, blockedCases: 0 });
    expect([...tensorsFailing(r.rows)]).toEqual(['grad_offset']);
  });
});
