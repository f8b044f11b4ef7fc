/**
 * The RoI pooling oracle checked on its own: against the golden file, against hand-computed values on an
 * image where bilinear sampling is exact, against finite differences of itself, and against the
 * independent RoIAlign implementation. The suites trust it only because of these.
 */
import { describe, expect, it } from 'vitest';
import { deformRoiPoolGeometry, roiPoolShapes, type RoiPoolGeometry } from '@dcnv2/core';
import {
  defaultRoiPoolTolerance,
  defaultVectorsFiles,
  deformRoiPoolBackwardF64,
  deformRoiPoolF64,
  loadVectors,
  randomRoiCase,
  Rng,
  roiAlignBackwardF64,
  roiAlignF64,
  roiCaseClear,
  roiPoolParams,
  roiVectorProblem,
  type RoiPoolCase,
  type RoiPoolTensors,
} from '../src/index.js';

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('the golden file', () => {
  const vectors = loadVectors(defaultVectorsFiles('deform_roi_pool')[0], 'deform_roi_pool');

  it('parses into problems whose geometry is the one core resolves', () => {
    expect(vectors.cases.map((c) => c.name)).toEqual(['basic_3x3', 'adaptive_sampling', 'no_offset_no_mask', 'rois_outside_image', 'large_offsets', 'pool7x7_scale_quarter']);
    for (const vc of vectors.cases) {
      const p = roiVectorProblem(vc);
      const s = roiPoolShapes(p.geometry);
      const core = deformRoiPoolGeometry(
        {
          input: { shape: s.input, data: p.input },
          rois: { shape: s.rois, data: p.rois },
          offset: p.offset && { shape: s.offset, data: p.offset },
          mask: p.mask && { shape: s.mask, data: p.mask },
        },
        roiPoolParams(p.geometry),
      );
      expect(core).toEqual(p.geometry);
      expect(vc.expected.output?.shape).toEqual(s.output);
    }
  });

  it('the float64 reference reproduces every expected tensor to float32 rounding', () => {
    for (const vc of vectors.cases) {
      const p = roiVectorProblem(vc);
      const t: RoiPoolTensors = p;
      const scale = (a: ArrayLike<number>) => Math.max(1, ...Array.from(a, Math.abs));
      expect(maxAbsDiff(deformRoiPoolF64(p.geometry, t), vc.expected.output!.data), vc.name).toBeLessThan(1e-6 * scale(vc.expected.output!.data));
      const gr = deformRoiPoolBackwardF64(p.geometry, t, p.gradOutput!);
      expect(maxAbsDiff(gr.input, vc.expected.grad_input!.data), vc.name).toBeLessThan(1e-6 * scale(vc.expected.grad_input!.data));
      if (p.offset) expect(maxAbsDiff(gr.offset!, vc.expected.grad_offset!.data), vc.name).toBeLessThan(1e-6 * scale(vc.expected.grad_offset!.data));
      else expect(gr.offset).toBeNull();
      if (p.mask) expect(maxAbsDiff(gr.mask!, vc.expected.grad_mask!.data), vc.name).toBeLessThan(1e-6 * scale(vc.expected.grad_mask!.data));
      else expect(gr.mask).toBeNull();
    }
  });
});

/** A 1-channel H x W image with I[y][x] = 10*y + x: bilinear sampling inside it is exact (10*y + x). */
function rampProblem(H: number, W: number, roi: number[], o: Partial<RoiPoolGeometry> & { offset?: number[]; mask?: number[] } = {}) {
  const g: RoiPoolGeometry = {
    batch: 1,
    channels: 1,
    inHeight: H,
    inWidth: W,
    rois: 1,
    pooledH: 1,
    pooledW: 1,
    spatialScale: 1,
    samplingRatio: 1,
    gamma: 0.1,
    hasOffset: o.offset !== undefined,
    hasMask: o.mask !== undefined,
    ...o,
  };
  const input = Float64Array.from({ length: H * W }, (_, k) => 10 * Math.floor(k / W) + (k % W));
  const t: RoiPoolTensors = { input, rois: [0, ...roi], offset: o.offset ?? null, mask: o.mask ?? null };
  return { g, t };
}

