/** RoI pooling in core: every validation error names its argument, plumbing releases handles, grads subsets. */
import { afterEach, describe, expect, it } from 'vitest';
import {
  CapabilityError,
  DataLengthError,
  DTypeError,
  LimitError,
  ParamError,
  RankError,
  ShapeError,
  ValueError,
  deformRoiPool,
  deformRoiPoolBackward,
  deformRoiPoolGeometry,
  disposeAll,
  hostTensor,
  roiPoolShapes,
  roiSamplingGrid,
  upload,
  type DeformRoiPoolArgs,
  type DeformRoiPoolParams,
} from '../src/index.js';
import { FakeBackend } from './fake-backend.js';

afterEach(() => disposeAll());

const roiBackend = () => new FakeBackend('fake', { roiPool: true });
const P: DeformRoiPoolParams = { outputSize: [2, 3], spatialScale: 0.5, samplingRatio: 2 };
const args = (): DeformRoiPoolArgs => ({
  input: hostTensor([2, 4, 6, 7]),
  rois: hostTensor([3, 5], [0, 1, 1, 8, 9, 1, 0, 0, 4, 4, 1, 2, 3, 10, 11]),
  offset: hostTensor([3, 2, 2, 3]),
  mask: hostTensor([3, 1, 2, 3]),
});

async function expectError(p: Promise<unknown>, type: new (...a: never[]) => Error, argument: string): Promise<void> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(type);
  expect((e as { argument: string }).argument).toBe(argument);
  expect((e as Error).message).toMatch(new RegExp(`^${argument.replace(/[[\]]/g, '\\$&')}: expected .+, got .+`));
}

describe('deformRoiPool validation', () => {
  const run = (a: Partial<DeformRoiPoolArgs>, p: unknown = P) =>
    deformRoiPool({ ...args(), ...a } as DeformRoiPoolArgs, p as DeformRoiPoolParams, { backend: roiBackend() });

  it('resolves the geometry with defaults', () => {
    const g = deformRoiPoolGeometry({ input: hostTensor([1, 3, 5, 5]), rois: hostTensor([0, 5]) }, { outputSize: 7 });
    expect(g).toEqual({ batch: 1, channels: 3, inHeight: 5, inWidth: 5, rois: 0, pooledH: 7, pooledW: 7, spatialScale: 1, samplingRatio: 0, gamma: 0.1, hasOffset: false, hasMask: false });
    expect(roiPoolShapes(g).output).toEqual([0, 3, 7, 7]);
    expect(roiSamplingGrid({ ...g, spatialScale: 0.5 }, 0, 0, 28, 15)).toEqual([2, 2]);
  });

  it('rejects bad tensors', async () => {
    await expectError(run({ input: hostTensor([2, 4, 6]) }), RankError, 'input.shape');
    await expectError(run({ rois: hostTensor([3, 4]) }), ShapeError, 'rois.shape[1]');
    await expectError(run({ rois: hostTensor([15]) }), RankError, 'rois.shape');
    await expectError(run({ rois: { shape: [3, 5], data: new Float64Array(15) } as never }), DTypeError, 'rois.data');
    await expectError(run({ rois: { shape: [3, 5], data: new Float32Array(14) } }), DataLengthError, 'rois.data.length');
    await expectError(run({ input: hostTensor([2, 4, 0, 7]) }), ShapeError, 'input.shape[2]');
    await expectError(run({ input: hostTensor([2, 4, 6, 0]) }), ShapeError, 'input.shape[3]');
    await expectError(run({ offset: hostTensor([2, 2, 2, 3]) }), ShapeError, 'offset.shape[0]');
    await expectError(run({ offset: hostTensor([3, 1, 2, 3]) }), ShapeError, 'offset.shape[1]');
    await expectError(run({ offset: hostTensor([3, 2, 3, 3]) }), ShapeError, 'offset.shape[2]');
    await expectError(run({ offset: hostTensor([3, 2, 2, 2]) }), ShapeError, 'offset.shape[3]');
    await expectError(run({ mask: hostTensor([3, 2, 2, 3]) }), ShapeError, 'mask.shape[1]');
    await expectError(run({ mask: hostTensor([4, 1, 2, 3]) }), ShapeError, 'mask.shape[0]');
    await expectError(run({ mask: hostTensor([3, 1, 2, 4]) }), ShapeError, 'mask.shape[3]');
  });

  it('rejects bad RoI values: batch index, non-finite coordinates, runaway adaptive grids', async () => {
    const rois = (v: number[]) => hostTensor([1, 5], v);
    const one = { offset: null, mask: null };
    await expectError(run({ ...one, rois: rois([2, 0, 0, 4, 4]) }), ValueError, 'rois[0][0]');
    await expectError(run({ ...one, rois: rois([-1, 0, 0, 4, 4]) }), ValueError, 'rois[0][0]');
    await expectError(run({ ...one, rois: rois([0.5, 0, 0, 4, 4]) }), ValueError, 'rois[0][0]');
    await expectError(run({ ...one, rois: rois([NaN, 0, 0, 4, 4]) }), ValueError, 'rois[0][0]');
    await expectError(run({ ...one, rois: rois([0, 0, NaN, 4, 4]) }), ValueError, 'rois[0][2]');
    await expectError(run({ ...one, rois: rois([0, 0, 0, Infinity, 4]) }), ValueError, 'rois[0][3]');
    await expectError(run({ ...one, rois: rois([0, 0, 0, 4, 4]) }, { outputSize: 1, spatialScale: 1e6 }), LimitError, 'rois[0]');
    // A fixed sampling ratio bounds the work whatever the RoI size, and a reversed RoI is legal (it pools 0s).
    await expect(run({ ...one, rois: rois([1, 0, 0, 4e6, 4e6]) }, { outputSize: 1, samplingRatio: 2 })).resolves.toBeDefined();
    await expect(run({ ...one, rois: rois([1, 9, 9, 1, 1]) }, { outputSize: 1 })).resolves.toBeDefined();
  });

  it('rejects bad parameters', async () => {
    await expectError(deformRoiPool(args(), undefined as never, { backend: roiBackend() }), ParamError, 'params');
    await expectError(run({}, {}), ParamError, 'params.outputSize');
    await expectError(run({}, { outputSize: 0 }), ParamError, 'params.outputSize');
    await expectError(run({}, { outputSize: [2, 3, 4] }), ParamError, 'params.outputSize');
    await expectError(run({}, { outputSize: [2, 1.5] }), ParamError, 'params.outputSize[1]');
    await expectError(run({}, { ...P, spatialScale: 0 }), ParamError, 'params.spatialScale');
    await expectError(run({}, { ...P, spatialScale: NaN }), ParamError, 'params.spatialScale');
    await expectError(run({}, { ...P, samplingRatio: -1 }), ParamError, 'params.samplingRatio');
    await expectError(run({}, { ...P, samplingRatio: 1.5 }), ParamError, 'params.samplingRatio');
    await expectError(run({}, { ...P, gamma: Infinity }), ParamError, 'params.gamma');
    await expectError(run({}, { ...P, outputsize: 3 }), ParamError, 'params.outputsize');
    await expectError(run({}, { ...P }).then(() => deformRoiPool(args(), P, { backend: roiBackend(), output: 'gpu' as never })), ParamError, 'options.output');
  });

  it('needs a backend with RoI pooling', async () => {
    await expectError(deformRoiPool(args(), P, { backend: new FakeBackend() }), CapabilityError, 'options.backend');
    await expectError(
      deformRoiPoolBackward({ ...args(), gradOutput: hostTensor([3, 4, 2, 3]) }, P, { backend: new FakeBackend('f', { roiPool: true, backward: false }) }),
      CapabilityError,
      'options.backend',
    );
  });
});

