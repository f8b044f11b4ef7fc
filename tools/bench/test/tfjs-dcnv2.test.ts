/**
 * The @dcnv2/tfjs rows: the adapter in this process (tfjs cpu and wasm, NCHW and NHWC, both directions) held
 * to the float64 reference as the worker's agreement check holds it, with no tf.Tensor left behind; which rows
 * the catalogue and `--impl` give; and the direct dcnv2 row each is divided by.
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTfjsDcnv2Adapter } from '../src/adapters/tfjs-dcnv2.js';
import { checkImpl } from '../src/agreement.js';
import { makeCaseData } from '../src/case-data.js';
import { buildCatalogue, matchesFilter } from '../src/impls.js';
import { backwardReference, forwardReference } from '../src/reference.js';
import { parseShapeArg, shapeGeometry } from '../src/shapes.js';
import { directImplOf, directRowOf, TFJS_DCNV2_BACKENDS, tfjsDcnv2Id } from '../src/tfjs-rows.js';

// Not square, strided, grouped, two offset groups, batch 2: every axis of a layout change differs in size.
const c = makeCaseData(shapeGeometry(parseShapeArg('2,4,7,5,6,3,2,1,1,2,2')[0]!.spec), 3);
const refs = { forward: forwardReference(c, 'deformable'), grads: backwardReference(c, 'deformable'), baseline: null };

afterAll(async () => {
  const { disposeDcnv2Backends } = await import('@dcnv2/tfjs');
  await disposeDcnv2Backends();
});

describe('@dcnv2/tfjs rows', () => {
  for (const backend of TFJS_DCNV2_BACKENDS) {
    for (const layout of ['NCHW', 'NHWC'] as const) {
      it(`${tfjsDcnv2Id(backend, layout)}: output and all five gradients agree with float64, no tensor leaks`, async () => {
        for (const direction of ['fwd', 'fwdbwd'] as const) {
          const runner = await makeTfjsDcnv2Adapter(backend, layout)(c, { threads: 4, direction });
          expect(tf.getBackend()).toBe(backend);
          expect(runner.threads).toBe(1);
          expect(runner.version).toMatch(new RegExp(`^@dcnv2/tfjs \\S+ ${layout} on @tensorflow/tfjs-backend-${backend} 4\\.22\\.0, kernels on @dcnv2/backend-${backend} `));
          const before = tf.memory().numTensors;
          const out = await runner.outputs();
          await runner.run();
          expect(tf.memory().numTensors).toBe(before);
          const names = Object.keys(out).sort();
          expect(names).toEqual(direction === 'fwd' ? ['output'] : ['grad_bias', 'grad_input', 'grad_mask', 'grad_offset', 'grad_weight', 'output']);
          // NCHW / OIHW shapes, whatever the layout of the call.
          expect(out.output!.shape).toEqual([2, 6, 4, 3]);
          if (direction === 'fwdbwd') expect(out.grad_weight!.shape).toEqual([6, 2, 3, 3]);
          const outputs = new Map(Object.entries(out).map(([k, t]) => [k, t!.data]));
          const r = checkImpl({ kind: 'deformable', direction, geometry: c.geometry, outputs }, refs);
          expect(r.status, JSON.stringify(r.tensors.filter((t) => !t.pass))).toBe('ok');
          expect(r.tensors).toHaveLength(direction === 'fwd' ? 1 : 6);
        }
      });
    }
  }

  it('are deformable rows with a backward, single-threaded; --impl tfjs-dcnv2 leaves out the NHWC ones', async () => {
    const nchw = await buildCatalogue('deform_conv2d', ['tfjs-dcnv2']);
    expect(nchw.impls.map((i) => i.id)).toEqual(['tfjs-dcnv2-cpu', 'tfjs-dcnv2-wasm']);
    for (const i of nchw.impls) {
      expect(i).toMatchObject({ kind: 'deformable', runtime: 'node', threaded: false, directions: ['fwd', 'fwdbwd'] });
      expect(i.adapter).toBe(i.id);
    }
    const all = await buildCatalogue('deform_conv2d', ['tfjs']);
    expect(all.impls.map((i) => i.id)).toEqual(['tfjs-dcnv2-cpu', 'tfjs-dcnv2-wasm', 'tfjs-nhwc-cpu', 'tfjs-nhwc-wasm', 'dense-tfjs-cpu', 'dense-tfjs-wasm']);
    // The requested comparison in one --impl: each tfjs row and its direct row.
    const pair = await buildCatalogue('deform_conv2d', ['dcnv2-cpu', 'dcnv2-wasm', 'tfjs-dcnv2']);
    expect(pair.impls.map((i) => i.id)).toEqual(['dcnv2-cpu', 'dcnv2-wasm', 'tfjs-dcnv2-cpu', 'tfjs-dcnv2-wasm']);
    expect((await buildCatalogue('deform_roi_pool', ['tfjs'])).impls).toEqual([]);
    // The exact id of a direct row names that row alone; a broader pattern still takes the tfjs rows.
    expect((await buildCatalogue('deform_conv2d', ['dcnv2-cpu'])).impls.map((i) => i.id)).toEqual(['dcnv2-cpu']);
    expect((await buildCatalogue('deform_conv2d', ['wasm'])).impls.map((i) => i.id)).toEqual(['dcnv2-wasm', 'tfjs-dcnv2-wasm', 'tfjs-nhwc-wasm', 'dense-tfjs-wasm']);
    expect(matchesFilter('tfjs-dcnv2-cpu', ['dcnv2-cpu'])).toBe(false);
    expect(matchesFilter('tfjs-dcnv2-cpu', ['dcnv2-c'])).toBe(true);
    expect(matchesFilter('dcnv2-cpu-plain', ['dcnv2-cpu'])).toBe(true);
  });

  it('each is divided by the direct dcnv2 row of its backend at 1 thread', () => {
    expect(directRowOf('tfjs-dcnv2-cpu')).toBe('dcnv2-cpu@1t');
    expect(directRowOf('tfjs-dcnv2-wasm')).toBe('dcnv2-wasm@1t');
    expect(directRowOf('tfjs-nhwc-wasm')).toBe('dcnv2-wasm@1t');
    expect(directRowOf(tfjsDcnv2Id('cpu', 'NHWC'))).toBe('dcnv2-cpu@1t');
    expect(directImplOf('tfjs-dcnv2-wasm')).toBe('dcnv2-wasm');
    for (const id of ['dcnv2-cpu', 'dense-tfjs-cpu', 'dense-tfjs-wasm', 'ort-web', 'tfjs-dcnv2-cpu-x']) expect(directRowOf(id)).toBeNull();
  });
});
