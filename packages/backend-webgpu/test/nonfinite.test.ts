/**
 * NaN and Inf propagate as torchvision's formulas evaluated directly would (the cpu backend's contract,
 * backend-cpu/test/nonfinite.test.ts): the NaN / +-Inf positions of the output and of every gradient
 * equal the float64 reference's, a NaN sampling coordinate makes its sample NaN (not 0), a sample outside
 * the image times a NaN or infinite mask is NaN, a pixel outside every footprint never leaks. WGSL lets
 * a compiler assume finite floats, so the kernels decide these cases on bit patterns (sampling-wgsl.ts);
 * this file checks the result on each driver the tests have: SwiftShader (float32) and lavapipe (float32
 * and float16 storage; float16 against the reference on the float16-rounded inputs).
 */
import type { GradName } from '@dcnv2/core';
import {
  backendBackward, backendForward, compareTensors, defaultTolerance, FLOAT16_UNIT_ROUNDOFF, makeGeometry, randomCaseData,
  referenceBackward, referenceForward, Rng, roundCaseToFloat16, type ConvCase, type ConvSpec, type ConvTensorName,
} from '@dcnv2/conformance';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWebGpuBackend, type WebGpuBackend } from '../dist/index.js';
import { float16Gpu, nodeGpu } from './gpu.js';

const base: ConvSpec = {
  batch: 1, inChannels: 4, inHeight: 7, inWidth: 8, outChannels: 3, kernelH: 3, kernelW: 3,
  strideH: 1, strideW: 1, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1, dilationH: 1, dilationW: 1,
  groups: 1, offsetGroups: 2, hasMask: true, hasBias: true,
};

function makeCase(spec: Partial<ConvSpec>, seed: number, offsets: 'mixed' | 'integer' = 'mixed'): ConvCase {
  const c = randomCaseData(new Rng(seed), makeGeometry({ ...base, ...spec }), { mask: 'raw' });
  if (offsets === 'integer') c.offset.forEach((v, i) => (c.offset[i] = Math.round(v)));
  return c;
}

const GRAD_NAMES: readonly GradName[] = ['input', 'offset', 'mask', 'weight', 'bias'];
const count = (a: ArrayLike<number>, f: (v: number) => boolean) => Array.from(a).reduce((n, v) => n + (f(v) ? 1 : 0), 0);

interface Setup {
  readonly name: string;
  readonly make: () => WebGpuBackend;
}

const setups: readonly Setup[] = [
  { name: 'SwiftShader, float32', make: () => createWebGpuBackend({ gpu: nodeGpu() }) },
  { name: 'lavapipe, float32', make: () => createWebGpuBackend({ gpu: float16Gpu(), precision: 'float32' }) },
  { name: 'lavapipe, float16', make: () => createWebGpuBackend({ gpu: float16Gpu(), precision: 'float16' }) },
];

