import { describe, expect, it } from 'vitest';
import { decodeTensorFile, encodeTensorFile } from '../src/tensor-file.js';

describe('tensor file', () => {
  it('round-trips tensors and the header, with data aligned after any header length', () => {
    for (const pad of ['', 'x', 'xy', 'xyz']) {
      const a = new Float32Array([1, -2.5, Math.fround(Math.PI), Number.NaN]);
      const b = new Float32Array([7]);
      const bytes = encodeTensorFile({ pad, n: 3 }, [
        { name: 'a', shape: [2, 2], data: a },
        { name: 'b', shape: [1], data: b },
      ]);
      const f = decodeTensorFile<{ pad: string; n: number }>(bytes);
      expect(f.meta).toEqual({ pad, n: 3 });
      expect([...f.tensors.keys()]).toEqual(['a', 'b']);
      expect(f.tensors.get('a')!.shape).toEqual([2, 2]);
      expect(Array.from(f.tensors.get('a')!.data)).toEqual(Array.from(a));
      expect(Array.from(f.tensors.get('b')!.data)).toEqual([7]);
    }
  });

  it('rejects a shape that does not match the data, and foreign files', () => {
    expect(() => encodeTensorFile({}, [{ name: 'a', shape: [3], data: new Float32Array(2) }])).toThrow(/3 elements/);
    expect(() => decodeTensorFile(new TextEncoder().encode('NOTBENCH....'))).toThrow(/not a dcnv2 bench tensor file/);
  });
});
