/** Node-only: reads IDX files from disk, gunzipping them when they are compressed (Debian's are). */
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { gunzip as gunzipCallback } from 'node:zlib';

import { type IdxArray, type ParseIdxOptions, isGzip, parseIdx } from '../idx.js';

const gunzip = promisify(gunzipCallback);

/** The file's bytes, decompressed if they start with the gzip magic number (whatever the file's name). */
export async function readMaybeGzip(path: string): Promise<Uint8Array> {
  const raw = await readFile(path);
  const bytes = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
  if (!isGzip(bytes)) return bytes;
  const out = await gunzip(bytes);
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/** Reads and parses an IDX file, plain or gzip-compressed. */
export async function readIdxFile(path: string, options?: ParseIdxOptions): Promise<IdxArray> {
  return parseIdx(await readMaybeGzip(path), options);
}
