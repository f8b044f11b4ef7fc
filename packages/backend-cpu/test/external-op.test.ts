/**
 * An op added from outside core, in test files only (here, beside the one backend that gets its kernels): `deform_warp2d` (each pixel samples its own image
 * bilinearly at its position plus a learned offset, times an optional mask: the sampling step of a
 * deformable convolution without the weights). It is declared once with core's `defineOp` and
 * `registerOp`, gets a float64 reference and one backend's kernels (the cpu backend's, added by name with
 * `registerKernel`), runs through core's one call path (`runOp` / `runOpBackward`, typed errors, a
 * missing kernel named by op and direction), and through conformance's golden suite (vectors written by
 * an independent numpy generator, fixtures/deform_warp2d.py) and cross suite (cpu against the reference
 * backend, which gets the float64 reference as its kernel).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  CapabilityError,
  defineOp,
  listKernels,
  opDescriptor,
  ParamError,
  registerKernel,
  registerOp,
  runOp,
  runOpBackward,
  ShapeError,
  type Backend,
  type BackwardCall,
  type ForwardCall,
} from '@dcnv2/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReferenceBackend, runCross, runGolden, type ConformanceRow, type GoldenCase, type OpKit, type Rng, type SkipEntry, type SuiteContext } from '@dcnv2/conformance';
import { createCpuBackend } from '../src/index.js';

// ---- the op, declared once ----

interface WarpGeometry {
  readonly batch: number;
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  readonly scale: number;
  readonly hasMask: boolean;
}
type WarpInput = 'input' | 'offset' | 'mask';

function warpGeometry(t: { readonly input: { shape: readonly number[] } | null; readonly offset: { shape: readonly number[] } | null; readonly mask: { shape: readonly number[] } | null }, rawParams: unknown): WarpGeometry {
  const params = (rawParams ?? {}) as Record<string, unknown>;
  for (const k of Object.keys(params)) if (k !== 'scale') throw new ParamError({ argument: `params.${k}`, expected: 'one of scale', actual: k });
  const scale = params.scale ?? 1;
  if (typeof scale !== 'number' || !Number.isFinite(scale)) throw new ParamError({ argument: 'params.scale', expected: 'a finite number', actual: scale });
  const [batch, channels, height, width] = t.input!.shape as [number, number, number, number];
  const want = (name: string, shape: readonly number[], expected: readonly number[]) => {
    expected.forEach((d, i) => {
      if (shape[i] !== d) throw new ShapeError({ argument: `${name}.shape[${i}]`, expected: `${d}`, actual: shape[i] });
    });
  };
  want('offset', t.offset!.shape, [batch, 2, height, width]);
  if (t.mask !== null) want('mask', t.mask.shape, [batch, 1, height, width]);
  return { batch, channels, height, width, scale, hasMask: t.mask !== null };
}

const DEFORM_WARP2D = defineOp<WarpGeometry, WarpInput, WarpInput, 'scale'>({
  name: 'deform_warp2d',
  functionName: 'deformWarp2d',
  inputs: [
    { name: 'input', optional: false, rank: 4, dims: '[N, C, H, W]' },
    { name: 'offset', optional: false, rank: 4, dims: '[N, 2, H, W] = (dy, dx) per pixel' },
    { name: 'mask', optional: true, rank: 4, dims: '[N, 1, H, W]' },
  ],
  gradOutput: { rank: 4, dims: '[N, C, H, W]' },
  params: [{ name: 'scale', required: false, default: 1, doc: 'offset multiplier' }],
  grads: ['input', 'offset', 'mask'],
  geometry: warpGeometry,
  shapes: (g) => ({
    input: [g.batch, g.channels, g.height, g.width],
    offset: [g.batch, 2, g.height, g.width],
    mask: [g.batch, 1, g.height, g.width],
    output: [g.batch, g.channels, g.height, g.width],
  }),
  hasInput: (g, name) => name !== 'mask' || g.hasMask,
});

// ---- a float64 reference ----

interface WarpCase {
  readonly geometry: WarpGeometry;
  readonly input: Float32Array;
  readonly offset: Float32Array;
  readonly mask: Float32Array | null;
  readonly gradOutput: Float32Array | null;
}
type Grads64 = { input: Float64Array; offset: Float64Array; mask: Float64Array | null };

/** Bilinear sample of plane `base` at (y, x) as torchvision samples: value, d/dy, d/dx, and the corners it read. */
function sample64(v: ArrayLike<number>, base: number, H: number, W: number, y: number, x: number, corner: (index: number, weight: number) => void = () => {}): [number, number, number] {
  if (y <= -1 || y >= H || x <= -1 || x >= W) return [0, 0, 0];
  const y0 = Math.floor(y);
  const x0 = Math.floor(x);
  const ly = y - y0;
  const lx = x - x0;
  const at = (r: number, c: number) => (r >= 0 && r < H && c >= 0 && c < W ? v[base + r * W + c]! : 0);
  const [a, b, c, d] = [at(y0, x0), at(y0, x0 + 1), at(y0 + 1, x0), at(y0 + 1, x0 + 1)];
  const corners: [number, number, number][] = [[y0, x0, (1 - ly) * (1 - lx)], [y0, x0 + 1, (1 - ly) * lx], [y0 + 1, x0, ly * (1 - lx)], [y0 + 1, x0 + 1, ly * lx]];
  for (const [r, cc, w] of corners) if (r >= 0 && r < H && cc >= 0 && cc < W) corner(base + r * W + cc, w);
  return [(1 - ly) * (1 - lx) * a + (1 - ly) * lx * b + ly * (1 - lx) * c + ly * lx * d, (1 - lx) * (c - a) + lx * (d - b), (1 - ly) * (b - a) + ly * (d - c)];
}

