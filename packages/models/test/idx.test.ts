import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

import { describe, expect, it } from 'vitest';

import {
  IdxDTypeError,
  IdxError,
  IdxMagicError,
  IdxOverflowError,
  IdxTrailingBytesError,
  IdxTruncatedError,
  encodeIdx,
  isGzip,
  parseIdx,
} from '../src/index.js';
import { readIdxFile } from '../src/node/index.js';

const DEBIAN_DIR = '/usr/share/datasets/fashion-mnist';

// A 2x3 uint8 array, written byte by byte: magic 00 00, dtype 08, rank 02, sizes big-endian, data.
const HAND_MADE = Uint8Array.from([0, 0, 0x08, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 250, 251, 252]);

describe('parseIdx', () => {
  it('parses a hand-made 2x3 uint8 file', () => {
    const { dims, data } = parseIdx(HAND_MADE);
    expect(dims).toEqual([2, 3]);
    expect([...data]).toEqual([1, 2, 3, 250, 251, 252]);
    // A view of the input, not a copy.
    expect(data.buffer).toBe(HAND_MADE.buffer);
    expect(data.byteOffset).toBe(12);
  });

  it('reads sizes as unsigned big-endian (a size of 256 and of 0x01020304 in the header)', () => {
    const one = Uint8Array.from([0, 0, 8, 1, 0, 0, 1, 0, ...new Array<number>(256).fill(7)]);
    expect(parseIdx(one).dims).toEqual([256]);
    // 0x01020304 items would be truncated here: the error's expected length shows the decoded size.
    const big = Uint8Array.from([0, 0, 8, 1, 1, 2, 3, 4]);
    expect(() => parseIdx(big)).toThrow(IdxTruncatedError);
    try {
      parseIdx(big);
    } catch (e) {
      expect((e as IdxTruncatedError).expectedBytes).toBe(8 + 0x01020304);
    }
  });

  it('accepts ArrayBuffer, a Uint8Array at an offset, a DataView and a Buffer', () => {
    const padded = new Uint8Array(HAND_MADE.length + 5);
    padded.set(HAND_MADE, 5);
    expect(parseIdx(padded.subarray(5)).dims).toEqual([2, 3]);
    expect(parseIdx(HAND_MADE.slice().buffer).dims).toEqual([2, 3]);
    expect(parseIdx(new DataView(padded.buffer, 5)).dims).toEqual([2, 3]);
    expect([...parseIdx(Buffer.from(HAND_MADE)).data]).toEqual([1, 2, 3, 250, 251, 252]);
  });

  it('parses a rank-1 file with zero items and a rank-3 file', () => {
    expect(parseIdx(Uint8Array.from([0, 0, 8, 1, 0, 0, 0, 0]))).toMatchObject({ dims: [0] });
    const data = Uint8Array.from({ length: 24 }, (_, i) => i);
    const parsed = parseIdx(encodeIdx([2, 3, 4], data));
    expect(parsed.dims).toEqual([2, 3, 4]);
    expect([...parsed.data]).toEqual([...data]);
  });

  it('encodeIdx writes exactly the hand-made bytes', () => {
    expect([...encodeIdx([2, 3], Uint8Array.from([1, 2, 3, 250, 251, 252]))]).toEqual([...HAND_MADE]);
    expect(() => encodeIdx([2, 2], new Uint8Array(3))).toThrow(RangeError);
  });

  describe('errors', () => {
    it('wrong magic: IdxMagicError', () => {
      const bad = HAND_MADE.slice();
      bad[1] = 1;
      expect(() => parseIdx(bad)).toThrow(IdxMagicError);
      expect(() => parseIdx(bad)).toThrow(/magic number must start with 0x00 0x00, got 0x00 0x01/);
      const rank0 = Uint8Array.from([0, 0, 8, 0]);
      expect(() => parseIdx(rank0)).toThrow(IdxMagicError);
    });

    it('gzip-compressed bytes: IdxMagicError that says to decompress', () => {
      const gz = gzipSync(HAND_MADE);
      expect(isGzip(gz)).toBe(true);
      expect(isGzip(HAND_MADE)).toBe(false);
      expect(() => parseIdx(gz)).toThrow(IdxMagicError);
      expect(() => parseIdx(gz)).toThrow(/gzip-compressed: decompress them first/);
    });

    it('dtypes: unknown byte and valid-but-unsupported types are IdxDTypeError with the byte', () => {
      for (const [dtype, message] of [
        [0x07, /not one IDX defines/],
        [0x0a, /not one IDX defines/],
        [0x0c, /int32 \(0x0C\) is valid but not supported/],
        [0x0d, /float32/],
      ] as const) {
        const bad = HAND_MADE.slice();
        bad[2] = dtype;
        let caught: unknown;
        try {
          parseIdx(bad);
        } catch (e) {
          caught = e;
        }
        expect(caught).toBeInstanceOf(IdxDTypeError);
        expect(caught).toBeInstanceOf(IdxError);
        expect((caught as IdxDTypeError).dtype).toBe(dtype);
        expect((caught as Error).message).toMatch(message);
      }
    });

    it('truncated: every proper prefix of the hand-made file is IdxTruncatedError', () => {
      for (let n = 0; n < HAND_MADE.length; n++) {
        let caught: unknown;
        try {
          parseIdx(HAND_MADE.subarray(0, n));
        } catch (e) {
          caught = e;
        }
        expect(caught, `prefix of ${n} bytes`).toBeInstanceOf(IdxTruncatedError);
        const e = caught as IdxTruncatedError;
        expect(e.actualBytes).toBe(n);
        expect(e.expectedBytes).toBe(n < 4 ? 4 : n < 12 ? 12 : 18);
        expect(e.name).toBe('IdxTruncatedError');
      }
    });

    it('sizes that overflow: IdxOverflowError, before any allocation', () => {
      // 4 dimensions of 0xFFFFFFFF: the product passes 2^53 at the second one.
      const header = [0, 0, 8, 4, ...new Array<number>(16).fill(0xff)];
      expect(() => parseIdx(Uint8Array.from(header))).toThrow(IdxOverflowError);
      expect(() => parseIdx(Uint8Array.from(header))).toThrow(/beyond 2\^53/);
      // Sizes whose product is large but safe are a truncation, not an overflow.
      expect(() => parseIdx(Uint8Array.from([0, 0, 8, 2, 0xff, 0xff, 0xff, 0xff, 0, 0x1f, 0xff, 0xff]))).toThrow(IdxTruncatedError);
    });

    it('trailing bytes: IdxTrailingBytesError unless allowed', () => {
      const long = Uint8Array.from([...HAND_MADE, 9, 9]);
      expect(() => parseIdx(long)).toThrow(IdxTrailingBytesError);
      expect(() => parseIdx(long)).toThrow(/2 trailing/);
      expect([...parseIdx(long, { allowTrailingBytes: true }).data]).toEqual([1, 2, 3, 250, 251, 252]);
    });

    it('not bytes: TypeError', () => {
      expect(() => parseIdx('0000' as unknown as Uint8Array)).toThrow(TypeError);
    });
  });
});

