/** Loading vectors files: the golden set, hand-written files, and clear errors for malformed ones. */
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  compareTensors,
  defaultVectorsDir,
  defaultVectorsFiles,
  deformConv2dBackwardF64,
  deformConv2dF64,
  loadVectors,
  makeGeometry,
  packagedVectorsDir,
  parseVectors,
  randomCaseData,
  referenceBackend,
  Rng,
  runConformance,
  VectorsError,
} from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'dcnv2-vectors-'));
let fileCount = 0;
function writeTemp(doc: unknown): string {
  const file = join(dir, `v${fileCount++}.json`);
  writeFileSync(file, typeof doc === 'string' ? doc : JSON.stringify(doc));
  return file;
}

const t = (shape: number[], data: number[] | string[]) => ({ shape, data });

/** A small hand-made case (2x3x3 input, 1x1 kernel) whose expectations come from the float64 reference. */
function smallCase(opts: { batch?: number; grads?: boolean } = {}) {
  const g = makeGeometry({
    batch: opts.batch ?? 1, inChannels: 2, inHeight: 3, inWidth: 3, outChannels: 2, kernelH: 1, kernelW: 1,
    strideH: 1, strideW: 1, padTop: 0, padLeft: 0, padBottom: 0, padRight: 0, dilationH: 1, dilationW: 1,
    groups: 1, offsetGroups: 1, hasMask: true, hasBias: true,
  });
  const c = randomCaseData(new Rng(7), g, { offsets: 'smooth' });
  const out = Float32Array.from(deformConv2dF64(g, c));
  const gr = deformConv2dBackwardF64(g, c, c.gradOutput!);
  const N = g.batch;
  const doc: Record<string, unknown> = {
    name: opts.batch === 0 ? 'empty_batch' : 'small',
    params: { kernel: [1, 1], stride: [1, 1], pads: [0, 0, 0, 0], dilation: [1, 1], groups: 1, offset_groups: 1 },
    input: t([N, 2, 3, 3], [...c.input]),
    weight: t([2, 2, 1, 1], [...c.weight]),
    offset: t([N, 2, 3, 3], [...c.offset]),
    mask: t([N, 1, 3, 3], [...c.mask!]),
    bias: t([2], [...c.bias!]),
    output: t([N, 2, 3, 3], [...out]),
  };
  if (opts.grads !== false) {
    Object.assign(doc, {
      grad_output: t([N, 2, 3, 3], [...c.gradOutput!]),
      grad_input: t([N, 2, 3, 3], [...Float32Array.from(gr.input)]),
      grad_offset: t([N, 2, 3, 3], [...Float32Array.from(gr.offset)]),
      grad_mask: t([N, 1, 3, 3], [...Float32Array.from(gr.mask!)]),
      grad_weight: t([2, 2, 1, 1], [...Float32Array.from(gr.weight)]),
      grad_bias: t([2], [...Float32Array.from(gr.bias!)]),
    });
  }
  return doc;
}

