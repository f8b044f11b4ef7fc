/**
 * Modulated deformable RoI pooling on the WebGPU backend (Dawn on SwiftShader): every golden case of
 * shared/golden/deform_roi_pool.json (read by path, never copied), forward and the three gradients, on the
 * backend methods and through core's public API; no RoIs, no channels, gradient subsets, an adaptive grid
 * whose bin size is an exact integer, resident chaining, the f16 load/store convention, a NaN offset
 * (the cpu backend's NaN positions). The conformance suites of deform_roi_pool run in conformance.test.ts.
 */
import { fileURLToPath } from 'node:url';
import { deformRoiPool, deformRoiPoolBackward, hasKernel, LimitError, type RoiPoolGeometry } from '@dcnv2/core';
import {
  deformRoiPoolBackwardF64, deformRoiPoolF64, defaultRoiPoolTolerance, compareTensors, loadVectors, roiPoolCaseTolerance, roiPoolParams,
  roiVectorProblem, type RoiPoolTensorName, type RoiPoolVectorCase, type VectorTensor,
} from '@dcnv2/conformance';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWebGpuBackend, type WebGpuTensor } from '../dist/index.js';
import { roiPoolShader } from '../src/roi-pool-shader.js';
import { nodeGpu } from './gpu.js';

const goldenFile = fileURLToPath(new URL('../../../../shared/golden/deform_roi_pool.json', import.meta.url));

/** '' when every |got - want| <= atol + rtol * |want|, else the first value out of tolerance. */
function worst(got: Float32Array, want: Float32Array, [atol, rtol]: readonly [number, number]): string {
  if (got.length !== want.length) return `length ${got.length} != ${want.length}`;
  for (let i = 0; i < got.length; i++) {
    const d = Math.abs(got[i]! - want[i]!);
    if (!(d <= atol + rtol * Math.abs(want[i]!))) return `[${i}] got ${got[i]} want ${want[i]}`;
  }
  return '';
}

const geometry = (c: RoiPoolVectorCase): RoiPoolGeometry => roiVectorProblem(c).geometry;

/** '' when `got` is within the conformance suite's tolerance of a golden tensor (the case's override included). */
function golden(c: RoiPoolVectorCase, tensor: RoiPoolTensorName, got: Float32Array): string {
  const tol = roiPoolCaseTolerance(tensor, geometry(c), c.rois.data, c.tolerance[tensor]);
  const r = compareTensors(got, c.expected[tensor]!.data, tol);
  return r.pass ? '' : `${c.name} ${tensor}: ${r.detail ?? `max abs error ${r.maxAbsError}`}`;
}

