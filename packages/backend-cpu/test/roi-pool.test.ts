/**
 * Modulated deformable RoI pooling on the cpu backend: the golden vectors (float64 reference of mmcv's
 * semantics, read in place) forward and all three gradients, through the backend methods with the default
 * workspace and with a workspace so small that every sample is its own chunk, and through core; then the
 * edge cases the vectors do not pin: no RoIs, no channels, gradient subsets, degenerate and far-away RoIs,
 * analytic values on a linear image, NaN offsets, the memory bound and dispose. The project's
 * deform_roi_pool conformance suites run in conformance.test.ts.
 */
import {
  deformRoiPool,
  deformRoiPoolBackward,
  deformRoiPoolGeometry,
  DisposedError,
  hasKernel,
  type DeformRoiPoolParams,
  type HostTensor,
  type RoiPoolGeometry,
  type RoiPoolGradRequest,
  type RoiPoolInputs,
} from '@dcnv2/core';
import { defaultVectorsFiles, loadVectors, type RoiPoolTensorName, type RoiPoolVectorCase } from '@dcnv2/conformance';
import { describe, expect, it } from 'vitest';
import { createCpuBackend, type CpuBackend } from '../src/index.js';
import { createRoiPoolPlan, RoiPlanBuilder, ROI_SLOT_BYTES_BACKWARD, ROI_SLOT_BYTES_FORWARD } from '../src/roi-pool-plan.js';
import { rng, worstViolation, type Tol } from './helpers.js';

const vectors = loadVectors(defaultVectorsFiles('deform_roi_pool')[0], 'deform_roi_pool');

const DEFAULT_TOL: Record<RoiPoolTensorName, Tol> = {
  output: { atol: 1e-5, rtol: 1e-4 },
  grad_input: { atol: 1e-5, rtol: 1e-4 },
  grad_offset: { atol: 1e-4, rtol: 1e-3 },
  grad_mask: { atol: 1e-5, rtol: 1e-4 },
};

const ALL: RoiPoolGradRequest = { input: true, offset: true, mask: true };

function paramsOf(c: RoiPoolVectorCase): DeformRoiPoolParams {
  return { outputSize: c.params.outputSize, spatialScale: c.params.spatialScale, samplingRatio: c.params.samplingRatio, gamma: c.params.gamma };
}

function argsOf(c: RoiPoolVectorCase) {
  return { input: c.input, rois: c.rois, offset: c.offset, mask: c.mask };
}

function inputsOf(c: { input: HostTensor; rois: HostTensor; offset: HostTensor | null; mask: HostTensor | null }): RoiPoolInputs<Float32Array> {
  return { input: c.input.data, rois: c.rois.data, offset: c.offset?.data ?? null, mask: c.mask?.data ?? null };
}

function tolOf(c: RoiPoolVectorCase, k: RoiPoolTensorName): Tol {
  return { ...DEFAULT_TOL[k], ...c.tolerance[k] };
}

function expectClose(got: Float32Array | null | undefined, want: ArrayLike<number>, tol: Tol, what: string): void {
  expect(got, what).toBeInstanceOf(Float32Array);
  expect(worstViolation(got!, want, tol), what).toBeNull();
}

/** Forward and the requested gradients straight through the backend methods. */
function run(be: CpuBackend, g: RoiPoolGeometry, ins: RoiPoolInputs<Float32Array>, gout: Float32Array, want: RoiPoolGradRequest = ALL) {
  return { output: be.deformRoiPool(g, ins), grads: be.deformRoiPoolBackward(g, ins, gout, want) };
}

