import { describe, expect, it } from 'vitest';
import { directionFlops, NAMED_SHAPES, parseShapeArg, shapeGeometry, shapeLabel, ShapeError, sweepShapes } from '../src/shapes.js';

describe('shapes', () => {
  it('has the issue\'s named shapes A–E, 3x3 stride 1 pad 1', () => {
    expect(Object.keys(NAMED_SHAPES)).toEqual(['A', 'B', 'C', 'D', 'E']);
    expect(NAMED_SHAPES.C).toMatchObject({ n: 1, cin: 256, h: 14, w: 14, cout: 256, k: 3, stride: 1, pad: 1 });
    expect(NAMED_SHAPES.E).toMatchObject({ cin: 256, h: 64, w: 64, cout: 256 });
  });

  it('parses named shapes, one or a list, in any case', () => {
    expect(parseShapeArg('C').map((s) => s.label)).toEqual(['C']);
    expect(parseShapeArg('a,B,e').map((s) => s.label)).toEqual(['A', 'B', 'E']);
    expect(() => parseShapeArg('F')).toThrow(/unknown shape/);
  });

  it('parses custom shapes with defaults for the optional fields', () => {
    const [s] = parseShapeArg('1,4,6,6,4');
    expect(s.label).toBe('1x4x6x6->4');
    expect(s.spec).toEqual({ n: 1, cin: 4, h: 6, w: 6, cout: 4, k: 3, stride: 1, pad: 1, dil: 1, groups: 1, og: 1 });
    const [t] = parseShapeArg('2,8,9,9,4,5,2,0,1,2,4');
    expect(t.spec).toEqual({ n: 2, cin: 8, h: 9, w: 9, cout: 4, k: 5, stride: 2, pad: 0, dil: 1, groups: 2, og: 4 });
    expect(t.label).toBe('2x8x9x9->4 k5 s2 p0 g2 og4');
    // A dilated kernel's default pad keeps the size.
    expect(parseShapeArg('1,4,8,8,4,3,1')[0].spec.pad).toBe(1);
    expect(parseShapeArg('1,4,8,8,4,3,1,2')[0].spec.pad).toBe(2);
  });

  it('rejects malformed and impossible custom shapes with the reason', () => {
    expect(() => parseShapeArg('1,4,6,6')).toThrow(/5 to 11 numbers/);
    expect(() => parseShapeArg('1,4,x,6,4')).toThrow(ShapeError);
    expect(() => parseShapeArg('1,4,6,6,4,,1')).toThrow(/empty field/);
    expect(() => parseShapeArg('1,6,6,6,4,3,1,1,1,4')).toThrow(/divisible by groups/);
    expect(() => parseShapeArg('1,4,6,6,4,3,1,1,1,1,3')).toThrow(/offset groups/);
    expect(() => parseShapeArg('1,4,2,2,4,5,1,0')).toThrow(/output would be/);
    expect(() => parseShapeArg('0,4,6,6,4')).toThrow(/positive/);
  });

  it('resolves a geometry with mask and bias, and counts the work', () => {
    const g = shapeGeometry(NAMED_SHAPES.C);
    expect(g).toMatchObject({ outHeight: 14, outWidth: 14, padTop: 1, padRight: 1, hasMask: true, hasBias: true });
    // 2 * 1*256*14*14*256*9 = 231 211 008
    expect(directionFlops(g, 'fwd')).toBe(231_211_008);
    expect(directionFlops(g, 'fwdbwd')).toBe(3 * 231_211_008);
    const s = shapeGeometry(parseShapeArg('1,4,9,9,4,3,2,0')[0].spec);
    expect([s.outHeight, s.outWidth]).toEqual([4, 4]);
  });

  it('builds sweeps around a base shape', () => {
    const hw = sweepShapes(NAMED_SHAPES.B, 'hw', [8, 16]);
    expect(hw.map((s) => s.label)).toEqual(['1x128x8x8->128', '1x128x16x16->128']);
    expect(sweepShapes(NAMED_SHAPES.B, 'channels', [16]).map((s) => [s.spec.cin, s.spec.cout])).toEqual([[16, 16]]);
    expect(sweepShapes(NAMED_SHAPES.B, 'batch', [4])[0].spec.n).toBe(4);
    expect(shapeLabel(NAMED_SHAPES.A)).toBe('1x64x56x56->64');
  });
});
