import { describe, expect, it } from 'vitest';
import { peerKey, validateRecord } from '../src/records.js';
import { records } from './helpers.js';

describe('records', () => {
  it('computes every ratio within a shape and direction, never across', () => {
    const rs = records();
    const cpu = rs.find((r) => r.impl === 'dcnv2-cpu' && r.direction === 'fwd')!;
    expect(cpu.ratios['ort-web@1t']).toBe(5);
    expect(cpu.ratios['ort-node@1t']).toBe(25);
    expect(cpu.ratios['ort-web@2t']).toBeCloseTo(75 / 9, 3);
    expect(Object.keys(cpu.ratios)).not.toContain('torchvision@1t');
    expect(Object.keys(cpu.ratios)).not.toContain('dcnv2-cpu@1t');
    const back = rs.find((r) => r.impl === 'dcnv2-cpu' && r.direction === 'fwdbwd')!;
    expect(back.ratios).toEqual({ 'torchvision@1t': 1.2 });
    expect(peerKey(back)).toBe('dcnv2-cpu@1t');
  });

  it('accepts well-formed records', () => {
    for (const r of records()) expect(validateRecord(r)).toEqual([]);
    // Through JSON, as a reader of --json sees them.
    for (const r of JSON.parse(JSON.stringify(records()))) expect(validateRecord(r)).toEqual([]);
  });

  it('names what is wrong with a malformed record', () => {
    const good = records()[0];
    expect(validateRecord(null)).toEqual(['not an object']);
    expect(validateRecord({ ...good, median_ms: undefined }).join()).toMatch(/median_ms/);
    expect(validateRecord({ ...good, gflops: Number.NaN }).join()).toMatch(/gflops/);
    expect(validateRecord({ ...good, direction: 'back' }).join()).toMatch(/direction/);
    expect(validateRecord({ ...good, threads: 0 }).join()).toMatch(/threads/);
    expect(validateRecord({ ...good, min_ms: 100 }).join()).toMatch(/min_ms <= median_ms/);
    expect(validateRecord({ ...good, ratios: { 'x': 2 } }).join()).toMatch(/<impl>@<threads>t/);
    expect(validateRecord({ ...good, dims: { ...good.dims, k: 0 } }).join()).toMatch(/dims.k/);
    expect(validateRecord({ ...good, wasm_growth_mb: -1 }).join()).toMatch(/wasm_growth_mb/);
  });
});
