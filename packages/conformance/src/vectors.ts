/**
 * Loads test vectors in the golden format (see golden/README.md) from any path, and finds the golden set:
 * the copy this package ships (made from the repository's shared/golden by every build, never committed,
 * so a regenerated set reaches every test with the next build). Every structural problem is reported
 * with the file, the case and the field, so a malformed or hand-edited file fails loudly instead of
 * testing less.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { convShapes, OP_NAMES, OPS, resolveConvGeometry, type OpName, type RoiPoolGradName } from '@dcnv2/core';
import type { ConvCase } from './conv-case.js';
import { CONV_TENSORS, type ConvTensorName, type Tolerance } from './tolerances.js';

/** The ops vectors files hold: every op of core's op table. */
export type VectorsOp = OpName;
export const VECTOR_OPS: readonly VectorsOp[] = OP_NAMES;

/** The tensors a RoI pooling case compares: its output and, per gradient of core's op table, `grad_<name>`. */
export type RoiPoolTensorName = 'output' | `grad_${RoiPoolGradName}`;
export const ROI_POOL_TENSORS: readonly RoiPoolTensorName[] = Object.freeze(['output', ...OPS.deform_roi_pool.grads.map((k) => `grad_${k}` as const)]);

/** A structural error in a vectors file: which file, where in it, and what is wrong. */
export class VectorsError extends Error {
  constructor(
    readonly source: string,
    readonly where: string,
    problem: string,
  ) {
    super(`${source}: ${where ? `${where}: ` : ''}${problem}`);
    this.name = 'VectorsError';
  }
}

export interface VectorTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

export interface ConvVectorCase {
  readonly name: string;
  /** The inputs as a runnable problem (geometry checked by core's own validation). */
  readonly problem: ConvCase;
  /** Expected tensors present in the file; a missing or null one is not checked. */
  readonly expected: Partial<Record<ConvTensorName, Float32Array>>;
  /** The case's own tolerance overrides. */
  readonly tolerance: Partial<Record<ConvTensorName, Partial<Tolerance>>>;
}

/** A checked vectors file of one op: the same envelope around either op's cases. */
export interface OpVectors<Op extends VectorsOp, Case> {
  readonly op: Op;
  readonly source: string;
  /** Every top-level field except `cases` (generator, versions, seed, ...). */
  readonly meta: Readonly<Record<string, unknown>>;
  readonly cases: readonly Case[];
}

export type ConvVectors = OpVectors<'deform_conv2d', ConvVectorCase>;

export interface RoiPoolVectorParams {
  readonly outputSize: readonly [number, number];
  readonly spatialScale: number;
  readonly samplingRatio: number;
  readonly gamma: number;
}

export interface RoiPoolVectorCase {
  readonly name: string;
  readonly params: RoiPoolVectorParams;
  readonly input: VectorTensor;
  readonly rois: VectorTensor;
  readonly offset: VectorTensor | null;
  readonly mask: VectorTensor | null;
  readonly gradOutput: VectorTensor | null;
  readonly expected: Partial<Record<RoiPoolTensorName, VectorTensor>>;
  readonly tolerance: Partial<Record<RoiPoolTensorName, Partial<Tolerance>>>;
}

export type RoiPoolVectors = OpVectors<'deform_roi_pool', RoiPoolVectorCase>;

export type Vectors = ConvVectors | RoiPoolVectors;

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Reads fields of one case, naming the case and field in every error. */
class CaseReader {
  constructor(
    readonly source: string,
    readonly where: string,
    readonly obj: Json,
  ) {}

  fail(field: string, problem: string): never {
    throw new VectorsError(this.source, field ? `${this.where}.${field}` : this.where, problem);
  }

