/**
 * adversarial (deform_conv2d): what a hostile or careless caller can do to the public convolution ops,
 * probed on one backend. Every probe either expects a typed `DcnError` or values equal to what the same
 * backend computes from pristine inputs (or to exact float64 values). Issue 10's findings, by number:
 *   1 data changed after the call returned its promise, getters and Proxies that answer differently on a
 *     second read, Float32Array subclasses that lie about their length;
 *   2 parameters that wrap 32-bit integers, and large ones that must stay exact;
 *   4 a resident input disposed while its call is queued or read;
 *   5 resident tensors of another instance or backend, forged resident objects;
 *   6 a resident tensor's shape edited;
 *   7 outputs beyond what any backend can index;
 *   8 non-plain params and options, Proxies as data, SharedArrayBuffer-backed data, absurd dimensions;
 *   9 a 2000x2000 kernel's 4M-term reduction, -0 as a dimension, Map and Date as params.
 * Finding 3 (GPU allocation failure) is `gpuAllocationProbe`, run for GPU backends.
 */
import {
  convShapes, deformConv2d, deformConv2dBackward, OPS, upload,
  type Backend, type ConvGeometry, type DeformConv2dParams, type GradName, type HostTensor, type OpInputName, type Tensor,
} from '@dcnv2/core';
import { roundToFloat16 } from '../conv-op.js';
import { convParams, GRAD_NAMES, hasBackward, referenceBackward, referenceForward, type ConvCase } from '../../conv-case.js';
import { makeGeometry, randomCaseData } from '../../random-cases.js';
import { Rng } from '../../random.js';
import { defaultTolerance, gradTensorName, precisionOf, type ConvTensorName } from '../../tolerances.js';
import type { SuiteContext } from '../types.js';
import { gpuAllocationProbe } from './gpu-probes.js';
import {
  dataGetterThatChanges, forgedResident, hostCopy, longLying, proxyData, scribble, shapeProxyThatChanges, sharedCopy, shortLying,
} from './hostile.js';
import { expectErrorRow, gradResults, probe, sameRows } from './probe-rows.js';

const SUITE = 'adversarial';
type ArgName = OpInputName<'deform_conv2d'>;
/** Every tensor input of the convolution, from core's op table. */
const ARG_NAMES: readonly ArgName[] = OPS.deform_conv2d.inputs.map((i) => i.name);
type Results = Record<string, Float32Array | undefined>;

/** The probes' problem: small, with mask and bias, offsets clear of integer coordinates. */
function baseCase(seed: number): ConvCase {
  const g = makeGeometry({
    batch: 1, inChannels: 4, inHeight: 6, inWidth: 6, outChannels: 3, kernelH: 3, kernelW: 3,
    strideH: 1, strideW: 1, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1, dilationH: 1, dilationW: 1,
    groups: 1, offsetGroups: 1, hasMask: true, hasBias: true,
  });
  return randomCaseData(Rng.derive(seed, 'adversarial-conv'), g, { offsets: 'smooth' });
}

/** Fresh host tensors of a case (each probe mutates only its own copies). */
function hostArgs(c: ConvCase): Record<ArgName, HostTensor> & { gradOutput: HostTensor } {
  const s = OPS.deform_conv2d.shapes(c.geometry);
  const a = {} as Record<ArgName, HostTensor>;
  for (const k of ARG_NAMES) a[k] = hostCopy(s[k], c[k]!);
  return { ...a, gradOutput: hostCopy(s.output, c.gradOutput!) };
}

function backwardResults(r: { readonly [K in GradName]?: { data: Float32Array } }): Results {
  return gradResults(r, GRAD_NAMES, gradTensorName);
}

/** Forward and (when the backend has it) backward from pristine data: what every value probe must match. */
async function cleanResults(backend: Backend, c: ConvCase, params: DeformConv2dParams): Promise<{ forward: Results; backward: Results | null }> {
  const a = hostArgs(c);
  const forward = { output: (await deformConv2d(a, params, { backend })).data };
  const backward = hasBackward(backend) ? backwardResults(await deformConv2dBackward(hostArgs(c), params, { backend })) : null;
  return { forward, backward };
}

