/**
 * Blocking mode (`createWasmBackend({ threads: 2, blocking: true })`): threaded calls that return
 * synchronously, the calling thread blocking in Atomics.wait until its workers have reported.
 * - forward and backward of random conformance cases (convolution and RoI pooling) return values, not
 *   promises, within the conformance tolerances of the float64 references, directly and through core's
 *   `runOpSync` / `runOpBackwardSync` (which refuse a promise-returning backend);
 * - the workers really compute (info.workerChunks, within a time budget: on a loaded 2-core machine the
 *   caller may take every chunk of a call);
 * - a worker whose chunks throw gives a BackendError with the cause and the next call works; a worker that
 *   never reports gives a BackendError after `blockingTimeoutMs` (nothing hangs) and later calls are
 *   refused until it has; a dead worker refuses later calls at once;
 * - dispose frees the workers; a process that does not dispose still exits; many calls do not grow memory;
 * - init refuses blocking mode (CapabilityError naming options.blocking) where Atomics.wait throws (a
 *   browser's main thread, stood for by replacing Atomics.wait) or memory cannot be shared.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import {
  BackendError,
  CapabilityError,
  DisposedError,
  OPS,
  ParamError,
  runOpBackwardSync,
  runOpSync,
  type ConvGeometry,
  type ConvInputs,
  type HostTensor,
  type RoiPoolGeometry,
} from '@dcnv2/core';
import {
  compareTensors,
  convParams,
  defaultTolerance,
  randomConvCase,
  randomRoiCase,
  referenceBackward,
  referenceForward,
  referenceRoiBackward,
  referenceRoiForward,
  Rng,
  roiPoolCaseTolerance,
  roiPoolParams,
  type ConvCase,
  type RoiPoolCase,
} from '@dcnv2/conformance';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createWasmBackend, type WasmBackend, type WasmTensor } from '../dist/index.js';
import { makeCase, type Case } from './helpers.js';

const CONV = OPS.deform_conv2d;
const ROI = OPS.deform_roi_pool;

/** A conformance case as `runOpSync` arguments (each input shaped by the op's shape function). */
function opArgs(op: typeof CONV | typeof ROI, g: ConvGeometry | RoiPoolGeometry, c: object, withGrad: boolean): Record<string, HostTensor | null> {
  const s = (op.shapes as (g: unknown) => Record<string, readonly number[]>)(g);
  const a: Record<string, HostTensor | null> = {};
  for (const { name } of op.inputs) {
    const data = (c as Record<string, Float32Array | null>)[name];
    a[name] = data === null ? null : { shape: [...s[name]], data };
  }
  if (withGrad) a.gradOutput = { shape: [...s.output], data: (c as { gradOutput: Float32Array }).gradOutput };
  return a;
}

function expectClose(got: Float32Array, want: ArrayLike<number>, tol: { atol: number; rtol: number }, what: string): void {
  const r = compareTensors(got, want, tol);
  expect(r.pass, `${what}: ${r.detail ?? ''}`).toBe(true);
}

/** A fixed problem of 16 forward tiles, so that a 2-thread call goes through the worker. */
const threaded: Case = makeCase(1, 8, 32, 8, 7);
const threadedParams = threaded.params;

function caseGeometry(c: Case): ConvGeometry {
  const [N, Cin, H, W] = c.input.shape;
  const Cout = c.weight.shape[0];
  return {
    batch: N, inChannels: Cin, inHeight: H, inWidth: W, outChannels: Cout, kernelH: 3, kernelW: 3,
    strideH: 1, strideW: 1, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1, dilationH: 1, dilationW: 1,
    groups: 1, offsetGroups: 1, outHeight: H, outWidth: W, hasMask: true, hasBias: true,
  };
}
const threadedGeometry = caseGeometry(threaded);
const outShape = [1, 8, 32, 32];

function uploadCase(be: WasmBackend, c: Case): ConvInputs<WasmTensor> & { gradOutput: WasmTensor } {
  const up = (t: HostTensor) => be.upload(t.data, t.shape);
  return { input: up(c.input), weight: up(c.weight), offset: up(c.offset), mask: up(c.mask), bias: up(c.bias), gradOutput: up(c.gradOutput) };
}

