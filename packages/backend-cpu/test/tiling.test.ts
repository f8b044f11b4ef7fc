/**
 * Tiling: tiny workspaces and tile widths must give the same results as one big tile, and the chosen
 * tiling must respect the documented memory bound for any geometry.
 */
import type { ConvGeometry } from '@dcnv2/core';
import { describe, expect, it } from 'vitest';
import { createCpuBackend } from '../src/index.js';
import { PLAN_BYTES_BACKWARD, PLAN_BYTES_FORWARD } from '../src/sampling-plan.js';
import { chooseTiling, tilingBytes } from '../src/tiling.js';
import { geometryOf, makeCase, rng, runBackend, worstViolation, type CaseSpec } from './helpers.js';

const specs: [string, CaseSpec][] = [
  ['plain 3x3', { N: 2, Cin: 6, H: 11, W: 9, Cout: 5, kh: 3, kw: 3, pads: [1, 1, 1, 1] }],
  ['groups 3, offset groups 2 (cutting channels differently)', { N: 1, Cin: 6, H: 8, W: 10, Cout: 9, kh: 3, kw: 2, groups: 3, offsetGroups: 2, pads: [1, 0, 2, 1] }],
  ['offset groups 6 > groups 2', { N: 2, Cin: 12, H: 7, W: 7, Cout: 4, kh: 2, kw: 2, groups: 2, offsetGroups: 6, stride: [2, 1], dilation: [1, 2] }],
  ['depthwise', { N: 1, Cin: 8, H: 9, W: 9, Cout: 8, kh: 3, kw: 3, groups: 8, offsetGroups: 4, pads: [2, 2, 2, 2], dilation: [2, 2] }],
  ['wide reduction, no mask, no bias', { N: 1, Cin: 40, H: 6, W: 13, Cout: 11, kh: 3, kw: 3, mask: false, bias: false, pads: [1, 1, 1, 1] }],
];

const limits = [
  { tilePixels: 1 },
  { tilePixels: 7 },
  { tilePixels: 5, workspaceBytes: 1500 },
  { workspaceBytes: 4000 },
  { workspaceBytes: 1 },
];

describe('tiling does not change results', () => {
  for (const [name, spec] of specs) {
    it(name, () => {
      const c = makeCase(spec, name.length);
      const big = runBackend(createCpuBackend({ workspaceBytes: 1 << 30 }), c);
      for (const l of limits) {
        const small = runBackend(createCpuBackend(l), c);
        const tol = { atol: 2e-5, rtol: 2e-5 };
        const tag = JSON.stringify(l);
        expect(worstViolation(small.output, big.output, tol), `output ${tag}`).toBeNull();
        for (const k of ['input', 'offset', 'mask', 'weight', 'bias'] as const) {
          const a = small.grads[k];
          const b = big.grads[k];
          expect(a === null, `${k} presence ${tag}`).toBe(b === null);
          if (a !== null && b !== null) expect(worstViolation(a, b, tol), `grad ${k} ${tag}`).toBeNull();
        }
      }
    });
  }

  it('small budgets really do cut the work into many tiles and channel chunks', () => {
    const g = geometryOf(makeCase(specs[4][1], 1));
    const t = chooseTiling(g, { workspaceBytes: 4000 }, false);
    expect(t.P).toBeLessThan(g.outHeight * g.outWidth);
    expect(t.chunk).toBeLessThan(g.inChannels);
    const whole = chooseTiling(g, { workspaceBytes: 1 << 30 }, true);
    expect(whole).toEqual({ P: g.outHeight * g.outWidth, chunk: g.inChannels });
  });
});

describe('memory bound', () => {
  it('plan + column tiles <= max(workspaceBytes, one pixel of one channel), for random geometries', () => {
    const r = rng(7);
    const pick = (n: number) => 1 + Math.floor(r() * n);
    for (let trial = 0; trial < 3000; trial++) {
      const groups = pick(4);
      const g: ConvGeometry = {
        batch: 1, inChannels: groups * pick(300), inHeight: pick(500), inWidth: pick(500), outChannels: groups,
        kernelH: pick(11), kernelW: pick(11), strideH: 1, strideW: 1, padTop: 0, padLeft: 0, padBottom: 0, padRight: 0,
        dilationH: 1, dilationW: 1, groups, offsetGroups: 1, outHeight: pick(500), outWidth: pick(500), hasMask: true, hasBias: true,
      };
      const ws = Math.floor(2 ** (8 + r() * 16));
      const tp = r() < 0.3 ? pick(100) : undefined;
      for (const bwd of [false, true]) {
        const t = chooseTiling(g, tp === undefined ? { workspaceBytes: ws } : { workspaceBytes: ws, tilePixels: tp }, bwd);
        const K = g.kernelH * g.kernelW;
        const minimum = K * ((bwd ? PLAN_BYTES_BACKWARD : PLAN_BYTES_FORWARD) + (bwd ? 8 : 4));
        expect(t.P).toBeGreaterThanOrEqual(1);
        expect(t.P).toBeLessThanOrEqual(Math.min(g.outHeight * g.outWidth, tp ?? Infinity));
        expect(t.chunk).toBeGreaterThanOrEqual(1);
        expect(t.chunk).toBeLessThanOrEqual(g.inChannels / g.groups);
        expect(tilingBytes(g, t, bwd)).toBeLessThanOrEqual(Math.max(ws, minimum));
      }
    }
  });
});
