/**
 * The three analyses (src/analyses) on models whose answers are known by construction: all-ones
 * kernels, DeformConv2D layers with a zero offset branch plus a constant offset bias (every tap shifted by
 * (dy, dx) everywhere) and constant masks; on tfjs cpu. tf is the union package (op gradients).
 */
import * as tf from '@tensorflow/tfjs';
import { DeformConv2D, type DeformConv2DArgs } from '@dcnv2/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { OptionError, effectiveReceptiveField, effectiveSamplingLocations, errorBoundedSaliency, type SamplingPoint } from '../src/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});


interface DcnSpec extends Partial<DeformConv2DArgs> {
  /** Constant offset of every tap, (dy, dx). Default (0, 0). */
  shift?: [number, number];
  /** Mask logit bias; with maskScale 2 and logit 0 the mask is exactly 1. Default 0. */
  maskLogit?: number;
  /** Per-channel offset bias (overrides shift): channel 2k is tap k's dy, 2k + 1 its dx. */
  offsetBias?: number[];
  /** Per-tap mask logit bias (overrides maskLogit). */
  maskBias?: number[];
  /** Kernel values: 'ones' (default) or a seed for random normal weights. */
  kernel?: 'ones' | number;
}

/** A DeformConv2D (built by the model) and the weights to give it once built. */
function dcn(spec: DcnSpec = {}): { layer: DeformConv2D; init: () => void } {
  const { shift = [0, 0], maskLogit = 0, kernel = 'ones', offsetBias, maskBias, ...args } = spec;
  const layer = new DeformConv2D({ filters: 1, kernelSize: 3, padding: 'same', useBias: false, maskScale: 2, ...args });
  const init = () => {
    const ws = layer.getWeights();
    const names = layer.weights.map((w) => w.originalName.split('/').pop());
    layer.setWeights(ws.map((w, i) => {
      const name = names[i];
      if (name === 'kernel') return kernel === 'ones' ? tf.onesLike(w) : tf.randomNormal(w.shape, 0, 0.5, 'float32', kernel);
      if (name === 'offset_bias') return tf.tensor1d(offsetBias ?? Array.from({ length: w.shape[0]! }, (_, c) => shift[c % 2]!));
      if (name === 'mask_bias') return maskBias ? tf.tensor1d(maskBias) : tf.fill(w.shape, maskLogit);
      return w;
    }));
  };
  return { layer, init };
}

/**
 * A sequential model on a [h, w, c] input: DeformConv2D specs (objects) and other layers as given. Its
 * `layers[0]` is the InputLayer, so part k is `layers[k + 1]` (nodes below name layers by that index).
 */
function model(h: number, w: number, c: number, parts: Array<DcnSpec | tf.layers.Layer>): tf.Sequential {
  const m = tf.sequential();
  const inits: Array<() => void> = [];
  parts.forEach((p, i) => {
    let layer: tf.layers.Layer;
    if (p instanceof tf.layers.Layer) layer = p;
    else {
      const d = dcn(p);
      layer = d.layer;
      inits.push(d.init);
    }
    if (i === 0) m.add(tf.layers.inputLayer({ inputShape: [h, w, c] }));
    m.add(layer);
  });
  for (const f of inits) f();
  return m;
}

/** A regular 3x3 convolution with all-ones weights and no bias. */
function onesConv(args: Partial<Parameters<typeof tf.layers.conv2d>[0]> = {}): tf.layers.Layer {
  return tf.layers.conv2d({ filters: 1, kernelSize: 3, useBias: false, kernelInitializer: 'ones', padding: 'valid', ...args });
}

/** A seeded image in [lo, hi), HWC. */
function image(h: number, w: number, c = 1, seed = 1, lo = 0.5, hi = 1): { data: Float32Array; height: number; width: number; channels: number } {
  let s = seed >>> 0;
  const data = new Float32Array(h * w * c).map(() => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return lo + (hi - lo) * (((t ^ (t >>> 14)) >>> 0) / 4294967296);
  });
  return { data, height: h, width: w, channels: c };
}

/** The (row, col) pairs where a H x W map is non-zero, as "y,x" strings, sorted. */
function support(map: ArrayLike<number>, w: number): string[] {
  const out: string[] = [];
  for (let p = 0; p < map.length; p++) if (map[p] !== 0) out.push(`${Math.floor(p / w)},${p % w}`);
  return out.sort();
}

