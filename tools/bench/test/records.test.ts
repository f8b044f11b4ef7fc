import { describe, expect, it } from 'vitest';
import { peerKey, validateRecord } from '../src/records.js';
import { record, records, roiRecord, roiRecords } from './helpers.js';

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

  it('validates RoI pooling records by their own dims and kinds, and names a missing op', () => {
    for (const r of roiRecords()) expect(validateRecord(r)).toEqual([]);
    const good = roiRecord();
    expect(validateRecord({ ...good, op: undefined }).join()).toMatch(/op: expected "deform_conv2d" or "deform_roi_pool"/);
    expect(validateRecord({ ...good, kind: 'dense' }).join()).toMatch(/kind: expected "deformable" or "plain" for deform_roi_pool/);
    expect(validateRecord({ ...record(), kind: 'plain' }).join()).toMatch(/kind: expected "deformable" or "dense" for deform_conv2d/);
    expect(validateRecord({ ...good, dims: { ...good.dims, ph: 0 } }).join()).toMatch(/dims.ph: expected an integer >= 1/);
    expect(validateRecord({ ...good, dims: { ...good.dims, scale: -1 } }).join()).toMatch(/dims.scale/);
    // A RoI record is not a convolution's: conv dims are missing.
    expect(validateRecord({ ...good, op: 'deform_conv2d', kind: 'deformable' }).join()).toMatch(/dims.cin/);
    // R = 0 and N*C = 0 are valid shapes.
    expect(validateRecord({ ...good, ratios: {}, dims: { ...good.dims, rois: 0, c: 0 } })).toEqual([]);
  });

  it('computes ratios within an op: a RoI row is never divided by a convolution row', () => {
    const rs = roiRecords();
    const cpu = rs.find((r) => r.op === 'deform_roi_pool' && r.impl === 'dcnv2-cpu' && r.direction === 'fwd')!;
    expect(cpu.ratios).toEqual({ 'dcnv2-cpu-plain@1t': 1.333, 'roialign-torchvision@1t': 4, 'roialign-ort-node@1t': 2 });
    const conv = rs.find((r) => r.op === 'deform_conv2d')!;
    expect(conv.ratios).toEqual({});
  });
});