describe('deformRoiPool plumbing', () => {
  it('runs, returns [R, C, ph, pw] and releases every temporary', async () => {
    const b = roiBackend();
    const y = await deformRoiPool(args(), P, { backend: b });
    expect(y.shape).toEqual([3, 4, 2, 3]);
    expect([y.data[0], y.data[24], y.data[48]]).toEqual([0, 1, 1]);
    expect(b.live.size).toBe(0);
  });

  it('validates resident RoIs by reading them back', async () => {
    const b = roiBackend();
    const bad = upload(b, hostTensor([1, 5], [5, 0, 0, 4, 4]));
    await expectError(deformRoiPool({ input: hostTensor([2, 4, 6, 7]), rois: bad }, P, { backend: b }), ValueError, 'rois[0][0]');
    bad.dispose();
    expect(b.live.size).toBe(0);
  });

  it('handles R = 0', async () => {
    const b = roiBackend();
    const y = await deformRoiPool({ input: hostTensor([1, 2, 3, 3]), rois: hostTensor([0, 5]) }, { outputSize: 2 }, { backend: b });
    expect(y.shape).toEqual([0, 2, 2, 2]);
  });

  it('backward returns the requested gradients that exist, checks gradOutput', async () => {
    const b = roiBackend();
    const gradOutput = hostTensor([3, 4, 2, 3]);
    const all = await deformRoiPoolBackward({ ...args(), gradOutput }, P, { backend: b });
    expect(Object.keys(all)).toEqual(['input', 'offset', 'mask']);
    expect(all.offset!.shape).toEqual([3, 2, 2, 3]);
    const some = await deformRoiPoolBackward({ ...args(), mask: null, gradOutput }, P, { backend: b, grads: ['mask', 'offset'] });
    expect(Object.keys(some)).toEqual(['offset']);
    await expectError(deformRoiPoolBackward({ ...args(), gradOutput: hostTensor([3, 5, 2, 3]) }, P, { backend: b }), ShapeError, 'gradOutput.shape[1]');
    await expectError(deformRoiPoolBackward({ ...args(), gradOutput }, P, { backend: b, grads: ['weight' as never] }), ParamError, 'options.grads');
    expect(b.live.size).toBe(0);
  });
});