/** "y,x" strings of a rectangle's pixels, sorted. */
function block(y0: number, y1: number, x0: number, x1: number): string[] {
  const out: string[] = [];
  for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) out.push(`${y},${x}`);
  return out.sort();
}

const key = (p: { y: number; x: number }) => `${p.y},${p.x}`;
const keys = (ps: ReadonlyArray<{ y: number; x: number }>) => ps.map(key).sort();
const byKey = (ps: SamplingPoint[]) => new Map(ps.map((p) => [key(p), p]));
/** Offsets -r..r of a chain of 3x3 taps with dilations `ds`, with their path counts. */
function grid(ds: number[]): Map<number, number> {
  let m = new Map<number, number>([[0, 1]]);
  for (const d of ds) {
    const n = new Map<number, number>();
    for (const [v, c] of m) for (const t of [-d, 0, d]) n.set(v + t, (n.get(v + t) ?? 0) + c);
    m = n;
  }
  return m;
}

describe('effectiveSamplingLocations', () => {
  it('zero offsets, masks 1: exactly the regular dilated grid (one layer, dilation 2)', () => {
    const m = model(15, 15, 1, [{ dilationRate: 2 }]);
    const r = effectiveSamplingLocations(m, image(15, 15), { layer: 1, y: 7, x: 7 });
    expect(keys(r.points)).toEqual(['5,5', '5,7', '5,9', '7,5', '7,7', '7,9', '9,5', '9,7', '9,9'].sort());
    for (const p of r.points) {
      expect(p.mask).toBe(1);
      expect(p.paths).toBe(1);
      expect(p.gradient).toBeCloseTo(1, 6); // all-ones kernel, mask 1: d r / d pixel = 1
      expect(p.weight).toBeCloseTo(1, 6);
    }
    expect(r.levels.length).toBe(1);
    expect(r.height).toBe(15);
  });

  it('zero offsets over two layers (dilation 1 then 3): the composed 9x9 grid, each location on one path', () => {
    const m = model(15, 15, 1, [{ dilationRate: 1 }, { dilationRate: 3 }]);
    for (const interpolation of ['fractional', 'bilinear'] as const) {
      const r = effectiveSamplingLocations(m, image(15, 15), { layer: 2, y: 7, x: 7 }, { interpolation });
      const want: string[] = [];
      for (const [dy, cy] of grid([3, 1])) for (const [dx, cx] of grid([3, 1])) { want.push(`${7 + dy},${7 + dx}`); expect(cy * cx).toBe(1); }
      expect(keys(r.points)).toEqual(want.sort());
      expect(r.points.every((p) => p.mask === 1 && p.paths === 1)).toBe(true);
      expect(r.levels.map((l) => l.points.length)).toEqual([9, 81]);
    }
  });

  it('a constant offset (dy, dx) shifts every tap; over two layers the shifts add up', () => {
    const [dy, dx] = [0.5, -1.25];
    const m = model(21, 21, 1, [{ shift: [dy, dx], modulation: false }, { shift: [dy, dx], modulation: false }]);
    const one = effectiveSamplingLocations(m, image(21, 21), { layer: 1, y: 10, x: 10 });
    expect(keys(one.points)).toEqual([...grid([1])].flatMap(([a]) => [...grid([1])].map(([b]) => `${10 + a + dy},${10 + b + dx}`)).sort());
    const two = effectiveSamplingLocations(m, image(21, 21), { layer: 2, y: 10, x: 10 });
    const got = byKey(two.points);
    expect(got.size).toBe(25);
    for (const [a, ca] of grid([1, 1])) {
      for (const [b, cb] of grid([1, 1])) {
        const p = got.get(`${10 + a + 2 * dy},${10 + b + 2 * dx}`);
        expect(p, `${a},${b}`).toBeDefined();
        expect(p!.paths).toBe(ca * cb);
        expect(p!.mask).toBe(ca * cb); // DCNv1: every mask 1
      }
    }
  });

  it('per-tap offsets and masks: tap (i, j) = k = 3i + j takes channels 2k (dy), 2k + 1 (dx) and mask k', () => {
    const offsetBias = Array.from({ length: 18 }, (_, c) => (c % 2 === 0 ? 0.125 * (c / 2) : -0.25 * ((c - 1) / 2)));
    const maskBias = Array.from({ length: 9 }, (_, k) => k - 4);
    const m = model(15, 15, 1, [{ offsetBias, maskBias, maskScale: 1 }]);
    const r = effectiveSamplingLocations(m, image(15, 15), { layer: 1, y: 7, x: 7 });
    const got = byKey(r.points);
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) {
      const k = 3 * i + j;
      const p = got.get(`${6 + i + 0.125 * k},${6 + j - 0.25 * k}`);
      expect(p, `tap ${k}`).toBeDefined();
      expect(p!.mask).toBeCloseTo(1 / (1 + Math.exp(-(k - 4))), 6);
    }
  });

  it('bilinear interpolation: integer shifts land on pixels; a fractional one splits a tap over its neighbours', () => {
    const m = model(15, 15, 1, [{ shift: [1, -2] }]);
    const r = effectiveSamplingLocations(m, image(15, 15), { layer: 1, y: 7, x: 7 }, { interpolation: 'bilinear' });
    expect(keys(r.points)).toEqual(['7,4', '7,5', '7,6', '8,4', '8,5', '8,6', '9,4', '9,5', '9,6'].sort());
    const f = model(15, 15, 1, [{ shift: [0.25, 0], modulation: false }]);
    const rf = effectiveSamplingLocations(f, image(15, 15), { layer: 1, y: 7, x: 7 }, { interpolation: 'bilinear' });
    const got = byKey(rf.points);
    expect(got.size).toBe(12); // rows 6, 7 (from 6.25, 7.25 -> 6,7 and 7,8 ...), 4 rows x 3 columns
    expect(got.get('6,7')!.mask).toBeCloseTo(0.75, 6);
    expect(got.get('7,7')!.mask).toBeCloseTo(1, 6); // 0.25 from 6.25 + 0.75 from 7.25
    expect(got.get('9,7')!.mask).toBeCloseTo(0.25, 6);
  });

  it('strides: a stride-2 convolution below and a stride-2 DeformConv2D with asymmetric "same" padding', () => {
    // Conv2D 3x3 stride 2 valid on 17x17 -> 8x8; DeformConv2D 'same' on top. Node (3, 4) reads rows 2..4,
    // columns 3..5 of the conv output; conv output row y reads input rows 2y..2y+2.
    const m = model(17, 17, 1, [onesConv({ strides: 2 }), {}]);
    const r = effectiveSamplingLocations(m, image(17, 17), { layer: 2, y: 3, x: 4 });
    const rows = new Map([[4, 1], [5, 1], [6, 2], [7, 1], [8, 2], [9, 1], [10, 1]]);
    const got = byKey(r.points);
    expect(got.size).toBe(49);
    for (const [y, cy] of rows) for (const [x, cx] of [...rows].map(([v, c]) => [v + 2, c])) expect(got.get(`${y},${x}`)!.paths).toBe(cy * cx!);
    expect(r.levels.map((l) => [l.layer, l.height, l.width])).toEqual([[m.layers[2]!.name, 8, 8], [m.layers[1]!.name, 17, 17]]);

    // DeformConv2D stride 2, 'same' on 8x8: output 4x4, padding [0, 0, 1, 1]: node (1, 2) reads rows 2..4, columns 4..6.
    const s = model(8, 8, 1, [{ strides: 2 }]);
    const rs = effectiveSamplingLocations(s, image(8, 8), { layer: 1, y: 1, x: 2 });
    expect(keys(rs.points)).toEqual(block(2, 4, 4, 6));
    // Max pooling 2x2 (stride 2) below: each location expands to its 2x2 window.
    const p = model(8, 8, 1, [tf.layers.maxPooling2d({ poolSize: 2 }), { padding: 'valid' }]);
    const rp = effectiveSamplingLocations(p, image(8, 8), { layer: 2, y: 0, x: 1 });
    expect(keys(rp.points)).toEqual(block(0, 5, 2, 7));
  });

  it('weights: mask product times the gradient; per-position layers pass locations through', () => {
    // mask = 2 * sigmoid(1) everywhere; all-ones kernel, one channel: d r / d pixel at a tap = mask.
    const mk = 2 / (1 + Math.exp(-1));
    const m = model(9, 9, 1, [{ maskLogit: 1, padding: 'valid' }, tf.layers.activation({ activation: 'linear' })]);
    const r = effectiveSamplingLocations(m, image(9, 9), { layer: 2, y: 2, x: 3 });
    expect(keys(r.points)).toEqual(block(2, 4, 3, 5));
    for (const p of r.points) {
      expect(p.mask).toBeCloseTo(mk, 5);
      expect(p.gradient).toBeCloseTo(mk, 5);
      expect(p.weight).toBeCloseTo(mk * mk, 5);
    }
    const out = (m.predict(tf.tensor4d(image(9, 9).data, [1, 9, 9, 1])) as tf.Tensor4D).arraySync();
    expect(r.response).toBeCloseTo(out[0]![2]![3]![0]!, 5);
  });

  it('typed errors: a node outside the output, an unknown layer, a non-chain model, too many points', () => {
    const m = model(9, 9, 1, [{}]);
    expect(() => effectiveSamplingLocations(m, image(9, 9), { layer: 1, y: 9, x: 0 })).toThrow(OptionError);
    expect(() => effectiveSamplingLocations(m, image(9, 9), { layer: 'nope', y: 0, x: 0 })).toThrow(OptionError);
    expect(() => effectiveSamplingLocations(m, image(9, 9), { layer: 1, y: 4, x: 4 }, { maxPoints: 5 })).toThrow(OptionError);
    const inp = tf.input({ shape: [9, 9, 1] });
    const a = onesConv({ padding: 'same' }).apply(inp) as tf.SymbolicTensor;
    const b = onesConv({ padding: 'same' }).apply(inp) as tf.SymbolicTensor;
    const sum = tf.layers.add().apply([a, b]) as tf.SymbolicTensor;
    const top = onesConv({ padding: 'same' });
    const g = tf.model({ inputs: inp, outputs: top.apply(sum) as tf.SymbolicTensor });
    expect(() => effectiveSamplingLocations(g, image(9, 9), { layer: top.name, y: 4, x: 4 })).toThrow(OptionError);
    // ... which the gradient-based analyses handle: the ERF is 2 * (3x3 ones conv 3x3 ones).
    const e = effectiveReceptiveField(g, image(9, 9), { layer: top.name, y: 4, x: 4 });
    expect(e.heatmap[4 * 9 + 4]).toBeCloseTo(18, 5);
  });
});

