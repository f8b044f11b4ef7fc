/**
 * The binary file that carries tensors between the coordinator and the workers (Node and Python alike): the
 * inputs of a case, written once per shape, and each implementation's outputs for the agreement check. Files
 * rather than IPC messages because tensors reach tens of MB and Python reads them with one `numpy.frombuffer`.
 *
 * Layout (little-endian):
 *   8 bytes  magic "DCNBENCH"
 *   4 bytes  uint32 byte length L of the JSON header
 *   L bytes  UTF-8 JSON { "meta": {...}, "tensors": [{ "name", "shape", "offset", "length" }] }
 *   zero padding to a multiple of 4 bytes
 *   data     float32 values; a tensor's `offset` is in bytes from the start of the data, `length` in elements
 * python/torch_worker.py reads and writes the same layout.
 */
import { readFileSync, writeFileSync } from 'node:fs';

export const TENSOR_FILE_MAGIC = 'DCNBENCH';

export interface TensorEntry {
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

export interface TensorFile<M = unknown> {
  readonly meta: M;
  readonly tensors: ReadonlyMap<string, TensorEntry>;
}

interface HeaderTensor {
  name: string;
  shape: number[];
  offset: number;
  length: number;
}

const align4 = (n: number) => (n + 3) & ~3;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function encodeTensorFile(meta: unknown, tensors: readonly TensorEntry[]): Uint8Array {
  const entries: HeaderTensor[] = [];
  let offset = 0;
  for (const t of tensors) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) throw new RangeError(`tensor ${t.name}: shape [${t.shape.join(', ')}] has ${count} elements, data ${t.data.length}`);
    entries.push({ name: t.name, shape: [...t.shape], offset, length: t.data.length });
    offset += t.data.length * 4;
  }
  const header = new TextEncoder().encode(JSON.stringify({ meta, tensors: entries }));
  const dataStart = align4(TENSOR_FILE_MAGIC.length + 4 + header.length);
  const out = new Uint8Array(dataStart + offset);
  out.set(new TextEncoder().encode(TENSOR_FILE_MAGIC), 0);
  const view = new DataView(out.buffer);
  view.setUint32(TENSOR_FILE_MAGIC.length, header.length, true);
  out.set(header, TENSOR_FILE_MAGIC.length + 4);
  for (let i = 0; i < tensors.length; i++) {
    const t = tensors[i];
    const at = dataStart + entries[i].offset;
    if (LITTLE_ENDIAN) {
      out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    } else {
      for (let j = 0; j < t.data.length; j++) view.setFloat32(at + 4 * j, t.data[j], true);
    }
  }
  return out;
}

export function decodeTensorFile<M = unknown>(bytes: Uint8Array): TensorFile<M> {
  const magic = new TextDecoder().decode(bytes.subarray(0, TENSOR_FILE_MAGIC.length));
  if (magic !== TENSOR_FILE_MAGIC) throw new Error(`not a dcnv2 bench tensor file (magic ${JSON.stringify(magic)})`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(TENSOR_FILE_MAGIC.length, true);
  const headerStart = TENSOR_FILE_MAGIC.length + 4;
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(headerStart, headerStart + headerLength))) as {
    meta: M;
    tensors: HeaderTensor[];
  };
  const dataStart = align4(headerStart + headerLength);
  const tensors = new Map<string, TensorEntry>();
  for (const e of header.tensors) {
    const start = dataStart + e.offset;
    if (start + e.length * 4 > bytes.length) throw new Error(`tensor ${e.name} runs past the end of the file`);
    let data: Float32Array;
    if (LITTLE_ENDIAN) {
      // slice() copies into a fresh, aligned buffer that the tensor owns.
      data = new Float32Array(bytes.buffer.slice(bytes.byteOffset + start, bytes.byteOffset + start + e.length * 4));
    } else {
      data = new Float32Array(e.length);
      for (let j = 0; j < e.length; j++) data[j] = view.getFloat32(start + 4 * j, true);
    }
    tensors.set(e.name, { name: e.name, shape: e.shape, data });
  }
  return { meta: header.meta, tensors };
}

export function writeTensorFile(path: string, meta: unknown, tensors: readonly TensorEntry[]): void {
  writeFileSync(path, encodeTensorFile(meta, tensors));
}

export function readTensorFile<M = unknown>(path: string): TensorFile<M> {
  return decodeTensorFile<M>(readFileSync(path));
}
