/**
 * DeformConv2D trains with model.fit (tfjs cpu, Adam, seeded, no shuffling: the run is deterministic) on
 * a task where the offsets must move: the target is the input shifted by 2 pixels to the left
 * (y[i, j] = x[i, j + 2]) and the layer has a 3x3 kernel, whose regular footprint reaches 1 pixel. Inputs
 * are smooth (Gaussian blobs), so the offsets get a gradient toward the far pixels. A plain 3x3 tf.layers
 * conv2d trained the same way is the baseline that cannot reach. tf is the union package, for tfjs's own
 * gradients (the loss, the mask's sigmoid) and the optimizers.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, expect, it } from 'vitest';
import { DeformConv2D } from '../src/index.js';
import { useBackend } from './tfjs-setup.js';

const SIZE = 12;
const SHIFT = 2;
const EXAMPLES = 32;
const EPOCHS = 25;

/** A deterministic uniform [0, 1) generator (LCG). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/** Three Gaussian blobs (sigma 1.3, amplitude in [-1, 1)) per image; the target draws them SHIFT pixels to the left. */
function toyData(seed: number): { x: tf.Tensor4D; y: tf.Tensor4D } {
  const rnd = lcg(seed);
  const x = new Float32Array(EXAMPLES * SIZE * SIZE);
  const y = new Float32Array(EXAMPLES * SIZE * SIZE);
  for (let n = 0; n < EXAMPLES; n++) {
    for (let b = 0; b < 3; b++) {
      const cy = rnd() * SIZE;
      const cx = rnd() * SIZE + 1;
      const amp = rnd() * 2 - 1;
      for (let i = 0; i < SIZE; i++) {
        for (let j = 0; j < SIZE; j++) {
          const k = (n * SIZE + i) * SIZE + j;
          x[k] += amp * Math.exp(-((i - cy) ** 2 + (j - cx) ** 2) / (2 * 1.3 ** 2));
          y[k] += amp * Math.exp(-((i - cy) ** 2 + (j + SHIFT - cx) ** 2) / (2 * 1.3 ** 2));
        }
      }
    }
  }
  return { x: tf.tensor4d(x, [EXAMPLES, SIZE, SIZE, 1]), y: tf.tensor4d(y, [EXAMPLES, SIZE, SIZE, 1]) };
}

async function train(layer: tf.layers.Layer, x: tf.Tensor, y: tf.Tensor, epochs = EPOCHS): Promise<{ loss: number[]; numTensors: number[]; model: tf.Sequential }> {
  const model = tf.sequential({ layers: [tf.layers.inputLayer({ inputShape: [SIZE, SIZE, 1] }), layer] });
  model.compile({ optimizer: tf.train.adam(0.05), loss: 'meanSquaredError' });
  const numTensors: number[] = [];
  const history = await model.fit(x, y, {
    epochs, batchSize: 8, shuffle: false, verbose: 0,
    callbacks: { onEpochEnd: async () => void numTensors.push(tf.memory().numTensors) },
  });
  return { loss: history.history.loss as number[], numTensors, model };
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

it('a DeformConv2D model trains with model.fit: the loss falls, the offsets move, no tensors leak', async () => {
  const { x, y } = toyData(1);
  const dcn = new DeformConv2D({ filters: 1, kernelSize: 3, padding: 'same', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) });
  const t0 = Date.now();
  const ours = await train(dcn, x, y);
  const seconds = (Date.now() - t0) / 1000;
  const plain = await train(tf.layers.conv2d({ filters: 1, kernelSize: 3, padding: 'same', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }), x, y);

  const first = ours.loss[0]!;
  const last = ours.loss[EPOCHS - 1]!;
  const plainLast = plain.loss[EPOCHS - 1]!;
  console.log(`DeformConv2D: loss epoch 1 ${first.toExponential(3)}, epoch ${EPOCHS} ${last.toExponential(3)} (x${(first / last).toFixed(1)} lower, ${seconds.toFixed(1)} s); ` +
    `plain 3x3 conv2d: epoch 1 ${plain.loss[0]!.toExponential(3)}, epoch ${EPOCHS} ${plainLast.toExponential(3)}`);
  console.log(`numTensors at each epoch end: ${ours.numTensors.join(', ')}`);

  // The loss falls at least 8-fold, and ends well below what a regular 3x3 footprint reaches.
  expect(last).toBeLessThan(first / 8);
  expect(last).toBeLessThan(0.6 * plainLast);
  // The offset / mask branch, zero at the start, has learned.
  const [, , offsetKernel, offsetBias, maskKernel, maskBias] = dcn.getWeights();
  for (const w of [offsetKernel!, offsetBias!, maskKernel!, maskBias!]) expect(tf.max(tf.abs(w)).dataSync()[0]).toBeGreaterThan(0.05);
  // Predicted offsets are far from zero on this data.
  const meanAbsOffset = tf.tidy(() => {
    const k = offsetKernel as tf.Tensor4D;
    const o = tf.add(tf.conv2d(x as tf.Tensor4D, k, 1, 'same'), offsetBias!);
    return tf.mean(tf.abs(o)).dataSync()[0]!;
  });
  console.log(`mean |predicted offset| after training: ${meanAbsOffset.toFixed(3)} pixels`);
  expect(meanAbsOffset).toBeGreaterThan(0.2);
  // Nothing accumulates across epochs (Adam's slots exist from the first step on).
  expect(new Set(ours.numTensors).size).toBe(1);
  tf.dispose([x, y]);
  ours.model.dispose();
  plain.model.dispose();
});

// tfjs wasm has no gradient kernel for tf.conv2d's filter (Conv2DBackpropFilter), which is why the offset
// branch runs on dcnv2's op: the layer trains there too. On tfjs webgpu the kernels run dcnv2's WGSL on
// tfjs's device (Dawn on SwiftShader here), with tfjs's own kernels for everything else. Both give the
// losses tfjs cpu gives, within float32 reassociation.
it.each(['wasm', 'webgpu'])('trains on tfjs %s as on cpu (first epochs)', async (backend) => {
  const epochs = 4;
  const run = async () => {
    const { x, y } = toyData(1);
    const layer = new DeformConv2D({ filters: 1, kernelSize: 3, padding: 'same', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) });
    const r = await train(layer, x, y, epochs);
    tf.dispose([x, y]);
    r.model.dispose();
    return r;
  };
  await useBackend('cpu');
  const onCpu = await run();
  try {
    await useBackend(backend);
    const there = await run();
    console.log(`tfjs ${backend}: loss ${there.loss.map((l) => l.toExponential(3)).join(', ')} (cpu: ${onCpu.loss.map((l) => l.toExponential(3)).join(', ')}); numTensors ${there.numTensors.join(', ')}`);
    expect(there.loss[epochs - 1]!).toBeLessThan(there.loss[0]! / 2);
    there.loss.forEach((l, i) => expect(Math.abs(l - onCpu.loss[i]!)).toBeLessThan(1e-3 * onCpu.loss[i]! + 1e-6));
    expect(new Set(there.numTensors).size).toBe(1);
  } finally {
    await useBackend('cpu');
  }
});
