/**
 * The synchronous calls on a caller's GPU buffers (`submit*`, what @dcnv2/tfjs runs on tfjs-backend-webgpu's
 * tensors): values against the float64 reference, forward and every gradient, on buffers made by the
 * caller on the backend's device (Dawn on SwiftShader); the results are read only after the calls
 * returned, through a later submission, as a framework would. Then the checks: buffers too small, without
 * STORAGE usage, or not buffers; gradMask without mask; RoI pooling before prepareBufferCalls; a float16
 * backend; a GPU error, reported by the next call.
 */
import { BackendError, CapabilityError, OPS } from '@dcnv2/core';
import {
  compareTensors, defaultTolerance, makeGeometry, randomCaseData, referenceBackward, referenceForward, Rng, type ConvSpec,
  defaultVectorsFiles, loadVectors, roiVectorProblem, roiPoolCaseTolerance, deformRoiPoolF64, deformRoiPoolBackwardF64,
} from '@dcnv2/conformance';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWebGpuBackend } from '../dist/index.js';
import { COPY_DST, COPY_SRC, MAP_MODE_READ, MAP_READ, STORAGE } from '../src/gpu-flags.js';
import { nodeGpu } from './gpu.js';

const base: ConvSpec = {
  batch: 2, inChannels: 6, inHeight: 9, inWidth: 8, outChannels: 5, kernelH: 3, kernelW: 3,
  strideH: 1, strideW: 1, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1, dilationH: 1, dilationW: 1,
  groups: 1, offsetGroups: 1, hasMask: true, hasBias: true,
};

