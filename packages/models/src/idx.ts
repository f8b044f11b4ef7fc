/**
 * The IDX file format (LeCun's MNIST format, also Fashion-MNIST's): platform-free, on bytes.
 *
 *   bytes 0-1   0x00 0x00
 *   byte  2     dtype: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64
 *   byte  3     rank (number of dimensions), ≥ 1
 *   then        rank sizes, each an unsigned 32-bit big-endian integer
 *   then        the data, row-major (last dimension fastest), big-endian for multi-byte types
 *
 * This parser reads uint8 data, the only type the MNIST family uses; other valid dtypes are named in the
 * `IdxDTypeError` it throws. Files are often distributed gzip-compressed: decompress first
 * (`readIdxFile` of `@dcnv2/models/node` does).
 */
import {
  IdxDTypeError,
  IdxMagicError,
  IdxOverflowError,
  IdxTrailingBytesError,
  IdxTruncatedError,
} from './errors.js';

export const IDX_DTYPES: Readonly<Record<number, { name: string; bytes: number }>> = Object.freeze({
  0x08: { name: 'uint8', bytes: 1 },
  0x09: { name: 'int8', bytes: 1 },
  0x0b: { name: 'int16', bytes: 2 },
  0x0c: { name: 'int32', bytes: 4 },
  0x0d: { name: 'float32', bytes: 4 },
  0x0e: { name: 'float64', bytes: 8 },
});

export interface IdxArray {
  /** Sizes, outermost first: [60000, 28, 28] for Fashion-MNIST's training images. */
  readonly dims: readonly number[];
  /** The elements, row-major. A view of the input's bytes (no copy). */
  readonly data: Uint8Array;
}

export interface ParseIdxOptions {
  /** Accept bytes after the data (ignored). Default false: they are an `IdxTrailingBytesError`. */
  readonly allowTrailingBytes?: boolean;
}

/** Whether `bytes` start with the gzip magic number (0x1f 0x8b). */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

function asBytes(input: ArrayBuffer | ArrayBufferView): Uint8Array {
  if (input instanceof Uint8Array) return input;
  if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  const raw: unknown = input;
  if (raw instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && raw instanceof SharedArrayBuffer)) {
    return new Uint8Array(raw);
  }
  throw new TypeError('parseIdx expects an ArrayBuffer or an ArrayBufferView (Uint8Array, DataView, ...)');
}

/**
 * Parses an IDX file's bytes. Throws `IdxMagicError` (not IDX, or gzip-compressed), `IdxDTypeError`
 * (unknown or non-uint8 dtype), `IdxTruncatedError` (header or data cut short), `IdxOverflowError`
 * (dimensions whose product is not a safe integer) or `IdxTrailingBytesError`.
 */
export function parseIdx(input: ArrayBuffer | ArrayBufferView, options: ParseIdxOptions = {}): IdxArray {
  const bytes = asBytes(input);
  if (bytes.length < 4) {
    throw new IdxTruncatedError(`IDX header needs at least 4 bytes, got ${bytes.length}`, 4, bytes.length);
  }
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    const hint = isGzip(bytes) ? ' (these bytes are gzip-compressed: decompress them first)' : '';
    throw new IdxMagicError(
      `not an IDX file: the magic number must start with 0x00 0x00, got 0x${hex(bytes[0])} 0x${hex(bytes[1])}${hint}`,
    );
  }
  const dtype = bytes[2];
  const info = IDX_DTYPES[dtype];
  if (info === undefined) {
    throw new IdxDTypeError(`IDX dtype byte 0x${hex(dtype)} is not one IDX defines (0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E)`, dtype);
  }
  if (dtype !== 0x08) {
    throw new IdxDTypeError(`IDX dtype ${info.name} (0x${hex(dtype)}) is valid but not supported: this parser reads uint8 (0x08) only`, dtype);
  }
  const rank = bytes[3];
  if (rank === 0) throw new IdxMagicError('IDX rank byte is 0: a file has at least one dimension');
  const headerBytes = 4 + 4 * rank;
  if (bytes.length < headerBytes) {
    throw new IdxTruncatedError(
      `IDX header of rank ${rank} needs ${headerBytes} bytes, got ${bytes.length}`,
      headerBytes,
      bytes.length,
    );
  }
  const dims: number[] = [];
  let count = 1;
  for (let d = 0; d < rank; d++) {
    const o = 4 + 4 * d;
    // Big-endian uint32; `* 2 ** 24` rather than `<< 24` keeps values ≥ 2^31 positive.
    const size = bytes[o] * 2 ** 24 + (bytes[o + 1] << 16) + (bytes[o + 2] << 8) + bytes[o + 3];
    dims.push(size);
    count *= size;
    if (!Number.isSafeInteger(count)) {
      throw new IdxOverflowError(
        `IDX dimensions [${dims.join(', ')}${d < rank - 1 ? ', ...' : ''}] have a product beyond 2^53: not a real file`,
      );
    }
  }
  const dataBytes = count * info.bytes;
  const total = headerBytes + dataBytes;
  if (!Number.isSafeInteger(total)) {
    throw new IdxOverflowError(`IDX data of dimensions [${dims.join(', ')}] needs more than 2^53 bytes`);
  }
  if (bytes.length < total) {
    throw new IdxTruncatedError(
      `IDX data of dimensions [${dims.join(', ')}] needs ${total} bytes (header ${headerBytes} + data ${dataBytes}), got ${bytes.length}: the file is truncated`,
      total,
      bytes.length,
    );
  }
  if (bytes.length > total && options.allowTrailingBytes !== true) {
    throw new IdxTrailingBytesError(
      `IDX data of dimensions [${dims.join(', ')}] ends at byte ${total}, but the buffer has ${bytes.length} bytes (${bytes.length - total} trailing)`,
      total,
      bytes.length,
    );
  }
  return { dims: Object.freeze(dims), data: bytes.subarray(headerBytes, total) };
}

/** Encodes uint8 data as an IDX file (the inverse of `parseIdx`): for tests and derived data sets. */
export function encodeIdx(dims: readonly number[], data: Uint8Array): Uint8Array {
  if (dims.length < 1 || dims.length > 255) throw new RangeError(`IDX rank must be 1..255, got ${dims.length}`);
  let count = 1;
  for (const d of dims) {
    if (!Number.isInteger(d) || d < 0 || d > 0xffffffff) throw new RangeError(`IDX sizes must be uint32, got ${d}`);
    count *= d;
  }
  if (count !== data.length) throw new RangeError(`IDX dims [${dims.join(', ')}] hold ${count} elements, data has ${data.length}`);
  const header = 4 + 4 * dims.length;
  const out = new Uint8Array(header + count);
  out[2] = 0x08;
  out[3] = dims.length;
  const view = new DataView(out.buffer);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, header);
  return out;
}

function hex(b: number): string {
  return b.toString(16).padStart(2, '0').toUpperCase();
}