export async function convAdversarialSuite(ctx: SuiteContext): Promise<void> {
  const backend = ctx.backend;
  const c = baseCase(ctx.seed);
  const g = c.geometry;
  const params = convParams(g);
  const shapes = convShapes(g);
  const precision = precisionOf(backend);
  const tol = (tensor: string) => defaultTolerance(tensor as ConvTensorName, g, precision);
  const clean = await cleanResults(backend, c, params);
  // What reading back an uploaded input gives: the values, rounded as the backend stores them.
  const stored = precision === 'float16' ? Float32Array.from(c.input, roundToFloat16) : c.input;
  const backward = clean.backward !== null;
  const forwardRows = async (name: string, args: unknown, p: unknown = params) =>
    sameRows(SUITE, name, { output: (await deformConv2d(args as never, p as never, { backend })).data }, clean.forward, tol);
  const run = (name: string, fn: () => Promise<import('../types.js').ConformanceRow[]>) => probe(SUITE, name, ctx.row, fn);

  // 1. Caller data changed right after the call returned its promise (before it was awaited).
  await run('mutate_after_call', async () => {
    const a = hostArgs(c);
    const pending = deformConv2d(a, params, { backend });
    for (const k of ARG_NAMES) scribble(a[k].data, 1e6);
    return sameRows(SUITE, 'mutate_after_call', { output: (await pending).data }, clean.forward, tol);
  });
  if (backward) {
    await run('mutate_after_call_backward', async () => {
      const a = hostArgs(c);
      const pending = deformConv2dBackward(a, params, { backend });
      for (const k of ARG_NAMES) scribble(a[k].data, NaN);
      scribble(a.gradOutput.data, -1e6);
      return sameRows(SUITE, 'mutate_after_call_backward', backwardResults(await pending), clean.backward!, tol);
    });
  }
  // 1. Getters and Proxies that answer differently on a second read: the op runs on its first reading.
  for (const k of ARG_NAMES) {
    await run(`data_getter_changes:${k}`, () => forwardRows(`data_getter_changes:${k}`, { ...hostArgs(c), [k]: dataGetterThatChanges(shapes[k], (c as unknown as Record<ArgName, Float32Array>)[k]) }));
  }
  await run('shape_proxy_changes', () => forwardRows('shape_proxy_changes', { ...hostArgs(c), input: shapeProxyThatChanges(shapes.input, c.input) }));
  await run('args_getter_changes', async () => {
    const a = hostArgs(c);
    let reads = 0;
    const args = { ...a, get input() { return reads++ === 0 ? a.input : { shape: [8, 4, 6, 6], data: new Float32Array(8 * 4 * 36) }; } };
    return forwardRows('args_getter_changes', args);
  });
  await run('params_getter_changes', async () => {
    let reads = 0;
    const p = { ...params, get padding() { return reads++ === 0 ? params.padding : 2 ** 30; } };
    return forwardRows('params_getter_changes', hostArgs(c), p);
  });
  // 1. Float32Array subclasses: a lying length is ignored; data really too short is a DataLengthError.
  await run('length_lie_ignored', () => forwardRows('length_lie_ignored', { ...hostArgs(c), offset: { shape: shapes.offset, data: longLying(c.offset) } }));
  await run('length_lie_short', async () => [await expectErrorRow(SUITE, 'length_lie_short', ['ERR_DCN_DATA_LENGTH'], () =>
    deformConv2d({ ...hostArgs(c), offset: { shape: shapes.offset, data: shortLying(c.offset) } }, params, { backend }))]);
  // 8. A Proxy as data is not a Float32Array; shared memory is valid data.
  await run('proxy_data', async () => [await expectErrorRow(SUITE, 'proxy_data', ['ERR_DCN_DTYPE'], () =>
    deformConv2d({ ...hostArgs(c), input: { shape: shapes.input, data: proxyData(c.input) } }, params, { backend }))]);
  await run('shared_array_buffer', async () => {
    const a = hostArgs(c);
    const shared = { ...a } as Record<string, HostTensor>;
    for (const k of [...ARG_NAMES, 'gradOutput'] as const) shared[k] = { shape: a[k].shape, data: sharedCopy(a[k].data) };
    const rows = sameRows(SUITE, 'shared_array_buffer', { output: (await deformConv2d(shared as never, params, { backend })).data }, clean.forward, tol);
    if (backward) rows.push(...sameRows(SUITE, 'shared_array_buffer', backwardResults(await deformConv2dBackward(shared as never, params, { backend })), clean.backward!, tol));
    return rows;
  });

  // 5. Resident tensors core did not make, or made for another backend instance.
  await run('forged_resident', async () => [await expectErrorRow(SUITE, 'forged_resident', ['ERR_DCN_DTYPE'], () =>
    deformConv2d({ ...hostArgs(c), input: forgedResident({ shape: shapes.input, backend: backend.name }, c.input) }, params, { backend }))]);
  await run('forged_resident_real_handle', async () => {
    const real = upload(backend, hostCopy(shapes.input, c.input));
    try {
      return [await expectErrorRow(SUITE, 'forged_resident_real_handle', ['ERR_DCN_DTYPE'], () =>
        deformConv2d({ ...hostArgs(c), input: forgedResident({ shape: [2, 4, 6, 6], backend: backend.name, handle: real.handle }, c.input) }, params, { backend }))];
    } finally {
      real.dispose();
    }
  });
  await run('resident_other_instance', async () => {
    if (ctx.create === undefined) {
      ctx.skip('resident_other_instance: no factory for a second instance of the backend (ConformanceOptions.create)');
      return [];
    }
    const twin = await ctx.create();
    try {
      await twin.init();
      const foreign = upload(twin, hostCopy(shapes.input, c.input));
      return [await expectErrorRow(SUITE, 'resident_other_instance', ['ERR_DCN_BACKEND'], () => deformConv2d({ ...hostArgs(c), input: foreign }, params, { backend }),
        (e) => (/another/.test(e.message) ? null : 'the message should say the tensor belongs to another instance'))];
    } finally {
      await twin.dispose();
    }
  });
  const peer = ctx.others.find((o) => o.name !== backend.name);
  if (peer !== undefined) {
    await run('resident_other_backend', async () => {
      const foreign = upload(peer, hostCopy(shapes.input, c.input));
      try {
        return [await expectErrorRow(SUITE, 'resident_other_backend', ['ERR_DCN_BACKEND'], () => deformConv2d({ ...hostArgs(c), input: foreign }, params, { backend }))];
      } finally {
        foreign.dispose();
      }
    });
  }

  // 6. A resident tensor's shape cannot be edited into another one.
  await run('resident_shape_edit', async () => {
    const t = upload(backend, hostCopy(shapes.input, c.input));
    try {
      try {
        (t.shape as number[])[0] = 8;
      } catch {
        // Frozen: strict-mode code gets a TypeError, which is the point.
      }
      try {
        Object.defineProperty(t, 'shape', { value: [8, 4, 6, 6] });
      } catch {
        // A class getter may refuse to be shadowed; either way core must not use it.
      }
      const rows = await forwardRows('resident_shape_edit', { ...hostArgs(c), input: t });
      const back = await t.read();
      rows.push(sameRows(SUITE, 'resident_shape_edit', { read: back }, { read: stored }, () => ({ atol: 0, rtol: 0 }))[0]!);
      return rows;
    } finally {
      t.dispose();
    }
  });

  // 4. A resident input disposed while its calls are queued or running: the calls see the data.
  await run('dispose_while_queued', async () => {
    const t = upload(backend, hostCopy(shapes.input, c.input));
    const calls = [0, 1, 2].map(() => deformConv2d({ ...hostArgs(c), input: t }, params, { backend }));
    t.dispose();
    const rows = [];
    for (const [i, p] of calls.entries()) rows.push(...sameRows(SUITE, `dispose_while_queued#${i}`, { output: (await p).data }, clean.forward, tol));
    rows.push(await expectErrorRow(SUITE, 'dispose_while_queued:later_call', ['ERR_DCN_DISPOSED'], () => deformConv2d({ ...hostArgs(c), input: t }, params, { backend })));
    rows.push(await expectErrorRow(SUITE, 'dispose_while_queued:later_read', ['ERR_DCN_DISPOSED'], () => t.read()));
    return rows;
  });
  await run('dispose_during_read', async () => {
    const t = upload(backend, hostCopy(shapes.input, c.input));
    const reading = t.read();
    t.dispose();
    return sameRows(SUITE, 'dispose_during_read', { read: await reading }, { read: stored }, () => ({ atol: 0, rtol: 0 }));
  });

  // 2. Parameters that would wrap 32-bit integers are refused; large ones that fit stay exact.
  const wrapping: Array<[string, DeformConv2dParams]> = [
    ['dilation_padding_2^32', { dilation: 2 ** 32, padding: 2 ** 32 }],
    ['padding_2^31', { padding: 2 ** 31 }],
    ['padding_sum_over_int32', { padding: [2 ** 30, 0, 2 ** 30, 0] }],
    ['stride_2^40', { stride: 2 ** 40 }],
  ];
  for (const [name, p] of wrapping) {
    await run(name, async () => [await expectErrorRow(SUITE, name, ['ERR_DCN_LIMIT'], () => deformConv2d(hostArgs(c), p, { backend }))]);
  }
  await run('dilation_padding_2^29', () => largeParamsRows(backend, ctx.seed));

  // 7, 8. Dimensions and outputs beyond int32 are refused before anything is allocated.
  const empty = (shape: number[]) => ({ shape, data: new Float32Array(0) });
  await run('empty_batch_huge_image', async () => [await expectErrorRow(SUITE, 'empty_batch_huge_image', ['ERR_DCN_LIMIT'], () =>
    deformConv2d({ input: empty([0, 1, 1e308, 1e308]), weight: hostCopy([1, 1, 1, 1], new Float32Array(1)), offset: empty([0, 2, 1e308, 1e308]) }, {}, { backend }))]);
  await run('dimension_2^31', async () => [await expectErrorRow(SUITE, 'dimension_2^31', ['ERR_DCN_LIMIT'], () =>
    deformConv2d({ ...hostArgs(c), input: empty([1, 4, 2 ** 31, 6]) }, params, { backend }))]);
  await run('output_over_int32', async () => {
    // Cout 100000 over a 300x300 image: 9e9 output values from 1.1 MB of inputs.
    const args = { input: hostCopy([1, 1, 300, 300], new Float32Array(90000)), weight: hostCopy([100000, 1, 1, 1], new Float32Array(100000)), offset: hostCopy([1, 2, 300, 300], new Float32Array(180000)) };
    return [await expectErrorRow(SUITE, 'output_over_int32', ['ERR_DCN_LIMIT'], () => deformConv2d(args, {}, { backend }))];
  });
  await run('negative_zero_dimension', async () => [await expectErrorRow(SUITE, 'negative_zero_dimension', ['ERR_DCN_SHAPE'], () =>
    deformConv2d({ ...hostArgs(c), bias: { shape: [-0], data: new Float32Array(0) } }, params, { backend }))]);

  // 8, 9. Params and options must be plain objects.
  const notPlain: Array<[string, () => unknown]> = [
    ['params_map', () => deformConv2d(hostArgs(c), new Map([['padding', 1]]) as never, { backend })],
    ['params_date', () => deformConv2d(hostArgs(c), new Date() as never, { backend })],
    ['params_negative_zero_padding', () => deformConv2d(hostArgs(c), { padding: -0 }, { backend })],
    ['options_null', () => deformConv2d(hostArgs(c), params, null as never)],
    ['options_string', () => deformConv2d(hostArgs(c), params, 'resident' as never)],
    ['options_unknown_key', () => deformConv2d(hostArgs(c), params, { backend, ouput: 'resident' } as never)],
    ['args_null', () => deformConv2d(null as never, params, { backend })],
  ];
  for (const [name, call] of notPlain) {
    await run(name, async () => [await expectErrorRow(SUITE, name, ['ERR_DCN_PARAM'], call)]);
  }

  // 9. A 2000x2000 kernel on a 1x1 output: one 4M-term reduction, within the suite's tolerance.
  await run('long_reduction_2000x2000', () => longReductionRows(backend, ctx.seed));

  // 3. A GPU allocation that fails is a typed error, never a normal-looking result.
  await gpuAllocationProbe(ctx);
}