describe('deform_roi_pool golden vectors', () => {
  const backends: ReadonlyArray<[string, () => CpuBackend]> = [
    ['default workspace', () => createCpuBackend()],
    // 1 byte: a plan of one entry and one segment, so every bin is cut at every sample.
    ['one-entry plan chunks', () => createCpuBackend({ workspaceBytes: 1 })],
  ];
  for (const [label, make] of backends) {
    for (const c of vectors.cases) {
      it(`${c.name} (${label})`, () => {
        const be = make();
        const g = deformRoiPoolGeometry(argsOf(c), paramsOf(c));
        const { output, grads } = run(be, g, inputsOf(c), c.gradOutput!.data);
        const e = c.expected;
        expectClose(output, e.output!.data, tolOf(c, 'output'), 'output');
        expectClose(grads.input, e.grad_input!.data, tolOf(c, 'grad_input'), 'grad_input');
        if (c.offset !== null) expectClose(grads.offset, e.grad_offset!.data, tolOf(c, 'grad_offset'), 'grad_offset');
        else expect(grads.offset).toBeNull();
        if (c.mask !== null) expectClose(grads.mask, e.grad_mask!.data, tolOf(c, 'grad_mask'), 'grad_mask');
        else expect(grads.mask).toBeNull();
      });
    }
  }

  it('every case through core (deformRoiPool / deformRoiPoolBackward)', async () => {
    const backend = createCpuBackend();
    for (const c of vectors.cases) {
      const out = await deformRoiPool(argsOf(c), paramsOf(c), { backend });
      expect(out.shape).toEqual(c.expected.output!.shape);
      expectClose(out.data, c.expected.output!.data, tolOf(c, 'output'), `${c.name} output`);
      const gr = await deformRoiPoolBackward({ ...argsOf(c), gradOutput: c.gradOutput! }, paramsOf(c), { backend });
      expect(gr.input!.shape).toEqual(c.input.shape);
      expectClose(gr.input!.data, c.expected.grad_input!.data, tolOf(c, 'grad_input'), `${c.name} grad_input`);
      if (c.offset !== null) expectClose(gr.offset!.data, c.expected.grad_offset!.data, tolOf(c, 'grad_offset'), `${c.name} grad_offset`);
      else expect(gr.offset).toBeUndefined();
      if (c.mask !== null) expectClose(gr.mask!.data, c.expected.grad_mask!.data, tolOf(c, 'grad_mask'), `${c.name} grad_mask`);
      else expect(gr.mask).toBeUndefined();
    }
  });
});

function tensor(shape: number[], data?: ArrayLike<number>): HostTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return { shape, data: data === undefined ? new Float32Array(n) : Float32Array.from(data) };
}

function randomTensor(shape: number[], r: () => number, scale = 1, shift = -0.5): HostTensor {
  const t = tensor(shape);
  for (let i = 0; i < t.data.length; i++) t.data[i] = (r() + shift) * scale;
  return t;
}

interface Problem {
  input: HostTensor;
  rois: HostTensor;
  offset: HostTensor | null;
  mask: HostTensor | null;
  gradOutput: HostTensor;
  params: DeformRoiPoolParams;
}

function problem(N: number, C: number, H: number, W: number, rois: number[][], params: DeformRoiPoolParams, seed: number, parts = { offset: true, mask: true }): Problem {
  const r = rng(seed);
  const [ph, pw] = typeof params.outputSize === 'number' ? [params.outputSize, params.outputSize] : params.outputSize;
  const R = rois.length;
  return {
    input: randomTensor([N, C, H, W], r, 2),
    rois: tensor([R, 5], rois.flat()),
    offset: parts.offset ? randomTensor([R, 2, ph, pw], r, 1) : null,
    mask: parts.mask ? randomTensor([R, 1, ph, pw], r, 1, 0) : null,
    gradOutput: randomTensor([R, C, ph, pw], r, 2),
    params,
  };
}

function geometry(p: Problem): RoiPoolGeometry {
  return deformRoiPoolGeometry(p, p.params);
}

const allZero = (a: ArrayLike<number>) => Array.from(a).every((v) => v === 0);

