/**
 * The conformance suite's golden vectors through @dcnv2/tfjs, on tfjs cpu, wasm and webgpu (Dawn on SwiftShader) in Node: each case's
 * output and every gradient (tf.grads with the case's gradOutput as dy), at the suite's own tolerances,
 * in NCHW as the vectors are and, for the convolution, in NHWC / HWIO as tfjs users hold their tensors.
 */
import * as tf from '@tensorflow/tfjs-core';
import { caseTolerance, compareTensors, convParams, defaultVectorsFiles, loadVectors, roiGradTensorName, roiPoolCaseTolerance, roiPoolParams, roiVectorProblem } from '@dcnv2/conformance';
import { OPS, type GradName, type RoiPoolGradName } from '@dcnv2/core';

const gradTensorName = (k: GradName) => `grad_${k}` as const;
import { beforeAll, describe, expect, it } from 'vitest';
import { deformConv2d, deformRoiPool } from '../src/index.js';
import { TFJS_BACKENDS, useBackend } from './tfjs-setup.js';

const convCases = loadVectors(defaultVectorsFiles('deform_conv2d')[0]!, 'deform_conv2d').cases;
const roiCases = loadVectors(defaultVectorsFiles('deform_roi_pool')[0]!, 'deform_roi_pool').cases;

/** Rows compared and the problems found, for a summary line per backend and op. */
interface Tally { compared: number; problems: string[] }

function check(t: Tally, label: string, got: ArrayLike<number>, want: ArrayLike<number>, tol: { atol: number; rtol: number }, shape: readonly number[]): void {
  t.compared++;
  const c = compareTensors(got, want, tol, shape);
  if (!c.pass) t.problems.push(`${label}: ${c.detail}`);
}

/** A result to compare once read back: computed inside a tidy (kept), read with `data()` (tfjs webgpu has no synchronous read-back in Node). */
interface Pending { label: string; tensor: tf.Tensor; want: ArrayLike<number>; tol: { atol: number; rtol: number }; shape: readonly number[] }

async function checkAll(t: Tally, pending: Pending[]): Promise<void> {
  for (const p of pending.splice(0)) {
    check(t, p.label, await p.tensor.data(), p.want, p.tol, p.shape);
    p.tensor.dispose();
  }
}

const nchwToNhwc = (x: tf.Tensor) => tf.transpose(x, [0, 2, 3, 1]);

