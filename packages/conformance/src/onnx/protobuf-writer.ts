/**
 * A minimal protobuf wire-format writer: just enough to serialise an ONNX `ModelProto`.
 *
 * Wire format (https://protobuf.dev/programming-guides/encoding/):
 * - every field starts with a key `(fieldNumber << 3) | wireType`, written as a varint;
 * - wire type 0 (VARINT): int32, int64, uint32, uint64, bool and enum as base-128 little-endian groups of 7 bits, the high bit
 *   of each byte set on all but the last; negative int32/int64 are written as their 64-bit two's complement
 *   (always 10 bytes);
 * - wire type 2 (LEN): a varint byte length, then the bytes (strings as UTF-8, nested messages, packed repeated
 *   scalars);
 * - wire type 5 (I32): 4 bytes little-endian (fixed32, sfixed32, float).
 *
 * Nothing is omitted implicitly: the caller decides which fields to write (proto3 "default value" elision is
 * its business). Fields may be written in any order; repeated fields are written once per element.
 */

export const WireType = {
  Varint: 0,
  I64: 1,
  Len: 2,
  I32: 5,
} as const;
export type WireType = (typeof WireType)[keyof typeof WireType];

const TWO_POW_64 = 1n << 64n;
const MAX_UINT64 = TWO_POW_64 - 1n;
const MIN_INT64 = -(1n << 63n);
const textEncoder = new TextEncoder();

/** Appends protobuf-encoded fields to a growable byte buffer. */
export class ProtoWriter {
  private buf: Uint8Array = new Uint8Array(256);
  private len = 0;

  /** Number of bytes written so far. */
  get length(): number {
    return this.len;
  }

  private reserve(extra: number): void {
    const need = this.len + extra;
    if (need <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  private byte(b: number): void {
    this.reserve(1);
    this.buf[this.len++] = b;
  }

  /** Raw bytes, no key or length. */
  raw(bytes: Uint8Array): this {
    this.reserve(bytes.length);
    this.buf.set(bytes, this.len);
    this.len += bytes.length;
    return this;
  }

  /**
   * A bare varint (no key). Accepts any integer in [-2^63, 2^64); negatives are written as 64-bit two's
   * complement, which is how protobuf encodes negative int32 and int64.
   */
  rawVarint(value: number | bigint): this {
    if (typeof value === 'number' && !Number.isSafeInteger(value)) {
      throw new RangeError(`varint: ${value} is not a safe integer`);
    }
    let v = BigInt(value);
    if (v < MIN_INT64 || v > MAX_UINT64) throw new RangeError(`varint: ${value} does not fit in 64 bits`);
    if (v < 0n) v += TWO_POW_64;
    while (v >= 0x80n) {
      this.byte(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.byte(Number(v));
    return this;
  }

  /** A field key: `(field << 3) | wireType`. */
  tag(field: number, wireType: WireType): this {
    if (!Number.isInteger(field) || field < 1 || field > 0x1fffffff || (field >= 19000 && field <= 19999)) {
      throw new RangeError(`invalid protobuf field number ${field}`);
    }
    return this.rawVarint(field * 8 + wireType);
  }

  /** int32 / int64 / uint32 / uint64 / enum field (wire type 0). */
  varint(field: number, value: number | bigint): this {
    return this.tag(field, WireType.Varint).rawVarint(value);
  }

  /** bool field (wire type 0). */
  bool(field: number, value: boolean): this {
    return this.varint(field, value ? 1 : 0);
  }

  /** Length-delimited field holding raw bytes (wire type 2). */
  bytes(field: number, value: Uint8Array): this {
    return this.tag(field, WireType.Len).rawVarint(value.length).raw(value);
  }

  /** string field: UTF-8, length-delimited. */
  string(field: number, value: string): this {
    return this.bytes(field, textEncoder.encode(value));
  }

  /** float field (wire type 5, IEEE 754 binary32 little-endian). */
  float(field: number, value: number): this {
    this.tag(field, WireType.I32);
    return this.rawFloat32(value);
  }

  /** fixed32 field (wire type 5, unsigned 32-bit little-endian). */
  fixed32(field: number, value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new RangeError(`fixed32: ${value}`);
    this.tag(field, WireType.I32);
    this.reserve(4);
    new DataView(this.buf.buffer, this.buf.byteOffset + this.len, 4).setUint32(0, value, true);
    this.len += 4;
    return this;
  }

  private rawFloat32(value: number): this {
    this.reserve(4);
    new DataView(this.buf.buffer, this.buf.byteOffset + this.len, 4).setFloat32(0, value, true);
    this.len += 4;
    return this;
  }

  /** Repeated integer field, unpacked: one key + varint per element (what proto2 writers emit). */
  repeatedVarint(field: number, values: ArrayLike<number | bigint>): this {
    for (let i = 0; i < values.length; i++) this.varint(field, values[i]);
    return this;
  }

  /** Repeated integer field, packed: one key, a length, then the varints back to back. */
  packedVarint(field: number, values: ArrayLike<number | bigint>): this {
    const inner = new ProtoWriter();
    for (let i = 0; i < values.length; i++) inner.rawVarint(values[i]);
    return this.bytes(field, inner.finish());
  }

  /** Repeated float field, packed: one key, a length (4 * count), then little-endian binary32 values. */
  packedFloat(field: number, values: ArrayLike<number>): this {
    this.tag(field, WireType.Len).rawVarint(values.length * 4);
    for (let i = 0; i < values.length; i++) this.rawFloat32(values[i]);
    return this;
  }

  /** Nested message field: `build` writes the message's own fields into a fresh writer. */
  message(field: number, build: (w: ProtoWriter) => void): this {
    const inner = new ProtoWriter();
    build(inner);
    return this.bytes(field, inner.finish());
  }

  /** The bytes written so far (a copy sized exactly). */
  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}