describe('webgpu calls on a caller\'s buffers (submit*)', () => {
  const backend = createWebGpuBackend({ gpu: nodeGpu() });
  beforeAll(async () => {
    await backend.init();
    await backend.prepareBufferCalls();
  });
  afterAll(() => backend.dispose());

  const made: GPUBuffer[] = [];
  afterAll(() => made.forEach((b) => b.destroy()));
  /** A caller's buffer (as tfjs makes them: STORAGE | COPY_SRC | COPY_DST), holding `data` or `n` stale values. */
  const buffer = (data: Float32Array | number): GPUBuffer => {
    const n = typeof data === 'number' ? data : data.length;
    const b = backend.device.createBuffer({ size: Math.max(4, n * 4), usage: STORAGE | COPY_SRC | COPY_DST });
    // Stale values where a result goes: the kernels must write every element.
    backend.device.queue.writeBuffer(b, 0, typeof data === 'number' ? new Float32Array(Math.max(1, n)).fill(777) : (data as Float32Array<ArrayBuffer>));
    made.push(b);
    return b;
  };
  const read = async (b: GPUBuffer, n: number): Promise<Float32Array> => {
    const s = backend.device.createBuffer({ size: Math.max(4, n * 4), usage: MAP_READ | COPY_DST });
    const enc = backend.device.createCommandEncoder();
    enc.copyBufferToBuffer(b, 0, s, 0, Math.max(4, n * 4));
    backend.device.queue.submit([enc.finish()]);
    await s.mapAsync(MAP_MODE_READ);
    const out = new Float32Array(s.getMappedRange().slice(0, n * 4));
    s.destroy();
    return out;
  };

  const shapes: ReadonlyArray<[string, Partial<ConvSpec>]> = [
    ['3x3, mask and bias, batch 2', {}],
    ['groups 2, offset groups 3, no mask, no bias', { inChannels: 6, outChannels: 4, groups: 2, offsetGroups: 3, hasMask: false, hasBias: false }],
    ['stride 2, dilation 2, 5x3 kernel', { strideH: 2, strideW: 2, dilationH: 2, kernelH: 5, padTop: 3, padBottom: 2, inHeight: 13, inWidth: 11 }],
  ];
  for (const [name, spec] of shapes) {
    it(`forward and every gradient match the float64 reference: ${name}`, async () => {
      const c = randomCaseData(new Rng(name.length * 31), makeGeometry({ ...base, ...spec }));
      const g = c.geometry;
      const s = OPS.deform_conv2d.shapes(g);
      const n = (k: keyof typeof s) => s[k].reduce((a, b) => a * b, 1);
      const ins = { input: buffer(c.input), weight: buffer(c.weight), offset: buffer(c.offset), mask: c.mask ? buffer(c.mask) : null };
      const output = buffer(n('output'));
      backend.submitDeformConv2d(g, { ...ins, bias: c.bias ? buffer(c.bias) : null, output });
      const fwd = compareTensors(await read(output, n('output')), referenceForward(c), defaultTolerance('output', g));
      expect(fwd.detail ?? '').toBe('');

      const grads = {
        gradInput: buffer(n('input')), gradWeight: buffer(n('weight')), gradOffset: buffer(n('offset')),
        gradMask: c.mask ? buffer(n('mask')) : null, gradBias: c.bias ? buffer(n('bias')) : null,
      };
      backend.submitDeformConv2dBackward(g, { ...ins, gradOutput: buffer(c.gradOutput!), ...grads });
      const want = referenceBackward(c);
      for (const k of ['input', 'weight', 'offset', 'mask', 'bias'] as const) {
        const b = grads[`grad${k[0]!.toUpperCase()}${k.slice(1)}` as keyof typeof grads];
        if (b === null) continue;
        const r = compareTensors(await read(b, n(k)), want[k]!, defaultTolerance(`grad_${k}`, g));
        expect(`${k}: ${r.detail ?? ''}`).toBe(`${k}: `);
      }
    });
  }

  it('computes only the gradients given a buffer', async () => {
    const c = randomCaseData(new Rng(3), makeGeometry(base));
    const g = c.geometry;
    const s = OPS.deform_conv2d.shapes(g);
    const len = (k: keyof typeof s) => s[k].reduce((a, b) => a * b, 1);
    const gradBias = buffer(len('bias'));
    const gradWeight = buffer(len('weight'));
    backend.submitDeformConv2dBackward(g, {
      input: buffer(c.input), weight: buffer(c.weight), offset: buffer(c.offset), mask: buffer(c.mask!), gradOutput: buffer(c.gradOutput!),
      gradInput: null, gradWeight: null, gradOffset: null, gradMask: null, gradBias,
    });
    expect(compareTensors(await read(gradBias, len('bias')), referenceBackward(c).bias!, defaultTolerance('grad_bias', g)).pass).toBe(true);
    expect([...(await read(gradWeight, 3))]).toEqual([777, 777, 777]);
  });

  const roiCases = loadVectors(defaultVectorsFiles('deform_roi_pool')[0]!, 'deform_roi_pool').cases;
  it(`RoI pooling: every golden case's output and gradients (${roiCases.length} cases) match the float64 reference`, async () => {
    const problems: string[] = [];
    for (const vc of roiCases) {
      const p = roiVectorProblem(vc);
      const g = p.geometry;
      const s = OPS.deform_roi_pool.shapes(g);
      const len = (k: keyof typeof s) => s[k].reduce((a, b) => a * b, 1);
      const ins = { input: buffer(p.input), rois: buffer(p.rois), offset: p.offset ? buffer(p.offset) : null, mask: p.mask ? buffer(p.mask) : null };
      const output = buffer(len('output'));
      backend.submitDeformRoiPool(g, { ...ins, output });
      const tol = (k: 'output' | 'grad_input' | 'grad_offset' | 'grad_mask') => roiPoolCaseTolerance(k, g, p.rois, vc.tolerance[k]);
      const f = compareTensors(await read(output, len('output')), deformRoiPoolF64(g, p), tol('output'));
      if (!f.pass) problems.push(`${vc.name} output: ${f.detail}`);
      if (p.gradOutput === null) continue;
      const grads = { gradInput: buffer(len('input')), gradOffset: p.offset ? buffer(len('offset')) : null, gradMask: p.mask ? buffer(len('mask')) : null };
      backend.submitDeformRoiPoolBackward(g, { ...ins, gradOutput: buffer(p.gradOutput), ...grads });
      const want = deformRoiPoolBackwardF64(g, p, p.gradOutput);
      for (const k of ['input', 'offset', 'mask'] as const) {
        const b = grads[`grad${k[0]!.toUpperCase()}${k.slice(1)}` as keyof typeof grads];
        if (b === null) continue;
        const r = compareTensors(await read(b, len(k)), want[k]!, tol(`grad_${k}`));
        if (!r.pass) problems.push(`${vc.name} grad_${k}: ${r.detail}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('refuses a buffer too small, one without STORAGE usage, a non-buffer and gradMask without mask, naming the argument', () => {
    const c = randomCaseData(new Rng(4), makeGeometry(base));
    const g = c.geometry;
    const ok = { input: buffer(c.input), weight: buffer(c.weight), offset: buffer(c.offset), mask: buffer(c.mask!), bias: buffer(c.bias!) };
    const outLen = OPS.deform_conv2d.shapes(g).output.reduce((a, b) => a * b, 1);
    const call = (over: object) => () => backend.submitDeformConv2d(g, { ...ok, output: buffer(outLen), ...over } as never);
    expect(call({ output: buffer(outLen - 1) })).toThrow(/buffers\.output\.size.*>= \d+ bytes/);
    expect(call({ input: buffer(c.input.length - 1) })).toThrow(BackendError);
    const noStorage = backend.device.createBuffer({ size: c.weight.length * 4, usage: COPY_SRC | COPY_DST });
    made.push(noStorage);
    expect(call({ weight: noStorage })).toThrow(/buffers\.weight\.usage.*STORAGE/);
    expect(call({ offset: new Float32Array(c.offset) })).toThrow(/buffers\.offset.*GPUBuffer/);
    // A getter that lies: the size is read once, and a small answer is refused.
    let reads = 0;
    const liar = { get size() { return reads++ === 0 ? 4 : 1 << 30; }, usage: STORAGE, destroy() {} };
    expect(call({ input: liar })).toThrow(/buffers\.input\.size/);
    // A GPUBuffer's own getters on another object throw: not a buffer either.
    expect(call({ input: Object.create(ok.input) })).toThrow(/buffers\.input.*GPUBuffer/);
    // A look-alike that passes every check is refused by Dawn when bound: still a typed error.
    expect(call({ input: { size: 1 << 20, usage: STORAGE, destroy() {} } })).toThrow(BackendError);
    expect(() => backend.submitDeformConv2dBackward(g, {
      input: ok.input, weight: ok.weight, offset: ok.offset, mask: null, gradOutput: buffer(outLen),
      gradInput: null, gradWeight: null, gradOffset: null, gradMask: buffer(c.mask!.length), gradBias: null,
    })).toThrow(/buffers\.gradMask/);
  });

  it('RoI pooling needs prepareBufferCalls first; a float16 backend refuses buffer calls', async () => {
    const other = createWebGpuBackend({ device: backend.device });
    await other.init();
    try {
      const vc = loadVectors(defaultVectorsFiles('deform_roi_pool')[0]!, 'deform_roi_pool').cases[0]!;
      const p = roiVectorProblem(vc);
      const call = () => other.submitDeformRoiPool(p.geometry, { input: buffer(p.input), rois: buffer(p.rois), offset: null, mask: null, output: buffer(1 << 12) });
      expect(call).toThrow(/prepareBufferCalls/);
      await other.prepareBufferCalls();
      expect(call).not.toThrow();
    } finally {
      other.dispose();
    }
    const half = createWebGpuBackend({ device: backend.device, precision: 'float16' });
    // SwiftShader has no shader-f16: init refuses already; the check in the calls is for devices that have it.
    await expect(half.init()).rejects.toThrow(CapabilityError);
    half.dispose();
  });

  it('a GPU error of a call (a destroyed buffer) is thrown by the next call', async () => {
    const c = randomCaseData(new Rng(6), makeGeometry(base));
    const g = c.geometry;
    const outLen = OPS.deform_conv2d.shapes(g).output.reduce((a, b) => a * b, 1);
    const args = () => ({ input: buffer(c.input), weight: buffer(c.weight), offset: buffer(c.offset), mask: buffer(c.mask!), bias: buffer(c.bias!), output: buffer(outLen) });
    const bad = args();
    bad.weight.destroy();
    backend.submitDeformConv2d(g, bad);
    // The error scopes resolve once the GPU has validated the submission.
    await backend.device.queue.onSubmittedWorkDone();
    await new Promise((r) => setTimeout(r, 50));
    expect(() => backend.submitDeformConv2d(g, args())).toThrow(BackendError);
    // Reported once: the call after it runs.
    const good = args();
    backend.submitDeformConv2d(g, good);
    const r = compareTensors(await read(good.output, outLen), referenceForward(c), defaultTolerance('output', g));
    expect(r.pass).toBe(true);
  });
});
