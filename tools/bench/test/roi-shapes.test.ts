import { describe, expect, it } from 'vitest';
import { ShapeError } from '../src/shapes.js';
import { formatScale, NAMED_ROI_SHAPES, namedRoiShape, parseRoiShapeArg, roiShapeGeometry, roiShapeLabel } from '../src/roi-shapes.js';

describe('RoI pooling shapes', () => {
  it('has R1, a box head on the stride-16 map of an 800x1344 image, and R2, a mask head on its stride-8 map', () => {
    expect(Object.keys(NAMED_ROI_SHAPES)).toEqual(['R1', 'R2']);
    expect(NAMED_ROI_SHAPES.R1).toEqual({ n: 1, c: 256, h: 50, w: 84, rois: 256, ph: 7, pw: 7, ratio: 2, scale: 1 / 16 });
    expect(NAMED_ROI_SHAPES.R2).toMatchObject({ h: 100, w: 168, rois: 100, ph: 14, pw: 14, ratio: 2, scale: 1 / 8 });
    for (const s of Object.values(NAMED_ROI_SHAPES)) expect([s.h / s.scale, s.w / s.scale]).toEqual([800, 1344]);
    expect(namedRoiShape('r1')).toEqual({ label: 'R1', spec: NAMED_ROI_SHAPES.R1 });
    expect(namedRoiShape('C')).toBeNull();
  });

  it('labels a shape with its fields, the scale as a fraction where it is one', () => {
    expect(roiShapeLabel(NAMED_ROI_SHAPES.R1)).toBe('1x256x50x84 R256 7x7 sr2 scale1/16');
    expect(formatScale(0.25)).toBe('1/4');
    expect(formatScale(1)).toBe('1');
    expect(formatScale(0.3)).toBe('0.3');
  });

  it('parses a custom shape N,C,H,W,R,ph,pw,ratio,scale, the scale as a decimal or a fraction', () => {
    const a = parseRoiShapeArg('2,8,20,30,6,3,4,0,0.125');
    expect(a.spec).toEqual({ n: 2, c: 8, h: 20, w: 30, rois: 6, ph: 3, pw: 4, ratio: 0, scale: 0.125 });
    expect(a.label).toBe('2x8x20x30 R6 3x4 sr0 scale1/8');
    expect(parseRoiShapeArg('1,4,6,6,2,2,2,2, 1/8 ').spec.scale).toBe(0.125);
    // No RoIs, or no channels: valid, the results are empty.
    expect(parseRoiShapeArg('1,4,6,6,0,2,2,2,1').spec.rois).toBe(0);
    expect(parseRoiShapeArg('0,4,6,6,0,2,2,2,1').spec.n).toBe(0);
    expect(() => parseRoiShapeArg('1,4,6,6,2,2,2,2,1,1')).toThrow(ShapeError);
    expect(() => parseRoiShapeArg('1,4,6,,2,2,2,2,1')).toThrow(/empty field/);
    expect(() => parseRoiShapeArg('1,4,0,6,2,2,2,2,1')).toThrow(/h must be a positive integer/);
    expect(() => parseRoiShapeArg('1,-4,6,6,2,2,2,2,1')).toThrow(/non-negative integers/);
  });

  it('resolves the geometry core would, with offsets, masks and gamma 0.1', () => {
    expect(roiShapeGeometry(NAMED_ROI_SHAPES.R1)).toEqual({
      batch: 1, channels: 256, inHeight: 50, inWidth: 84, rois: 256, pooledH: 7, pooledW: 7,
      spatialScale: 0.0625, samplingRatio: 2, gamma: 0.1, hasOffset: true, hasMask: true,
    });
  });
});
