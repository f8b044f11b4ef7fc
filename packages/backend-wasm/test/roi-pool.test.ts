/**
 * Modulated deformable RoI pooling on the wasm backend: every golden case (forward and the three
 * gradients) on the SIMD and relaxed builds with 1 and 2 threads, through the backend methods with a
 * hand-built geometry and through core's public ops; empty problems (R = 0, C = 0); gradient subsets;
 * results that do not depend on the thread count; and problems the golden set does not reach (plans
 * longer than one workspace, images narrower than a SIMD segment, huge adaptive grids, NaN isolation),
 * checked against the float64 oracle of @dcnv2/conformance with the conformance tolerances; and NaN
 * offsets, which must poison exactly their bin as on the cpu backend.
 */
import { deformRoiPool, deformRoiPoolBackward, hasKernel, type RoiPoolGeometry, type RoiPoolGradRequest } from '@dcnv2/core';
import {
  binSamplePositions,
  compareTensors,
  defaultVectorsFiles,
  deformRoiPoolBackwardF64,
  deformRoiPoolF64,
  loadVectors,
  roiFrame,
  roiPoolCaseTolerance,
  type RoiPoolTensorName,
  type RoiPoolVectorCase,
} from '@dcnv2/conformance';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWasmBackend, type WasmBackend, type WasmTensor } from '../dist/index.js';
import { randTensor, rng } from './helpers.js';

const vectors = loadVectors(defaultVectorsFiles('deform_roi_pool')[0], 'deform_roi_pool');

/** A RoI pooling problem as host arrays. */
interface Problem {
  readonly g: RoiPoolGeometry;
  readonly input: Float32Array;
  readonly rois: Float32Array;
  readonly offset: Float32Array | null;
  readonly mask: Float32Array | null;
  readonly gradOutput: Float32Array;
}

interface HostGrads {
  readonly input: Float32Array | null;
  readonly offset: Float32Array | null;
  readonly mask: Float32Array | null;
}

const ALL: RoiPoolGradRequest = { input: true, offset: true, mask: true };

function fromVectors(c: RoiPoolVectorCase): Problem {
  const [batch, channels, inHeight, inWidth] = c.input.shape;
  const g: RoiPoolGeometry = {
    batch, channels, inHeight, inWidth, rois: c.rois.shape[0],
    pooledH: c.params.outputSize[0], pooledW: c.params.outputSize[1],
    spatialScale: c.params.spatialScale, samplingRatio: c.params.samplingRatio, gamma: c.params.gamma,
    hasOffset: c.offset !== null, hasMask: c.mask !== null,
  };
  if (c.gradOutput === null) throw new Error(`${c.name}: the golden cases carry gradOutput`);
  return { g, input: c.input.data, rois: c.rois.data, offset: c.offset?.data ?? null, mask: c.mask?.data ?? null, gradOutput: c.gradOutput.data };
}

const shapes = (g: RoiPoolGeometry) => ({
  input: [g.batch, g.channels, g.inHeight, g.inWidth],
  rois: [g.rois, 5],
  offset: [g.rois, 2, g.pooledH, g.pooledW],
  mask: [g.rois, 1, g.pooledH, g.pooledW],
  output: [g.rois, g.channels, g.pooledH, g.pooledW],
});

/** Runs forward and backward through the backend methods on uploaded handles, and frees everything. */
async function runDirect(be: WasmBackend, p: Problem, want: RoiPoolGradRequest = ALL): Promise<{ output: Float32Array; grads: HostGrads }> {
  const s = shapes(p.g);
  const h = {
    input: be.upload(p.input, s.input),
    rois: be.upload(p.rois, s.rois),
    offset: p.offset === null ? null : be.upload(p.offset, s.offset),
    mask: p.mask === null ? null : be.upload(p.mask, s.mask),
  };
  const go = be.upload(p.gradOutput, s.output);
  const read = async (t: WasmTensor | null, shape: number[]) => {
    if (t === null) return null;
    const d = await be.download(t, shape);
    be.release(t);
    return d;
  };
  try {
    const output = (await read(await be.deformRoiPool(p.g, h), s.output))!;
    const g = await be.deformRoiPoolBackward(p.g, h, go, want);
    const grads = { input: await read(g.input, s.input), offset: await read(g.offset, s.offset), mask: await read(g.mask, s.mask) };
    return { output, grads };
  } finally {
    for (const t of [h.input, h.rois, h.offset, h.mask, go]) if (t !== null) be.release(t);
  }
}