function warp64(g: WarpGeometry, x: { input: ArrayLike<number>; offset: ArrayLike<number>; mask: ArrayLike<number> | null }, gradOutput: ArrayLike<number> | null): { output: Float64Array; grads: Grads64 } {
  const { batch: N, channels: C, height: H, width: W } = g;
  const P = H * W;
  const output = new Float64Array(N * C * P);
  const grads: Grads64 = { input: new Float64Array(N * C * P), offset: new Float64Array(N * 2 * P), mask: x.mask ? new Float64Array(N * P) : null };
  for (let n = 0; n < N; n++) {
    for (let p = 0; p < P; p++) {
      const sy = Math.floor(p / W) + g.scale * x.offset[(n * 2) * P + p]!;
      const sx = (p % W) + g.scale * x.offset[(n * 2 + 1) * P + p]!;
      const m = x.mask ? x.mask[n * P + p]! : 1;
      for (let c = 0; c < C; c++) {
        const i = (n * C + c) * P + p;
        const go = gradOutput ? gradOutput[i]! : 0;
        const [val, dy, dx] = sample64(x.input, (n * C + c) * P, H, W, sy, sx, (k, w) => (grads.input[k] += go * m * w));
        output[i] = m * val;
        grads.offset[(n * 2) * P + p] += go * m * dy * g.scale;
        grads.offset[(n * 2 + 1) * P + p] += go * m * dx * g.scale;
        if (grads.mask) grads.mask[n * P + p] += go * val;
      }
    }
  }
  return { output, grads };
}

// ---- one backend's kernels: cpu, added by name from outside its package ----

type WarpHandles = { input: Float32Array; offset: Float32Array; mask: Float32Array | null };
const fr = Math.fround;

/**
 * The cpu kernels, written apart from the reference: float32 arithmetic throughout (Math.fround), corner
 * by corner, gradients scattered per corner. `gout` null: forward only.
 */
