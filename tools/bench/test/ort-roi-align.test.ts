import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { buildRoiAlignModel, roiAlignModelShapes } from '@dcnv2/conformance';
import { splitRois } from '../src/adapters/ort-roi-align.js';
import { makeRoiCaseData } from '../src/roi-case-data.js';
import { roiForwardReference } from '../src/roi-reference.js';
import { parseRoiShapeArg } from '../src/roi-shapes.js';

describe('the onnxruntime RoiAlign peer', () => {
  it('splits [R, 5] RoIs into boxes and int64 batch indices', () => {
    const { boxes, batchIndices } = splitRois(new Float32Array([1, 0.5, 1, 2, 3, 0, 4, 5, 6, 7]), 2);
    expect(Array.from(boxes)).toEqual([0.5, 1, 2, 3, 4, 5, 6, 7]);
    expect(Array.from(batchIndices)).toEqual([1n, 0n]);
  });

  it('computes on onnxruntime-node what the bench holds it to: the reference without offset and mask', async () => {
    for (const spec of ['2,3,12,10,6,3,2,2,1/2', '1,2,9,11,4,2,3,0,1']) {
      const c = makeRoiCaseData(parseRoiShapeArg(spec).spec, 6);
      const g = c.geometry;
      const s = roiAlignModelShapes(g);
      const session = await ort.InferenceSession.create(buildRoiAlignModel(g));
      const { boxes, batchIndices } = splitRois(c.rois, g.rois);
      const r = await session.run({
        X: new ort.Tensor('float32', c.input, s.X),
        rois: new ort.Tensor('float32', boxes, s.rois),
        batch_indices: new ort.Tensor('int64', batchIndices, s.batch_indices),
      });
      expect(r.Y.dims).toEqual(s.Y);
      const want = roiForwardReference(c, 'plain');
      const got = r.Y.data as Float32Array;
      let err = 0;
      for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(got[i] - want[i]));
      expect(err).toBeLessThan(1e-5);
      await session.release();
    }
  });
});
