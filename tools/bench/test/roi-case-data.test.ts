import { describe, expect, it } from 'vitest';
import { roiCaseClear } from '@dcnv2/conformance';
import { boxSideRange, makeRoiCaseData, roiCaseFromTensors, roiCaseTensorEntries, roiSampleCount, WELL_CONDITIONED_PX } from '../src/roi-case-data.js';
import { roiDirectionFlops } from '../src/roi-bench-case.js';
import { NAMED_ROI_SHAPES, parseRoiShapeArg } from '../src/roi-shapes.js';
import { decodeTensorFile, encodeTensorFile } from '../src/tensor-file.js';

const r1 = makeRoiCaseData(NAMED_ROI_SHAPES.R1, 1);
const small = parseRoiShapeArg('2,3,12,10,40,3,2,0,1/2').spec;

function std(a: Float32Array): number {
  let s = 0;
  for (const v of a) s += v * v;
  return Math.sqrt(s / a.length);
}

describe('RoI pooling inputs', () => {
  it('are drawn reproducibly from the seed', () => {
    const a = makeRoiCaseData(small, 7);
    const b = makeRoiCaseData(small, 7);
    expect(Array.from(a.rois)).toEqual(Array.from(b.rois));
    expect(Array.from(a.offset)).toEqual(Array.from(b.offset));
    expect(Array.from(makeRoiCaseData(small, 8).rois)).not.toEqual(Array.from(a.rois));
  });

  it('places the boxes inside the image, 32..512 px a side, on every batch item', () => {
    const imageW = 84 * 16;
    const imageH = 50 * 16;
    for (let r = 0; r < 256; r++) {
      const [b, x1, y1, x2, y2] = r1.rois.subarray(r * 5, r * 5 + 5);
      expect(b).toBe(0);
      expect(x1).toBeGreaterThanOrEqual(0);
      expect(y1).toBeGreaterThanOrEqual(0);
      expect(x2).toBeLessThanOrEqual(imageW + 1e-3);
      expect(y2).toBeLessThanOrEqual(imageH + 1e-3);
      for (const side of [x2 - x1, y2 - y1]) {
        expect(side).toBeGreaterThanOrEqual(32 - 1e-3);
        expect(side).toBeLessThanOrEqual(512 + 1e-3);
      }
    }
    // Log-uniform sides: about as many below sqrt(32 * 512) = 128 px as above.
    let below = 0;
    for (let r = 0; r < 256; r++) if (r1.rois[r * 5 + 3] - r1.rois[r * 5 + 1] < 128) below++;
    expect(below).toBeGreaterThan(90);
    expect(below).toBeLessThan(166);
    const c = makeRoiCaseData(small, 3);
    const batches = new Set(Array.from({ length: 40 }, (_, r) => c.rois[r * 5]));
    expect(batches).toEqual(new Set([0, 1]));
  });

  it('shrinks the box sides to fit a small image', () => {
    expect(boxSideRange(1344)).toEqual({ min: 32, max: 512 });
    expect(boxSideRange(24)).toEqual({ min: 6, max: 24 });
  });

  it('keeps every sample, with and without offsets, and every adaptive grid clear of integer coordinates', () => {
    for (const c of [r1, makeRoiCaseData(small, 5)]) {
      expect(roiCaseClear(c, WELL_CONDITIONED_PX)).toBe(true);
      expect(roiCaseClear({ ...c, offset: null }, WELL_CONDITIONED_PX)).toBe(true);
    }
  });

  it('draws offsets ~ N(0, 0.1²), masks in (0, 1), input and gradOutput ~ N(0, 1)', () => {
    expect(std(r1.offset)).toBeGreaterThan(0.095);
    expect(std(r1.offset)).toBeLessThan(0.105);
    expect(r1.mask.every((m) => m > 0 && m < 1)).toBe(true);
    expect(std(r1.input)).toBeCloseTo(1, 1);
    expect(std(r1.gradOutput)).toBeCloseTo(1, 1);
    expect(r1.gradOutput.length).toBe(256 * 256 * 49);
  });

  it('counts the bilinear samples and the work', () => {
    // 256 RoIs x 256 channels x 49 bins x 2x2 samples.
    expect(roiSampleCount(r1)).toBe(256 * 256 * 49 * 4);
    expect(roiDirectionFlops(1000, 'fwd')).toBe(8000);
    expect(roiDirectionFlops(1000, 'fwdbwd')).toBe(24000);
    // Adaptive: each RoI's grid is ceil(side / bins) on the feature map.
    const c = makeRoiCaseData(parseRoiShapeArg('1,2,40,40,1,2,2,0,1').spec, 1);
    const [, x1, y1, x2, y2] = c.rois;
    const gw = Math.ceil((x2 - x1) / 2);
    const gh = Math.ceil((y2 - y1) / 2);
    expect(roiSampleCount(c)).toBe(2 * 4 * gw * gh);
  });

  it('survives the case file', () => {
    const c = makeRoiCaseData(small, 2);
    const f = decodeTensorFile<{ op: 'deform_roi_pool'; geometry: typeof c.geometry; seed: number }>(
      encodeTensorFile({ op: 'deform_roi_pool', geometry: c.geometry, seed: 2 }, roiCaseTensorEntries(c)),
    );
    const back = roiCaseFromTensors(f.meta, f.tensors);
    expect(back.geometry).toEqual(c.geometry);
    for (const k of ['input', 'rois', 'offset', 'mask', 'gradOutput'] as const) expect(Array.from(back[k])).toEqual(Array.from(c[k]));
  });

  it('allows no RoIs and no channels', () => {
    const c = makeRoiCaseData(parseRoiShapeArg('1,0,6,6,0,2,2,2,1').spec, 1);
    expect([c.rois.length, c.offset.length, c.input.length, c.gradOutput.length]).toEqual([0, 0, 0, 0]);
    expect(roiSampleCount(c)).toBe(0);
  });
});