  int(v: unknown, field: string, min: number): number {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) this.fail(field, `expected an integer >= ${min}, got ${JSON.stringify(v)}`);
    return v;
  }

  number(v: unknown, field: string): number {
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(field, `expected a finite number, got ${JSON.stringify(v)}`);
    return v;
  }

  ints(v: unknown, field: string, length: number, min: number): number[] {
    if (!Array.isArray(v) || v.length !== length) this.fail(field, `expected an array of ${length} integers, got ${JSON.stringify(v)}`);
    return v.map((x, i) => this.int(x, `${field}[${i}]`, min));
  }

  /** A tensor `{shape, data}`, or null when the field is null or missing. */
  tensor(field: string, rank: number): VectorTensor | null {
    const t = this.obj[field];
    if (t === undefined || t === null) return null;
    if (!isObject(t)) this.fail(field, 'expected a tensor {"shape": [...], "data": [...]} or null');
    const shape = t.shape;
    if (!Array.isArray(shape)) this.fail(`${field}.shape`, 'expected an array of dimensions');
    if (shape.length !== rank) this.fail(`${field}.shape`, `expected rank ${rank}, got ${JSON.stringify(shape)}`);
    const dims = shape.map((d, i) => this.int(d, `${field}.shape[${i}]`, 0));
    const data = t.data;
    if (!Array.isArray(data)) this.fail(`${field}.data`, 'expected an array of numbers');
    const n = dims.reduce((a, b) => a * b, 1);
    if (data.length !== n) this.fail(`${field}.data`, `has ${data.length} values, but shape ${JSON.stringify(dims)} needs ${n}`);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const v = data[i];
      // JSON has no NaN or infinities; the strings let hand-written vectors test non-finite propagation.
      if (typeof v === 'number') out[i] = v;
      else if (v === 'NaN') out[i] = NaN;
      else if (v === 'Infinity') out[i] = Infinity;
      else if (v === '-Infinity') out[i] = -Infinity;
      else this.fail(`${field}.data[${i}]`, `expected a number (or "NaN", "Infinity", "-Infinity"), got ${JSON.stringify(v)}`);
    }
    return { shape: dims, data: out };
  }

  required(field: string, rank: number): VectorTensor {
    const t = this.tensor(field, rank);
    if (t === null) this.fail(field, 'is required');
    return t;
  }

  expectShape(t: VectorTensor | null, field: string, want: readonly number[], why: string): void {
    if (t !== null && !sameShape(t.shape, want)) this.fail(`${field}.shape`, `expected ${JSON.stringify(want)} (${why}), got ${JSON.stringify(t.shape)}`);
  }

  /**
   * The expected tensors the case gives among `names`: each must have the shape `like[k][0]` (described as
   * `like[k][2]` in the error), and is refused when its input `like[k][1]` is null or when it is a gradient
   * and the case has no grad_output.
   */
  expectedTensors<K extends string>(
    names: readonly K[],
    like: Record<K, readonly [readonly number[], VectorTensor | null, string]>,
    gradOutput: VectorTensor | null,
  ): Partial<Record<K, VectorTensor>> {
    const expected: Partial<Record<K, VectorTensor>> = {};
    for (const k of names) {
      const t = this.tensor(k, like[k][0].length);
      if (t === null) continue;
      if (like[k][1] === null) this.fail(k, `is given but its input ${k.slice(5)} is null`);
      this.expectShape(t, k, like[k][0], like[k][2]);
      if (k !== 'output' && gradOutput === null) this.fail(k, 'is given but grad_output is missing, so it cannot be checked');
      expected[k] = t;
    }
    return expected;
  }

  tolerance<K extends string>(names: readonly K[]): Partial<Record<K, Partial<Tolerance>>> {
    const raw = this.obj.tolerance;
    if (raw === undefined || raw === null) return {};
    if (!isObject(raw)) this.fail('tolerance', 'expected an object {tensor: {atol, rtol}}');
    const out: Partial<Record<K, Partial<Tolerance>>> = {};
    for (const [k, v] of Object.entries(raw)) {
      if (!(names as readonly string[]).includes(k)) this.fail(`tolerance.${k}`, `unknown tensor; expected one of ${names.join(', ')}`);
      if (!isObject(v)) this.fail(`tolerance.${k}`, 'expected {"atol": number, "rtol": number}');
      const t: { atol?: number; rtol?: number } = {};
      for (const [kk, vv] of Object.entries(v)) {
        if (kk !== 'atol' && kk !== 'rtol') this.fail(`tolerance.${k}.${kk}`, 'expected only atol and rtol');
        if (typeof vv !== 'number' || !Number.isFinite(vv) || vv < 0) this.fail(`tolerance.${k}.${kk}`, `expected a non-negative number, got ${JSON.stringify(vv)}`);
        t[kk] = vv;
      }
      out[k as K] = t;
    }
    return out;
  }
}

