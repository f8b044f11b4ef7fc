import { describe, expect, it } from 'vitest';
import { deformRoiPoolBackwardF64, deformRoiPoolF64 } from '@dcnv2/conformance';
import { makeRoiCaseData } from '../src/roi-case-data.js';
import { checkRoiImpl, roiBackwardReference, roiForwardReference } from '../src/roi-reference.js';
import { parseRoiShapeArg } from '../src/roi-shapes.js';

const c = makeRoiCaseData(parseRoiShapeArg('2,3,12,10,6,3,2,2,1/2').spec, 4);
const f32 = (a: ArrayLike<number>) => Float32Array.from(a);

/** The exact float32 answer of a kind, as a perfect implementation returns it. */
function exact(kind: 'deformable' | 'plain'): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>([['output', f32(roiForwardReference(c, kind))]]);
  for (const [k, v] of Object.entries(roiBackwardReference(c, kind)!)) out.set(k, f32(v));
  return out;
}

describe('RoI pooling references and agreement check', () => {
  it('takes the modulated reference for deformable rows and the offset- and mask-free one for plain rows', () => {
    const g = c.geometry;
    const t = { input: c.input, rois: c.rois, offset: c.offset, mask: c.mask };
    expect(Array.from(roiForwardReference(c, 'deformable'))).toEqual(Array.from(deformRoiPoolF64(g, t)));
    const plainG = { ...g, hasOffset: false, hasMask: false };
    expect(Array.from(roiForwardReference(c, 'plain'))).toEqual(Array.from(deformRoiPoolF64(plainG, { ...t, offset: null, mask: null })));
    const grads = deformRoiPoolBackwardF64(g, t, c.gradOutput);
    const got = roiBackwardReference(c, 'deformable')!;
    expect(Object.keys(got).sort()).toEqual(['grad_input', 'grad_mask', 'grad_offset']);
    expect(Array.from(got.grad_offset!)).toEqual(Array.from(grads.offset!));
    expect(Object.keys(roiBackwardReference(c, 'plain')!)).toEqual(['grad_input']);
    expect(roiBackwardReference(c, 'deformable', 10)).toBeNull(); // above the budget
  });

  it('passes the exact results of either kind, in both directions', () => {
    for (const kind of ['deformable', 'plain'] as const) {
      const outputs = exact(kind);
      const refs = { forward: roiForwardReference(c, kind), grads: roiBackwardReference(c, kind), baseline: null };
      const fwd = checkRoiImpl({ kind, direction: 'fwd', data: c, outputs }, refs);
      expect(fwd.status).toBe('ok');
      expect(fwd.against).toBe(kind === 'plain' ? 'RoIAlign f64' : 'f64');
      expect(checkRoiImpl({ kind, direction: 'fwdbwd', data: c, outputs }, refs).status).toBe('ok');
    }
  });

  it('fails a perturbed output, a perturbed offset gradient, a missing gradient and offsets read y first', () => {
    const refs = { forward: roiForwardReference(c, 'deformable'), grads: roiBackwardReference(c, 'deformable'), baseline: null };
    const check = (outputs: Map<string, Float32Array>) => checkRoiImpl({ kind: 'deformable', direction: 'fwdbwd', data: c, outputs }, refs);

    const off = exact('deformable');
    off.get('output')![3] += 0.01;
    const bad = check(off);
    expect(bad.status).toBe('wrong');
    expect(bad.maxAbsError).toBeCloseTo(0.01, 3);

    const offGrad = exact('deformable');
    offGrad.get('grad_offset')![1] += 0.05;
    expect(check(offGrad).tensors.find((t) => t.tensor === 'grad_offset')!.pass).toBe(false);

    const missing = exact('deformable');
    missing.delete('grad_mask');
    expect(check(missing).tensors.find((t) => t.tensor === 'grad_mask')!.detail).toMatch(/no grad_mask/);

    // The classic bug: offsets taken (y, x) like the convolution's instead of (x, y).
    const bins = c.geometry.pooledH * c.geometry.pooledW;
    const swapped = Float32Array.from(c.offset);
    for (let r = 0; r < c.geometry.rois; r++) {
      swapped.set(c.offset.subarray((r * 2 + 1) * bins, (r * 2 + 2) * bins), r * 2 * bins);
      swapped.set(c.offset.subarray(r * 2 * bins, (r * 2 + 1) * bins), (r * 2 + 1) * bins);
    }
    const yFirst = deformRoiPoolF64(c.geometry, { input: c.input, rois: c.rois, offset: swapped, mask: c.mask });
    expect(checkRoiImpl({ kind: 'deformable', direction: 'fwd', data: c, outputs: new Map([['output', f32(yFirst)]]) }, refs).status).toBe('wrong');
  });

  it('holds plain rows to RoIAlign: a modulated result is WRONG there', () => {
    const refs = { forward: roiForwardReference(c, 'plain'), grads: null, baseline: null };
    const modulated = new Map([['output', f32(roiForwardReference(c, 'deformable'))]]);
    expect(checkRoiImpl({ kind: 'plain', direction: 'fwd', data: c, outputs: modulated }, refs).status).toBe('wrong');
  });

  it('compares gradients with a baseline implementation above the float64 budget', () => {
    const outputs = exact('deformable');
    const forward = roiForwardReference(c, 'deformable');
    const vs = checkRoiImpl({ kind: 'deformable', direction: 'fwdbwd', data: c, outputs }, { forward, grads: null, baseline: { id: 'dcnv2-cpu@1t', grads: outputs } });
    expect(vs.status).toBe('ok');
    expect(vs.against).toBe('output: f64; grads: dcnv2-cpu@1t');
    const first = checkRoiImpl({ kind: 'deformable', direction: 'fwdbwd', data: c, outputs }, { forward, grads: null, baseline: null });
    expect(first.against).toBe('output: f64; grads: none (the baseline of the others)');
  });
});
