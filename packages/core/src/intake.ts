/**
 * Taking a call's arguments, once. Everything a caller passes may change after it was looked at: a getter
 * or a Proxy can answer differently on a second read, a Float32Array subclass can lie about its length,
 * and the caller can write into `data` right after the call returned its promise. So every op reads each
 * argument exactly once, here, into values that nobody else can change:
 *
 * - an object's fields are read once each (a plain-object snapshot);
 * - a shape is copied into a frozen array of checked integers;
 * - `data` is re-viewed through the intrinsic %TypedArray% accessors as a genuine Float32Array over the
 *   same memory (a Proxy or a non-Float32Array is refused, an overridden `length` is ignored);
 * - a resident tensor must be one that this copy of core made (a forged `{ kind: 'resident' }` is
 *   refused), and its shape is core's private copy, not the public property.
 *
 * Values that steer memory access (RoIs) are further copied before they are validated (see the RoI op);
 * other host data is copied by the backend's `upload` before the op's first `await`.
 */
import { DataLengthError, DTypeError, LimitError, ParamError, RankError, ShapeError } from './errors.js';
import { residentShape, isCoreResident } from './resident.js';
import type { ResidentTensor } from './tensor.js';

/**
 * The largest dimension, element count and index position dcnv2 accepts: kernels index with 32-bit
 * integers (wasm, WGSL), so anything larger would wrap silently. Refused with `LimitError`.
 */
export const MAX_INT32 = 2 ** 31 - 1;

const TypedArrayPrototype = Object.getPrototypeOf(Float32Array.prototype) as object;
function intrinsicGetter(name: PropertyKey): (this: unknown) => unknown {
  return Object.getOwnPropertyDescriptor(TypedArrayPrototype, name)!.get as (this: unknown) => unknown;
}
const taTag = intrinsicGetter(Symbol.toStringTag);
const taBuffer = intrinsicGetter('buffer');
const taByteOffset = intrinsicGetter('byteOffset');
const taLength = intrinsicGetter('length');

/**
 * A genuine Float32Array over the same memory as `v`, or null when `v` is not a Float32Array (a Proxy,
 * another typed array, an array). The %TypedArray% getters read the object's internal slots, so neither an
 * overridden `length` nor a Proxy can make it claim memory it does not have.
 */
export function float32View(v: unknown): Float32Array | null {
  // The toStringTag getter returns undefined for anything that is not a typed array (never throws).
  if (taTag.call(v) !== 'Float32Array') return null;
  const length = taLength.call(v) as number;
  if (length === 0) return new Float32Array(0); // also a detached buffer, whose view has length 0
  return new Float32Array(taBuffer.call(v) as ArrayBufferLike, taByteOffset.call(v) as number, length);
}

/** A tensor argument as taken at the start of a call. */
export interface TakenTensor {
  /** Frozen copy of the checked shape. */
  readonly shape: readonly number[];
  /** A host tensor's data as a genuine Float32Array view (not a copy), or null for a resident tensor. */
  readonly host: Float32Array | null;
  /** A resident tensor made by this copy of core, or null for a host tensor. */
  readonly resident: ResidentTensor | null;
}

/** Reads an object's own enumerable fields once, refusing anything but a plain object. */
export function takeObject(v: unknown, argument: string, expected: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ParamError({ argument, expected: `an object ${expected}`, actual: v });
  const proto = Object.getPrototypeOf(v);
  // A Map, a Date or a class instance has no fields an op reads: refuse it rather than read defaults.
  if (proto !== Object.prototype && proto !== null) throw new ParamError({ argument, expected: `a plain object ${expected}`, actual: v });
  return { ...(v as Record<string, unknown>) };
}

/** Refuses fields an op does not know (a misspelt `mask` would otherwise silently mean "no mask"). */
export function checkKnownKeys(o: Record<string, unknown>, argument: string, known: readonly string[]): void {
  for (const k of Object.keys(o)) {
    if (!known.includes(k)) throw new ParamError({ argument: `${argument}.${k}`, expected: `one of ${known.join(', ')}`, actual: k }, 'unknown field');
  }
}

/** One checked dimension: an integer in [0, 2^31-1], not -0. */
function takeDim(d: unknown, argument: string): number {
  if (typeof d !== 'number' || !Number.isInteger(d) || d < 0 || Object.is(d, -0)) {
    throw new ShapeError({ argument, expected: 'a non-negative integer', actual: Object.is(d, -0) ? '-0' : d });
  }
  if (d > MAX_INT32) throw new LimitError({ argument, expected: `at most ${MAX_INT32} (kernels index with 32-bit integers)`, actual: d });
  return d;
}

/**
 * Checks a shape's size: its element count, counting a zero dimension as 1, must fit int32. Counting zeros
 * as 1 matters because kernels still derive strides such as H*W from an empty batch.
 */
export function checkElementCount(shape: readonly number[], argument: string): void {
  let n = 1;
  for (const d of shape) n *= Math.max(1, d);
  if (n > MAX_INT32) {
    throw new LimitError({ argument, expected: `a tensor of at most ${MAX_INT32} elements (counting a 0 dimension as 1; kernels index with 32-bit integers)`, actual: shape });
  }
}