/** A case's opening, alike for every op: its name, a reader that names the case in errors, and its `params` object. */
interface OpenedCase {
  readonly name: string;
  readonly reader: CaseReader;
  readonly p: Json;
}

/** Opens case `i`; `paramsFields` lists the fields of its params for the error when params is not an object. */
function openCase(source: string, c: Json, i: number, paramsFields: string): OpenedCase {
  if (typeof c.name !== 'string' || c.name.length === 0) throw new VectorsError(source, `cases[${i}].name`, 'expected a non-empty string');
  const name = c.name;
  const r: CaseReader = new CaseReader(source, `cases[${i}] (${JSON.stringify(name)})`, c);
  const p = c.params;
  if (!isObject(p)) r.fail('params', `expected an object ${paramsFields}`);
  return { name, reader: r, p };
}

function parseConvCase(source: string, c: Json, i: number): ConvVectorCase {
  const { name, reader, p } = openCase(source, c, i, '{kernel, stride, pads, dilation, groups, offset_groups}');
  // Typed explicitly: TypeScript narrows after a never-returning call (r.fail) only through such a name.
  const r: CaseReader = reader;
  const kernel = r.ints(p.kernel, 'params.kernel', 2, 1);
  const stride = r.ints(p.stride, 'params.stride', 2, 1);
  const pads = r.ints(p.pads, 'params.pads', 4, 0);
  const dilation = r.ints(p.dilation, 'params.dilation', 2, 1);
  const groups = r.int(p.groups, 'params.groups', 1);
  const offsetGroups = r.int(p.offset_groups, 'params.offset_groups', 1);

  const input = r.required('input', 4);
  const weight = r.required('weight', 4);
  const offset = r.required('offset', 4);
  const mask = r.tensor('mask', 4);
  const bias = r.tensor('bias', 1);
  const gradOutput = r.tensor('grad_output', 4);
  if (weight.shape[2] !== kernel[0] || weight.shape[3] !== kernel[1]) {
    r.fail('params.kernel', `${JSON.stringify(kernel)} does not match weight.shape ${JSON.stringify(weight.shape)}`);
  }

  let geometry;
  try {
    geometry = resolveConvGeometry(
      { input, weight, offset, mask, bias },
      { stride: [stride[0], stride[1]], padding: [pads[0], pads[1], pads[2], pads[3]], dilation: [dilation[0], dilation[1]], groups, offsetGroups },
    );
  } catch (e) {
    r.fail('', `inconsistent shapes or params: ${(e as Error).message}`);
  }
  const shapes = convShapes(geometry);
  r.expectShape(gradOutput, 'grad_output', shapes.output, '[N, Cout, Ho, Wo]');

  const like: Record<ConvTensorName, [readonly number[], VectorTensor | null, string]> = {
    output: [shapes.output, input, '[N, Cout, Ho, Wo]'],
    grad_input: [shapes.input, input, 'the shape of input'],
    grad_offset: [shapes.offset, offset, 'the shape of offset'],
    grad_mask: [shapes.mask, mask, 'the shape of mask'],
    grad_weight: [shapes.weight, weight, 'the shape of weight'],
    grad_bias: [shapes.bias, bias, 'the shape of bias'],
  };
  const given = r.expectedTensors(CONV_TENSORS, like, gradOutput);
  // A conv case keeps the data only: the shapes are those of its problem.
  const expected: Partial<Record<ConvTensorName, Float32Array>> = {};
  for (const k of CONV_TENSORS) {
    const t = given[k];
    if (t !== undefined) expected[k] = t.data;
  }
  return {
    name,
    problem: {
      geometry,
      input: input.data,
      weight: weight.data,
      offset: offset.data,
      mask: mask?.data ?? null,
      bias: bias?.data ?? null,
      gradOutput: gradOutput?.data ?? null,
    },
    expected,
    tolerance: r.tolerance(CONV_TENSORS),
  };
}

