import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-cpu';
import { DeformConv2D } from '@dcnv2/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';

import {
  CLASSIFIER_KINDS, CLASSIFIER_SPEC, type ClassifierSpec, PlainConv2D, classifierCost, createClassifier,
} from '../src/index.js';

const TINY: ClassifierSpec = {
  inputSize: 8,
  inputChannels: 1,
  convs: [
    { name: 'c1', filters: 2, kernelSize: 3, stride: 2, deformable: false },
    { name: 'c2', filters: 3, kernelSize: 3, stride: 1, deformable: true },
  ],
  classes: 4,
};

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

function input(n: number, size = 64): tf.Tensor4D {
  // Seeded, sparse-ish like the canvases: values in [0, 1).
  return tf.randomUniform([n, size, size, 1], 0, 1, 'float32', 7) as tf.Tensor4D;
}

describe('the three classifiers', () => {
  it('have the same layers and shapes, 64x64x1 in, 10 logits out, deformable layers only where the spec says', () => {
    for (const kind of CLASSIFIER_KINDS) {
      const m = createClassifier({ kind, seed: 3 });
      expect(m.inputs[0].shape).toEqual([null, 64, 64, 1]);
      expect(m.outputs[0].shape).toEqual([null, 10]);
      const cost = classifierCost(kind);
      const convs = m.layers.slice(0, CLASSIFIER_SPEC.convs.length);
      convs.forEach((layer, i) => {
        const spec = CLASSIFIER_SPEC.convs[i];
        expect(layer.name).toBe(spec.name);
        expect(layer.outputShape).toEqual([null, ...cost.layers[i].outputShape]);
        const deformable = spec.deformable && kind !== 'regular';
        expect(layer instanceof (deformable ? DeformConv2D : PlainConv2D)).toBe(true);
        if (layer instanceof DeformConv2D) expect(layer.modulation).toBe(kind === 'dcnv2');
      });
      expect(cost.layers.map((l) => l.outputShape)).toEqual([[32, 32, 16], [16, 16, 32], [16, 16, 32], [8, 8, 64], [8, 8, 64], [1, 1, 10]]);
      const x = input(2);
      const y = m.predict(x) as tf.Tensor;
      expect(y.shape).toEqual([2, 10]);
      tf.dispose([x, y]);
      m.dispose();
    }
  });

  it('parameter counts: the function equals tfjs countParams, and the totals are pinned', () => {
    const expected = { regular: 70122, dcnv1: 85710, dcnv2: 93504 } as const;
    for (const kind of CLASSIFIER_KINDS) {
      const m = createClassifier({ kind });
      expect(m.countParams()).toBe(classifierCost(kind).params);
      expect(classifierCost(kind).params).toBe(expected[kind]);
      m.dispose();
      const tiny = createClassifier({ kind, spec: TINY });
      expect(tiny.countParams()).toBe(classifierCost(kind, TINY).params);
      tiny.dispose();
    }
  });

  it('multiply-adds per image, checked by hand on a tiny net', () => {
    // c1: 8x8x1 -> 4x4x2 (stride 2, 'same'): 16*2*9*1 = 288 MACs, 9*1*2 + 2 = 20 params.
    // c2: 4x4x2 -> 4x4x3: 16*3*9*2 = 864 MACs, 9*2*3 + 3 = 57 params. dense 3 -> 4: 12 MACs, 16 params.
    // dcnv1 c2: branch 2*9 = 18 channels: 16*18*9*2 = 5184 MACs, 9*2*18 + 18 = 342 params;
    //   sampling 16 positions * 9 taps * (4 corner weights + 4 MACs * 2 channels) = 1728.
    // dcnv2 c2: branch 27 channels: 16*27*9*2 = 7776 MACs, 9*2*27 + 27 = 513 params;
    //   sampling 1728 + modulation 16*9*2 = 288.
    const r = classifierCost('regular', TINY);
    expect(r.layers.map((l) => l.macs)).toEqual([288, 864, 12]);
    expect(r.params).toBe(93);
    expect(r.macs).toBe(1164);
    const v1 = classifierCost('dcnv1', TINY);
    expect(v1.layers[1]).toMatchObject({ type: 'deformable', convMacs: 864, branchMacs: 5184, samplingMacs: 1728, params: 57 + 342 });
    expect(v1.macs).toBe(1164 + 5184 + 1728);
    expect(v1.params).toBe(93 + 342);
    const v2 = classifierCost('dcnv2', TINY);
    expect(v2.layers[1]).toMatchObject({ convMacs: 864, branchMacs: 7776, samplingMacs: 2016, params: 57 + 513 });
    expect(v2.macs).toBe(1164 + 7776 + 2016);
    expect(v2.params).toBe(93 + 513);
    // The shipped spec: 147456 + 1179648 + 2359296 + 1179648 + 2359296 (convs) + 640 (dense).
    expect(classifierCost('regular').macs).toBe(7225984);
    expect(classifierCost('dcnv1').macs).toBe(8447104);
    expect(classifierCost('dcnv2').macs).toBe(9000064);
  });

  it('seeded: the same seed gives the same weights, another seed others', () => {
    const a = createClassifier({ kind: 'dcnv2', seed: 5 });
    const b = createClassifier({ kind: 'dcnv2', seed: 5 });
    const c = createClassifier({ kind: 'dcnv2', seed: 6 });
    const wa = a.getWeights().map((w) => w.dataSync());
    const wb = b.getWeights().map((w) => w.dataSync());
    const wc = c.getWeights().map((w) => w.dataSync());
    wa.forEach((w, i) => expect(Array.from(wb[i])).toEqual(Array.from(w)));
    expect(Array.from(wc[0])).not.toEqual(Array.from(wa[0]));
    [a, b, c].forEach((m) => m.dispose());
  });

  it('at initialisation DCNv1 is the regular net exactly and DCNv2 is too (kernels drawn at 2x, masks 0.5)', () => {
    const seed = 11;
    const regular = createClassifier({ kind: 'regular', seed });
    const v1 = createClassifier({ kind: 'dcnv1', seed });
    const v2 = createClassifier({ kind: 'dcnv2', seed });
    // Same draws: every regular layer's kernel equals DCNv1's; DCNv2's deformable kernels are twice them.
    for (const [i, spec] of CLASSIFIER_SPEC.convs.entries()) {
      const kr = regular.layers[i].getWeights()[0].dataSync();
      const k1 = v1.layers[i].getWeights()[0].dataSync();
      const k2 = v2.layers[i].getWeights()[0].dataSync();
      expect(Array.from(k1)).toEqual(Array.from(kr));
      const factor = spec.deformable ? 2 : 1;
      let worst = 0;
      for (let j = 0; j < kr.length; j++) worst = Math.max(worst, Math.abs(k2[j] - factor * kr[j]));
      expect(worst).toBeLessThan(1e-6);
    }
    // Offsets and mask logits start at zero: offset/mask kernels and biases all zero.
    for (const layer of v2.layers.filter((l) => l instanceof DeformConv2D)) {
      const names = layer.weights.map((w) => w.name.split('/').pop()!.replace(/_\d+$/, ''));
      expect(names).toEqual(['kernel', 'bias', 'offset_kernel', 'offset_bias', 'mask_kernel', 'mask_bias']);
      for (const w of layer.getWeights().slice(1)) expect(Math.max(...Array.from(w.dataSync()).map(Math.abs))).toBe(0);
    }
    const x = input(3);
    const yr = regular.predict(x) as tf.Tensor;
    const y1 = v1.predict(x) as tf.Tensor;
    const y2 = v2.predict(x) as tf.Tensor;
    const scale = tf.max(tf.abs(yr)).dataSync()[0];
    expect(scale).toBeGreaterThan(1e-3);
    expect(tf.max(tf.abs(tf.sub(y1, yr))).dataSync()[0]).toBeLessThan(1e-5 * Math.max(1, scale));
    expect(tf.max(tf.abs(tf.sub(y2, yr))).dataSync()[0]).toBeLessThan(1e-4 * Math.max(1, scale));
    tf.dispose([x, yr, y1, y2]);
    [regular, v1, v2].forEach((m) => m.dispose());
  });

  it('rejects an unknown kind or a bad seed', () => {
    expect(() => createClassifier({ kind: 'dcnv3' as never })).toThrow(/kind must be/);
    expect(() => createClassifier({ kind: 'regular', seed: -1 })).toThrow(/seed/);
  });
});