function releaseAll(be: WasmBackend, h: object): void {
  for (const t of Object.values(h)) if (t !== null) be.release(t as WasmTensor);
}

/** Node's Worker, watched: the workers the pool made, and run messages rewritten or dropped on their way. */
function watchWorkers() {
  const seen: Worker[] = [];
  let edit: ((m: Record<string, unknown>) => Record<string, unknown> | null) | null = null;
  const post = Worker.prototype.postMessage;
  Worker.prototype.postMessage = function (this: Worker, m: unknown, ...rest: never[]) {
    if (!seen.includes(this)) seen.push(this);
    const msg = m as Record<string, unknown>;
    const out = edit !== null && msg?.type === 'run' ? edit(msg) : msg;
    if (out === null) return;
    post.call(this, out, ...rest);
  };
  return {
    seen,
    editRuns(f: typeof edit) {
      edit = f;
    },
    restore() {
      Worker.prototype.postMessage = post;
    },
  };
}

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('expected a failure');
}

describe('blocking mode (threads: 2, blocking: true)', () => {
  let be: WasmBackend;
  beforeAll(async () => {
    be = createWasmBackend({ threads: 2, blocking: true });
    await be.init();
  });
  afterAll(async () => {
    await be.dispose();
  });

  it('reports what it is', () => {
    expect(be.options.blocking).toBe(true);
    expect(be.options.blockingTimeoutMs).toBe(60_000);
    expect(be.info.threads).toBe(2);
    expect(be.info.sharedMemory).toBe(true);
    expect(be.info.synchronous).toBe(true);
    expect(be.capabilities.threads).toBe(2);
  });

  it('kernel calls return values, not promises, and downloadSync reads them', () => {
    const h = uploadCase(be, threaded);
    const y = be.deformConv2d(threadedGeometry, h);
    expect(y).not.toBeInstanceOf(Promise);
    const grads = be.deformConv2dBackward(threadedGeometry, h, h.gradOutput, { input: true, offset: true, mask: true, weight: true, bias: true });
    expect(grads).not.toBeInstanceOf(Promise);
    const out = be.downloadSync(y as WasmTensor, outShape);
    const want = referenceForward({ geometry: threadedGeometry, input: threaded.input.data, weight: threaded.weight.data, offset: threaded.offset.data, mask: threaded.mask.data, bias: threaded.bias.data, gradOutput: null });
    expectClose(out, want, defaultTolerance('output', threadedGeometry), 'output');
    // downloadSyncInto: the same values into the caller's array; another size is refused, naming it.
    const into = new Float32Array(out.length);
    be.downloadSyncInto(y as WasmTensor, outShape, into);
    expect(into).toEqual(out);
    expect(() => be.downloadSyncInto(y as WasmTensor, outShape, new Float32Array(out.length + 1))).toThrow(/into/);
    be.release(y as WasmTensor);
    releaseAll(be, grads);
    releaseAll(be, h);
  });

  it('random convolution cases, forward and backward through runOpSync / runOpBackwardSync, equal the float64 reference', () => {
    const cases: ConvCase[] = [];
    for (let seed = 1; cases.length < 8; seed++) {
      const c = randomConvCase(new Rng(1000 + seed), { maxImage: 24, maxChannels: 12, batch: [1, 2], maxMacs: 300_000 });
      cases.push(c);
    }
    for (const [i, c] of cases.entries()) {
      const g = c.geometry;
      const y = runOpSync('deform_conv2d', opArgs(CONV, g, c, false), convParams(g), { backend: be });
      expectClose(y.data, referenceForward(c), defaultTolerance('output', g), `case ${i} output`);
      const grads = runOpBackwardSync('deform_conv2d', opArgs(CONV, g, c, true), convParams(g), { backend: be });
      const ref = referenceBackward(c);
      for (const k of CONV.grads) {
        const want = ref[k];
        if (want === null || want === undefined) {
          expect(grads[k], `case ${i} grad_${k}`).toBeUndefined();
          continue;
        }
        expectClose(grads[k]!.data, want, defaultTolerance(`grad_${k}`, g), `case ${i} grad_${k}`);
      }
    }
  });

  it('random RoI pooling cases, forward and backward, synchronously, equal the float64 reference', () => {
    const cases: RoiPoolCase[] = [];
    for (let seed = 1; cases.length < 6; seed++) cases.push(randomRoiCase(new Rng(2000 + seed), { rois: [4, 24], channels: [8, 16, 32], maxImage: 16 }));
    for (const [i, c] of cases.entries()) {
      const g = c.geometry;
      const y = runOpSync('deform_roi_pool', opArgs(ROI, g, c, false), roiPoolParams(g), { backend: be });
      expectClose(y.data, referenceRoiForward(c), roiPoolCaseTolerance('output', g, c.rois), `case ${i} output`);
      const grads = runOpBackwardSync('deform_roi_pool', opArgs(ROI, g, c, true), roiPoolParams(g), { backend: be });
      const ref = referenceRoiBackward(c);
      for (const k of ROI.grads) {
        const want = ref[k];
        if (want === null || want === undefined) continue;
        expectClose(grads[k]!.data, want, roiPoolCaseTolerance(`grad_${k}`, g, c.rois), `case ${i} grad_${k}`);
      }
    }
  });

  it('gives the same results as a one-thread backend, bit for bit on the forward', async () => {
    const one = createWasmBackend({ threads: 1 });
    await one.init();
    const args = opArgs(CONV, threadedGeometry, { input: threaded.input.data, weight: threaded.weight.data, offset: threaded.offset.data, mask: threaded.mask.data, bias: threaded.bias.data }, false);
    const a = runOpSync('deform_conv2d', args, threadedParams, { backend: be });
    const b = runOpSync('deform_conv2d', args, threadedParams, { backend: one });
    expect(a.data).toEqual(b.data);
    await one.dispose();
  });

  it('the workers really compute: info.workerChunks grows (within a time budget)', () => {
    const h = uploadCase(be, threaded);
    const before = be.info.workerChunks;
    const deadline = Date.now() + 120_000;
    let calls = 0;
    while (be.info.workerChunks === before && Date.now() < deadline) {
      be.release(be.deformConv2d(threadedGeometry, h) as WasmTensor);
      calls++;
    }
    console.log(`blocking mode: the worker took chunks after ${calls} calls (${be.info.workerChunks - before} chunks)`);
    expect(be.info.workerChunks).toBeGreaterThan(before);
    releaseAll(be, h);
  });

  it('many calls in a row do not grow the memory or leave blocks allocated', () => {
    const h = uploadCase(be, threaded);
    const rois = be.upload(Float32Array.of(0, 1, 1, 20, 20, 0, 4, 2, 30, 28, 0, -3, 5, 12, 40), [3, 5]);
    const roiGeometry: RoiPoolGeometry = { batch: 1, channels: 8, inHeight: 32, inWidth: 32, rois: 3, pooledH: 4, pooledW: 4, spatialScale: 1, samplingRatio: 2, gamma: 0.1, hasOffset: false, hasMask: false };
    const roiInputs = { input: h.input, rois, offset: null, mask: null };
    const round = () => {
      be.release(be.deformConv2d(threadedGeometry, h) as WasmTensor);
      releaseAll(be, be.deformConv2dBackward(threadedGeometry, h, h.gradOutput, { input: true, offset: true, mask: true, weight: true, bias: true }) as object);
      const r = be.deformRoiPool(roiGeometry, roiInputs) as WasmTensor;
      const rg = be.deformRoiPoolBackward(roiGeometry, roiInputs, r, { input: true, offset: false, mask: false }) as object;
      be.release(r);
      releaseAll(be, rg);
    };
    round();
    const settled = be.memoryStats;
    for (let i = 0; i < 150; i++) round();
    expect(be.memoryStats).toEqual(settled);
    releaseAll(be, h);
    be.release(rois);
  });

  it('runOpSync refuses the same backend without blocking (its calls return promises): the contrast', async () => {
    const plain = createWasmBackend({ threads: 2 });
    await plain.init();
    expect(plain.info.synchronous).toBe(false);
    const args = opArgs(CONV, threadedGeometry, { input: threaded.input.data, weight: threaded.weight.data, offset: threaded.offset.data, mask: threaded.mask.data, bias: threaded.bias.data }, false);
    expect(() => runOpSync('deform_conv2d', args, threadedParams, { backend: plain })).toThrow(CapabilityError);
    await new Promise((r) => setTimeout(r, 10)); // let the refused call's promise settle (core releases it)
    await plain.dispose();
  });
});

