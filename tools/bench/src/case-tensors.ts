/**
 * What the inputs of every op's case share (case-data.ts, roi-case-data.ts): tensor sizes, the masks
 * a DCNv2 layer produces, and the case file's tensors, written in the op's order and read back by name.
 */
import type { Rng } from '@dcnv2/conformance';
import type { TensorEntry } from './tensor-file.js';

/** Elements of a tensor of `shape`. */
export const elementCount = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** `count` masks sigmoid(N(0, 1)) drawn from `rng`, as a DCNv2 layer produces them. */
export function sigmoidMasks(rng: Rng, count: number): Float32Array {
  const raw = rng.normals(count);
  const mask = new Float32Array(raw.length);
  for (let i = 0; i < mask.length; i++) mask[i] = 1 / (1 + Math.exp(-raw[i]));
  return mask;
}

/** The case's tensors `names` as case-file entries, in that order, each of shape `shapeOf(name)`. */
export function caseEntries<N extends string>(names: readonly N[], shapeOf: (name: N) => readonly number[], data: Readonly<Record<N, Float32Array>>): TensorEntry[] {
  return names.map((name) => ({ name, shape: shapeOf(name), data: data[name] }));
}

/** The data of the tensors `names` of a decoded case file (workers), by name; a missing one is an error. */
export function readCaseTensors<N extends string>(tensors: ReadonlyMap<string, TensorEntry>, names: readonly N[]): Record<N, Float32Array> {
  const out = {} as Record<N, Float32Array>;
  for (const name of names) {
    const t = tensors.get(name);
    if (t === undefined) throw new Error(`case file lacks tensor ${name}`);
    out[name] = t.data;
  }
  return out;
}