/**
 * dilation = padding = 2^29 with a 3x3 kernel on a 5x5 image: every tap but the centre lands 2^29 pixels
 * away, positions that fit int32 (unlike 2^32, refused above). Forward and gradients must match the
 * float64 reference as any other problem does.
 */
async function largeParamsRows(backend: Backend, seed: number) {
  const big = 2 ** 29;
  const g: ConvGeometry = makeGeometry({
    batch: 1, inChannels: 2, inHeight: 5, inWidth: 5, outChannels: 2, kernelH: 3, kernelW: 3,
    strideH: 1, strideW: 1, padTop: big, padLeft: big, padBottom: big, padRight: big, dilationH: big, dilationW: big,
    groups: 1, offsetGroups: 1, hasMask: true, hasBias: true,
  });
  const c = randomCaseData(Rng.derive(seed, 'adversarial-large-params'), g, { offsets: 'smooth' });
  const s = convShapes(g);
  const args = {
    input: hostCopy(s.input, c.input), weight: hostCopy(s.weight, c.weight), offset: hostCopy(s.offset, c.offset),
    mask: hostCopy(s.mask, c.mask!), bias: hostCopy(s.bias, c.bias!), gradOutput: hostCopy(s.output, c.gradOutput!),
  };
  const precision = precisionOf(backend);
  const tol = (t: string) => defaultTolerance(t as ConvTensorName, g, precision);
  const params = convParams(g);
  const rows = sameRows(SUITE, 'dilation_padding_2^29', { output: (await deformConv2d(args, params, { backend })).data }, { output: referenceForward(c) }, tol);
  if (hasBackward(backend)) {
    const want = referenceBackward(c);
    const got = backwardResults(await deformConv2dBackward(args, params, { backend }));
    const wantRows: Record<string, Float64Array> = {};
    for (const k of GRAD_NAMES) if (want[k] !== null) wantRows[gradTensorName(k)] = want[k]!;
    rows.push(...sameRows(SUITE, 'dilation_padding_2^29', got, wantRows, tol));
  }
  return rows;
}