function warpF32(g: WarpGeometry, x: WarpHandles, gout: Float32Array | null, want: { input: boolean; offset: boolean; mask: boolean }) {
  const { batch: N, channels: C, height: H, width: W } = g;
  const P = H * W;
  const out = new Float32Array(N * C * P);
  const gin = gout && want.input ? new Float32Array(N * C * P) : null;
  const goff = gout && want.offset ? new Float32Array(N * 2 * P) : null;
  const gmask = gout && want.mask && x.mask ? new Float32Array(N * P) : null;
  for (let n = 0; n < N; n++) {
    for (let p = 0; p < P; p++) {
      const y = fr(Math.floor(p / W) + fr(g.scale * x.offset[n * 2 * P + p]!));
      const xx = fr((p % W) + fr(g.scale * x.offset[(n * 2 + 1) * P + p]!));
      if (!(y > -1 && y < H && xx > -1 && xx < W)) continue; // samples 0, and so do its gradients
      const m = x.mask ? x.mask[n * P + p]! : 1;
      const y0 = Math.floor(y);
      const x0 = Math.floor(xx);
      const ly = fr(y - y0);
      const lx = fr(xx - x0);
      // (row, col, weight, d weight / dy, d weight / dx) of each corner inside the image
      const corners: [number, number, number, number, number][] = [
        [y0, x0, fr(fr(1 - ly) * fr(1 - lx)), -fr(1 - lx), -fr(1 - ly)],
        [y0, x0 + 1, fr(fr(1 - ly) * lx), -lx, fr(1 - ly)],
        [y0 + 1, x0, fr(ly * fr(1 - lx)), fr(1 - lx), -ly],
        [y0 + 1, x0 + 1, fr(ly * lx), lx, ly],
      ];
      for (let c = 0; c < C; c++) {
        const plane = (n * C + c) * P;
        let v = 0;
        let dy = 0;
        let dx = 0;
        for (const [r, cc, w, wy, wx] of corners) {
          if (r < 0 || r >= H || cc < 0 || cc >= W) continue;
          const a = x.input[plane + r * W + cc]!;
          v = fr(v + fr(w * a));
          dy = fr(dy + fr(wy * a));
          dx = fr(dx + fr(wx * a));
          if (gin) gin[plane + r * W + cc] = fr(gin[plane + r * W + cc]! + fr(fr(gout![plane + p]! * m) * w));
        }
        out[plane + p] = fr(m * v);
        if (!gout) continue;
        const go = gout[plane + p]!;
        if (goff) {
          goff[n * 2 * P + p] = fr(goff[n * 2 * P + p]! + fr(fr(go * m) * fr(dy * g.scale)));
          goff[(n * 2 + 1) * P + p] = fr(goff[(n * 2 + 1) * P + p]! + fr(fr(go * m) * fr(dx * g.scale)));
        }
        if (gmask) gmask[n * P + p] = fr(gmask[n * P + p]! + fr(go * v));
      }
    }
  }
  return { out, grads: { input: gin, offset: goff, mask: gmask } };
}

const NO_GRADS = { input: false, offset: false, mask: false };

function cpuForward({ geometry, inputs }: ForwardCall<Float32Array, WarpGeometry, WarpHandles>): Float32Array {
  return warpF32(geometry, inputs, null, NO_GRADS).out;
}

function cpuBackward({ geometry, inputs, gradOutput, want }: BackwardCall<Float32Array, WarpGeometry, WarpHandles, { input: boolean; offset: boolean; mask: boolean }>) {
  return warpF32(geometry, inputs, gradOutput, want).grads;
}

/** The reference backend's kernels: the float64 reference, rounded once. */
function referenceBackward({ geometry, inputs, gradOutput, want }: BackwardCall<Float32Array, WarpGeometry, WarpHandles, { input: boolean; offset: boolean; mask: boolean }>) {
  const { grads } = warp64(geometry, inputs, gradOutput);
  const f32 = (a: Float64Array | null, on: boolean) => (on && a !== null ? Float32Array.from(a) : null);
  return { input: f32(grads.input, want.input), offset: f32(grads.offset, want.offset), mask: f32(grads.mask, want.mask) };
}

// ---- the op for conformance's shared suites ----

const TOLERANCE = { atol: 2e-5, rtol: 2e-5 };