describe('hand-computed values on a ramp image (I[y][x] = 10y + x)', () => {
  it('samples at the bin centres of the half-pixel-shifted RoI', () => {
    // start = 1 - 0.5, end = 2 - 0.5: the one sample sits at (1, 1) -> 11
    const { g, t } = rampProblem(4, 4, [1, 1, 2, 2]);
    expect([...deformRoiPoolF64(g, t)]).toEqual([11]);
    // 2x2 bins, 2x2 samples each, of the RoI (0.5..3.5)^2 at scale 1: means at 1.25 and 2.75 -> [[13.75, 15.25], [28.75, 30.25]]
    const q = rampProblem(5, 5, [1, 1, 4, 4], { pooledH: 2, pooledW: 2, samplingRatio: 2 });
    expect([...deformRoiPoolF64(q.g, q.t)].map((v) => +v.toFixed(10))).toEqual([13.75, 15.25, 28.75, 30.25]);
  });

  it('offsets move x first, in units of gamma * RoI size, and the mask scales the mean', () => {
    // RoI 2 wide, 4 tall (start (0.5, 0.5)): dx = 0.1*2*2.5 = 0.5, dy = 0.1*4*(-1) = -0.4; sample at (2.5 - 0.4, 1.5 + 0.5)
    const { g, t } = rampProblem(6, 6, [1, 1, 3, 5], { offset: [2.5, -1], mask: [0.5] });
    expect(deformRoiPoolF64(g, t)[0]).toBeCloseTo(0.5 * (10 * 2.1 + 2), 12);
  });

  it('clamps: y in (-1, 0] reads row 0, y in [H-1, H] reads row H-1, beyond -1 or H reads 0', () => {
    const at = (y: number, x: number) => {
      // a RoI 0.02 wide and tall whose one sample sits at (y, x): start = coord - 0.5 = (y, x) - 0.01
      const { g, t } = rampProblem(3, 4, [x + 0.5 - 0.01, y + 0.5 - 0.01, x + 0.5 + 0.01, y + 0.5 + 0.01]);
      return deformRoiPoolF64(g, t)[0];
    };
    expect(at(-0.5, 1.5)).toBeCloseTo(1.5, 12);
    expect(at(2.5, 1.5)).toBeCloseTo(21.5, 12);
    expect(at(3, 1.5)).toBeCloseTo(21.5, 12);
    expect(at(1, -0.9)).toBeCloseTo(10, 12);
    expect(at(1, 3.9)).toBeCloseTo(13, 12);
    expect(at(-1.01, 1.5)).toBe(0);
    expect(at(3.01, 1.5)).toBe(0);
    expect(at(1, 4.01)).toBe(0);
  });

  it('a degenerate RoI under adaptive sampling has no samples and pools to 0 (count is max(.., 1))', () => {
    for (const roi of [[1, 1, 1, 3], [2, 1, 1, 3], [1, 1, 3, 0.5]]) {
      const { g, t } = rampProblem(4, 4, roi, { samplingRatio: 0 });
      const out = deformRoiPoolF64(g, t);
      expect(Number.isFinite(out[0]) && out[0] === 0, JSON.stringify(roi)).toBe(true);
    }
  });

  it('gradients: bilinear weights to the input, slopes 10 (y) and 1 (x) times gamma * RoI size, 0 where clamped', () => {
    // RoI 2 wide, 4 tall from (0.5, 0.5): its one sample at (y, x) = (2.5, 1.5) moves by
    // dx = 0.1*2*1.25 = 0.25 and dy = 0.1*4*(-0.25) = -0.1 to (2.4, 1.75); dL/dv = gradOutput * mask / count = 3 * 2 / 1
    const { g, t } = rampProblem(6, 6, [1, 1, 3, 5], { offset: [1.25, -0.25], mask: [2] });
    const gr = deformRoiPoolBackwardF64(g, t, [3]);
    expect(gr.offset![0]).toBeCloseTo(6 * 1 * 0.1 * 2, 12);
    expect(gr.offset![1]).toBeCloseTo(6 * 10 * 0.1 * 4, 12);
    expect(gr.mask![0]).toBeCloseTo(3 * (10 * 2.4 + 1.75), 12);
    const expected = new Float64Array(36);
    expected[2 * 6 + 1] = 6 * 0.6 * 0.25;
    expected[2 * 6 + 2] = 6 * 0.6 * 0.75;
    expected[3 * 6 + 1] = 6 * 0.4 * 0.25;
    expected[3 * 6 + 2] = 6 * 0.4 * 0.75;
    expect(maxAbsDiff(gr.input, expected)).toBeLessThan(1e-12);
    // clamped at y <= 0 (RoI centred at y = -0.5): no y slope, the x slope remains
    const c = rampProblem(4, 4, [1, -0.01, 3, 0.01], { offset: [0.3, 0.2] });
    const gc = deformRoiPoolBackwardF64(c.g, c.t, [1]);
    expect(gc.offset![1]).toBe(0);
    expect(gc.offset![0]).toBeCloseTo(1 * 0.1 * 2, 12);
  });
});

