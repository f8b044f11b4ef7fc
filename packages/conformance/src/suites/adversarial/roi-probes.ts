/**
 * adversarial (deform_roi_pool): RoI values steer memory access (batch index, coordinates, sample
 * counts), so this is where a value changed after validation did the most harm (issue 10, finding 1:
 * heap corruption on wasm, stale data on webgpu, hangs on cpu and webgpu). Each probe expects a typed
 * `DcnError` or values equal to what the same backend computes from pristine inputs, or to the float64
 * reference. Also: the float32 limits of RoI parameters and coordinates, and outputs beyond int32
 * (findings 7, 9), and an adaptive grid just under the sample limit, whose per-bin mean must stay exact.
 */
import {
  deformRoiPool, deformRoiPoolBackward, OPS, roiPoolShapes, upload,
  type Backend, type DeformRoiPoolParams, type HostTensor, type OpInputName, type RoiPoolGeometry, type RoiPoolGradName,
} from '@dcnv2/core';
import { hasRoiPoolBackward, referenceRoiBackward, referenceRoiForward, roiPoolParams, ROI_GRAD_NAMES, type RoiPoolCase } from '../../roi-pool-case.js';
import { randomRoiCaseData } from '../../random-roi-cases.js';
import { Rng } from '../../random.js';
import { defaultRoiPoolTolerance, roiGradTensorName } from '../../tolerances-roi-pool.js';
import type { RoiPoolTensorName } from '../../vectors.js';
import type { ConformanceRow, SuiteContext } from '../types.js';
import { dataGetterThatChanges, forgedResident, hostCopy, scribble, shapeProxyThatChanges, sharedCopy } from './hostile.js';
import { expectErrorRow, gradResults, probe, sameRows } from './probe-rows.js';

const SUITE = 'roi-adversarial';
type Results = Record<string, Float32Array | undefined>;

/** The probes' problem: 3 RoIs inside a 2-image batch, offsets and mask, a fixed 2x2 sampling grid. */
function baseCase(seed: number): RoiPoolCase {
  const rng = Rng.derive(seed, 'adversarial-roi');
  for (;;) {
    const c = randomRoiCaseData(rng, {
      batch: 2, channels: 4, inHeight: 8, inWidth: 8, rois: 3, pooledH: 2, pooledW: 2, spatialScale: 1, samplingRatio: 2, gamma: 0.1,
    }, { offset: 'small', mask: 'sigmoid', exact: false, margin: 1e-3, maxScale: 1, placements: ['inside'], degenerate: 0 });
    if (c !== null) return c;
  }
}

function hostArgs(c: RoiPoolCase): Record<OpInputName<'deform_roi_pool'> | 'gradOutput', HostTensor> {
  const s = OPS.deform_roi_pool.shapes(c.geometry);
  const a = {} as Record<OpInputName<'deform_roi_pool'>, HostTensor>;
  for (const { name } of OPS.deform_roi_pool.inputs) a[name] = hostCopy(s[name], c[name]!);
  return { ...a, gradOutput: hostCopy(s.output, c.gradOutput!) };
}

function roiGrads(r: { readonly [K in RoiPoolGradName]?: { data: Float32Array } }): Results {
  return gradResults(r, ROI_GRAD_NAMES, roiGradTensorName);
}

/** What the RoI fields of a hostile caller look like: a batch index far out of range, coordinates at float32's edge. */
function poison(rois: Float32Array): void {
  for (let r = 0; r < rois.length / 5; r++) rois.set([12000, -3e38, -3e38, 3e38, 3e38], r * 5);
}