describe('effectiveReceptiveField', () => {
  it('one 3x3 all-ones convolution: a 3x3 block of ones', () => {
    const m = model(9, 9, 1, [onesConv()]);
    const r = effectiveReceptiveField(m, image(9, 9), { layer: 1, y: 3, x: 4 });
    expect(r.height).toBe(9);
    expect(support(r.heatmap, 9)).toEqual(block(3, 5, 4, 6));
    for (const key of block(3, 5, 4, 6)) {
      const [y, x] = key.split(',').map(Number);
      expect(r.heatmap[y! * 9 + x!]).toBe(1);
    }
  });

  it('two all-ones convolutions: the outer product of [1, 2, 3, 2, 1]; normalisation', () => {
    const m = model(9, 9, 1, [onesConv(), onesConv()]);
    const r = effectiveReceptiveField(m, image(9, 9), { layer: 2, y: 1, x: 2 });
    const t = [1, 2, 3, 2, 1];
    for (let y = 0; y < 9; y++) for (let x = 0; x < 9; x++) {
      const v = y >= 1 && y <= 5 && x >= 2 && x <= 6 ? t[y - 1]! * t[x - 2]! : 0;
      expect(r.heatmap[y * 9 + x]).toBeCloseTo(v, 5);
    }
    expect(r.maxAbs).toBeCloseTo(9, 5);
    expect(r.sumAbs).toBeCloseTo(81, 4);
    const n = effectiveReceptiveField(m, image(9, 9), { layer: 2, y: 1, x: 2 }, { normalize: 'max' });
    expect(Math.max(...n.heatmap)).toBeCloseTo(1, 6);
    const s = effectiveReceptiveField(m, image(9, 9), { layer: 2, y: 1, x: 2 }, { normalize: 'sum' });
    expect(s.heatmap.reduce((a, b) => a + Math.abs(b), 0)).toBeCloseTo(1, 5);
  });

  it('DeformConv2D: zero offsets give the block of ones, a constant integer offset shifts it, a zero mask gives zeros', () => {
    const plain = effectiveReceptiveField(model(11, 11, 1, [{}]), image(11, 11), { layer: 1, y: 5, x: 5 });
    expect(support(plain.heatmap, 11)).toEqual(block(4, 6, 4, 6));
    expect(plain.heatmap[5 * 11 + 5]).toBeCloseTo(1, 6);
    const shifted = effectiveReceptiveField(model(11, 11, 1, [{ shift: [1, -2] }]), image(11, 11), { layer: 1, y: 5, x: 5 });
    expect(support(shifted.heatmap, 11)).toEqual(block(5, 7, 2, 4));
    for (const k of block(5, 7, 2, 4)) {
      const [y, x] = k.split(',').map(Number);
      expect(shifted.heatmap[y! * 11 + x!]).toBeCloseTo(1, 6);
    }
    const zero = effectiveReceptiveField(model(11, 11, 1, [{ maskLogit: -1000 }]), image(11, 11), { layer: 1, y: 5, x: 5 });
    expect(zero.maxAbs).toBe(0);
    expect(zero.response).toBe(0);
  });

  it('channels: summed (signed) or absolute; a tensor image', () => {
    const m = model(6, 6, 2, [tf.layers.conv2d({ filters: 1, kernelSize: 1, useBias: false, weights: [tf.tensor4d([2, -3], [1, 1, 2, 1])] })]);
    const img = tf.tensor3d(image(6, 6, 2).data, [6, 6, 2]);
    const s = effectiveReceptiveField(m, img, { layer: 1, y: 2, x: 1 });
    expect(s.heatmap[2 * 6 + 1]).toBeCloseTo(-1, 6);
    const a = effectiveReceptiveField(m, img, { layer: 1, y: 2, x: 1 }, { channelReduce: 'abs' });
    expect(a.heatmap[2 * 6 + 1]).toBeCloseTo(5, 6);
    expect(support(a.heatmap, 6)).toEqual(['2,1']);
    img.dispose();
  });
});

