/**
 * The inputs of one benchmark case, drawn once from a seeded generator so every implementation gets the very
 * same numbers (and a rerun with the same --seed gets them again):
 *   input ~ N(0, 1); weight ~ N(0, 1/fan-in) (the scale the conformance tolerances assume); offsets ~ N(0, 1.5²)
 *   pixels, the spread a trained DCNv2 layer shows, so samples straddle pixels and sometimes leave the image;
 *   masks = sigmoid(N(0, 1)), as a DCNv2 layer produces them; bias ~ N(0, 1); gradOutput ~ N(0, 1).
 */
import { convShapes, type ConvGeometry } from '@dcnv2/core';
import { Rng } from '@dcnv2/conformance';
import { caseEntries, elementCount, readCaseTensors, sigmoidMasks } from './case-tensors.js';
import type { TensorEntry } from './tensor-file.js';

export const OFFSET_STD_PX = 1.5;

/** Tensor names in the case file, in the order the worker protocol documents them. */
export const CASE_TENSORS = ['input', 'weight', 'offset', 'mask', 'bias', 'gradOutput'] as const;
export type CaseTensorName = (typeof CASE_TENSORS)[number];

export interface CaseData {
  readonly geometry: ConvGeometry;
  readonly input: Float32Array;
  readonly weight: Float32Array;
  readonly offset: Float32Array;
  readonly mask: Float32Array;
  readonly bias: Float32Array;
  readonly gradOutput: Float32Array;
}

export function makeCaseData(g: ConvGeometry, seed: number): CaseData {
  const s = convShapes(g);
  // One derived stream per tensor: adding a tensor later does not change the others.
  const stream = (name: string) => Rng.derive(seed, `bench:${name}`);
  const fanIn = (g.inChannels / g.groups) * g.kernelH * g.kernelW;
  return {
    geometry: g,
    input: stream('input').normals(elementCount(s.input)),
    weight: stream('weight').normals(elementCount(s.weight), 1 / Math.sqrt(fanIn)),
    offset: stream('offset').normals(elementCount(s.offset), OFFSET_STD_PX),
    mask: sigmoidMasks(stream('mask'), elementCount(s.mask)),
    bias: stream('bias').normals(elementCount(s.bias)),
    gradOutput: stream('gradOutput').normals(elementCount(s.output)),
  };
}

export function caseTensorEntries(c: CaseData): TensorEntry[] {
  const s = convShapes(c.geometry);
  return caseEntries(CASE_TENSORS, (name) => (name === 'gradOutput' ? s.output : s[name]), c);
}

/** What the case file's JSON header carries besides the tensors. */
export interface CaseMeta {
  readonly op: 'deform_conv2d';
  readonly geometry: ConvGeometry;
  readonly seed: number;
}

/** Rebuilds the case from a decoded file (workers). */
export function caseFromTensors(meta: CaseMeta, tensors: ReadonlyMap<string, TensorEntry>): CaseData {
  return { geometry: meta.geometry, ...readCaseTensors(tensors, CASE_TENSORS) };
}