export async function roiAdversarialSuite(ctx: SuiteContext): Promise<void> {
  const backend = ctx.backend;
  const c = baseCase(ctx.seed);
  const g = c.geometry;
  const params = roiPoolParams(g);
  const shapes = roiPoolShapes(g);
  const tol = (t: string) => defaultRoiPoolTolerance(t as RoiPoolTensorName, g, c.rois);
  const backward = hasRoiPoolBackward(backend);
  const cleanForward: Results = { output: (await deformRoiPool(hostArgs(c), params, { backend })).data };
  const cleanBackward = backward ? roiGrads(await deformRoiPoolBackward(hostArgs(c), params, { backend })) : null;
  const run = (name: string, fn: () => Promise<ConformanceRow[]>) => probe(SUITE, name, ctx.row, fn);
  const forwardRows = async (name: string, args: unknown) =>
    sameRows(SUITE, name, { output: (await deformRoiPool(args as never, params, { backend })).data }, cleanForward, tol);

  // 1. RoIs (and the rest) changed right after the call returned its promise.
  await run('mutate_rois_after_call', async () => {
    const a = hostArgs(c);
    const pending = deformRoiPool(a, params, { backend });
    poison(a.rois.data);
    scribble(a.input.data, 1e6);
    return sameRows(SUITE, 'mutate_rois_after_call', { output: (await pending).data }, cleanForward, tol);
  });
  if (backward) {
    await run('mutate_rois_after_call_backward', async () => {
      const a = hostArgs(c);
      const pending = deformRoiPoolBackward(a, params, { backend });
      poison(a.rois.data);
      scribble(a.gradOutput.data, NaN);
      return sameRows(SUITE, 'mutate_rois_after_call_backward', roiGrads(await pending), cleanBackward!, tol);
    });
  }
  await run('rois_getter_changes', () => forwardRows('rois_getter_changes', { ...hostArgs(c), rois: dataGetterThatChanges(shapes.rois, c.rois) }));
  await run('rois_shape_proxy_changes', () => forwardRows('rois_shape_proxy_changes', { ...hostArgs(c), rois: shapeProxyThatChanges(shapes.rois, c.rois) }));
  await run('rois_shared_array_buffer', () => forwardRows('rois_shared_array_buffer', { ...hostArgs(c), rois: { shape: shapes.rois, data: sharedCopy(c.rois) } }));

  // 4. Resident RoIs disposed during the call (core reads them back, checks its copy and uses only that).
  await run('resident_rois_disposed_during_call', async () => {
    const rois = upload(backend, hostCopy(shapes.rois, c.rois));
    const pending = deformRoiPool({ ...hostArgs(c), rois }, params, { backend });
    rois.dispose();
    return sameRows(SUITE, 'resident_rois_disposed_during_call', { output: (await pending).data }, cleanForward, tol);
  });
  // 5. Forged resident RoIs.
  await run('forged_resident_rois', async () => [await expectErrorRow(SUITE, 'forged_resident_rois', ['ERR_DCN_DTYPE'], () =>
    deformRoiPool({ ...hostArgs(c), rois: forgedResident({ shape: shapes.rois, backend: backend.name }, c.rois) }, params, { backend }))]);

  // 9. RoI values and parameters beyond float32's reach are refused alike on every backend.
  const badRois = (values: number[]) => ({ ...hostArgs(c), rois: { shape: [1, 5], data: Float32Array.from(values) } });
  const oneRoi = { ...params };
  const refused: Array<[string, string, () => unknown]> = [
    ['rois_coordinates_3e38', 'ERR_DCN_VALUE', () => deformRoiPool({ ...badRois([0, -3e38, -3e38, 3e38, 3e38]), offset: null, mask: null }, oneRoi, { backend })],
    ['rois_coordinate_over_2^24', 'ERR_DCN_VALUE', () => deformRoiPool({ ...badRois([0, 0, 0, 2 ** 25, 4]), offset: null, mask: null }, oneRoi, { backend })],
    ['rois_batch_index_12000', 'ERR_DCN_VALUE', () => deformRoiPool({ ...badRois([12000, 0, 0, 4, 4]), offset: null, mask: null }, oneRoi, { backend })],
    ['spatial_scale_1.7e308', 'ERR_DCN_PARAM', () => deformRoiPool(hostArgs(c), { ...params, spatialScale: 1.7e308 }, { backend })],
    ['spatial_scale_1e-50', 'ERR_DCN_PARAM', () => deformRoiPool(hostArgs(c), { ...params, spatialScale: 1e-50 }, { backend })],
    ['gamma_1e300', 'ERR_DCN_PARAM', () => deformRoiPool(hostArgs(c), { ...params, gamma: 1e300 }, { backend })],
    ['params_map', 'ERR_DCN_PARAM', () => deformRoiPool(hostArgs(c), new Map() as never, { backend })],
    ['options_null', 'ERR_DCN_PARAM', () => deformRoiPool(hostArgs(c), params, null as never)],
  ];
  for (const [name, code, call] of refused) {
    await run(name, async () => [await expectErrorRow(SUITE, name, [code as 'ERR_DCN_VALUE'], call)]);
  }
  await run('sampling_ratio_2^31-1', async () => [await expectErrorRow(SUITE, 'sampling_ratio_2^31-1', ['ERR_DCN_LIMIT'],
    () => deformRoiPool(hostArgs(c), { ...params, samplingRatio: 2 ** 31 - 1 }, { backend }),
    (e) => ((e as { argument?: string }).argument === 'params.samplingRatio' ? null : 'the error should name params.samplingRatio'))]);

  // 7. Outputs beyond int32 are refused before anything is allocated.
  await run('output_size_2^31', async () => [await expectErrorRow(SUITE, 'output_size_2^31', ['ERR_DCN_LIMIT'], () =>
    deformRoiPool({ input: hostArgs(c).input, rois: hostArgs(c).rois }, { outputSize: [2 ** 31, 1] }, { backend }))]);
  await run('million_rois', async () => {
    const rois = new Float32Array(5e6);
    for (let r = 0; r < 1e6; r++) rois.set([0, 0, 0, 4, 4], r * 5);
    return [await expectErrorRow(SUITE, 'million_rois', ['ERR_DCN_LIMIT'], () =>
      deformRoiPool({ input: { shape: [1, 64, 8, 8], data: new Float32Array(64 * 64) }, rois: { shape: [1e6, 5], data: rois } }, { outputSize: 7 }, { backend }))];
  });

  // 9. An adaptive grid of 1023 x 1023 samples, just under the 2^20 limit: the bin's mean stays exact.
  await run('adaptive_grid_near_limit', () => nearLimitGridRows(backend, ctx.seed));
}