function argsOf(c: WarpCase) {
  const { batch: N, channels: C, height: H, width: W } = c.geometry;
  return {
    input: { shape: [N, C, H, W], data: c.input },
    offset: { shape: [N, 2, H, W], data: c.offset },
    mask: c.mask ? { shape: [N, 1, H, W], data: c.mask } : null,
  };
}

function randomWarpCase(rng: Rng): WarpCase {
  const geometry: WarpGeometry = { batch: rng.int(1, 2), channels: rng.int(1, 3), height: rng.int(1, 7), width: rng.int(1, 7), scale: rng.pick([1, 0.5, 2]), hasMask: rng.chance(0.6) };
  const { batch: N, channels: C, height: H, width: W } = geometry;
  const P = N * H * W;
  // Offsets away from integer sample positions, where the bilinear derivative is one-sided.
  const offset = Float32Array.from({ length: 2 * P }, () => Math.floor(rng.uniform(-3, 3)) + rng.uniform(0.1, 0.9));
  return {
    geometry,
    input: rng.normals(N * C * H * W),
    offset,
    mask: geometry.hasMask ? Float32Array.from({ length: P }, () => rng.uniform(0, 1)) : null,
    gradOutput: rng.normals(N * C * H * W),
  };
}

const WARP_OP: OpKit<WarpCase, WarpInput> = {
  label: (suite) => `warp-${suite}`,
  backwardName: 'deform_warp2d backward',
  gradNames: ['input', 'offset', 'mask'],
  hasBackward: (b) => listKernels(b).some((k) => k.op === 'deform_warp2d' && k.direction === 'backward'),
  gradExists: (c, k) => DEFORM_WARP2D.hasInput(c.geometry, k),
  tensorName: (k) => `grad_${k}`,
  shapes: (c) => DEFORM_WARP2D.shapes(c.geometry),
  tolerance: () => TOLERANCE,
  describe: (c) => `N=${c.geometry.batch} C=${c.geometry.channels} ${c.geometry.height}x${c.geometry.width} scale=${c.geometry.scale}${c.mask ? ' mask' : ''}`,
  forward: async (b, c) => (await runOp('deform_warp2d', argsOf(c), { scale: c.geometry.scale }, { backend: b })).data,
  backward: async (b, c, grads) => {
    const r = await runOpBackward('deform_warp2d', { ...argsOf(c), gradOutput: { shape: DEFORM_WARP2D.shapes(c.geometry).output, data: c.gradOutput! } }, { scale: c.geometry.scale }, { backend: b, ...(grads ? { grads } : {}) });
    const out: { [K in WarpInput]?: Float32Array } = {};
    for (const [k, v] of Object.entries(r)) if (v !== undefined) out[k as WarpInput] = v.data;
    return out;
  },
  referenceForward: (c) => warp64(c.geometry, c, null).output,
  referenceBackward: (c) => warp64(c.geometry, c, c.gradOutput).grads,
  randomCase: randomWarpCase,
  blockedCase: randomWarpCase,
};

/** The golden file's cases (numpy float64, rounded to float32), in the project's golden layout. */
function goldenCases(): GoldenCase<WarpCase, WarpInput>[] {
  type T = { shape: number[]; data: number[] } | null;
  const doc = JSON.parse(readFileSync(fileURLToPath(new URL('./fixtures/deform_warp2d.json', import.meta.url)), 'utf8')) as {
    cases: Array<{ name: string; params: { scale: number } } & Record<'input' | 'offset' | 'mask' | 'grad_output' | 'output' | 'grad_input' | 'grad_offset' | 'grad_mask', T>>;
  };
  return doc.cases.map((v) => {
    const f = (t: T) => (t === null ? null : Float32Array.from(t.data));
    const [batch, channels, height, width] = v.input!.shape as [number, number, number, number];
    return {
      name: v.name,
      problem: { geometry: { batch, channels, height, width, scale: v.params.scale, hasMask: v.mask !== null }, input: f(v.input)!, offset: f(v.offset)!, mask: f(v.mask), gradOutput: f(v.grad_output) },
      expected: { output: f(v.output)!, grads: { input: f(v.grad_input), offset: f(v.grad_offset), mask: f(v.grad_mask) } },
    };
  });
}

