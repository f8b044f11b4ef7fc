/**
 * The DeformConv2D and DeformRoiPool layers on tfjs cpu (and the convolution layer's forward on wasm):
 * shapes, the identity with a plain convolution at initialisation, config and model save / load round
 * trips, typed errors for bad options, no leaked tensors, and offsetLrMultiplier as a gradient scale.
 * tf is the union package, which registers tfjs's own op gradients (needed by tf.grads through the layers).
 */
import * as tf from '@tensorflow/tfjs';
import { DivisibilityError, OutputSizeError, ParamError } from '@dcnv2/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { DeformConv2D, DeformRoiPool, deformRoiPool, type DeformConv2DArgs } from '../src/index.js';
import { useBackend } from './tfjs-setup.js';

const maxAbsDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);

/** tf.conv2d with groups (tfjs has none): per group, then concatenated. NHWC, HWIO. */
function groupedConv(x: tf.Tensor4D, k: tf.Tensor4D, groups: number, strides: [number, number], pad: 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]], dilation: [number, number]): tf.Tensor4D {
  if (groups === 1) return tf.conv2d(x, k, strides, pad, 'NHWC', dilation);
  const cin = x.shape[3] / groups;
  const cout = k.shape[3] / groups;
  const parts = Array.from({ length: groups }, (_, g) =>
    tf.conv2d(tf.slice(x, [0, 0, 0, g * cin], [-1, -1, -1, cin]), tf.slice(k, [0, 0, 0, g * cout], [-1, -1, -1, cout]), strides, pad, 'NHWC', dilation));
  return tf.concat(parts, 3);
}

const seeded = (seed: number) => tf.initializers.randomNormal({ mean: 0, stddev: 0.5, seed });

beforeAll(async () => {
  await useBackend('cpu');
});