/** The same through core's public ops (validation, RoI checks, uploads, downloads). */
async function runCore(be: WasmBackend, p: Problem, grads?: Array<'input' | 'offset' | 'mask'>): Promise<{ output: Float32Array; grads: HostGrads }> {
  const s = shapes(p.g);
  const args = {
    input: { shape: s.input, data: p.input },
    rois: { shape: s.rois, data: p.rois },
    offset: p.offset === null ? null : { shape: s.offset, data: p.offset },
    mask: p.mask === null ? null : { shape: s.mask, data: p.mask },
  };
  const params = { outputSize: [p.g.pooledH, p.g.pooledW] as [number, number], spatialScale: p.g.spatialScale, samplingRatio: p.g.samplingRatio, gamma: p.g.gamma };
  const out = await deformRoiPool(args, params, { backend: be });
  expect(out.shape).toEqual(s.output);
  const g = await deformRoiPoolBackward({ ...args, gradOutput: { shape: s.output, data: p.gradOutput } }, params, { backend: be, ...(grads ? { grads } : {}) });
  return { output: out.data, grads: { input: g.input?.data ?? null, offset: g.offset?.data ?? null, mask: g.mask?.data ?? null } };
}

/** Expects `got` within the conformance tolerance of `want` (the same bounds every backend is held to). */
function expectClose(tensor: RoiPoolTensorName, got: ArrayLike<number> | null, want: ArrayLike<number>, p: Problem, label: string): void {
  expect(got, `${label} ${tensor}`).not.toBeNull();
  const tol = roiPoolCaseTolerance(tensor, p.g, p.rois);
  const cmp = compareTensors(got!, want, tol);
  expect(cmp.pass, `${label} ${tensor}: max |err| ${cmp.maxAbsError} at ${cmp.worstIndex} (atol ${tol.atol}, rtol ${tol.rtol})`).toBe(true);
}

/** Checks a run against the float64 oracle: output, and every gradient the problem has. */
function expectOracle(got: { output: Float32Array; grads: HostGrads }, p: Problem, label: string): void {
  const t = { input: p.input, rois: p.rois, offset: p.offset, mask: p.mask };
  expectClose('output', got.output, deformRoiPoolF64(p.g, t), p, label);
  const want = deformRoiPoolBackwardF64(p.g, t, p.gradOutput);
  expectClose('grad_input', got.grads.input, want.input, p, label);
  if (want.offset !== null) expectClose('grad_offset', got.grads.offset, want.offset, p, label);
  if (want.mask !== null) expectClose('grad_mask', got.grads.mask, want.mask, p, label);
}

/** Random RoIs (image coordinates) inside and around an image of H/scale x W/scale pixels. */
function randomProblem(seed: number, o: {
  N: number; C: number; H: number; W: number; R: number; ph: number; pw: number; scale: number; ratio: number;
  offset?: boolean; mask?: boolean; margin?: number; gamma?: number;
}): Problem {
  const r = rng(seed);
  const g: RoiPoolGeometry = {
    batch: o.N, channels: o.C, inHeight: o.H, inWidth: o.W, rois: o.R, pooledH: o.ph, pooledW: o.pw,
    spatialScale: o.scale, samplingRatio: o.ratio, gamma: o.gamma ?? 0.1, hasOffset: o.offset ?? true, hasMask: o.mask ?? true,
  };
  const m = o.margin ?? 2;
  const rois = new Float32Array(o.R * 5);
  for (let k = 0; k < o.R; k++) {
    const xs = [r(), r()].map((u) => (u * (o.W + 2 * m) - m) / o.scale).sort((a, b) => a - b);
    const ys = [r(), r()].map((u) => (u * (o.H + 2 * m) - m) / o.scale).sort((a, b) => a - b);
    rois.set([Math.floor(r() * o.N), xs[0], ys[0], xs[1], ys[1]], k * 5);
  }
  return {
    g,
    input: randTensor([o.N, o.C, o.H, o.W], r, 2).data,
    rois,
    offset: g.hasOffset ? randTensor([o.R, 2, o.ph, o.pw], r, 1).data : null,
    mask: g.hasMask ? randTensor([o.R, 1, o.ph, o.pw], r, 1, 0).data : null,
    gradOutput: randTensor([o.R, o.C, o.ph, o.pw], r, 2).data,
  };
}