function suiteContext(backend: Backend, others: readonly Backend[]): SuiteContext & { rows: ConformanceRow[]; skipped: SkipEntry[] } {
  const rows: ConformanceRow[] = [];
  const skipped: SkipEntry[] = [];
  return {
    backend, others, seed: 20261203, fuzzCases: 0, blockedCases: 0, vectors: undefined, rows, skipped,
    row: (r) => rows.push(r),
    skip: (reason) => skipped.push({ suite: 'warp', reason }),
  };
}

// ---- the tests ----

const cleanups: (() => void)[] = [];
let cpu: Backend;
let reference: Backend;

beforeAll(async () => {
  cleanups.push(registerOp(DEFORM_WARP2D));
  cleanups.push(registerKernel({ backendName: 'cpu', op: 'deform_warp2d', direction: 'forward', kernel: cpuForward }));
  cleanups.push(registerKernel({ backendName: 'cpu', op: 'deform_warp2d', direction: 'backward', kernel: cpuBackward }));
  // The reference backend's kernel is the float64 reference itself, rounded once.
  cleanups.push(registerKernel({ backendName: 'reference', op: 'deform_warp2d', direction: 'forward', kernel: (c: ForwardCall<Float32Array, WarpGeometry, WarpCase>) => Float32Array.from(warp64(c.geometry, c.inputs, null).output) }));
  cleanups.push(registerKernel({ backendName: 'reference', op: 'deform_warp2d', direction: 'backward', kernel: referenceBackward }));
  cpu = createCpuBackend();
  await cpu.init();
  reference = createReferenceBackend();
});

afterAll(async () => {
  for (const c of cleanups.splice(0)) c();
  await cpu.dispose();
});