describe('deform_roi_pool edge cases', () => {
  it('R = 0: empty output, zero grad_input, empty grad_offset and grad_mask', () => {
    const p = problem(2, 3, 5, 6, [], { outputSize: 3 }, 1);
    const { output, grads } = run(createCpuBackend(), geometry(p), inputsOf(p), p.gradOutput.data);
    expect(output).toBeInstanceOf(Float32Array);
    expect(output.length).toBe(0);
    expect(grads.input!.length).toBe(2 * 3 * 5 * 6);
    expect(allZero(grads.input!)).toBe(true);
    expect(grads.offset!.length).toBe(0);
    expect(grads.mask!.length).toBe(0);
  });

  it('C = 0: empty output and grad_input, zero grad_offset and grad_mask of full size', async () => {
    const p = problem(1, 0, 5, 6, [[0, 1, 1, 4, 4]], { outputSize: 2, samplingRatio: 2 }, 2);
    const { output, grads } = run(createCpuBackend(), geometry(p), inputsOf(p), p.gradOutput.data);
    expect(output.length).toBe(0);
    expect(grads.input!.length).toBe(0);
    expect([...grads.offset!]).toEqual(new Array(8).fill(0));
    expect([...grads.mask!]).toEqual([0, 0, 0, 0]);
    const viaCore = await deformRoiPool(p, p.params, { backend: createCpuBackend() });
    expect(viaCore.shape).toEqual([1, 0, 2, 2]);
  });

  it('computes only the requested gradients, with the same values as a full request', () => {
    const p = problem(2, 3, 7, 8, [[1, 0, 1, 6, 7], [0, 2, 2, 9, 5]], { outputSize: [2, 3], samplingRatio: 0, gamma: 0.2 }, 3);
    const be = createCpuBackend();
    const g = geometry(p);
    const full = be.deformRoiPoolBackward(g, inputsOf(p), p.gradOutput.data, ALL);
    for (const want of [
      { input: true, offset: false, mask: false },
      { input: false, offset: true, mask: false },
      { input: false, offset: false, mask: true },
      { input: false, offset: true, mask: true },
      { input: false, offset: false, mask: false },
    ]) {
      const part = be.deformRoiPoolBackward(g, inputsOf(p), p.gradOutput.data, want);
      for (const k of ['input', 'offset', 'mask'] as const) {
        if (want[k]) expect(part[k], k).toEqual(full[k]);
        else expect(part[k], k).toBeNull();
      }
    }
  });

  it('gradient subsets through core', async () => {
    const p = problem(1, 2, 6, 6, [[0, 1, 1, 5, 5]], { outputSize: 2, samplingRatio: 2 }, 4);
    const backend = createCpuBackend();
    const full = await deformRoiPoolBackward(p, p.params, { backend });
    const onlyMask = await deformRoiPoolBackward(p, p.params, { backend, grads: ['mask'] });
    expect(Object.keys(onlyMask)).toEqual(['mask']);
    expect(onlyMask.mask!.data).toEqual(full.mask!.data);
  });

  it('degenerate RoIs: an adaptive grid <= 0 pools to 0 with zero gradients', () => {
    // x2 < x1 and y2 < y1: roi size negative, so ceil(roi / pooled) <= 0 and no bin has samples.
    const p = problem(1, 2, 6, 6, [[0, 5, 5, 1, 1], [0, 3, 3, 3, 3]], { outputSize: 2, samplingRatio: 0 }, 5);
    const { output, grads } = run(createCpuBackend(), geometry(p), inputsOf(p), p.gradOutput.data);
    expect(allZero(output)).toBe(true);
    expect(allZero(grads.input!)).toBe(true);
    expect(allZero(grads.offset!)).toBe(true);
    expect(allZero(grads.mask!)).toBe(true);
  });

  it('a zero-size RoI with a fixed ratio samples one point: mask * bilinear(input) there', () => {
    // (x, y) = (2.5, 3.25) * 1 - 0.5 = (2, 2.75): rows 2 and 3 with weights 0.25 and 0.75 in column 2.
    const input = tensor([1, 1, 5, 5], Array.from({ length: 25 }, (_, i) => i * i));
    const p: Problem = { input, rois: tensor([1, 5], [0, 2.5, 3.25, 2.5, 3.25]), offset: null, mask: tensor([1, 1, 1, 1], [0.5]), gradOutput: tensor([1, 1, 1, 1], [2]), params: { outputSize: 1, samplingRatio: 3 } };
    const { output, grads } = run(createCpuBackend(), geometry(p), inputsOf(p), p.gradOutput.data);
    const v = 0.25 * 12 ** 2 + 0.75 * 17 ** 2;
    expect(output[0]).toBeCloseTo(0.5 * v, 3);
    expect(grads.mask![0]).toBeCloseTo(2 * v, 2);
    // grad_input: 9 samples at one point, each weighted gout * mask / 9, so the two corners get 0.25 and 0.75.
    expect(grads.input![12]).toBeCloseTo(0.25, 6);
    expect(grads.input![17]).toBeCloseTo(0.75, 6);
    expect(grads.input!.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
  });

  it('a RoI far outside the image pools to 0 with zero gradients, next to one inside', () => {
    const p = problem(1, 3, 8, 8, [[0, 1000, -2000, 1200, -1800], [0, 1, 1, 6, 6]], { outputSize: 3, samplingRatio: 0 }, 6);
    const { output, grads } = run(createCpuBackend(), geometry(p), inputsOf(p), p.gradOutput.data);
    const bins = 9;
    expect(allZero(output.subarray(0, 3 * bins))).toBe(true);
    expect(allZero(output.subarray(3 * bins))).toBe(false);
    expect(allZero(grads.offset!.subarray(0, 2 * bins))).toBe(true);
    expect(allZero(grads.mask!.subarray(0, bins))).toBe(true);
    // Only the inside RoI touches grad_input: it equals the gradient of that RoI alone.
    const inside = { ...p, rois: tensor([1, 5], [0, 1, 1, 6, 6]), offset: tensor([1, 2, 3, 3], p.offset!.data.subarray(18)), mask: tensor([1, 1, 3, 3], p.mask!.data.subarray(9)), gradOutput: tensor([1, 3, 3, 3], p.gradOutput.data.subarray(27)) };
    const alone = run(createCpuBackend(), geometry(inside), inputsOf(inside), inside.gradOutput.data);
    expect(grads.input).toEqual(alone.grads.input);
  });

  it('on a linear image each bin is the value at its displaced centre, and grad_offset is analytic', () => {
    // I(y, x) = a*y + b*x + c0 is reproduced exactly by bilinear sampling away from the clamps, so a bin's
    // mean is I at the mean sample position (its centre), and dv/dx = b, dv/dy = a for every sample.
    const [H, W, a, b, c0] = [12, 14, 0.75, -0.5, 3];
    const input = tensor([1, 2, H, W]);
    for (let ch = 0; ch < 2; ch++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) input.data[(ch * H + y) * W + x] = (ch + 1) * (a * y + b * x) + c0;
    const gamma = 0.1;
    const rois = [[0, 4, 6, 16, 18]];
    const p = problem(1, 2, H, W, rois, { outputSize: [3, 2], spatialScale: 0.5, samplingRatio: 2, gamma }, 7);
    p.input = input;
    for (let i = 0; i < p.offset!.data.length; i++) p.offset!.data[i] *= 0.5; // keeps every sample inside [0, H-1] x [0, W-1]
    const { output, grads } = run(createCpuBackend(), geometry(p), inputsOf(p), p.gradOutput.data);
    const [sx, sy] = [4 * 0.5 - 0.5, 6 * 0.5 - 0.5];
    const [rw, rh] = [16 * 0.5 - 0.5 - sx, 18 * 0.5 - 0.5 - sy];
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 2; j++) {
        const bin = i * 2 + j;
        const dx = gamma * rw * p.offset!.data[bin];
        const dy = gamma * rh * p.offset!.data[6 + bin];
        const cy = sy + dy + (i + 0.5) * (rh / 3);
        const cx = sx + dx + (j + 0.5) * (rw / 2);
        const m = p.mask!.data[bin];
        let gsum = 0;
        for (let ch = 0; ch < 2; ch++) {
          expect(output[ch * 6 + bin]).toBeCloseTo(m * ((ch + 1) * (a * cy + b * cx) + c0), 4);
          gsum += p.gradOutput.data[ch * 6 + bin] * (ch + 1);
        }
        expect(grads.offset![bin]).toBeCloseTo(gamma * rw * m * b * gsum, 4);
        expect(grads.offset![6 + bin]).toBeCloseTo(gamma * rh * m * a * gsum, 4);
      }
    }
  });

  it('a plan cut into tiny chunks gives the same results (large adaptive RoIs, offsets, several batches)', () => {
    const rois = [[1, -30, -20, 70, 50], [0, 2, 3, 40, 30], [2, 10, 10, 11, 12], [1, 50, 5, -5, 40]];
    const p = problem(3, 4, 20, 24, rois, { outputSize: [3, 4], spatialScale: 0.5, samplingRatio: 0, gamma: 0.3 }, 8);
    const g = geometry(p);
    const big = run(createCpuBackend(), g, inputsOf(p), p.gradOutput.data);
    for (const workspaceBytes of [1, 200, 2000]) {
      const small = run(createCpuBackend({ workspaceBytes }), g, inputsOf(p), p.gradOutput.data);
      // The forward adds the same entries in the same order whatever the cut: bitwise equal.
      expect(small.output).toEqual(big.output);
      const tol = { atol: 1e-5, rtol: 1e-5 };
      expect(worstViolation(small.grads.input!, big.grads.input!, tol)).toBeNull();
      expect(worstViolation(small.grads.offset!, big.grads.offset!, tol)).toBeNull();
      expect(worstViolation(small.grads.mask!, big.grads.mask!, tol)).toBeNull();
    }
  });

  it('channels pooled eight per plan walk give the bits of one channel at a time (C = 19, mixed batch order, NaN mask and input)', () => {
    // C = 19: two blocks of eight and three single channels; RoIs alternate between batch images.
    const rois = [[2, 1, 2, 30, 25], [0, -4, 3, 12, 40], [2, 8, 8, 9, 30], [1, 0, 0, 46, 38], [0, 20, 1, 44, 14]];
    for (const parts of [{ offset: true, mask: true }, { offset: false, mask: false }, { offset: true, mask: false }]) {
      const p = problem(3, 19, 20, 24, rois, { outputSize: [3, 4], spatialScale: 0.5, samplingRatio: 2, gamma: 0.2 }, 12, parts);
      p.input.data[(2 * 19 + 9) * 20 * 24 + 5 * 24 + 3] = NaN; // batch 2, channel 9 (second block): RoIs 0 and 2 read near it
      if (p.mask !== null) p.mask.data[12 + 5] = NaN; // RoI 1, bin 5
      const g = geometry(p);
      const blocked = createCpuBackend().deformRoiPool(g, inputsOf(p));
      // A one-entry plan cuts every bin, so every channel goes through the per-channel carry path.
      const single = createCpuBackend({ workspaceBytes: 1 }).deformRoiPool(g, inputsOf(p));
      expect(blocked).toEqual(single);
      if (p.mask !== null) for (let ch = 0; ch < 19; ch++) expect(blocked[(1 * 19 + ch) * 12 + 5]).toBeNaN();
      expect(blocked.some(Number.isNaN)).toBe(true);
      expect(blocked.filter(Number.isFinite).length).toBeGreaterThan(blocked.length / 2);
    }
  });

  it('a NaN offset makes its bin NaN and leaves the other bins and grad_input finite', () => {
    const p = problem(1, 2, 8, 8, [[0, 1, 1, 7, 7]], { outputSize: 2, samplingRatio: 2 }, 9);
    p.offset!.data[1] = NaN; // x offset of bin (0, 1)
    const { output, grads } = run(createCpuBackend(), geometry(p), inputsOf(p), p.gradOutput.data);
    for (let ch = 0; ch < 2; ch++) {
      expect(output[ch * 4 + 1]).toBeNaN();
      for (const bin of [0, 2, 3]) expect(Number.isFinite(output[ch * 4 + bin])).toBe(true);
    }
    expect(grads.mask![1]).toBeNaN();
    expect(grads.offset![1]).toBeNaN();
    expect(grads.offset![4 + 1]).toBeNaN();
    expect(Number.isFinite(grads.mask![0])).toBe(true);
    expect(grads.input!.every(Number.isFinite)).toBe(true);
  });

  it('bounds the plan by the workspace, and sizes it so that a RoI fits one chunk when the budget allows', () => {
    const rois = [[0, 0, 0, 800, 800], [0, 100, 200, 300, 260], [0, -400, -400, 1200, 1200]];
    const p = problem(1, 1, 50, 50, rois, { outputSize: 7, spatialScale: 1 / 16, samplingRatio: 0 }, 10);
    const g = geometry(p);
    for (const backward of [false, true]) {
      const plan = createRoiPoolPlan(g, p.rois.data, 1 << 30, backward);
      // Largest adaptive grid: ceil(100 / 7) = 15 per axis, so at most 2 * 15 pixels per axis per bin.
      expect(plan.capacity).toBeLessThanOrEqual(49 * 30 * 30);
      const builder = new RoiPlanBuilder(g, p.offset!.data);
      for (let r = 0; r < rois.length; r++) {
        builder.begin(p.rois.data, r);
        expect(builder.fill(plan)).toBe(true);
        expect(plan.segments).toBe(49);
      }
    }
    for (const [ws, backward, slot] of [[65536, false, ROI_SLOT_BYTES_FORWARD], [4096, true, ROI_SLOT_BYTES_BACKWARD]] as const) {
      const plan = createRoiPoolPlan(g, p.rois.data, ws, backward);
      expect(plan.capacity).toBe(Math.floor(ws / slot));
      expect(Math.max(plan.capacity, plan.segmentCapacity) * slot).toBeLessThanOrEqual(ws);
    }
  });

  it('advertises RoI pooling and throws DisposedError after dispose', async () => {
    const be = createCpuBackend();
    expect(hasKernel(be, 'deform_roi_pool', 'forward') && hasKernel(be, 'deform_roi_pool', 'backward')).toBe(true);
    const p = problem(1, 1, 4, 4, [[0, 0, 0, 3, 3]], { outputSize: 1 }, 11);
    const g = geometry(p);
    await be.dispose();
    expect(() => be.deformRoiPool(g, inputsOf(p))).toThrow(DisposedError);
    expect(() => be.deformRoiPoolBackward(g, inputsOf(p), p.gradOutput.data, ALL)).toThrow(DisposedError);
  });
});