/** Pixels (batch * H + y) * W + x that some sample reads, by the RoIAlign clamping rules. */
function touchedPixels(p: Problem): Set<number> {
  const { g } = p;
  const bins = g.pooledH * g.pooledW;
  const touched = new Set<number>();
  const corners = (v: number, size: number): number[] => {
    const c = Math.max(v, 0);
    const lo = Math.floor(c);
    return lo >= size - 1 ? [size - 1] : [lo, lo + 1];
  };
  for (let r = 0; r < g.rois; r++) {
    const f = roiFrame(g, p.rois, r);
    for (let bin = 0; bin < bins; bin++) {
      const i = Math.floor(bin / g.pooledW);
      const j = bin % g.pooledW;
      const dx = p.offset === null ? 0 : g.gamma * f.roiW * p.offset[(r * 2) * bins + bin];
      const dy = p.offset === null ? 0 : g.gamma * f.roiH * p.offset[(r * 2 + 1) * bins + bin];
      for (const { y, x } of binSamplePositions(f, i, j, dy, dx)) {
        if (y < -1 || y > g.inHeight || x < -1 || x > g.inWidth) continue;
        for (const yy of corners(y, g.inHeight)) for (const xx of corners(x, g.inWidth)) touched.add((f.batchIndex * g.inHeight + yy) * g.inWidth + xx);
      }
    }
  }
  return touched;
}

const VARIANTS = [
  { simd: 'simd', threads: 1 },
  { simd: 'simd', threads: 2 },
  { simd: 'relaxed', threads: 1 },
  { simd: 'relaxed', threads: 2 },
] as const;

describe('wasm RoI pooling: golden vectors', () => {
  it('has the golden cases to run', () => {
    expect(vectors.cases.length).toBeGreaterThanOrEqual(6);
  });

  for (const v of VARIANTS) {
    describe(`${v.simd}, ${v.threads} thread${v.threads > 1 ? 's' : ''}`, () => {
      const be = createWasmBackend(v);
      beforeAll(() => be.init());
      afterAll(() => be.dispose());

      it('runs the requested build and thread count and states roiPool', () => {
        expect(be.info).toMatchObject({ variant: v.simd, threads: v.threads, sharedMemory: v.threads > 1, workerUrl: v.threads > 1 ? expect.stringMatching(/\/dist\/worker\.js$/) : null });
        expect(hasKernel(be, 'deform_roi_pool', 'forward')).toBe(true);
        expect(hasKernel(be, 'deform_roi_pool', 'backward')).toBe(true);
      });

      for (const c of vectors.cases) {
        it(`${c.name}: forward and gradients through the backend methods match the golden values`, async () => {
          const p = fromVectors(c);
          const got = await runDirect(be, p);
          const label = `${c.name} (${v.simd}, ${v.threads}t)`;
          const e = c.expected;
          expectClose('output', got.output, e.output!.data, p, label);
          expectClose('grad_input', got.grads.input, e.grad_input!.data, p, label);
          if (p.offset !== null) expectClose('grad_offset', got.grads.offset, e.grad_offset!.data, p, label);
          else expect(got.grads.offset).toBeNull();
          if (p.mask !== null) expectClose('grad_mask', got.grads.mask, e.grad_mask!.data, p, label);
          else expect(got.grads.mask).toBeNull();
        });

        it(`${c.name}: the same through core's deformRoiPool and deformRoiPoolBackward`, async () => {
          const p = fromVectors(c);
          const viaCore = await runCore(be, p);
          const direct = await runDirect(be, p);
          expect(viaCore.output).toEqual(direct.output);
          expect(viaCore.grads).toEqual(direct.grads);
        });
      }
    });
  }
});