describe('loading', () => {
  it('finds the golden set (the copy the build ships in golden/, else shared/golden) and loads both ops', () => {
    const packaged = packagedVectorsDir();
    expect(packaged).toBe(fileURLToPath(new URL('../golden', import.meta.url)));
    if (existsSync(join(packaged, 'deform_conv2d.json'))) expect(defaultVectorsDir()).toBe(packaged);
    else expect(defaultVectorsDir()).toMatch(/shared[\\/]golden$/);
    const conv = loadVectors(defaultVectorsFiles('deform_conv2d')[0]);
    expect(conv.op).toBe('deform_conv2d');
    expect(conv.cases).toHaveLength(17);
    expect(conv.meta.torchvision).toBeDefined();
    const dcnv1 = conv.op === 'deform_conv2d' ? conv.cases.find((c) => c.name === 'dcnv1_no_mask_no_bias')! : undefined;
    expect(dcnv1?.problem.mask).toBeNull();
    expect(dcnv1?.expected.grad_mask).toBeUndefined();
    const roi = loadVectors(defaultVectorsFiles('deform_roi_pool')[0], 'deform_roi_pool');
    expect(roi.cases).toHaveLength(6);
    expect(roi.cases[0].params).toEqual({ outputSize: [3, 3], spatialScale: 0.5, samplingRatio: 2, gamma: 0.1 });
    expect(roi.cases.find((c) => c.name === 'no_offset_no_mask')?.offset).toBeNull();
  });

  it.runIf(existsSync(join(packagedVectorsDir(), 'README.md')))('the shipped copy (golden/) is byte-identical to shared/golden, README included: rebuild after regenerating', () => {
    const shared = fileURLToPath(new URL('../../../../shared/golden', import.meta.url));
    const files = readdirSync(shared).filter((f) => f === 'README.md' || f.endsWith('.json')).sort();
    expect(files).toEqual(expect.arrayContaining(['README.md', 'deform_conv2d.json', 'deform_roi_pool.json']));
    expect(readdirSync(packagedVectorsDir()).sort()).toEqual(files);
    for (const f of files) {
      expect(readFileSync(join(packagedVectorsDir(), f), 'utf8') === readFileSync(join(shared, f), 'utf8'), `golden/${f} differs from shared/golden/${f}: run pnpm build`).toBe(true);
    }
  });

  it('DCNV2_GOLDEN_DIR overrides the search', () => {
    const alt = mkdtempSync(join(tmpdir(), 'dcnv2-golden-'));
    writeFileSync(join(alt, 'deform_conv2d.json'), JSON.stringify({ cases: [smallCase()] }));
    process.env.DCNV2_GOLDEN_DIR = alt;
    try {
      expect(defaultVectorsDir()).toBe(alt);
      expect(defaultVectorsFiles('deform_conv2d')).toEqual([join(alt, 'deform_conv2d.json')]);
      expect(() => defaultVectorsFiles('deform_roi_pool')).toThrow(/does not exist/);
      process.env.DCNV2_GOLDEN_DIR = join(alt, 'missing');
      expect(() => defaultVectorsDir()).toThrow(/not a directory/);
    } finally {
      delete process.env.DCNV2_GOLDEN_DIR;
    }
  });

  it('accepts a forward-only file and checks only the output', async () => {
    const file = writeTemp({ cases: [smallCase({ grads: false })] });
    const v = loadVectors(file, 'deform_conv2d');
    expect(Object.keys(v.cases[0].expected)).toEqual(['output']);
    const r = await runConformance({ backend: referenceBackend, suites: ['golden'], vectors: [file] });
    expect(r.rows.map((row) => [row.tensor, row.pass])).toEqual([['output', true]]);
  });

  it('runs an empty-batch (N = 0) case, forward and backward', async () => {
    const file = writeTemp({ cases: [smallCase({ batch: 0 })] });
    const r = await runConformance({ backend: referenceBackend, suites: ['golden'], vectors: [file] });
    expect(r.failed).toBe(0);
    expect(r.rows.map((row) => row.tensor)).toEqual(['output', 'grad_input', 'grad_offset', 'grad_mask', 'grad_weight', 'grad_bias']);
  });

  it('a case tolerance overrides the defaults', async () => {
    const c = smallCase();
    (c.output as { data: number[] }).data[4] += 1e-3;
    const strict = writeTemp({ cases: [c] });
    const loose = writeTemp({ cases: [{ ...c, tolerance: { output: { atol: 1e-2 } } }] });
    const fail = await runConformance({ backend: referenceBackend, suites: ['golden'], vectors: [strict] });
    expect(fail.rows.find((r) => r.tensor === 'output')).toMatchObject({ pass: false, atol: 1e-4 });
    expect(fail.rows.find((r) => r.tensor === 'output')?.detail).toContain('[0,0,1,1]');
    const pass = await runConformance({ backend: referenceBackend, suites: ['golden'], vectors: [loose] });
    expect(pass.rows.find((r) => r.tensor === 'output')).toMatchObject({ pass: true, atol: 1e-2, rtol: 1e-4 });
  });

  it('reads "NaN" and "Infinity" strings, and NaN must come out where expected', async () => {
    const c = smallCase({ grads: false });
    (c.input as { data: (number | string)[] }).data[4] = 'NaN'; // channel 0, the centre pixel
    (c.input as { data: (number | string)[] }).data[13] = 'Infinity'; // channel 1, the centre pixel
    const v = parseVectors({ cases: [c] }, 'inline', 'deform_conv2d');
    expect(Number.isNaN(v.cases[0].problem.input[4])).toBe(true);
    expect(v.cases[0].problem.input[13]).toBe(Infinity);
    const out = deformConv2dF64(v.cases[0].problem.geometry, v.cases[0].problem);
    (c.output as { data: (number | string)[] }).data = [...out].map((x) => (Number.isFinite(x) ? x : String(x)));
    expect((c.output as { data: unknown[] }).data).toContain('NaN');
    const r = await runConformance({ backend: referenceBackend, suites: ['golden'], vectors: [writeTemp({ cases: [c] })] });
    expect(r.failed).toBe(0);
  });

  it('files from several paths are all run, with the file in the case name', async () => {
    const a = writeTemp({ cases: [smallCase()] });
    const r = await runConformance({ backend: referenceBackend, suites: ['golden'], vectors: [a, defaultVectorsFiles('deform_conv2d')[0]] });
    expect(r.failed).toBe(0);
    expect(r.rows[0].case).toMatch(/^v\d+\.json:small$/);
    expect(r.rows.length).toBe(6 + 100);
  });
});