describe("Debian's dataset-fashion-mnist files (gzip-compressed IDX)", () => {
  it('the files are gzip and parse to 60000/10000 items of 28x28 with labels 0..9', async () => {
    const expected = [
      ['train-images-idx3-ubyte.gz', [60000, 28, 28]],
      ['train-labels-idx1-ubyte.gz', [60000]],
      ['t10k-images-idx3-ubyte.gz', [10000, 28, 28]],
      ['t10k-labels-idx1-ubyte.gz', [10000]],
    ] as const;
    for (const [name, dims] of expected) {
      const idx = await readIdxFile(join(DEBIAN_DIR, name));
      expect(idx.dims, name).toEqual(dims);
      expect(idx.data.length).toBe(dims.reduce((a: number, b: number) => a * b, 1));
      if (dims.length === 1) {
        const counts = new Array<number>(10).fill(0);
        for (const l of idx.data) counts[l]++;
        expect(counts.reduce((a, b) => a + b, 0)).toBe(dims[0]); // so every label is 0..9
        expect(counts).toEqual(new Array<number>(10).fill(dims[0] / 10));
      }
    }
    const trainLabels = await readIdxFile(join(DEBIAN_DIR, 'train-labels-idx1-ubyte.gz'));
    // Checked against the file with `zcat train-labels-idx1-ubyte.gz | od -tu1`: 9 = Ankle boot.
    expect([...trainLabels.data.subarray(0, 10)]).toEqual([9, 0, 0, 3, 0, 2, 7, 2, 5, 5]);
    const testLabels = await readIdxFile(join(DEBIAN_DIR, 't10k-labels-idx1-ubyte.gz'));
    expect([...testLabels.data.subarray(0, 10)]).toEqual([9, 2, 1, 1, 6, 1, 4, 6, 5, 7]);
    const trainImages = await readIdxFile(join(DEBIAN_DIR, 'train-images-idx3-ubyte.gz'));
    const first = trainImages.data.subarray(0, 784);
    // Computed from the file with Python's gzip module: byte sum, maximum and non-zero count of image 0.
    expect(first.reduce((a, b) => a + b, 0)).toBe(76247);
    expect(Math.max(...first)).toBe(255);
    expect(first.filter((v) => v > 0).length).toBe(433);
  });
});