describe('errorBoundedSaliency', () => {
  it('a response that depends only on a 3x3 block: exactly that block, at any step', () => {
    const m = model(8, 8, 1, [onesConv()]);
    for (const step of [1, 5, 64]) {
      const r = errorBoundedSaliency(m, image(8, 8), { layer: 1, y: 2, x: 3 }, { epsilon: 0.01, step });
      expect(support(r.mask, 8), `step ${step}`).toEqual(block(2, 4, 3, 5));
      expect(r.area).toBe(9);
      expect(r.absoluteError).toBeLessThan(1e-5);
      expect(r.relativeError).toBeLessThanOrEqual(0.01);
      expect([...r.order.slice(0, 9)].map((p) => `${Math.floor(p / 8)},${p % 8}`).sort()).toEqual(block(2, 4, 3, 5));
    }
  });

  it('a shifted DeformConv2D: the shifted block, ranked by gradient x input or by gradient, baseline 0 or 0.25; baseline mean: a subset', () => {
    const m = model(11, 11, 1, [{ shift: [1, -2] }]);
    for (const options of [{}, { ranking: 'gradient' as const }, { baseline: 0.25, step: 7 }]) {
      const r = errorBoundedSaliency(m, image(11, 11), { layer: 1, y: 5, x: 5 }, { epsilon: 0.01, ...options });
      expect(support(r.mask, 11), JSON.stringify(options)).toEqual(block(5, 7, 2, 4));
    }
    // With the image's mean as the baseline, pixels close to the mean hardly matter: a subset of the block.
    const mean = errorBoundedSaliency(m, image(11, 11), { layer: 1, y: 5, x: 5 }, { epsilon: 0.01, baseline: 'mean' });
    expect(support(mean.mask, 11).every((k) => block(5, 7, 2, 4).includes(k))).toBe(true);
    expect(mean.relativeError).toBeLessThanOrEqual(0.01);
  });

  it('a loose bound accepts the empty region; ε = 0 needs every pixel that matters', () => {
    const m = model(8, 8, 1, [onesConv()]);
    const loose = errorBoundedSaliency(m, image(8, 8), { layer: 1, y: 2, x: 3 }, { epsilon: 1 });
    expect(loose.area).toBe(0);
    expect(loose.response).toBe(0);
    const tight = errorBoundedSaliency(m, image(8, 8), { layer: 1, y: 2, x: 3 }, { epsilon: 0 });
    expect(tight.area).toBe(9);
  });

  it('a random two-layer DCNv2 with ReLU: the region meets the bound and is no larger than needed at step 1', () => {
    const m = model(12, 12, 1, [
      { kernel: 3, activation: 'relu', shift: [0.3, -0.7], maskLogit: 0.5, filters: 4 },
      { kernel: 4, shift: [-0.4, 0.2] },
    ]);
    const img = image(12, 12, 1, 7, 0, 1);
    const r = errorBoundedSaliency(m, img, { layer: 2, y: 6, x: 5 }, { epsilon: 0.05, step: 1 });
    expect(r.relativeError).toBeLessThanOrEqual(0.05);
    expect(r.area).toBeGreaterThan(0);
    expect(r.area).toBeLessThan(144);
    expect(r.mask.reduce((a, b) => a + b, 0)).toBe(r.area);
    expect(r.evaluations).toBe(16 * Math.ceil((r.area + 1) / 16)); // sizes 0..area ascending, in batches of 16, stopping after the batch meeting the bound
  });
});

