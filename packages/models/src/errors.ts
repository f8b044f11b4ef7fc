/**
 * Typed errors of @dcnv2/models. Every error is a `ModelsError`; the IDX parser's are `IdxError`s, one
 * class per way a file can be wrong, so that a caller can tell a truncated download from a file of the
 * wrong kind without reading messages.
 */
export class ModelsError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** An option out of range or of the wrong type (a seed that is not a uint32, a canvas too small, ...). */
export class OptionError extends ModelsError {}

/** Base class of everything the IDX parser refuses. */
export class IdxError extends ModelsError {}

/**
 * The first two bytes are not zero, or the rank byte is 0. A gzip-compressed file (0x1f 0x8b) gets a
 * message that says so: decompress it first (`@dcnv2/models/node` does for files).
 */
export class IdxMagicError extends IdxError {}

/** The dtype byte is not a type IDX defines, or one this parser does not read (only 0x08, unsigned byte). */
export class IdxDTypeError extends IdxError {
  constructor(
    message: string,
    readonly dtype: number,
  ) {
    super(message);
  }
}

/** The buffer ends before the header or before the data its dimensions announce. */
export class IdxTruncatedError extends IdxError {
  constructor(
    message: string,
    readonly expectedBytes: number,
    readonly actualBytes: number,
  ) {
    super(message);
  }
}

/** The product of the dimensions (times the element size) does not fit in a safe integer or in an array. */
export class IdxOverflowError extends IdxError {}

/** Bytes remain after the data the dimensions announce (a concatenated or corrupted file). */
export class IdxTrailingBytesError extends IdxError {
  constructor(
    message: string,
    readonly expectedBytes: number,
    readonly actualBytes: number,
  ) {
    super(message);
  }
}

/** A data set's files are valid IDX but not what the data set should contain (shape, label range, counts). */
export class DatasetFormatError extends ModelsError {}

/** A data set's files are not on this machine; the message names the Debian package that provides them. */
export class DatasetNotFoundError extends ModelsError {
  constructor(
    message: string,
    readonly dir: string,
    readonly missing: readonly string[],
    readonly debianPackage: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