describe('webgpu deform_roi_pool', () => {
  const backend = createWebGpuBackend({ gpu: nodeGpu() });
  beforeAll(() => backend.init());
  afterAll(() => backend.dispose());

  const up = (t: VectorTensor | null): WebGpuTensor | null => (t === null ? null : backend.upload(t.data, t.shape));
  const cases = loadVectors(goldenFile, 'deform_roi_pool').cases;

  it('converts every load and store of a stored tensor (the f16 convention), checked by compiling with ST = i32', async () => {
    // SwiftShader has no shader-f16, so the f16 module cannot be compiled here. With ST = i32 any tensor
    // value used in f32 arithmetic without f32(...), or stored without ST(...), is a type error.
    const f16 = roiPoolShader('f16');
    expect(f16.startsWith('enable f16;')).toBe(true);
    const probe = f16.replace(/^enable f16;\nalias ST = f16;/, 'alias ST = i32;');
    expect(probe).not.toBe(f16);
    const module = backend.device.createShaderModule({ code: probe });
    const errors = (await module.getCompilationInfo()).messages.filter((m) => m.type === 'error').map((m) => `${m.lineNum}: ${m.message}`);
    expect(errors).toEqual([]);
  });

  it('has RoI pooling kernels, both directions', () => {
    expect(hasKernel(backend, 'deform_roi_pool', 'forward') && hasKernel(backend, 'deform_roi_pool', 'backward')).toBe(true);
    expect(cases.length).toBeGreaterThan(0);
  });

  for (const c of cases) {
    it(`golden ${c.name}: forward and every gradient`, async () => {
      const g = geometry(c);
      const inputs = { input: up(c.input)!, rois: up(c.rois)!, offset: up(c.offset), mask: up(c.mask) };
      const out = await backend.deformRoiPool(g, inputs);
      const outShape = [g.rois, g.channels, g.pooledH, g.pooledW];
      expect(golden(c, 'output', await backend.download(out, outShape))).toBe('');
      const gout = up(c.gradOutput)!;
      const grads = await backend.deformRoiPoolBackward(g, inputs, gout, { input: true, offset: true, mask: true });
      let checked = 0;
      for (const k of ['input', 'offset', 'mask'] as const) {
        const want = c.expected[`grad_${k}`];
        const h = grads[k];
        if (want === undefined) {
          expect(h).toBeNull();
          continue;
        }
        expect(golden(c, `grad_${k}`, await backend.download(h!, want.shape))).toBe('');
        checked++;
        backend.release(h!);
      }
      expect(checked).toBeGreaterThan(0);
      for (const h of [out, gout, ...Object.values(inputs)]) if (h !== null) backend.release(h);
    });
  }

  /** A small problem with offsets and mask, from the first golden case (2 images, 3 channels, 3 RoIs). */
  const small = cases[0]!;

  it('no RoIs: an empty output, empty offset/mask gradients and an all-zero grad_input', async () => {
    const g = { ...geometry(small), rois: 0 };
    const inputs = {
      input: up(small.input)!, rois: backend.upload(new Float32Array(0), [0, 5]),
      offset: backend.upload(new Float32Array(0), [0, 2, 3, 3]), mask: backend.upload(new Float32Array(0), [0, 1, 3, 3]),
    };
    const out = await backend.deformRoiPool(g, inputs);
    expect(out.length).toBe(0);
    expect((await backend.download(out, [0, 3, 3, 3])).length).toBe(0);
    // A recycled buffer holding old values must not leak into grad_input: fill the pool with a non-zero one first.
    backend.release(backend.upload(new Float32Array(small.input.data.length).fill(7), small.input.shape));
    const grads = await backend.deformRoiPoolBackward(g, inputs, backend.upload(new Float32Array(0), [0, 3, 3, 3]), { input: true, offset: true, mask: true });
    const gi = await backend.download(grads.input!, small.input.shape);
    expect(gi.length).toBe(small.input.data.length);
    expect(gi.every((v) => v === 0)).toBe(true);
    expect(grads.offset!.length).toBe(0);
    expect(grads.mask!.length).toBe(0);
  });

  it('no channels (N*C = 0): empty output and grad_input, zero offset/mask gradients', async () => {
    const g = { ...geometry(small), channels: 0 };
    const inputs = { input: backend.upload(new Float32Array(0), [2, 0, 8, 8]), rois: up(small.rois)!, offset: up(small.offset), mask: up(small.mask) };
    const out = await backend.deformRoiPool(g, inputs);
    expect(out.length).toBe(0);
    // Recycled buffers holding old values must not leak into the gradients: fill the pool's 256-byte class
    // (every tensor of this call) with non-zero ones.
    const dirty = Array.from({ length: 8 }, () => backend.upload(new Float32Array(54).fill(7), [54]));
    for (const h of dirty) backend.release(h);
    const grads = await backend.deformRoiPoolBackward(g, inputs, backend.upload(new Float32Array(0), [3, 0, 3, 3]), { input: true, offset: true, mask: true });
    expect(grads.input!.length).toBe(0);
    // With no channels the loss does not depend on offset or mask.
    expect(Array.from(await backend.download(grads.offset!, [3, 2, 3, 3]))).toEqual(new Array(54).fill(0));
    expect(Array.from(await backend.download(grads.mask!, [3, 1, 3, 3]))).toEqual(new Array(27).fill(0));
  });

  it('computes only the requested gradients, each equal to the full call', async () => {
    const g = geometry(small);
    const inputs = { input: up(small.input)!, rois: up(small.rois)!, offset: up(small.offset), mask: up(small.mask) };
    const gout = up(small.gradOutput)!;
    const full = await backend.deformRoiPoolBackward(g, inputs, gout, { input: true, offset: true, mask: true });
    const subsets = [
      { input: true, offset: false, mask: false },
      { input: false, offset: true, mask: false },
      { input: false, offset: false, mask: true },
      { input: false, offset: true, mask: true },
    ];
    for (const want of subsets) {
      const got = await backend.deformRoiPoolBackward(g, inputs, gout, want);
      for (const k of ['input', 'offset', 'mask'] as const) {
        if (!want[k]) {
          expect(got[k]).toBeNull();
          continue;
        }
        const shape = small.expected[`grad_${k}`]!.shape;
        const a = await backend.download(got[k]!, shape);
        const b = await backend.download(full[k]!, shape);
        // offset and mask are gathers in a fixed order: bitwise equal; input is a float scatter: close.
        if (k === 'input') expect(worst(a, b, [1e-6, 1e-6])).toBe('');
        else expect(Array.from(a)).toEqual(Array.from(b));
      }
    }
  });

  it('a gradient of an absent offset or mask is null', async () => {
    const c = cases.find((x) => x.offset === null && x.mask === null)!;
    const g = geometry(c);
    const inputs = { input: up(c.input)!, rois: up(c.rois)!, offset: null, mask: null };
    const grads = await backend.deformRoiPoolBackward(g, inputs, up(c.gradOutput)!, { input: false, offset: true, mask: true });
    expect(grads).toEqual({ input: null, offset: null, mask: null });
  });

  it('chains resident handles: the pooled output feeds the next call without leaving the device', async () => {
    const g = geometry(small);
    const inputs = { input: up(small.input)!, rois: up(small.rois)!, offset: up(small.offset), mask: up(small.mask) };
    const pooled = await backend.deformRoiPool(g, inputs);
    // Read [R, C, 3, 3] as a batch of R images: one whole-image RoI per image, 1x1 bin, 3x3 samples.
    const R = g.rois;
    const whole = new Float32Array(R * 5);
    for (let r = 0; r < R; r++) whole.set([r, 0, 0, 3, 3], r * 5);
    const g2 = { ...g, batch: R, inHeight: 3, inWidth: 3, rois: R, pooledH: 1, pooledW: 1, samplingRatio: 3, spatialScale: 1, hasOffset: false, hasMask: false };
    const second = await backend.deformRoiPool(g2, { input: pooled, rois: backend.upload(whole, [R, 5]), offset: null, mask: null });
    const got = await backend.download(second, [R, g.channels, 1, 1]);
    // start -0.5, bin 3, samples at 0, 1, 2 on both axes: exactly the mean of the 3x3 pooled values.
    const want = small.expected.output!.data;
    for (let k = 0; k < R * g.channels; k++) {
      let s = 0;
      for (let q = 0; q < 9; q++) s += want[k * 9 + q]!;
      expect(Math.abs(got[k]! - s / 9)).toBeLessThan(1e-5);
    }
  });

  it('golden cases through core\'s deformRoiPool / deformRoiPoolBackward', async () => {
    for (const c of cases) {
      const params = roiPoolParams(geometry(c));
      const args = { input: c.input, rois: c.rois, offset: c.offset, mask: c.mask };
      const out = await deformRoiPool(args, params, { backend });
      expect(out.shape).toEqual(c.expected.output!.shape);
      expect(golden(c, 'output', out.data)).toBe('');
      const grads = await deformRoiPoolBackward({ ...args, gradOutput: c.gradOutput! }, params, { backend });
      for (const k of ['input', 'offset', 'mask'] as const) {
        const want = c.expected[`grad_${k}`];
        if (want === undefined) {
          expect(grads[k]).toBeUndefined();
          continue;
        }
        expect(golden(c, `grad_${k}`, grads[k]!.data)).toBe('');
      }
    }
  });

  it('chains resident outputs through core: the pooled map feeds a second RoI pooling on the device', async () => {
    const c = small;
    const params = roiPoolParams(geometry(c));
    const first = await deformRoiPool({ input: c.input, rois: c.rois, offset: c.offset, mask: c.mask }, params, { backend, output: 'resident' });
    expect(first.shape).toEqual([3, 3, 3, 3]);
    // The output's batch of R pooled maps is the next input; RoI (r, 0.5, 0.5, 2.5, 2.5) at scale 1 pools 2x2 bins.
    const rois2 = { shape: [3, 5], data: Float32Array.from([0, 0.5, 0.5, 2.5, 2.5, 1, 0.5, 0.5, 2.5, 2.5, 2, 0.5, 0.5, 2.5, 2.5]) };
    const second = await deformRoiPool({ input: first, rois: rois2 }, { outputSize: 2, samplingRatio: 1 }, { backend, output: 'resident' });
    const grads = await deformRoiPoolBackward(
      { input: first, rois: rois2, gradOutput: second }, { outputSize: 2, samplingRatio: 1 }, { backend, output: 'resident', grads: ['input'] },
    );
    const pooled = await first.read();
    const g2: RoiPoolGeometry = { batch: 3, channels: 3, inHeight: 3, inWidth: 3, rois: 3, pooledH: 2, pooledW: 2, spatialScale: 1, samplingRatio: 1, gamma: 0.1, hasOffset: false, hasMask: false };
    const t = { input: pooled, rois: rois2.data, offset: null, mask: null };
    const want = deformRoiPoolF64(g2, t);
    const got = await second.read();
    expect(compareTensors(got, want, defaultRoiPoolTolerance('output', g2, rois2.data)).pass).toBe(true);
    const wantGrad = deformRoiPoolBackwardF64(g2, t, got).input;
    expect(compareTensors(await grads.input!.read(), wantGrad, defaultRoiPoolTolerance('grad_input', g2, rois2.data)).pass).toBe(true);
    expect(grads.offset).toBeUndefined();
    for (const r of [first, second, grads.input!]) r.dispose();
  });

  it('an adaptive grid of exactly 2 samples per bin is 2 (not 3 from a rounded quotient), also at scale 1/16', async () => {
    // roi_h = 14 feature pixels over 7 bins: ceil(14 / 7) must be 2 however the GPU divides.
    const g: RoiPoolGeometry = { batch: 1, channels: 5, inHeight: 20, inWidth: 20, rois: 2, pooledH: 7, pooledW: 7, spatialScale: 1 / 16, samplingRatio: 0, gamma: 0.1, hasOffset: false, hasMask: false };
    const input = Float32Array.from({ length: 5 * 400 }, (_, i) => Math.sin(i * 0.37) + (i % 20) * 0.05);
    const rois = Float32Array.from([0, 8, 24, 8 + 14 * 16, 24 + 14 * 16, 0, 16, 16, 16 + 21 * 16, 16 + 7 * 16]);
    const inputs = { input: backend.upload(input, [1, 5, 20, 20]), rois: backend.upload(rois, [2, 5]), offset: null, mask: null };
    const got = await backend.download(await backend.deformRoiPool(g, inputs), [2, 5, 7, 7]);
    expect(worst(got, Float32Array.from(deformRoiPoolF64(g, { input, rois, offset: null, mask: null })), [1e-5, 1e-5])).toBe('');
  });

  it('a NaN offset makes its bin NaN (output, grad_offset, grad_mask) as on the cpu backend; other bins and grad_input are the finite run', async () => {
    // 2 RoIs x 2 channels x 2x2 bins, sampling ratio 2; offset[0, 0, 0, 1] (x of RoI 0, bin (0, 1)) is NaN.
    const input = { shape: [1, 2, 6, 6], data: Float32Array.from({ length: 72 }, (_, i) => Math.sin(i)) };
    const rois = { shape: [2, 5], data: Float32Array.from([0, 0, 0, 4, 4, 0, 1, 1, 5, 5]) };
    const mask = { shape: [2, 1, 2, 2], data: new Float32Array(8).fill(0.5) };
    const params = { outputSize: 2, samplingRatio: 2 };
    const nanOffset = { shape: [2, 2, 2, 2], data: new Float32Array(16) };
    nanOffset.data[1] = NaN;
    const ones = { shape: [2, 2, 2, 2], data: new Float32Array(16).fill(1) };
    const nanAt = (a: Float32Array): number[] => [...a].flatMap((v, i) => (Number.isNaN(v) ? [i] : []));

    const out = await deformRoiPool({ input, rois, offset: nanOffset, mask }, params, { backend });
    const grads = await deformRoiPoolBackward({ input, rois, offset: nanOffset, mask, gradOutput: ones }, params, { backend });
    // out[0, c, 0, 1] for c = 0, 1; grad_offset[0, 0 and 1, 0, 1]; grad_mask[0, 0, 0, 1].
    expect(nanAt(out.data)).toEqual([1, 5]);
    expect(nanAt(grads.offset!.data)).toEqual([1, 5]);
    expect(nanAt(grads.mask!.data)).toEqual([1]);
    expect(grads.input!.data.every(Number.isFinite)).toBe(true);

    // The finite run: offset 0 there, and no gradient into that bin, so its grad_input contribution is 0.
    const zeroOffset = { shape: [2, 2, 2, 2], data: new Float32Array(16) };
    const onesElsewhere = { shape: [2, 2, 2, 2], data: Float32Array.from(ones.data, (v, i) => (i === 1 || i === 5 ? 0 : v)) };
    const finOut = await deformRoiPool({ input, rois, offset: zeroOffset, mask }, params, { backend });
    const fin = await deformRoiPoolBackward({ input, rois, offset: zeroOffset, mask, gradOutput: onesElsewhere }, params, { backend });
    const others = (a: Float32Array, nan: readonly number[]): number[] => [...a].filter((_, i) => !nan.includes(i));
    // Forward, grad_offset and grad_mask are per-bin gathers in a fixed order: bitwise equal elsewhere.
    expect(others(out.data, [1, 5])).toEqual(others(finOut.data, [1, 5]));
    expect(others(grads.offset!.data, [1, 5])).toEqual(others(fin.offset!.data, [1, 5]));
    expect(others(grads.mask!.data, [1])).toEqual(others(fin.mask!.data, [1]));
    expect(others(finOut.data, [1, 5]).some((v) => v !== 0)).toBe(true);
    // grad_input is a float scatter in no fixed order: equal within float32 rounding.
    expect(worst(grads.input!.data, fin.input!.data, [1e-6, 1e-6])).toBe('');
    expect(fin.input!.data.some((v) => v !== 0)).toBe(true);
  });

  it('throws LimitError naming maxStorageBufferBindingSize for a too large output', async () => {
    // One RoI, one channel, 32768 x 32768 bins: a 4 GiB output, refused before allocating.
    const g: RoiPoolGeometry = { ...geometry(small), batch: 1, channels: 1, inHeight: 2, inWidth: 2, rois: 1, pooledH: 32768, pooledW: 32768, hasOffset: false, hasMask: false };
    const input = backend.upload(new Float32Array(4), [1, 1, 2, 2]);
    const rois = backend.upload(new Float32Array(5), [1, 5]);
    await expect(backend.deformRoiPool(g, { input, rois, offset: null, mask: null })).rejects.toThrow(LimitError);
    await expect(backend.deformRoiPool(g, { input, rois, offset: null, mask: null })).rejects.toThrow(/maxStorageBufferBindingSize/);
    backend.release(input);
    backend.release(rois);
  });
});