describe('malformed files fail loudly, naming the file, case and field', () => {
  const base = () => smallCase();
  const mutate = (f: (c: Record<string, any>) => void) => {
    const c = base();
    f(c);
    return { cases: [c] };
  };
  it.each([
    ['not JSON', '{"cases": [', /not valid JSON/],
    ['not an object', '[1, 2]', /expected a JSON object/],
    ['no cases', { generator: 'x' }, /cases: expected a list/],
    ['empty cases', { cases: [] }, /cases: is empty/],
    ['unknown op', { op: 'conv3d', cases: [{}] }, /op: expected one of/],
    ['no name', mutate((c) => delete c.name), /cases\[0\]\.name: expected a non-empty string/],
    ['missing input', mutate((c) => delete c.input), /"small"\)\.input: is required/],
    ['data length', mutate((c) => c.input.data.pop()), /input\.data: has 17 values, but shape \[1,2,3,3\] needs 18/],
    ['rank', mutate((c) => (c.bias.shape = [1, 2])), /bias\.shape: expected rank 1/],
    ['bad value', mutate((c) => (c.weight.data[1] = 'x')), /weight\.data\[1\]: expected a number/],
    ['negative dim', mutate((c) => (c.input.shape[0] = -1)), /input\.shape\[0\]: expected an integer >= 0/],
    ['params missing', mutate((c) => delete c.params), /params: expected an object/],
    ['bad stride', mutate((c) => (c.params.stride = [0, 1])), /params\.stride\[0\]: expected an integer >= 1/],
    ['kernel mismatch', mutate((c) => (c.params.kernel = [3, 3])), /params\.kernel: \[3,3\] does not match weight\.shape/],
    ['offset channels', mutate((c) => (c.params.offset_groups = 2)), /inconsistent shapes or params: .*offset/],
    ['output shape', mutate((c) => (c.output.shape = [1, 2, 9, 1])), /output\.shape: expected \[1,2,3,3\]/],
    ['grad of a null input', mutate((c) => (c.mask = null)), /grad_mask: is given but its input mask is null/],
    ['grads without grad_output', mutate((c) => delete c.grad_output), /grad_input: is given but grad_output is missing/],
    ['tolerance key', mutate((c) => (c.tolerance = { out: { atol: 1 } })), /tolerance\.out: unknown tensor/],
    ['tolerance value', mutate((c) => (c.tolerance = { output: { atol: -1 } })), /tolerance\.output\.atol: expected a non-negative number/],
    ['op mismatch', 'roi', /holds deform_roi_pool cases, but deform_conv2d vectors were asked for/],
  ] as const)('%s', (_label, doc, message) => {
    const file = doc === 'roi' ? defaultVectorsFiles('deform_roi_pool')[0] : writeTemp(doc);
    let err: unknown;
    try {
      loadVectors(file, 'deform_conv2d');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(VectorsError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message.startsWith(file)).toBe(true);
  });

  it('a missing file is an error too', () => {
    expect(() => loadVectors(join(dir, 'nope.json'))).toThrow(/cannot read/);
  });

  it('malformed roi pool files are rejected', () => {
    const roi = JSON.parse(readFileSync(defaultVectorsFiles('deform_roi_pool')[0], 'utf8'));
    roi.cases[1].rois.data[0] = 5;
    expect(() => loadVectors(writeTemp(roi))).toThrow(/cases\[1\].*rois\.data\[0\]: batch index 5/);
  });

  it('a malformed file fails the golden suite instead of being skipped', async () => {
    const r = await runConformance({ backend: referenceBackend, suites: ['golden'], vectors: [writeTemp({ cases: [] })] });
    expect(r.failed).toBe(1);
    expect(r.rows[0].detail).toMatch(/is empty/);
  });
});

describe('compareTensors', () => {
  const tol = { atol: 1e-3, rtol: 1e-2 };
  it('passes within atol + rtol*|want| and reports the worst element', () => {
    const c = compareTensors([1.005, 2, 0], [1, 2, 0.0005], tol);
    expect(c.pass).toBe(true);
    expect(c.maxAbsError).toBeCloseTo(0.005, 9);
    const f = compareTensors([1, 2.5, 3], [1, 2, 3], tol, [3]);
    expect(f).toMatchObject({ pass: false, worstIndex: 1, mismatches: 1 });
    expect(f.detail).toContain('worst at [1]: got 2.5, expected 2');
  });
  it('NaN must match NaN, infinities must match in sign, non-finite where finite fails', () => {
    expect(compareTensors([NaN, Infinity, -Infinity], [NaN, Infinity, -Infinity], tol).pass).toBe(true);
    expect(compareTensors([0], [NaN], tol).pass).toBe(false);
    expect(compareTensors([NaN], [0], { atol: 1e9, rtol: 1e9 })).toMatchObject({ pass: false, maxAbsError: Infinity });
    expect(compareTensors([-Infinity], [Infinity], tol).pass).toBe(false);
    expect(compareTensors([Infinity], [1e30], { atol: 1e9, rtol: 1e9 }).pass).toBe(false);
  });
  it('lengths must agree; empty tensors pass', () => {
    expect(compareTensors([1], [1, 2], tol)).toMatchObject({ pass: false, detail: 'length 1, expected 2' });
    expect(compareTensors([], [], tol)).toMatchObject({ pass: true, maxAbsError: 0 });
  });
  it('exact comparisons (atol = rtol = 0) accept -0 for 0', () => {
    expect(compareTensors([-0], [0], { atol: 0, rtol: 0 }).pass).toBe(true);
    expect(compareTensors([1e-30], [0], { atol: 0, rtol: 0 }).pass).toBe(false);
  });
});

afterEach(() => {
  delete process.env.DCNV2_GOLDEN_DIR;
});