async function nearLimitGridRows(backend: Backend, seed: number): Promise<ConformanceRow[]> {
  const rng = Rng.derive(seed, 'adversarial-roi-grid');
  const geometry: RoiPoolGeometry = {
    batch: 1, channels: 1, inHeight: 1024, inWidth: 1024, rois: 1, pooledH: 1, pooledW: 1, spatialScale: 1, samplingRatio: 0, gamma: 0.1,
    hasOffset: false, hasMask: true,
  };
  // Positive values, so a drifting float32 sum shows as a relative error of the mean.
  const c: RoiPoolCase = {
    geometry,
    input: Float32Array.from({ length: 1024 * 1024 }, () => rng.next()),
    rois: Float32Array.of(0, 0.25, 0.25, 1023.25, 1023.25),
    offset: null,
    mask: Float32Array.of(0.75),
    gradOutput: Float32Array.of(1.5),
  };
  const s = roiPoolShapes(geometry);
  const args = { input: { shape: s.input, data: c.input }, rois: { shape: s.rois, data: c.rois }, mask: { shape: s.mask, data: c.mask! } };
  const params: DeformRoiPoolParams = roiPoolParams(geometry);
  const tol = (t: string) => defaultRoiPoolTolerance(t as RoiPoolTensorName, geometry, c.rois);
  const rows = sameRows(SUITE, 'adaptive_grid_near_limit', { output: (await deformRoiPool(args, params, { backend })).data }, { output: referenceRoiForward(c) }, tol);
  if (hasRoiPoolBackward(backend)) {
    const want = referenceRoiBackward(c);
    const got = roiGrads(await deformRoiPoolBackward({ ...args, gradOutput: { shape: s.output, data: c.gradOutput! } }, params, { backend }));
    rows.push(...sameRows(SUITE, 'adaptive_grid_near_limit', got, { grad_input: want.input, grad_mask: want.mask ?? undefined }, tol));
  }
  return rows;
}