function takeShape(raw: unknown, argument: string, rank: number, dims: string): readonly number[] {
  if (!Array.isArray(raw)) throw new DTypeError({ argument: `${argument}.shape`, expected: `an array ${dims}`, actual: raw });
  const length = raw.length;
  if (length !== rank) throw new RankError({ argument: `${argument}.shape`, expected: `rank ${rank} ${dims}`, actual: raw });
  const shape: number[] = [];
  for (let i = 0; i < rank; i++) shape.push(takeDim(raw[i], `${argument}.shape[${i}]`));
  checkElementCount(shape, `${argument}.shape`);
  return Object.freeze(shape);
}

/** A shape of any rank (at most 8), taken and checked like a tensor's. */
export function takeAnyShape(raw: unknown, argument: string): readonly number[] {
  const rank = Array.isArray(raw) ? Math.min(Number(raw.length), 9) : 0;
  if (rank > 8) throw new RankError({ argument, expected: 'at most 8 dimensions', actual: rank });
  return takeShape(raw, argument.replace(/\.shape$/, ''), rank, '');
}

/** A host tensor of any rank, for `upload`. */
export function takeHostTensor(t: unknown, argument: string): { shape: readonly number[]; data: Float32Array } {
  if (typeof t !== 'object' || t === null || isCoreResident(t)) {
    throw new DTypeError({ argument, expected: 'a host tensor { shape, data: Float32Array }', actual: t });
  }
  const { shape: rawShape, data: rawData } = t as { shape?: unknown; data?: unknown };
  const shape = takeAnyShape(rawShape, `${argument}.shape`);
  const data = float32View(rawData);
  if (data === null) throw new DTypeError({ argument: `${argument}.data`, expected: 'a Float32Array', actual: rawData });
  if (data.length !== sizeOf(shape)) {
    throw new DataLengthError({ argument: `${argument}.data.length`, expected: `${sizeOf(shape)} (the product of shape ${JSON.stringify(shape)})`, actual: data.length });
  }
  return { shape, data };
}

function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * Takes a host or resident tensor of rank `rank` whose data matches its shape. `dims` names the
 * dimensions for messages (`[N, Cin, H, W]`).
 */
export function takeTensor(t: unknown, argument: string, rank: number, dims: string): TakenTensor {
  if (typeof t !== 'object' || t === null) {
    throw new DTypeError({ argument, expected: `a tensor { shape, data: Float32Array } of shape ${dims}`, actual: t });
  }
  if (isCoreResident(t)) {
    const shape = residentShape(t);
    if (shape.length !== rank) throw new RankError({ argument: `${argument}.shape`, expected: `rank ${rank} ${dims}`, actual: shape });
    return { shape, host: null, resident: t };
  }
  const { shape: rawShape, data: rawData, kind } = t as { shape?: unknown; data?: unknown; kind?: unknown };
  if (kind === 'resident') {
    throw new DTypeError(
      { argument, expected: 'a resident tensor made by dcnv2 (upload, adopt or an op with output "resident") or a host tensor', actual: 'an object that only looks resident' },
      'a second copy of @dcnv2/core in node_modules makes tensors this copy does not know',
    );
  }
  const shape = takeShape(rawShape, argument, rank, dims);
  const data = float32View(rawData);
  if (data === null) throw new DTypeError({ argument: `${argument}.data`, expected: 'a Float32Array', actual: rawData });
  const n = sizeOf(shape);
  if (data.length !== n) {
    throw new DataLengthError({ argument: `${argument}.data.length`, expected: `${n} (the product of shape ${JSON.stringify(shape)})`, actual: data.length });
  }
  return { shape, host: data, resident: null };
}

/** Takes an optional tensor: null or undefined mean absent. */
export function takeOptional(t: unknown, argument: string, rank: number, dims: string): TakenTensor | null {
  return t === undefined || t === null ? null : takeTensor(t, argument, rank, dims);
}

/** A checked non-negative or positive integer parameter within int32. */
export function takeInt(v: unknown, argument: string, min: number, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || Object.is(v, -0)) {
    throw new ParamError({ argument, expected: what, actual: Object.is(v, -0) ? '-0' : v });
  }
  if (v > MAX_INT32) throw new LimitError({ argument, expected: `${what} of at most ${MAX_INT32} (kernels compute positions with 32-bit integers)`, actual: v });
  return v;
}

/**
 * Reads an array parameter's entries once (`[h, w]`, `[top, left, bottom, right]`): null when `v` is not
 * an array; at most `max + 1` entries, so a caller that checks the length sees a too-long list as such
 * without a Proxy's huge `length` making it read forever.
 */
export function takeList(v: unknown, max: number): unknown[] | null {
  if (!Array.isArray(v)) return null;
  const n = Math.min(Number(v.length), max + 1);
  const out: unknown[] = [];
  for (let i = 0; i < n; i++) out.push(v[i]);
  return out;
}