describe('blocking mode: failures', () => {
  it('a worker whose chunks throw gives BackendError with the cause; the next call works and nothing leaks', async () => {
    const watch = watchWorkers();
    try {
      const be = createWasmBackend({ threads: 2, blocking: true });
      await be.init();
      const h = uploadCase(be, threaded);
      const y = be.deformConv2d(threadedGeometry, h) as WasmTensor;
      const good = be.downloadSync(y, outShape);
      be.release(y);
      const before = be.memoryStats.inUse;
      // A chunk counter outside the memory: the worker's first step throws (RangeError), the caller does every chunk.
      watch.editRuns((m) => ({ ...m, counter: 2 ** 31 + 8 }));
      const e = thrown(() => be.deformConv2d(threadedGeometry, h));
      expect(e).toBeInstanceOf(BackendError);
      expect((e as BackendError).message).toMatch(/worker 1 failed in the kernels: RangeError/);
      expect(((e as BackendError).cause as Error).message).toMatch(/RangeError/);
      expect(be.memoryStats.inUse).toBe(before);
      watch.editRuns(null);
      const again = be.deformConv2d(threadedGeometry, h) as WasmTensor;
      expect(be.downloadSync(again, outShape)).toEqual(good);
      be.release(again);
      // The same for a backward and a RoI pooling call.
      watch.editRuns((m) => ({ ...m, counter: 2 ** 31 + 8 }));
      expect(thrown(() => be.deformConv2dBackward(threadedGeometry, h, h.gradOutput, { input: true, offset: true, mask: true, weight: true, bias: true }))).toBeInstanceOf(BackendError);
      watch.editRuns(null);
      releaseAll(be, be.deformConv2dBackward(threadedGeometry, h, h.gradOutput, { input: true, offset: true, mask: true, weight: true, bias: true }) as object);
      expect(be.memoryStats.inUse).toBe(before);
      await be.dispose();
    } finally {
      watch.restore();
    }
  });

  it('a worker that never reports gives BackendError after blockingTimeoutMs; later calls are refused, nothing hangs', async () => {
    const watch = watchWorkers();
    try {
      const be = createWasmBackend({ threads: 2, blocking: true, blockingTimeoutMs: 500 });
      await be.init();
      const h = uploadCase(be, threaded);
      const before = be.memoryStats.inUse;
      // The worker never gets its run: as if it had hung or died (its death could not reach a blocked caller).
      watch.editRuns(() => null);
      const t0 = Date.now();
      const e = thrown(() => be.deformConv2d(threadedGeometry, h));
      expect(Date.now() - t0).toBeGreaterThanOrEqual(450);
      expect(e).toBeInstanceOf(BackendError);
      expect((e as BackendError).message).toMatch(/worker 1 had not finished 500 ms after the calling thread ran out of chunks \(0 of 1 reported\)/);
      expect((e as BackendError).message).toMatch(/blockingTimeoutMs = 500/);
      // The worker might still write into the call's blocks: they stay allocated.
      expect(be.memoryStats.inUse).toBeGreaterThan(before);
      watch.editRuns(null);
      // The next call waits for the stalled worker (once more the timeout), then refuses before allocating.
      const inUse = be.memoryStats.inUse;
      const later = thrown(() => be.deformConv2d(threadedGeometry, h));
      expect(later).toBeInstanceOf(BackendError);
      expect((later as BackendError).message).toMatch(/worker 1 still running the chunks of an earlier call that timed out/);
      expect(be.memoryStats.inUse).toBe(inUse);
      await be.dispose();
      expect(thrown(() => be.deformConv2d(threadedGeometry, h))).toBeInstanceOf(DisposedError);
    } finally {
      watch.restore();
    }
  });

  it('a worker that died refuses later calls at once with BackendError naming it', async () => {
    const watch = watchWorkers();
    try {
      const be = createWasmBackend({ threads: 2, blocking: true });
      await be.init();
      expect(watch.seen.length).toBe(1);
      const h = uploadCase(be, threaded);
      be.release(be.deformConv2d(threadedGeometry, h) as WasmTensor);
      await watch.seen[0].terminate();
      await new Promise((r) => setTimeout(r, 50)); // the exit event reaches the pool
      const t0 = Date.now();
      const e = thrown(() => be.deformConv2d(threadedGeometry, h));
      expect(Date.now() - t0).toBeLessThan(5_000);
      expect(e).toBeInstanceOf(BackendError);
      expect((e as BackendError).message).toMatch(/worker 1 died/);
      await be.dispose();
    } finally {
      watch.restore();
    }
  });
});