describe('DeformConv2D', () => {
  const shapeCases: Array<{ name: string; input: number[]; args: DeformConv2DArgs; want: number[] }> = [
    { name: 'valid', input: [2, 9, 7, 4], args: { filters: 6, kernelSize: 3 }, want: [2, 7, 5, 6] },
    { name: 'same', input: [2, 9, 7, 4], args: { filters: 6, kernelSize: 3, padding: 'same' }, want: [2, 9, 7, 6] },
    { name: 'same, stride 2 (odd sizes)', input: [1, 9, 7, 4], args: { filters: 5, kernelSize: 3, padding: 'same', strides: 2 }, want: [1, 5, 4, 5] },
    { name: 'same, stride 2, even sizes (asymmetric padding)', input: [1, 8, 6, 4], args: { filters: 5, kernelSize: 3, padding: 'same', strides: 2 }, want: [1, 4, 3, 5] },
    { name: 'strides [2, 1], kernel [3, 5]', input: [1, 10, 10, 2], args: { filters: 3, kernelSize: [3, 5], strides: [2, 1] }, want: [1, 4, 6, 3] },
    { name: 'padding 1, dilation 2', input: [1, 8, 8, 2], args: { filters: 3, kernelSize: 3, padding: 1, dilationRate: 2 }, want: [1, 6, 6, 3] },
    { name: 'same, dilation 2', input: [1, 8, 8, 2], args: { filters: 3, kernelSize: 3, padding: 'same', dilationRate: 2 }, want: [1, 8, 8, 3] },
    { name: 'same, stride 2 and dilation 2', input: [1, 9, 8, 2], args: { filters: 3, kernelSize: 3, padding: 'same', strides: 2, dilationRate: 2 }, want: [1, 5, 4, 3] },
    { name: 'padding [top, left, bottom, right]', input: [1, 6, 6, 2], args: { filters: 3, kernelSize: 3, padding: [1, 0, 2, 3] }, want: [1, 7, 7, 3] },
    { name: 'groups 2, offsetGroups 2', input: [2, 6, 6, 4], args: { filters: 6, kernelSize: 3, padding: 'same', groups: 2, offsetGroups: 2 }, want: [2, 6, 6, 6] },
    { name: 'channelsFirst', input: [2, 4, 9, 7], args: { filters: 6, kernelSize: 3, padding: 'same', strides: 2, dataFormat: 'channelsFirst' }, want: [2, 6, 5, 4] },
    { name: 'channelsFirst, groups, offsetGroups, no modulation', input: [1, 4, 6, 6], args: { filters: 2, kernelSize: 3, groups: 2, offsetGroups: 4, modulation: false, dataFormat: 'channelsFirst' }, want: [1, 2, 4, 4] },
  ];

  it.each(shapeCases)('output shape: $name', ({ input, args, want }) => {
    const layer = new DeformConv2D(args);
    expect(layer.computeOutputShape([null, ...input.slice(1)])).toEqual([null, ...want.slice(1)]);
    tf.tidy(() => {
      const y = layer.apply(tf.randomNormal(input, 0, 1, 'float32', 3)) as tf.Tensor;
      expect(y.shape).toEqual(want);
    });
    const og = args.offsetGroups ?? 1;
    const k = typeof args.kernelSize === 'number' ? args.kernelSize ** 2 : args.kernelSize[0] * args.kernelSize[1];
    expect(layer.branchChannels).toBe((args.modulation === false ? 2 : 3) * og * k);
    layer.dispose();
  });

  it("'same' gives the output size of tfjs's own Conv2D 'same'", () => {
    for (const [h, w, s] of [[8, 6, 2], [9, 7, 2], [7, 7, 3], [5, 8, 1]] as const) {
      const ours = new DeformConv2D({ filters: 2, kernelSize: 3, padding: 'same', strides: s });
      const theirs = tf.layers.conv2d({ filters: 2, kernelSize: 3, padding: 'same', strides: s });
      expect(ours.computeOutputShape([1, h, w, 3])).toEqual(theirs.computeOutputShape([1, h, w, 3]));
    }
  });

  // At initialisation the branch gives zero offsets and masks of maskScale * 0.5: a plain convolution.
  const initCases: Array<{ name: string; input: number[]; args: DeformConv2DArgs; strides?: [number, number]; pad: 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]]; scale: number }> = [
    { name: 'same, stride 1', input: [2, 7, 6, 3], args: { filters: 4, kernelSize: 3, padding: 'same' }, pad: 'same', scale: 0.5 },
    { name: "same, stride 2 on even sizes (tfjs's asymmetric padding)", input: [2, 8, 6, 3], args: { filters: 4, kernelSize: 3, padding: 'same', strides: 2 }, strides: [2, 2], pad: 'same', scale: 0.5 },
    { name: 'valid, kernel [2, 3], strides [1, 2]', input: [1, 7, 9, 2], args: { filters: 3, kernelSize: [2, 3], strides: [1, 2] }, strides: [1, 2], pad: 'valid', scale: 0.5 },
    { name: 'explicit padding [1, 2, 0, 1]', input: [1, 6, 6, 2], args: { filters: 3, kernelSize: 3, padding: [1, 2, 0, 1] }, pad: [[0, 0], [1, 0], [2, 1], [0, 0]], scale: 0.5 },
    { name: 'same, dilation 2', input: [1, 9, 8, 2], args: { filters: 3, kernelSize: 3, padding: 'same', dilationRate: 2 }, pad: 'same', scale: 0.5 },
    { name: 'groups 2, offsetGroups 2', input: [2, 6, 6, 4], args: { filters: 6, kernelSize: 3, padding: 'same', groups: 2, offsetGroups: 2 }, pad: 'same', scale: 0.5 },
    { name: 'maskScale 2', input: [1, 6, 6, 3], args: { filters: 2, kernelSize: 3, padding: 'same', maskScale: 2 }, pad: 'same', scale: 1 },
    { name: 'DCNv1 (modulation false): exactly the convolution', input: [2, 6, 5, 3], args: { filters: 4, kernelSize: 3, padding: 'same', modulation: false, offsetGroups: 3 }, pad: 'same', scale: 1 },
    { name: 'channelsFirst, stride 2', input: [2, 3, 8, 6], args: { filters: 4, kernelSize: 3, padding: 'same', strides: 2, dataFormat: 'channelsFirst' }, strides: [2, 2], pad: 'same', scale: 0.5 },
  ];

  it.each(initCases)('at initialisation equals tf.conv2d times the mask: $name', ({ input, args, strides, pad, scale }) => {
    const layer = new DeformConv2D({ ...args, kernelInitializer: seeded(7), biasInitializer: seeded(8), activation: 'linear' });
    tf.tidy(() => {
      const x = tf.randomNormal(input as [number, number, number, number], 0, 1, 'float32', 11);
      const y = layer.apply(x) as tf.Tensor4D;
      const first = args.dataFormat === 'channelsFirst';
      const xNhwc = (first ? tf.transpose(x, [0, 2, 3, 1]) : x) as tf.Tensor4D;
      const [kernel, bias] = layer.getWeights() as [tf.Tensor4D, tf.Tensor1D];
      const d = args.dilationRate === undefined ? 1 : (args.dilationRate as number);
      const conv = groupedConv(xNhwc, kernel, args.groups ?? 1, strides ?? [1, 1], pad, [d, d]);
      const want = tf.add(tf.mul(conv, scale), bias);
      const wantInLayout = first ? tf.transpose(want, [0, 3, 1, 2]) : want;
      expect(y.shape).toEqual(wantInLayout.shape);
      expect(maxAbsDiff(y, wantInLayout)).toBeLessThan(1e-5);
    });
    layer.dispose();
  });

  it('activation applies after the bias', () => {
    const a = new DeformConv2D({ filters: 3, kernelSize: 3, kernelInitializer: seeded(1), biasInitializer: seeded(2) });
    const b = new DeformConv2D({ filters: 3, kernelSize: 3, kernelInitializer: seeded(1), biasInitializer: seeded(2), activation: 'relu' });
    tf.tidy(() => {
      const x = tf.randomNormal([1, 5, 5, 2], 0, 1, 'float32', 4);
      expect(maxAbsDiff(tf.relu(a.apply(x) as tf.Tensor), b.apply(x) as tf.Tensor)).toBeLessThan(1e-6);
    });
  });

  it('getConfig / fromConfig round trip', () => {
    const layer = new DeformConv2D({
      filters: 6, kernelSize: [3, 5], strides: [2, 1], padding: [1, 2, 1, 2], dilationRate: [1, 2], groups: 2, offsetGroups: 2, useBias: false,
      activation: 'swish', kernelInitializer: 'heNormal', biasInitializer: tf.initializers.constant({ value: 0.5 }), kernelRegularizer: tf.regularizers.l2({ l2: 0.01 }),
      dataFormat: 'channelsFirst', modulation: true, maskScale: 2, offsetLrMultiplier: 0.1, name: 'dcn_rt',
    });
    const config = layer.getConfig();
    expect(config).toMatchObject({ filters: 6, kernelSize: [3, 5], strides: [2, 1], padding: [1, 2, 1, 2], dilationRate: [1, 2], groups: 2, offsetGroups: 2, useBias: false, activation: 'swish', dataFormat: 'channelsFirst', maskScale: 2, offsetLrMultiplier: 0.1, name: 'dcn_rt' });
    const back = DeformConv2D.fromConfig(DeformConv2D, config) as DeformConv2D;
    expect(back).toBeInstanceOf(DeformConv2D);
    expect(back.getConfig()).toEqual(config);
    expect(back.kernelRegularizer?.getConfig()).toEqual({ l1: 0, l2: 0.01 });
    // The regularizer is a layer loss once built (model.fit adds it).
    tf.tidy(() => {
      back.apply(tf.zeros([1, 4, 8, 8]));
      expect(back.losses).toHaveLength(1);
    });
  });

  it('model.save then tf.loadLayersModel: same predictions', async () => {
    const model = tf.sequential({
      layers: [
        tf.layers.inputLayer({ inputShape: [8, 8, 3] }),
        new DeformConv2D({ filters: 4, kernelSize: 3, padding: 'same', strides: 2, offsetGroups: 3, maskScale: 2, activation: 'relu', kernelInitializer: seeded(1), offsetLrMultiplier: 0.1 }),
        new DeformConv2D({ filters: 2, kernelSize: 3, padding: 'valid', modulation: false, dataFormat: 'channelsLast', kernelInitializer: seeded(2) }),
      ],
    });
    // Non-zero offset branches, so the offsets and masks the saved weights predict matter.
    for (const l of model.layers) {
      l.setWeights(l.getWeights().map((w, i) => tf.mul(tf.randomNormal(w.shape, 0, 1, 'float32', 20 + i), 0.3)));
    }
    const x = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 5);
    const artifacts = await saveToMemory(model);
    expect(JSON.stringify(artifacts.modelTopology)).toContain('"class_name":"DeformConv2D"');
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
    expect(loaded.layers.filter((l) => l instanceof DeformConv2D).map((l) => (l as DeformConv2D).offsetLrMultiplier)).toEqual([0.1, 1]);
    const [a, b] = [model.predict(x) as tf.Tensor, loaded.predict(x) as tf.Tensor];
    expect(b.shape).toEqual([2, 2, 2, 2]);
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    tf.dispose([x, a, b]);
    model.dispose();
    loaded.dispose();
  });

  it('bad options: typed errors naming the option', () => {
    const ctor = (args: Partial<DeformConv2DArgs>) => () => new DeformConv2D({ filters: 4, kernelSize: 3, ...args } as DeformConv2DArgs);
    expect(ctor({ filters: 0 })).toThrow(ParamError);
    expect(ctor({ filters: 0 })).toThrow(/DeformConv2D\.filters: expected a positive integer, got 0/);
    expect(ctor({ kernelSize: [3] as never })).toThrow(/DeformConv2D\.kernelSize/);
    expect(ctor({ strides: 0 })).toThrow(/DeformConv2D\.strides/);
    expect(ctor({ padding: 'full' as never })).toThrow(/DeformConv2D\.padding: expected 'same', 'valid'/);
    expect(ctor({ padding: [1, 2, 3] as never })).toThrow(ParamError);
    expect(ctor({ dilationRate: 1.5 })).toThrow(/DeformConv2D\.dilationRate/);
    expect(ctor({ dataFormat: 'NHWC' as never })).toThrow(/DeformConv2D\.dataFormat: expected 'channelsLast' or 'channelsFirst', got "NHWC"/);
    expect(ctor({ activation: 'softmax' })).toThrow(/DeformConv2D\.activation/);
    expect(ctor({ maskScale: 0 })).toThrow(/DeformConv2D\.maskScale/);
    expect(ctor({ offsetLrMultiplier: -1 })).toThrow(/DeformConv2D\.offsetLrMultiplier/);
    expect(ctor({ modulation: 'yes' as never })).toThrow(/DeformConv2D\.modulation/);
    expect(ctor({ kernelInitializer: 'noSuchInitializer' })).toThrow(/DeformConv2D\.kernelInitializer/);
    expect(ctor({ groups: 3 })).toThrow(DivisibilityError);
    // Input channels are known at build: 3 channels, offsetGroups 2.
    const layer = new DeformConv2D({ filters: 4, kernelSize: 3, offsetGroups: 2 });
    expect(() => layer.apply(tf.input({ shape: [6, 6, 3] }))).toThrow(/input channels: expected a multiple of offsetGroups \(2\), got 3/);
    expect(() => new DeformConv2D({ filters: 4, kernelSize: 3, groups: 2 }).apply(tf.input({ shape: [6, 6, 3] }))).toThrow(DivisibilityError);
    // Too small an input for the kernel: core's OutputSizeError.
    expect(() => tf.tidy(() => new DeformConv2D({ filters: 1, kernelSize: 5 }).apply(tf.zeros([1, 3, 3, 1])) as tf.Tensor)).toThrow(OutputSizeError);
    expect(() => new DeformConv2D({ filters: 1, kernelSize: 3, dilationRate: 2 }).apply(tf.input({ shape: [4, 8, 1] }))).toThrow(/output height: expected >= 1, got 0/);
  });

  it('predict inside tidy leaves tf.memory().numTensors unchanged', () => {
    const model = tf.sequential({ layers: [tf.layers.inputLayer({ inputShape: [6, 6, 2] }), new DeformConv2D({ filters: 3, kernelSize: 3, padding: 'same', dilationRate: 2 }), new DeformConv2D({ filters: 2, kernelSize: 3, padding: 'same', dataFormat: 'channelsLast' })] });
    const x = tf.randomNormal([2, 6, 6, 2]);
    model.predict(x); // builds; weights exist from here on
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      tf.tidy(() => {
        model.predict(x);
      });
    }
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    model.dispose();
  });

  it('offsetLrMultiplier scales only the branch weights\' gradients', () => {
    const make = (m: number) => new DeformConv2D({ filters: 3, kernelSize: 3, padding: 'same', kernelInitializer: seeded(3), offsetLrMultiplier: m });
    const [a, b] = [make(1), make(0.1)];
    const x = tf.randomNormal([2, 6, 6, 2], 0, 1, 'float32', 9);
    const target = tf.randomNormal([2, 6, 6, 3], 0, 1, 'float32', 10);
    a.apply(x);
    b.apply(x);
    // Random, non-zero branch weights (shared), so every gradient is non-trivial.
    const w = a.getWeights().map((t, i) => (i < 2 ? t.clone() : tf.mul(tf.randomNormal(t.shape, 0, 1, 'float32', 30 + i), 0.2)));
    a.setWeights(w);
    b.setWeights(w);
    const gradsOf = (layer: DeformConv2D) => {
      const loss = (input: tf.Tensor) => tf.mean(tf.square(tf.sub(layer.apply(input) as tf.Tensor, target))) as tf.Scalar;
      const { grads } = tf.variableGrads(() => loss(x), layer.trainableWeights.map((v) => v.read() as tf.Variable));
      const dx = tf.grad(loss)(x);
      return { weights: layer.trainableWeights.map((v) => grads[(v.read() as tf.Variable).name]!), dx };
    };
    const ga = gradsOf(a);
    const gb = gradsOf(b);
    // kernel, bias: unchanged; offset_kernel, offset_bias, mask_kernel, mask_bias: times 0.1; the input's gradient: unchanged.
    expect(maxAbsDiff(ga.weights[0]!, gb.weights[0]!)).toBeLessThan(1e-6);
    expect(maxAbsDiff(ga.weights[1]!, gb.weights[1]!)).toBeLessThan(1e-6);
    for (const i of [2, 3, 4, 5]) {
      expect(tf.max(tf.abs(ga.weights[i]!)).dataSync()[0]).toBeGreaterThan(1e-3);
      expect(maxAbsDiff(tf.mul(ga.weights[i]!, 0.1), gb.weights[i]!)).toBeLessThan(1e-6);
    }
    expect(maxAbsDiff(ga.dx, gb.dx)).toBeLessThan(1e-6);
    tf.dispose([x, target, ...w, ...ga.weights, ...gb.weights, ga.dx, gb.dx]);
  });

  it('tfjs wasm gives the forward pass of tfjs cpu', async () => {
    const args: DeformConv2DArgs = { filters: 4, kernelSize: 3, padding: 'same', strides: 2, offsetGroups: 2, kernelInitializer: seeded(4) };
    const layer = new DeformConv2D(args);
    const x = tf.randomNormal([2, 8, 7, 4], 0, 1, 'float32', 12);
    layer.apply(x);
    const weights = layer.getWeights().map((t, i) => (i < 2 ? t.clone() : tf.mul(tf.randomNormal(t.shape, 0, 1, 'float32', 40 + i), 0.2)));
    layer.setWeights(weights);
    const onCpu = { shape: x.shape, values: (layer.apply(x) as tf.Tensor).dataSync().slice(), w: weights.map((t) => ({ shape: t.shape, v: t.dataSync().slice() })), x: x.dataSync().slice() };
    layer.dispose();
    try {
      await useBackend('wasm');
      const onWasm = new DeformConv2D(args);
      const xw = tf.tensor(onCpu.x, x.shape);
      onWasm.apply(xw);
      onWasm.setWeights(onCpu.w.map((t) => tf.tensor(t.v, t.shape)));
      const y = onWasm.apply(xw) as tf.Tensor;
      const got = y.dataSync();
      let worst = 0;
      for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - onCpu.values[i]!));
      expect(got.length).toBe(onCpu.values.length);
      expect(worst).toBeLessThan(1e-4);
    } finally {
      await useBackend('cpu');
    }
  });
});