for (const backend of TFJS_BACKENDS) {
  describe(`golden vectors through @dcnv2/tfjs on tfjs ${backend}`, () => {
    beforeAll(() => useBackend(backend));

    it.each(['NCHW', 'NHWC'] as const)('deform_conv2d, %s: every case, output and all five gradients', async (format) => {
      const t: Tally = { compared: 0, problems: [] };
      const pending: Pending[] = [];
      const before = tf.memory().numTensors;
      for (const vc of convCases) {
        const p = vc.problem;
        const g = p.geometry;
        const s = OPS.deform_conv2d.shapes(g);
        tf.tidy(() => {
          const names: GradName[] = ['input', 'weight', 'offset', ...(p.mask ? ['mask' as const] : []), ...(p.bias ? ['bias' as const] : [])];
          const nchw: Record<string, tf.Tensor> = {
            input: tf.tensor(p.input, [...s.input]), weight: tf.tensor(p.weight, [...s.weight]), offset: tf.tensor(p.offset, [...s.offset]),
            ...(p.mask ? { mask: tf.tensor(p.mask, [...s.mask]) } : {}), ...(p.bias ? { bias: tf.tensor(p.bias, [...s.bias]) } : {}),
          };
          const nhwc = format === 'NHWC';
          const xs = names.map((n) => (!nhwc || n === 'bias' ? nchw[n]! : n === 'weight' ? tf.transpose(nchw[n]!, [2, 3, 1, 0]) : nchwToNhwc(nchw[n]!)));
          const f = (...a: tf.Tensor[]) => deformConv2d(Object.fromEntries(names.map((n, i) => [n, a[i]])) as never, { ...convParams(g), dataFormat: format });
          const toNchw = (y: tf.Tensor) => (nhwc ? tf.transpose(y, [0, 3, 1, 2]) : y);
          const out = toNchw(f(...xs));
          if (vc.expected.output) pending.push({ label: `${vc.name} output`, tensor: tf.keep(out), want: vc.expected.output, tol: caseTolerance('output', g, vc.tolerance.output), shape: s.output });
          if (p.gradOutput === null) return;
          const dyNchw = tf.tensor(p.gradOutput, [...s.output]);
          const dy = nhwc ? nchwToNhwc(dyNchw) : dyNchw;
          const grads = tf.grads(f)(xs, dy);
          names.forEach((n, i) => {
            const name = gradTensorName(n);
            const want = vc.expected[name];
            if (want === undefined) return;
            const gi = n === 'bias' || !nhwc ? grads[i]! : n === 'weight' ? tf.transpose(grads[i]!, [3, 2, 0, 1]) : tf.transpose(grads[i]!, [0, 3, 1, 2]);
            pending.push({ label: `${vc.name} ${name}`, tensor: tf.keep(gi), want, tol: caseTolerance(name, g, vc.tolerance[name]), shape: s[n] });
          });
        });
        await checkAll(t, pending);
      }
      console.log(`tfjs ${backend} deform_conv2d ${format}: ${t.compared - t.problems.length} of ${t.compared} golden tensors pass`);
      expect(t.problems).toEqual([]);
      expect(t.compared).toBe(convCases.length * 6 - 2);
      expect(tf.memory().numTensors).toBe(before);
    });

    it('deform_roi_pool, NCHW: every case, output and the gradients of input, offset and mask', async () => {
      const t: Tally = { compared: 0, problems: [] };
      const pending: Pending[] = [];
      const before = tf.memory().numTensors;
      for (const vc of roiCases) {
        const p = roiVectorProblem(vc);
        const g = p.geometry;
        const s = OPS.deform_roi_pool.shapes(g);
        tf.tidy(() => {
          const names: RoiPoolGradName[] = ['input', ...(p.offset ? ['offset' as const] : []), ...(p.mask ? ['mask' as const] : [])];
          const all: Record<string, tf.Tensor> = {
            input: tf.tensor(p.input, [...s.input]),
            ...(p.offset ? { offset: tf.tensor(p.offset, [...s.offset]) } : {}),
            ...(p.mask ? { mask: tf.tensor(p.mask, [...s.mask]) } : {}),
          };
          const rois = tf.tensor(p.rois, [g.rois, 5]);
          const f = (...a: tf.Tensor[]) => deformRoiPool({ ...Object.fromEntries(names.map((n, i) => [n, a[i]])), rois } as never, { ...roiPoolParams(g), dataFormat: 'NCHW' });
          const xs = names.map((n) => all[n]!);
          const out = f(...xs);
          if (vc.expected.output) pending.push({ label: `${vc.name} output`, tensor: tf.keep(out), want: vc.expected.output.data, tol: roiPoolCaseTolerance('output', g, p.rois, vc.tolerance.output), shape: s.output });
          if (p.gradOutput === null) return;
          const grads = tf.grads(f)(xs, tf.tensor(p.gradOutput, [...s.output]));
          names.forEach((n, i) => {
            const name = roiGradTensorName(n);
            const want = vc.expected[name];
            if (want !== undefined) pending.push({ label: `${vc.name} ${name}`, tensor: tf.keep(grads[i]!), want: want.data, tol: roiPoolCaseTolerance(name, g, p.rois, vc.tolerance[name]), shape: s[n] });
          });
        });
        await checkAll(t, pending);
      }
      console.log(`tfjs ${backend} deform_roi_pool NCHW: ${t.compared - t.problems.length} of ${t.compared} golden tensors pass`);
      expect(t.problems).toEqual([]);
      expect(t.compared).toBeGreaterThanOrEqual(roiCases.length * 2);
      expect(tf.memory().numTensors).toBe(before);
    });
  });
}