/** Random smooth problems: every sample 0.02 from any integer. */
function smoothCases(n: number, seed: number): RoiPoolCase[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () =>
    randomRoiCase(rng, { kinkMargin: 0.02, maxImage: 7, channels: [1, 2, 3], maxPooled: 3, rois: [1, 3], gammas: [0.1, 0.3], maxRoiScale: 1, placements: ['inside', 'straddle'], offsets: ['small'], masks: ['sigmoid', 'raw'] }),
  );
}

describe('analytic gradients equal central differences of the forward', () => {
  it('element by element on small smooth problems', () => {
    for (const c of smoothCases(12, 11)) {
      // Sample coordinates clear of integers (the grid sizes do not move with input, offset or mask).
      expect(roiCaseClear(c, 0.02, true)).toBe(true);
      const go = c.gradOutput!;
      const loss = (t: RoiPoolTensors) => deformRoiPoolF64(c.geometry, t).reduce((s, v, k) => s + v * go[k], 0);
      const gr = deformRoiPoolBackwardF64(c.geometry, c, go);
      for (const k of ['input', 'offset', 'mask'] as const) {
        const base = c[k]!;
        const analytic = gr[k]!;
        // offsets move samples by gamma * RoI side * h: keep that under the 0.02 margin
        const h = k === 'offset' ? 1e-4 : 1e-3;
        for (let i = 0; i < base.length; i++) {
          const plus = Float64Array.from(base);
          const minus = Float64Array.from(base);
          plus[i] += h;
          minus[i] -= h;
          const fd = (loss({ ...c, [k]: plus }) - loss({ ...c, [k]: minus })) / (2 * h);
          expect(Math.abs(fd - analytic[i]), `${k}[${i}]`).toBeLessThan(1e-7 * (1 + Math.abs(fd)));
        }
      }
    }
  });
});

describe('without offset and mask the oracle is RoIAlign (aligned=True), an independent implementation', () => {
  it('forward and input gradient, on random cases including degenerate and outside RoIs', () => {
    const rng = new Rng(5);
    for (let n = 0; n < 60; n++) {
      const c = randomRoiCase(rng, { offsets: ['none'], masks: ['none'], degenerate: 0.3 });
      const g = c.geometry;
      const p = { batch: g.batch, channels: g.channels, height: g.inHeight, width: g.inWidth, pooledH: g.pooledH, pooledW: g.pooledW, spatialScale: g.spatialScale, samplingRatio: g.samplingRatio };
      expect(maxAbsDiff(deformRoiPoolF64(g, c), roiAlignF64(p, c.input, c.rois))).toBeLessThan(1e-12);
      expect(maxAbsDiff(deformRoiPoolBackwardF64(g, c, c.gradOutput!).input, roiAlignBackwardF64(p, c.rois, c.gradOutput!))).toBeLessThan(1e-12);
    }
  });
});

describe('tolerances', () => {
  it('grow with the reduction size beyond 64 terms and grad_offset with gamma * RoI size', () => {
    const g: RoiPoolGeometry = { batch: 1, channels: 128, inHeight: 8, inWidth: 8, rois: 1, pooledH: 2, pooledW: 2, spatialScale: 1, samplingRatio: 2, gamma: 0.5, hasOffset: true, hasMask: true };
    const rois = [0, 0, 0, 8, 4]; // 8 wide, 4 tall on the feature map
    expect(defaultRoiPoolTolerance('output', g, rois)).toEqual({ atol: 1e-4, rtol: 1e-4 });
    expect(defaultRoiPoolTolerance('grad_mask', g, rois)).toEqual({ atol: 4e-4, rtol: 1e-4 });
    expect(defaultRoiPoolTolerance('grad_input', g, rois)).toEqual({ atol: 1e-4, rtol: 1e-4 });
    // C/64 = 2, gamma * max side = 4
    expect(defaultRoiPoolTolerance('grad_offset', g, rois).atol).toBeCloseTo(5e-4 * 2 * 4, 15);
  });
});