async function saveToMemory(model: tf.LayersModel): Promise<tf.io.ModelArtifacts> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler(async (artifacts) => {
    saved = artifacts;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  return saved!;
}

describe('DeformRoiPool', () => {
  const rois = () => tf.tensor2d([[0, 0, 0, 6, 5], [1, 1.5, 2, 7, 7], [0, 3, 1, 7.5, 6.5]]);

  it('output shapes, channelsLast and channelsFirst', () => {
    tf.tidy(() => {
      const last = new DeformRoiPool({ outputSize: [2, 3], hiddenUnits: 8 });
      expect(last.computeOutputShape([[null, 8, 8, 4], [null, 5]])).toEqual([null, 2, 3, 4]);
      expect((last.apply([tf.randomNormal([2, 8, 8, 4]), rois()]) as tf.Tensor).shape).toEqual([3, 2, 3, 4]);
      const first = new DeformRoiPool({ outputSize: 3, hiddenUnits: 8, dataFormat: 'channelsFirst', spatialScale: 0.5, samplingRatio: 2 });
      expect(first.computeOutputShape([[null, 4, 8, 8], [null, 5]])).toEqual([null, 4, 3, 3]);
      expect((first.apply([tf.randomNormal([2, 4, 8, 8]), rois()]) as tf.Tensor).shape).toEqual([3, 4, 3, 3]);
      expect(last.getWeights().map((w) => w.shape)).toEqual([[24, 8], [8], [8, 8], [8], [8, 18], [18]]);
    });
  });

  it('at initialisation equals plain RoI pooling times 0.5, both layouts', () => {
    tf.tidy(() => {
      for (const dataFormat of ['channelsLast', 'channelsFirst'] as const) {
        const layer = new DeformRoiPool({ outputSize: 3, hiddenUnits: 16, spatialScale: 0.5, samplingRatio: 2, gamma: 0.2, dataFormat });
        const f = tf.randomNormal(dataFormat === 'channelsLast' ? [2, 9, 9, 3] : [2, 3, 9, 9], 0, 1, 'float32', 6);
        const r = tf.mul(rois(), tf.tensor1d([1, 2, 2, 2, 2])) as tf.Tensor2D;
        const y = layer.apply([f, r]) as tf.Tensor;
        const plain = deformRoiPool({ input: f as tf.Tensor4D, rois: r }, { outputSize: 3, spatialScale: 0.5, samplingRatio: 2, gamma: 0.2, dataFormat: dataFormat === 'channelsLast' ? 'NHWC' : 'NCHW' });
        expect(maxAbsDiff(y, tf.mul(plain, 0.5))).toBeLessThan(1e-5);
      }
    });
  });

  it('getConfig / fromConfig round trip', () => {
    const layer = new DeformRoiPool({ outputSize: [2, 3], spatialScale: 0.25, samplingRatio: 2, gamma: 0.05, hiddenUnits: 32, dataFormat: 'channelsFirst', kernelInitializer: 'heUniform', name: 'roi_rt' });
    const config = layer.getConfig();
    expect(config).toMatchObject({ outputSize: [2, 3], spatialScale: 0.25, samplingRatio: 2, gamma: 0.05, hiddenUnits: 32, dataFormat: 'channelsFirst', name: 'roi_rt' });
    const back = DeformRoiPool.fromConfig(DeformRoiPool, config) as DeformRoiPool;
    expect(back).toBeInstanceOf(DeformRoiPool);
    expect(back.getConfig()).toEqual(config);
  });

  it('model.save then tf.loadLayersModel: same outputs (model.execute: R RoIs over N images)', async () => {
    const features = tf.input({ shape: [8, 8, 3] });
    const boxes = tf.input({ shape: [5] });
    const trunk = new DeformConv2D({ filters: 4, kernelSize: 3, padding: 'same', kernelInitializer: seeded(1) }).apply(features) as tf.SymbolicTensor;
    const pooled = new DeformRoiPool({ outputSize: 2, hiddenUnits: 12, spatialScale: 1, samplingRatio: 2 }).apply([trunk, boxes]) as tf.SymbolicTensor;
    const model = tf.model({ inputs: [features, boxes], outputs: pooled });
    for (const l of model.layers.slice(1)) {
      if (l.getWeights().length > 0) l.setWeights(l.getWeights().map((w, i) => tf.mul(tf.randomNormal(w.shape, 0, 1, 'float32', 50 + i), 0.3)));
    }
    const x = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 5);
    const r = rois();
    const artifacts = await saveToMemory(model);
    expect(JSON.stringify(artifacts.modelTopology)).toContain('"class_name":"DeformRoiPool"');
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
    const a = model.execute([x, r], model.outputs[0]!.name) as tf.Tensor;
    const b = loaded.execute([x, r], loaded.outputs[0]!.name) as tf.Tensor;
    expect(b.shape).toEqual([3, 2, 2, 4]);
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    // predict works too with one RoI per image (it slices every input by the first one's batch).
    const r2 = tf.slice(r, [0, 0], [2, 5]);
    expect(Array.from((loaded.predict([x, r2]) as tf.Tensor).dataSync())).toEqual(Array.from((model.predict([x, r2]) as tf.Tensor).dataSync()));
    model.dispose();
    loaded.dispose();
  });

  it('gradients reach the features and every weight', () => {
    const layer = new DeformRoiPool({ outputSize: 2, hiddenUnits: 8, samplingRatio: 2 });
    const f = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 2);
    const r = rois();
    layer.apply([f, r]);
    // The last fc starts at zero, which holds back the hidden layers' gradients: start from random weights.
    layer.setWeights(layer.getWeights().map((w, i) => tf.mul(tf.randomNormal(w.shape, 0, 1, 'float32', 60 + i), 0.3)));
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const { grads } = tf.variableGrads(() => tf.sum(tf.square(layer.apply([f, r]) as tf.Tensor)) as tf.Scalar, layer.trainableWeights.map((v) => v.read() as tf.Variable));
      for (const v of layer.trainableWeights) expect(tf.max(tf.abs(grads[(v.read() as tf.Variable).name]!)).dataSync()[0], v.name).toBeGreaterThan(0);
      const df = tf.grad((t: tf.Tensor) => tf.sum(tf.square(layer.apply([t, r]) as tf.Tensor)))(f);
      expect(tf.max(tf.abs(df)).dataSync()[0]).toBeGreaterThan(0);
    });
    expect(tf.memory().numTensors).toBe(before);
  });

  it('bad options and inputs: typed errors', () => {
    expect(() => new DeformRoiPool({ outputSize: 0 })).toThrow(/DeformRoiPool\.outputSize: expected a positive integer/);
    expect(() => new DeformRoiPool({ outputSize: 2, hiddenUnits: -1 })).toThrow(ParamError);
    expect(() => new DeformRoiPool({ outputSize: 2, spatialScale: 0 })).toThrow(/DeformRoiPool\.spatialScale/);
    expect(() => new DeformRoiPool({ outputSize: 2, samplingRatio: 1.5 })).toThrow(/DeformRoiPool\.samplingRatio/);
    expect(() => new DeformRoiPool({ outputSize: 2, gamma: Number.NaN })).toThrow(/DeformRoiPool\.gamma/);
    expect(() => new DeformRoiPool({ outputSize: 2, dataFormat: 'NCHW' as never })).toThrow(/DeformRoiPool\.dataFormat/);
    expect(() => new DeformRoiPool({ outputSize: 2 }).apply(tf.input({ shape: [8, 8, 3] }))).toThrow(/DeformRoiPool inputs: expected two: \[features, rois\]/);
    expect(() => new DeformRoiPool({ outputSize: 2 }).apply([tf.input({ shape: [8, 8, 3] }), tf.input({ shape: [4] })])).toThrow(/DeformRoiPool rois shape: expected \[R, 5\]/);
  });
});