describe('an op defined outside core: deform_warp2d', () => {
  it('is registered by name, and the backends derive their kernels for it', () => {
    expect(opDescriptor('deform_warp2d')).toBe(DEFORM_WARP2D);
    expect(Object.isFrozen(DEFORM_WARP2D) && Object.isFrozen(DEFORM_WARP2D.inputs)).toBe(true);
    expect(listKernels(cpu).filter((k) => k.op === 'deform_warp2d')).toEqual([
      { op: 'deform_warp2d', direction: 'forward' },
      { op: 'deform_warp2d', direction: 'backward' },
    ]);
    expect(() => registerOp(DEFORM_WARP2D)).toThrow(ParamError);
    expect(() => registerKernel({ backendName: 'cpu', op: 'deform_warp2d', direction: 'forward', kernel: cpuForward })).toThrow(/no deform_warp2d forward kernel registered for backend cpu yet/);
  });

  it("runs through core's call path: values, gradients, typed errors, a missing kernel named by op and direction", async () => {
    // An integer shift by one pixel: each output pixel reads its left neighbour (0 past the border).
    const input = { shape: [1, 1, 2, 3], data: Float32Array.of(1, 2, 3, 4, 5, 6) };
    const offset = { shape: [1, 2, 2, 3], data: Float32Array.of(0, 0, 0, 0, 0, 0, -1, -1, -1, -1, -1, -1) };
    const out = await runOp('deform_warp2d', { input, offset }, undefined, { backend: cpu });
    expect(out.shape).toEqual([1, 1, 2, 3]);
    expect(Array.from(out.data)).toEqual([0, 1, 2, 0, 4, 5]);
    const half = await runOp(DEFORM_WARP2D, { input, offset, mask: { shape: [1, 1, 2, 3], data: new Float32Array(6).fill(0.5) } }, { scale: 2 }, { backend: cpu });
    expect(Array.from(half.data)).toEqual([0, 0, 0.5, 0, 0, 2]);
    const grads = await runOpBackward('deform_warp2d', { input, offset, gradOutput: { shape: [1, 1, 2, 3], data: new Float32Array(6).fill(1) } }, {}, { backend: cpu, grads: ['input'] });
    expect(Object.keys(grads)).toEqual(['input']);
    expect(Array.from(grads.input!.data)).toEqual([1, 1, 0, 1, 1, 0]);

    await expect(runOp('deform_warp2d', { input, offset: { shape: [1, 2, 2, 2], data: new Float32Array(8) } }, {}, { backend: cpu })).rejects.toMatchObject({ name: 'ShapeError', argument: 'offset.shape[3]' });
    await expect(runOp('deform_warp2d', { input, offset }, { scale: 'big' }, { backend: cpu })).rejects.toMatchObject({ name: 'ParamError', argument: 'params.scale' });
    await expect(runOp('deform_warp2d', { input }, {}, { backend: cpu })).rejects.toMatchObject({ argument: 'offset' });
    const other = { ...createReferenceBackend(), name: 'no-warp' };
    const missing = await runOp('deform_warp2d', { input, offset }, {}, { backend: other }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(CapabilityError);
    expect((missing as Error).message).toMatch(/^options\.backend: expected a backend with a deform_warp2d forward kernel, got "no-warp" \(it has deform_conv2d forward, /);
    await expect(runOp('no_such_op', {}, {}, { backend: cpu })).rejects.toMatchObject({ name: 'ParamError', argument: 'name' });
  });

  it("passes conformance's golden suite on vectors from an independent numpy generator", async () => {
    const ctx = suiteContext(cpu, []);
    const cases = goldenCases();
    expect(cases.map((c) => c.name)).toEqual(['integer_shift_no_mask', 'fractional_with_mask', 'scaled_offsets', 'far_outside']);
    await runGolden(ctx, WARP_OP, cases);
    const failed = ctx.rows.filter((r) => !r.pass);
    expect(failed, failed.map((r) => `${r.case} ${r.tensor}: ${r.detail}`).join('\n')).toEqual([]);
    // output, input and offset per case, and the mask's gradient where the case has a mask (3 of 4).
    expect(ctx.rows.map((r) => `${r.case} ${r.tensor}`)).toHaveLength(4 * 3 + 3);
    expect(ctx.skipped).toEqual([]);
  });

  it('golden catches a wrong kernel', async () => {
    const wrong = { ...createReferenceBackend(), name: 'wrong-warp' };
    const off = registerKernel({ backendName: 'wrong-warp', op: 'deform_warp2d', direction: 'forward', kernel: (c: ForwardCall<Float32Array, WarpGeometry, WarpCase>) => {
      // Swaps dy and dx: the classic layout bug.
      const swapped = { ...c.inputs, offset: Float32Array.from(c.inputs.offset, (_, i) => c.inputs.offset[i < c.inputs.offset.length / 2 ? i + c.inputs.offset.length / 2 : i - c.inputs.offset.length / 2]!) };
      return Float32Array.from(warp64(c.geometry, swapped, null).output);
    } });
    try {
      const ctx = suiteContext(wrong, []);
      await runGolden(ctx, WARP_OP, goldenCases());
      expect(ctx.rows.filter((r) => r.tensor === 'output' && !r.pass).length).toBeGreaterThan(0);
      expect(ctx.skipped).toEqual(['backend has no deform_warp2d backward'].map((reason) => ({ suite: 'warp', reason })));
    } finally {
      off();
    }
  });

  it("passes conformance's cross suite: cpu against the reference backend on random problems", async () => {
    const ctx = suiteContext(cpu, [reference]);
    await runCross(ctx, WARP_OP, ctx.others, 12, 'no peer');
    const failed = ctx.rows.filter((r) => !r.pass);
    expect(failed, failed.map((r) => `${r.case} ${r.tensor}: ${r.detail}`).join('\n')).toEqual([]);
    expect(ctx.rows.filter((r) => r.tensor === 'output')).toHaveLength(12);
    expect(ctx.rows.some((r) => r.tensor === 'grad_offset')).toBe(true);
    expect(ctx.skipped).toEqual([]);
  });
});
