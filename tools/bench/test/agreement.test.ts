import { describe, expect, it } from 'vitest';
import { deformConv2dF64 } from '@dcnv2/conformance';
import { checkImpl } from '../src/agreement.js';
import { makeCaseData } from '../src/case-data.js';
import { backwardReference, forwardReference, gatherChannels, referenceChannels } from '../src/reference.js';
import { NAMED_SHAPES, parseShapeArg, shapeGeometry } from '../src/shapes.js';

const small = shapeGeometry(parseShapeArg('2,6,7,5,4,3,1,1,1,1,2')[0].spec);

describe('float64 references and the agreement check', () => {
  it('draws inputs reproducibly from the seed: offsets of about 1.5 px, masks in (0, 1)', () => {
    const a = makeCaseData(small, 7);
    const b = makeCaseData(small, 7);
    expect(Array.from(a.offset)).toEqual(Array.from(b.offset));
    expect(Array.from(makeCaseData(small, 8).offset)).not.toEqual(Array.from(a.offset));
    const big = makeCaseData(shapeGeometry(NAMED_SHAPES.C), 1);
    const std = Math.sqrt(big.offset.reduce((s, v) => s + v * v, 0) / big.offset.length);
    expect(std).toBeGreaterThan(1.4);
    expect(std).toBeLessThan(1.6);
    expect(big.mask.every((m) => m > 0 && m < 1)).toBe(true);
  });

  it('checks every channel of small problems and a spread including the ends of large ones', () => {
    expect(referenceChannels(small)).toEqual([0, 1, 2, 3]);
    const e = shapeGeometry(NAMED_SHAPES.E);
    const ch = referenceChannels(e);
    expect(ch.length).toBeGreaterThanOrEqual(8);
    expect(ch.length).toBeLessThan(256);
    expect(ch[0]).toBe(0);
    expect(ch.at(-1)).toBe(255);
    expect(referenceChannels(shapeGeometry(NAMED_SHAPES.C))).toHaveLength(256); // A–D fit the budget whole
  });

  it('gathers channels in the reference layout', () => {
    const g = { ...small, batch: 2, outChannels: 3, outHeight: 1, outWidth: 2 };
    const y = new Float32Array([0, 1, 10, 11, 20, 21, 100, 101, 110, 111, 120, 121]);
    expect(Array.from(gatherChannels(y, g, [0, 2]))).toEqual([0, 1, 20, 21, 100, 101, 120, 121]);
  });

  it('passes the exact result, fails a perturbed one and a missing gradient', () => {
    const c = makeCaseData(small, 3);
    const ref = forwardReference(c, 'deformable');
    const exact = Float32Array.from(deformConv2dF64(small, c));
    const ok = checkImpl({ kind: 'deformable', direction: 'fwd', geometry: small, outputs: new Map([['output', exact]]) }, { forward: ref, grads: null, baseline: null });
    expect(ok.status).toBe('ok');
    expect(ok.against).toBe('f64');
    const off = exact.slice();
    off[5] += 0.01;
    const bad = checkImpl({ kind: 'deformable', direction: 'fwd', geometry: small, outputs: new Map([['output', off]]) }, { forward: ref, grads: null, baseline: null });
    expect(bad.status).toBe('wrong');
    expect(bad.maxAbsError).toBeCloseTo(0.01, 3);

    const grads = backwardReference(c, 'deformable')!;
    expect(Object.keys(grads).sort()).toEqual(['grad_bias', 'grad_input', 'grad_mask', 'grad_offset', 'grad_weight']);
    const outputs = new Map<string, Float32Array>([['output', exact], ...Object.entries(grads).map(([k, v]) => [k, Float32Array.from(v)] as [string, Float32Array])]);
    expect(checkImpl({ kind: 'deformable', direction: 'fwdbwd', geometry: small, outputs }, { forward: ref, grads, baseline: null }).status).toBe('ok');
    outputs.delete('grad_mask');
    const missing = checkImpl({ kind: 'deformable', direction: 'fwdbwd', geometry: small, outputs }, { forward: ref, grads, baseline: null });
    expect(missing.status).toBe('wrong');
    expect(missing.tensors.find((t) => t.tensor === 'grad_mask')!.detail).toMatch(/no grad_mask/);
  });

  it('checks a dense conv against a plain convolution, and gradients against a baseline above the f64 budget', () => {
    const c = makeCaseData(small, 4);
    const plain = forwardReference(c, 'dense');
    const ok = checkImpl(
      { kind: 'dense', direction: 'fwd', geometry: small, outputs: new Map([['output', Float32Array.from(plain.values)]]) },
      { forward: plain, grads: null, baseline: null },
    );
    expect(ok.status).toBe('ok');
    expect(ok.against).toBe('plain conv f64');
    // The deformable reference is not a plain conv: a deformable result fails the dense check.
    const deform = Float32Array.from(forwardReference(c, 'deformable').values);
    expect(checkImpl({ kind: 'dense', direction: 'fwd', geometry: small, outputs: new Map([['output', deform]]) }, { forward: plain, grads: null, baseline: null }).status).toBe('wrong');

    const ref = forwardReference(c, 'deformable');
    const grads = backwardReference(c, 'deformable')!;
    const mine = new Map<string, Float32Array>([['output', deform], ...Object.entries(grads).map(([k, v]) => [k, Float32Array.from(v)] as [string, Float32Array])]);
    const vsBaseline = checkImpl({ kind: 'deformable', direction: 'fwdbwd', geometry: small, outputs: mine }, { forward: ref, grads: null, baseline: { id: 'dcnv2-cpu@1t', grads: mine } });
    expect(vsBaseline.status).toBe('ok');
    expect(vsBaseline.against).toBe('output: f64; grads: dcnv2-cpu@1t');
    const first = checkImpl({ kind: 'deformable', direction: 'fwdbwd', geometry: small, outputs: mine }, { forward: ref, grads: null, baseline: null });
    expect(first.status).toBe('ok');
    expect(first.unchecked.join()).toMatch(/baseline/);
    expect(first.against).toBe('output: f64; grads: none (the baseline of the others)');
  });
});
