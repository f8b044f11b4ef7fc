/**
 * Typed errors. Every error that dcnv2 throws on bad input is a `DcnError`; the subclass tells the kind
 * and the fields say which argument was wrong, what was expected and what came, so callers can branch on
 * `instanceof` or `code` instead of parsing messages.
 */

export type DcnErrorCode =
  | 'ERR_DCN_RANK'
  | 'ERR_DCN_SHAPE'
  | 'ERR_DCN_DATA_LENGTH'
  | 'ERR_DCN_DTYPE'
  | 'ERR_DCN_PARAM'
  | 'ERR_DCN_DIVISIBILITY'
  | 'ERR_DCN_OUTPUT_SIZE'
  | 'ERR_DCN_BACKEND'
  | 'ERR_DCN_CAPABILITY'
  | 'ERR_DCN_DISPOSED'
  | 'ERR_DCN_LIMIT'
  | 'ERR_DCN_DEVICE_LOST'
  | 'ERR_DCN_VALUE';

/** Renders a value for an error message: arrays as `[1, 2]`, typed arrays by kind and length. */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (ArrayBuffer.isView(v)) {
    const len = (v as unknown as { length?: number }).length;
    return `${v.constructor.name}(${len ?? v.byteLength})`;
  }
  if (Array.isArray(v)) return `[${v.map(describeValue).join(', ')}]`;
  if (typeof v === 'function') return 'function';
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return typeof v;
}

export interface DcnErrorDetails {
  /** The argument at fault, as a path: `input`, `offset.shape[1]`, `params.stride`. */
  readonly argument: string;
  /** What was expected, in words. */
  readonly expected: string;
  /** What came instead. */
  readonly actual: unknown;
}

/** Base class of every error dcnv2 throws on purpose. */
export class DcnError extends Error {
  readonly code: DcnErrorCode;
  readonly argument: string;
  readonly expected: string;
  readonly actual: unknown;

  constructor(code: DcnErrorCode, details: DcnErrorDetails, note?: string) {
    const got = describeValue(details.actual);
    super(`${details.argument}: expected ${details.expected}, got ${got}${note ? ` (${note})` : ''}`);
    this.name = new.target.name;
    this.code = code;
    this.argument = details.argument;
    this.expected = details.expected;
    this.actual = details.actual;
  }
}

/** A tensor has the wrong number of dimensions. */
export class RankError extends DcnError {
  constructor(d: DcnErrorDetails, note?: string) {
    super('ERR_DCN_RANK', d, note);
  }
}

/** A dimension does not match what the other arguments imply. */
export class ShapeError extends DcnError {
  constructor(d: DcnErrorDetails, note?: string) {
    super('ERR_DCN_SHAPE', d, note);
  }
}

/** A tensor's data length is not the product of its shape. */
export class DataLengthError extends DcnError {
  constructor(d: DcnErrorDetails, note?: string) {
    super('ERR_DCN_DATA_LENGTH', d, note);
  }
}

/** A tensor's data is not a Float32Array (or a tensor is not a tensor at all). */
export class DTypeError extends DcnError {
  constructor(d: DcnErrorDetails, note?: string) {
    super('ERR_DCN_DTYPE', d, note);
  }
}

/** A parameter is out of its domain: non-integer, non-positive stride or dilation, negative padding. */
export class ParamError extends DcnError {
  constructor(d: DcnErrorDetails, note?: string) {
    super('ERR_DCN_PARAM', d, note);
  }
}

/** Channels are not divisible by groups or offset groups. */
export class DivisibilityError extends DcnError {
  constructor(d: DcnErrorDetails, note?: string) {
    super('ERR_DCN_DIVISIBILITY', d, note);
  }
}

/** The kernel, stride, padding and dilation leave an output height or width below 1. */
export class OutputSizeError extends DcnError {
  constructor(d: DcnErrorDetails, note?: string) {
    super('ERR_DCN_OUTPUT_SIZE', d, note);
  }
}

/** No such backend, a backend that failed to initialise, or a tensor from another backend. */
export class BackendError extends DcnError {
  constructor(d: DcnErrorDetails, note?: string) {
    super('ERR_DCN_BACKEND', d, note);
  }
}

/** The backend lacks the capability the call needs (backward, RoI pooling, ...). */
export class CapabilityError extends DcnError {
  constructor(d: DcnErrorDetails, note?: string) {
    super('ERR_DCN_CAPABILITY', d, note);
  }
}

/** A tensor or backend was used after `dispose()`. */
export class DisposedError extends DcnError {
  constructor(d: DcnErrorDetails, note?: string) {
    super('ERR_DCN_DISPOSED', d, note);
  }
}

/** The problem exceeds a hard limit of the backend (wasm memory, GPU binding size, ...). */
export class LimitError extends DcnError {
  constructor(d: DcnErrorDetails, note?: string) {
    super('ERR_DCN_LIMIT', d, note);
  }
}

/** The GPU device was lost; attach a new one before the next call. */
export class DeviceLostError extends DcnError {
  constructor(d: DcnErrorDetails, note?: string) {
    super('ERR_DCN_DEVICE_LOST', d, note);
  }
}

/**
 * A tensor holds a value the op cannot accept: a RoI batch index that is not an integer in [0, N), a
 * non-finite RoI coordinate. Only tensors whose values steer memory access are checked this way; NaN in
 * ordinary data propagates as in torchvision.
 */
export class ValueError extends DcnError {
  constructor(d: DcnErrorDetails, note?: string) {
    super('ERR_DCN_VALUE', d, note);
  }
}

/**
 * What a backend threw, as a `DcnError`: a typed error passes through; anything else (a trap, a bug, a
 * closed worker, a driver exception) becomes a `BackendError` naming the backend and the step, with the
 * original as `cause`.
 */
export function asDcnError(e: unknown, backend: string, what: string): DcnError {
  if (e instanceof DcnError) return e;
  const err = new BackendError({ argument: 'backend', expected: `${what} to complete`, actual: backend }, String((e as Error)?.message ?? e));
  (err as { cause?: unknown }).cause = e;
  return err;
}