describe('wasm RoI pooling: contract', () => {
  const be = createWasmBackend({ threads: 2 });
  beforeAll(() => be.init());
  afterAll(() => be.dispose());

  it('returns empty outputs for R = 0, a zero grad_input and empty offset and mask gradients', async () => {
    const p = randomProblem(1, { N: 2, C: 3, H: 5, W: 6, R: 0, ph: 2, pw: 3, scale: 1, ratio: 2 });
    for (const run of [runDirect, runCore]) {
      const got = await run(be, p);
      expect(got.output.length).toBe(0);
      expect(got.grads.input).toEqual(new Float32Array(2 * 3 * 5 * 6));
      expect(got.grads.offset!.length).toBe(0);
      expect(got.grads.mask!.length).toBe(0);
    }
  });

  it('returns empty outputs for C = 0 and exactly zero offset and mask gradients', async () => {
    const p = randomProblem(2, { N: 1, C: 0, H: 5, W: 6, R: 3, ph: 2, pw: 2, scale: 1, ratio: 0 });
    for (const run of [runDirect, runCore]) {
      const got = await run(be, p);
      expect(got.output.length).toBe(0);
      expect(got.grads.input!.length).toBe(0);
      expect(got.grads.offset).toEqual(new Float32Array(3 * 2 * 4));
      expect(got.grads.mask).toEqual(new Float32Array(3 * 4));
    }
  });

  it('computes exactly the requested gradients, each equal to its value in a full request', async () => {
    const p = randomProblem(3, { N: 2, C: 6, H: 9, W: 11, R: 4, ph: 3, pw: 2, scale: 0.5, ratio: 0 });
    const full = await runDirect(be, p);
    const names = ['input', 'offset', 'mask'] as const;
    for (let bits = 0; bits < 8; bits++) {
      const want = { input: (bits & 1) !== 0, offset: (bits & 2) !== 0, mask: (bits & 4) !== 0 };
      const got = await runDirect(be, p, want);
      for (const k of names) {
        if (want[k]) expect(got.grads[k], `${k} of ${JSON.stringify(want)}`).toEqual(full.grads[k]);
        else expect(got.grads[k], `${k} of ${JSON.stringify(want)}`).toBeNull();
      }
      const viaCore = await runCore(be, p, names.filter((k) => want[k]));
      for (const k of names) expect(viaCore.grads[k]).toEqual(want[k] ? full.grads[k] : null);
    }
    // No offset / mask tensors: their gradients are never computed, even when asked for.
    const plain = { ...p, offset: null, mask: null, g: { ...p.g, hasOffset: false, hasMask: false } };
    const got = await runDirect(be, plain, ALL);
    expect(got.grads.offset).toBeNull();
    expect(got.grads.mask).toBeNull();
    expectOracle(got, plain, 'no offset, no mask');
  });

  it('gives bit-identical results on 1, 2 and 3 threads (per build), and matches the float64 oracle', async () => {
    // 5 RoIs: the channels are split into blocks (partial sums) and 37 channels leave a remainder after the groups of 4.
    const p = randomProblem(4, { N: 2, C: 37, H: 13, W: 17, R: 5, ph: 3, pw: 4, scale: 0.5, ratio: 2 });
    for (const simd of ['simd', 'relaxed'] as const) {
      const runs = [];
      for (const threads of [1, 2, 3]) {
        const b = createWasmBackend({ simd, threads });
        await b.init();
        runs.push(await runDirect(b, p));
        await b.dispose();
      }
      expect(runs[1]).toEqual(runs[0]);
      expect(runs[2]).toEqual(runs[0]);
      expectOracle(runs[0], p, simd);
    }
  });

  it('plans large adaptive bins in several ranges per RoI (more entries than one workspace holds)', async () => {
    // A RoI over a whole 80x120 map with 7x7 adaptive bins needs ~700 entries per bin, 49 bins > 4096 entries.
    const p = randomProblem(5, { N: 1, C: 5, H: 80, W: 120, R: 3, ph: 7, pw: 7, scale: 1, ratio: 0, margin: 0 });
    p.rois.set([0, -1, -1, 121, 81], 0);
    expectOracle(await runDirect(be, p), p, 'large bins');
  });

  it('handles images narrower than a 4-column segment (W = 1, 2, 3) and a single row', async () => {
    for (const [H, W] of [[6, 1], [5, 2], [4, 3], [1, 9]]) {
      const p = randomProblem(10 + W, { N: 2, C: 6, H, W, R: 4, ph: 2, pw: 3, scale: 1, ratio: 0, margin: 1 });
      expectOracle(await runDirect(be, p), p, `${H}x${W}`);
    }
  });

  it('finishes on absurdly large RoIs (a grid of ~1e30 samples per bin) with finite zero-or-small values', async () => {
    // Core refuses adaptive grids over 2^20 samples; the kernel itself only visits samples that can land inside.
    const p = randomProblem(6, { N: 1, C: 2, H: 6, W: 7, R: 2, ph: 2, pw: 2, scale: 1, ratio: 0 });
    p.rois.set([0, -1e30, -1e30, 1e30, 1e30, 0, -3e29, 1, 2e29, 5], 0);
    const got = await runDirect(be, p);
    for (const a of [got.output, got.grads.input!, got.grads.offset!, got.grads.mask!]) {
      for (const x of a) expect(Number.isFinite(x)).toBe(true);
    }
  });

  it('never lets a NaN in a pixel that no sample reads reach the results', async () => {
    // Sparse samples (small RoIs, 2x2 samples per bin): most pixels beside a sampled one are not read, but
    // they share its 4-column segments, whose unused lanes must be masked, not multiplied by 0.
    const p = randomProblem(7, { N: 2, C: 5, H: 16, W: 19, R: 6, ph: 2, pw: 2, scale: 0.25, ratio: 2, margin: -3 });
    const touched = touchedPixels(p);
    const dirty = { ...p, input: p.input.slice() };
    const plane = p.g.inHeight * p.g.inWidth;
    let poisoned = 0;
    for (let n = 0; n < p.g.batch; n++) {
      for (let px = 0; px < plane; px++) {
        if (touched.has(n * plane + px)) continue;
        poisoned++;
        for (let c = 0; c < p.g.channels; c++) dirty.input[(n * p.g.channels + c) * plane + px] = Number.NaN;
      }
    }
    expect(poisoned).toBeGreaterThan(plane);
    expect(touched.size).toBeGreaterThan(20);
    const clean = await runDirect(be, p);
    expectOracle(clean, p, 'clean');
    expect(await runDirect(be, dirty)).toEqual(clean);
  });
});