function parseRoiPoolCase(source: string, c: Json, i: number): RoiPoolVectorCase {
  const { name, reader, p } = openCase(source, c, i, '{output_size, spatial_scale, sampling_ratio, gamma}');
  const r: CaseReader = reader;
  const outputSize = r.ints(p.output_size, 'params.output_size', 2, 1);
  const spatialScale = r.number(p.spatial_scale, 'params.spatial_scale');
  if (spatialScale <= 0) r.fail('params.spatial_scale', `expected a positive number, got ${spatialScale}`);
  const samplingRatio = r.int(p.sampling_ratio, 'params.sampling_ratio', 0);
  const gamma = r.number(p.gamma, 'params.gamma');

  const input = r.required('input', 4);
  const rois = r.required('rois', 2);
  const R = rois.shape[0];
  const [ph, pw] = outputSize;
  const C = input.shape[1];
  r.expectShape(rois, 'rois', [R, 5], '[R, 5] = (batch_index, x1, y1, x2, y2)');
  const offset = r.tensor('offset', 4);
  r.expectShape(offset, 'offset', [R, 2, ph, pw], '[R, 2, ph, pw]');
  const mask = r.tensor('mask', 4);
  r.expectShape(mask, 'mask', [R, 1, ph, pw], '[R, 1, ph, pw]');
  const gradOutput = r.tensor('grad_output', 4);
  r.expectShape(gradOutput, 'grad_output', [R, C, ph, pw], '[R, C, ph, pw]');
  for (let k = 0; k < R; k++) {
    const b = rois.data[k * 5];
    if (!Number.isInteger(b) || b < 0 || b >= input.shape[0]) r.fail(`rois.data[${k * 5}]`, `batch index ${b} is not an integer in [0, ${input.shape[0]})`);
  }

  const like: Record<RoiPoolTensorName, [readonly number[], VectorTensor | null, string]> = {
    output: [[R, C, ph, pw], input, '[R, C, ph, pw]'],
    grad_input: [input.shape, input, 'the shape of input'],
    grad_offset: [[R, 2, ph, pw], offset, 'the shape of offset'],
    grad_mask: [[R, 1, ph, pw], mask, 'the shape of mask'],
  };
  const expected = r.expectedTensors(ROI_POOL_TENSORS, like, gradOutput);
  return {
    name,
    params: { outputSize: [ph, pw], spatialScale, samplingRatio, gamma },
    input,
    rois,
    offset,
    mask,
    gradOutput,
    expected,
    tolerance: r.tolerance(ROI_POOL_TENSORS),
  };
}

/** Which op a file holds: a top-level `op` field if present, else told by its first case's tensors. */
function detectOp(source: string, doc: Json, cases: unknown[]): VectorsOp {
  if (doc.op !== undefined) {
    if (!VECTOR_OPS.includes(doc.op as VectorsOp)) throw new VectorsError(source, 'op', `expected one of ${VECTOR_OPS.join(', ')}, got ${JSON.stringify(doc.op)}`);
    return doc.op as VectorsOp;
  }
  const first = cases[0];
  if (isObject(first) && 'rois' in first) return 'deform_roi_pool';
  if (isObject(first) && 'weight' in first) return 'deform_conv2d';
  throw new VectorsError(source, 'cases[0]', 'cannot tell the op: a case needs "weight" (deform_conv2d) or "rois" (deform_roi_pool)');
}