describe('the analyses together on a deeper model', () => {
  it('conv, max pooling, two DCNv2 layers with fractional shifts: the ERF lives on the bilinear sampling locations', () => {
    const m = model(32, 32, 1, [
      tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: tf.initializers.randomNormal({ seed: 1 }) }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      { kernel: 2, filters: 4, activation: 'relu', shift: [0.35, -0.6], maskLogit: 0.3 }, // kernel: random weights, seed 2
      { kernel: 3, filters: 2, dilationRate: 2, shift: [-1.2, 0.45], maskLogit: -0.2 },
    ]);
    const img = image(32, 32, 1, 5, 0, 1);
    const node = { layer: 4, y: 8, x: 7, channel: 1 };
    const erf = effectiveReceptiveField(m, img, node);
    const bil = effectiveSamplingLocations(m, img, node, { interpolation: 'bilinear' });
    const frac = effectiveSamplingLocations(m, img, node);
    expect(bil.response).toBeCloseTo(erf.response, 5);
    const sampled = new Set(bil.points.map(key));
    const nonzero = support(erf.heatmap, 32);
    expect(nonzero.length).toBeGreaterThan(20);
    for (const k of nonzero) expect(sampled.has(k), k).toBe(true);
    // The gradient the points carry is the ERF's absolute value there (one channel).
    for (const p of bil.points) expect(p.gradient).toBeCloseTo(Math.abs(erf.heatmap[p.y * 32 + p.x]!), 5);
    // Fractional locations: all inside (-1, 32), one level per spatial layer; with constant shifts the
    // mean over paths composes affinely: top DCN ('same', dilation 2, pad 2) 8 - 2 + 2 - 1.2 = 6.8; the
    // 3x3 DCN ('same', pad 1) 6.8 + 0.35 = 7.15; pooling 2 * 7.15 + 0.5 = 14.8; the 3x3 'same' conv keeps
    // it. Columns: 7 + 0.45 = 7.45; 7.45 - 0.6 = 6.85; 2 * 6.85 + 0.5 = 14.2.
    const mean = (f: (p: SamplingPoint) => number) => frac.points.reduce((a, p) => a + f(p) * p.paths, 0) / frac.points.reduce((a, p) => a + p.paths, 0);
    expect(mean((p) => p.y)).toBeCloseTo(14.8, 4);
    expect(mean((p) => p.x)).toBeCloseTo(14.2, 4);
    expect(frac.points.every((p) => p.x > -1 && p.x < 32 && p.y > -1 && p.y < 32)).toBe(true);
    expect(frac.levels.map((l) => l.layer)).toEqual(m.layers.slice(1).map((l) => l.name).reverse());
    const sal = errorBoundedSaliency(m, img, node, { epsilon: 0.05 });
    expect(sal.relativeError).toBeLessThanOrEqual(0.05);
    expect(sal.area).toBeLessThanOrEqual(32 * 32);
  });
});