describe('wasm RoI pooling: a NaN offset', () => {
  /** Flat indices of the NaN entries of `a`. */
  const nanIndices = (a: ArrayLike<number>): number[] => Array.from(a, (v, i) => (Number.isNaN(v) ? i : -1)).filter((i) => i >= 0);

  /**
   * R = 2 RoIs over a 6x6 image of sin(i), 2x2 bins, sampling ratio 2, mask 0.5, gradOutput 1, and the x
   * offset of bin (0, 1) of RoI 0 NaN (flat offset index 1). The finite twin has that offset 0 and that
   * bin's gradOutput 0 in every channel, so every other result must be bit-identical to it: the NaN bin
   * neither reads pixels nor scatters into grad_input.
   */
  function nanProblem(channels: number): { nan: Problem; finite: Problem } {
    const g: RoiPoolGeometry = {
      batch: 1, channels, inHeight: 6, inWidth: 6, rois: 2, pooledH: 2, pooledW: 2,
      spatialScale: 1, samplingRatio: 2, gamma: 0.1, hasOffset: true, hasMask: true,
    };
    const input = Float32Array.from({ length: channels * 36 }, (_, i) => Math.sin(i));
    const rois = Float32Array.from([0, 0, 0, 4, 4, 0, 1, 1, 5, 5]);
    const offset = new Float32Array(2 * 2 * 4);
    const mask = new Float32Array(2 * 4).fill(0.5);
    const gradOutput = new Float32Array(2 * channels * 4).fill(1);
    const nan = { g, input, rois, offset: offset.slice(), mask, gradOutput };
    nan.offset[1] = Number.NaN;
    const finiteGrad = gradOutput.slice();
    for (let c = 0; c < channels; c++) finiteGrad[c * 4 + 1] = 0;
    return { nan, finite: { g, input, rois, offset, mask, gradOutput: finiteGrad } };
  }

  /** `got` equals `want` everywhere except at `nans`, where it is NaN. */
  function expectNanOnly(got: ArrayLike<number> | null, want: ArrayLike<number> | null, nans: number[], label: string): void {
    expect(got, label).not.toBeNull();
    expect(nanIndices(got!), `${label}: NaN indices`).toEqual(nans);
    const rest = (a: ArrayLike<number>) => Array.from(a).filter((_, i) => !nans.includes(i));
    expect(rest(got!), `${label}: the other entries`).toEqual(rest(want!));
  }

  for (const v of VARIANTS) {
    it(`makes its bin NaN in every channel, grad_offset and grad_mask, and nothing else (${v.simd}, ${v.threads}t)`, async () => {
      const be = createWasmBackend(v);
      await be.init();
      try {
        // 2 channels: the one-channel forward path (the case where the cpu backend gives NaN at [1, 5]);
        // 5 channels: 4 channels at a time plus one left over.
        for (const channels of [2, 5]) {
          const { nan, finite } = nanProblem(channels);
          const label = `C = ${channels}`;
          const want = await runDirect(be, finite);
          const outNans = Array.from({ length: channels }, (_, c) => c * 4 + 1);
          if (channels === 2) expect(outNans).toEqual([1, 5]);
          for (const got of [await runDirect(be, nan), await runCore(be, nan)]) {
            expectNanOnly(got.output, want.output, outNans, `${label} output`);
            // grad_offset[0, 0, 0, 1] and grad_offset[0, 1, 0, 1]; grad_mask[0, 0, 0, 1].
            expectNanOnly(got.grads.offset, want.grads.offset, [1, 5], `${label} grad_offset`);
            expectNanOnly(got.grads.mask, want.grads.mask, [1], `${label} grad_mask`);
            expectNanOnly(got.grads.input, want.grads.input, [], `${label} grad_input`);
          }
          expectOracle(want, finite, `${label} finite twin`);
        }
      } finally {
        await be.dispose();
      }
    });
  }
});