/** Checks and converts an already-parsed vectors document. `op`, when given, must match the file. */
export function parseVectors(doc: unknown, source: string, op: 'deform_conv2d'): ConvVectors;
export function parseVectors(doc: unknown, source: string, op: 'deform_roi_pool'): RoiPoolVectors;
export function parseVectors(doc: unknown, source: string, op?: VectorsOp): Vectors;
export function parseVectors(doc: unknown, source: string, op?: VectorsOp): Vectors {
  if (!isObject(doc)) throw new VectorsError(source, '', 'expected a JSON object with a "cases" list');
  const cases = doc.cases;
  if (!Array.isArray(cases)) throw new VectorsError(source, 'cases', 'expected a list of cases');
  if (cases.length === 0) throw new VectorsError(source, 'cases', 'is empty: a vectors file must hold at least one case');
  const fileOp = detectOp(source, doc, cases);
  if (op !== undefined && op !== fileOp) throw new VectorsError(source, '', `holds ${fileOp} cases, but ${op} vectors were asked for`);
  const meta: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(doc)) if (k !== 'cases') meta[k] = v;
  const each = <T>(parse: (source: string, c: Json, i: number) => T): T[] =>
    cases.map((c, i) => {
      if (!isObject(c)) throw new VectorsError(source, `cases[${i}]`, 'expected an object');
      return parse(source, c, i);
    });
  return fileOp === 'deform_conv2d'
    ? { op: fileOp, source, meta, cases: each(parseConvCase) }
    : { op: fileOp, source, meta, cases: each(parseRoiPoolCase) };
}

/** Reads, parses and checks a vectors file anywhere on disk. */
export function loadVectors(path: string, op: 'deform_conv2d'): ConvVectors;
export function loadVectors(path: string, op: 'deform_roi_pool'): RoiPoolVectors;
export function loadVectors(path: string, op?: VectorsOp): Vectors;
export function loadVectors(path: string, op?: VectorsOp): Vectors {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new VectorsError(path, '', `cannot read: ${(e as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new VectorsError(path, '', `not valid JSON: ${(e as Error).message}`);
  }
  return parseVectors(doc, path, op);
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function holdsVectors(dir: string): boolean {
  return isDir(dir) && VECTOR_OPS.some((op) => existsSync(join(dir, `${op}.json`)));
}

/**
 * The golden vectors this package ships: `golden/` at the package root (beside `dist/` and `src/`), copied
 * from the repository's shared/golden by the build (scripts/copy-golden.mjs) and listed in `files`.
 */
export function packagedVectorsDir(): string {
  return fileURLToPath(new URL('../golden', import.meta.url));
}

/**
 * The golden vectors folder: `$DCNV2_GOLDEN_DIR` if set; else the copy shipped in this package
 * (`packagedVectorsDir()`, present in every installed copy and after a build); else, in a repository
 * checkout that was not built yet, the first `<ancestor>/../shared/golden` or `<ancestor>/shared/golden`
 * holding vectors, walking up from the current directory and then from this module's own location.
 */
export function defaultVectorsDir(): string {
  const env = process.env.DCNV2_GOLDEN_DIR;
  if (env !== undefined && env !== '') {
    const dir = resolve(env);
    if (!isDir(dir)) throw new Error(`DCNV2_GOLDEN_DIR=${env} is not a directory`);
    return dir;
  }
  const packaged = packagedVectorsDir();
  if (holdsVectors(packaged)) return packaged;
  const starts = [process.cwd(), dirname(fileURLToPath(import.meta.url))];
  for (const start of starts) {
    for (let d = resolve(start); ; d = dirname(d)) {
      for (const candidate of [join(d, '..', 'shared', 'golden'), join(d, 'shared', 'golden')]) {
        if (holdsVectors(candidate)) return resolve(candidate);
      }
      if (dirname(d) === d) break;
    }
  }
  throw new Error(
    `cannot find the golden vectors: not shipped in this package (${packaged}), and no shared/golden above ` +
      `${starts.join(' or ')}; set DCNV2_GOLDEN_DIR or pass vector files explicitly (--vectors FILE)`,
  );
}

/** The default vectors files of an op: `<defaultVectorsDir()>/<op>.json`. */
export function defaultVectorsFiles(op: VectorsOp): string[] {
  const file = join(defaultVectorsDir(), `${op}.json`);
  if (!existsSync(file)) throw new Error(`no default vectors for ${op}: ${file} does not exist`);
  return [file];
}