describe('blocking mode: lifetime', () => {
  it('dispose while idle terminates the workers; later calls are DisposedError', async () => {
    const watch = watchWorkers();
    try {
      const be = createWasmBackend({ threads: 3, blocking: true });
      await be.init();
      expect(watch.seen.length).toBe(2);
      const h = uploadCase(be, threaded);
      be.release(be.deformConv2d(threadedGeometry, h) as WasmTensor);
      const exits = watch.seen.map((w) => new Promise<number>((r) => w.once('exit', r)));
      await be.dispose();
      await Promise.all(exits);
      expect(be.info.synchronous).toBe(false);
      expect(thrown(() => be.deformConv2d(threadedGeometry, h))).toBeInstanceOf(DisposedError);
    } finally {
      watch.restore();
    }
  });

  it('a Node process that uses blocking mode exits by itself, with and without dispose()', () => {
    const script = fileURLToPath(new URL('./fixtures/exit-blocking.mjs', import.meta.url));
    for (const mode of ['dispose', 'no-dispose']) {
      const r = spawnSync(process.execPath, [script, mode], { encoding: 'utf8', timeout: 120_000 });
      expect(r.stderr).toBe('');
      expect(r.signal).toBeNull();
      expect(r.status).toBe(0);
      expect(r.stdout.trim()).toBe(`ok ${mode} 8192`);
    }
  });
});