for (const setup of setups) {
  describe(`NaN and Inf propagation (${setup.name})`, () => {
    const backend = setup.make();
    const f16 = backend.precision === 'float16';
    beforeAll(() => backend.init());
    afterAll(() => backend.dispose());

    /** Output and every gradient against the reference: identical NaN / Inf positions, finite values within tolerance. */
    async function compareAll(c: ConvCase): Promise<{ output: Float32Array; grads: Partial<Record<GradName, Float32Array>> }> {
      // A float16 backend computes on its rounded inputs; its only other error is its own result rounding.
      const ref = f16 ? roundCaseToFloat16(c) : c;
      const tol = (t: ConvTensorName) => {
        const d = defaultTolerance(t, c.geometry);
        return f16 ? { atol: d.atol, rtol: d.rtol + FLOAT16_UNIT_ROUNDOFF } : d;
      };
      const output = await backendForward(backend, c);
      const r = compareTensors(output, referenceForward(ref), tol('output'));
      expect(r.detail ?? 'ok', 'output').toBe('ok');
      const grads = await backendBackward(backend, c);
      const want = referenceBackward(ref);
      for (const k of GRAD_NAMES) {
        const w = want[k];
        if (w === null) continue;
        const g = compareTensors(grads[k]!, w, tol(`grad_${k}`));
        expect(g.detail ?? 'ok', `grad_${k}`).toBe('ok');
      }
      return { output, grads };
    }

    it('a NaN input pixel reaches exactly the outputs whose samples read it', async () => {
      const c = makeCase({}, 1);
      c.input[1 * 56 + 3 * 8 + 4] = NaN; // channel 1, row 3, col 4
      const { output } = await compareAll(c);
      const nan = count(output, Number.isNaN);
      expect(nan).toBeGreaterThan(0);
      expect(nan).toBeLessThan(output.length);
    });

    it('Inf and -Inf input pixels give Inf, -Inf or NaN as the sums dictate', async () => {
      const c = makeCase({}, 2);
      c.input[5] = Infinity;
      c.input[56 + 20] = -Infinity;
      c.input[3 * 56 + 55] = Infinity;
      const { output } = await compareAll(c);
      expect(count(output, (v) => !Number.isFinite(v))).toBeGreaterThan(0);
    });

    it('NaN offsets make their samples NaN, infinite ones fall outside (0), and the offset gradient follows', async () => {
      const c = makeCase({}, 3);
      const HoWo = 7 * 8;
      c.offset[0 * HoWo + 10] = NaN; // dy of tap 0, offset group 0
      c.offset[3 * HoWo + 20] = Infinity; // dx of tap 1
      c.offset[4 * HoWo + 30] = -Infinity; // dy of tap 2
      c.offset[(18 + 7) * HoWo + 40] = NaN; // dx of tap 3, offset group 1
      const { output, grads } = await compareAll(c);
      expect(count(output, Number.isNaN)).toBeGreaterThan(0); // the NaN samples are not 0
      expect(count(grads.offset!, Number.isNaN)).toBeGreaterThan(0);
    });

    it('NaN and Inf in the mask, on samples inside, outside the image (mask * 0) and at integer coordinates', async () => {
      const c = makeCase({}, 4, 'integer');
      for (let i = 0; i < c.offset.length; i++) c.offset[i] = Math.round(c.offset[i]! * 3); // many samples outside
      const m = c.mask!;
      for (let i = 0; i < m.length; i += 7) m[i] = i % 3 === 0 ? NaN : i % 3 === 1 ? Infinity : -Infinity;
      await compareAll(c);
    });

    it('a sample outside the image with a NaN mask makes the output NaN, and only there', async () => {
      const c = makeCase({ inChannels: 1, outChannels: 1, inHeight: 3, inWidth: 3, kernelH: 1, kernelW: 1, padTop: 0, padLeft: 0, padBottom: 0, padRight: 0, offsetGroups: 1 }, 5);
      c.offset.fill(100);
      c.mask![4] = NaN;
      const { output } = await compareAll(c);
      expect(Number.isNaN(output[4])).toBe(true);
      expect(count(output, Number.isNaN)).toBe(1);
    });

    it('an Inf mask at an integer coordinate stays Inf (the weight-0 corners are not folded into the mask)', async () => {
      const c = makeCase({ inChannels: 1, outChannels: 1, inHeight: 3, inWidth: 3, kernelH: 1, kernelW: 1, padTop: 0, padLeft: 0, padBottom: 0, padRight: 0, offsetGroups: 1, hasBias: false }, 6);
      c.offset.fill(0);
      c.input.fill(2);
      c.weight[0] = 1;
      c.mask!.fill(1);
      c.mask![4] = Infinity;
      const { output } = await compareAll(c);
      expect(output[4]).toBe(Infinity);
      expect(output[0]).toBe(2);
    });

    it('NaN pixels outside every sample footprint do not leak through zero weights', async () => {
      const c = makeCase({ inChannels: 2, outChannels: 2, inHeight: 5, inWidth: 5, offsetGroups: 1 }, 7, 'integer');
      c.input[12] = NaN;
      c.input[25 + 24] = NaN; // bottom-right pixel of channel 1
      await compareAll(c);
    });

    it('NaN and Inf in weight, bias and gradOutput', async () => {
      const c = makeCase({ outChannels: 4 }, 8);
      c.weight[7] = NaN;
      c.weight[40] = Infinity;
      c.bias![2] = -Infinity;
      const go = c.gradOutput!;
      go[3] = NaN;
      go[60] = Infinity;
      go[100] = -Infinity;
      await compareAll(c);
    });

    it('sparse NaN / Inf in every tensor, across geometries, never throws and matches the reference', async () => {
      const r = new Rng(11);
      const specials = [NaN, Infinity, -Infinity];
      for (let trial = 0; trial < 8; trial++) {
        const c = makeCase(
          { batch: 1 + (trial % 2), inHeight: 5 + (trial % 3), inWidth: 6, outChannels: 2, kernelH: 2 + (trial % 2), padLeft: 0, groups: 2, offsetGroups: 2 },
          100 + trial,
          trial % 3 === 0 ? 'integer' : 'mixed',
        );
        for (const t of [c.input, c.offset, c.mask!, c.weight, c.bias!, c.gradOutput!]) {
          for (let i = 0; i < t.length; i++) if (r.next() < 0.02) t[i] = specials[Math.floor(r.next() * 3)]!;
        }
        await compareAll(c);
      }
    });
  });
}