/**
 * One output summing 4M equal products (the finding's data: ones times 0.0009995, exactly 3998.0002):
 * equal terms are the worst case for a running float32 sum, which stops growing once the sum's ulp
 * exceeds a term. Judged by the suite's tolerance for a reduction of that length.
 */
async function longReductionRows(backend: Backend, _seed: number) {
  const k = 2000;
  const w = Math.fround(0.0009995);
  const input = new Float32Array(k * k).fill(1);
  const weight = new Float32Array(k * k).fill(w);
  const exact = k * k * w;
  const g = makeGeometry({
    batch: 1, inChannels: 1, inHeight: k, inWidth: k, outChannels: 1, kernelH: k, kernelW: k,
    strideH: 1, strideW: 1, padTop: 0, padLeft: 0, padBottom: 0, padRight: 0, dilationH: 1, dilationW: 1,
    groups: 1, offsetGroups: 1, hasMask: false, hasBias: false,
  });
  const args: Record<string, Tensor> = {
    input: { shape: [1, 1, k, k], data: input },
    weight: { shape: [1, 1, k, k], data: weight },
    offset: { shape: [1, 2 * k * k, 1, 1], data: new Float32Array(2 * k * k) },
  };
  const got = (await deformConv2d(args as never, {}, { backend })).data;
  return sameRows(SUITE, 'long_reduction_2000x2000', { output: got }, { output: [exact] }, (t) => defaultTolerance(t as ConvTensorName, g, precisionOf(backend)),
    `exact sum ${exact.toFixed(3)}, got ${got[0]}`);
}