describe('blocking mode: options and environment', () => {
  it('refuses bad option values with ParamError', () => {
    expect(() => createWasmBackend({ blocking: 'yes' as unknown as boolean })).toThrow(ParamError);
    expect(() => createWasmBackend({ blocking: true, blockingTimeoutMs: 0 })).toThrow(/options\.blockingTimeoutMs/);
  });

  it('off (the default): threaded calls still return promises', async () => {
    const be = createWasmBackend({ threads: 2 });
    await be.init();
    expect(be.options.blocking).toBe(false);
    const h = uploadCase(be, threaded);
    const y = be.deformConv2d(threadedGeometry, h);
    expect(y).toBeInstanceOf(Promise);
    be.release(await y);
    await be.dispose();
  });

  it('init refuses it with CapabilityError naming options.blocking where Atomics.wait throws (a browser main thread)', async () => {
    const wait = Atomics.wait;
    Atomics.wait = () => {
      throw new TypeError('Atomics.wait cannot be called in this context');
    };
    try {
      const be = createWasmBackend({ threads: 2, blocking: true });
      const e = await be.init().then(() => null, (x: unknown) => x);
      expect(e).toBeInstanceOf(CapabilityError);
      expect((e as CapabilityError).argument).toBe('options.blocking');
      expect((e as CapabilityError).message).toMatch(/Atomics\.wait throws on this thread \(TypeError: Atomics\.wait cannot be called in this context\)/);
      expect((e as CapabilityError).message).toMatch(/threads: 1/);
      await be.dispose();
      // One thread needs no blocking: accepted, synchronous.
      const one = createWasmBackend({ threads: 1, blocking: true });
      await one.init();
      expect(one.info.synchronous).toBe(true);
      await one.dispose();
    } finally {
      Atomics.wait = wait;
    }
  });

  it('init refuses it with CapabilityError where memory cannot be shared (no SharedArrayBuffer)', async () => {
    vi.stubGlobal('SharedArrayBuffer', undefined);
    try {
      const be = createWasmBackend({ threads: 2, blocking: true });
      const e = await be.init().then(() => null, (x: unknown) => x);
      expect(e).toBeInstanceOf(CapabilityError);
      expect((e as CapabilityError).argument).toBe('options.blocking');
      expect((e as CapabilityError).message).toMatch(/memory cannot be shared/);
      await be.dispose();
    } finally {
      vi.unstubAllGlobals();
    }
  });
});
