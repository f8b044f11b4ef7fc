/**
 * The three classifiers of "the paper in miniature": the same depth and width, differing only in what
 * the later 3×3 convolutions are (the paper makes the 3×3 convolutions of ResNet-50's conv3–conv5
 * deformable; here the last two of five, the last stage and the convolution that downsamples into it:
 * a third, conv3 at 16×16, made a DCNv2 training step about 1.4× slower here):
 *
 *   input 64×64×1 → conv1 3×3/2, 16 → conv2 3×3/2, 32 → conv3 3×3, 32 → conv4 3×3/2, 64 → conv5 3×3, 64
 *   → global average pooling → dense 10 (logits)
 *
 * every convolution 'same'-padded with a ReLU. `regular`: all five are `PlainConv2D`. `dcnv1`: conv4–conv5
 * are `DeformConv2D` with `modulation: false` (offsets only). `dcnv2`: conv4–conv5 are `DeformConv2D`
 * with offsets and masks. The offset (and mask) branches start at zero, as the paper's do.
 *
 * Seeded initialisers: layer i's kernel is glorotUniform with seed `seed * 16 + i` in all three kinds, so
 * the three start from the same draws. DCNv1 at initialisation is then exactly the regular network
 * (zero offsets sample the integer grid). DCNv2's masks start at sigmoid(0) = 0.5, which would halve each
 * deformable layer's response; its deformable kernels are drawn with the same seeds at twice the scale
 * (varianceScaling, scale 4 instead of glorotUniform's 1, i.e. limit ×2), so 0.5 × 2w = w and DCNv2 at
 * initialisation computes the regular network's function too (up to float rounding of the draw).
 */
import { DeformConv2D } from '@dcnv2/tfjs';
import { initializers, layers, sequential, type Sequential } from '@tensorflow/tfjs-layers';

import { OptionError } from '../errors.js';
import { PlainConv2D, convOutSize } from './plain-conv2d.js';

export type ClassifierKind = 'regular' | 'dcnv1' | 'dcnv2';
export const CLASSIFIER_KINDS: readonly ClassifierKind[] = Object.freeze(['regular', 'dcnv1', 'dcnv2'] as const);

export interface ConvSpec {
  readonly name: string;
  readonly filters: number;
  readonly kernelSize: number;
  readonly stride: number;
  /** Deformable in the dcnv1 / dcnv2 networks. */
  readonly deformable: boolean;
}

export interface ClassifierSpec {
  /** Input side (square, one channel). */
  readonly inputSize: number;
  readonly inputChannels: number;
  readonly convs: readonly ConvSpec[];
  readonly classes: number;
}

/** The architecture every shipped model uses. */
export const CLASSIFIER_SPEC: ClassifierSpec = Object.freeze({
  inputSize: 64,
  inputChannels: 1,
  convs: Object.freeze([
    { name: 'conv1', filters: 16, kernelSize: 3, stride: 2, deformable: false },
    { name: 'conv2', filters: 32, kernelSize: 3, stride: 2, deformable: false },
    { name: 'conv3', filters: 32, kernelSize: 3, stride: 1, deformable: false },
    { name: 'conv4', filters: 64, kernelSize: 3, stride: 2, deformable: true },
    { name: 'conv5', filters: 64, kernelSize: 3, stride: 1, deformable: true },
  ]),
  classes: 10,
});

export interface CreateClassifierOptions {
  readonly kind: ClassifierKind;
  /** uint32; seeds every initialiser. Default 0. */
  readonly seed?: number;
  /** Another architecture (tests use tiny ones). Default `CLASSIFIER_SPEC`. */
  readonly spec?: ClassifierSpec;
}

export function checkKind(kind: unknown): ClassifierKind {
  if (kind !== 'regular' && kind !== 'dcnv1' && kind !== 'dcnv2') {
    throw new OptionError(`kind must be 'regular', 'dcnv1' or 'dcnv2', got ${String(kind)}`);
  }
  return kind;
}

/**
 * A classifier of `kind`: NHWC input `[N, size, size, channels]` in [0, 1], output `[N, classes]` logits
 * (apply `tf.softmax` for probabilities). Not compiled; train it with a loop or `model.compile` + `fit`.
 */
export function createClassifier(options: CreateClassifierOptions): Sequential {
  if (options === null || typeof options !== 'object') throw new OptionError('createClassifier takes { kind, seed? }');
  const kind = checkKind(options.kind);
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) throw new OptionError(`seed must be an integer in [0, 2^32), got ${String(seed)}`);
  const spec = options.spec ?? CLASSIFIER_SPEC;
  // tfjs seeds are doubles fed to seedrandom; keep them exact integers.
  const layerSeed = (i: number) => seed * 16 + i;
  const model = sequential({ name: `${kind}_classifier` });
  spec.convs.forEach((c, i) => {
    const first = i === 0 ? { inputShape: [spec.inputSize, spec.inputSize, spec.inputChannels] } : {};
    if (c.deformable && kind !== 'regular') {
      const kernelInitializer =
        kind === 'dcnv2'
          ? initializers.varianceScaling({ scale: 4, mode: 'fanAvg', distribution: 'uniform', seed: layerSeed(i) })
          : initializers.glorotUniform({ seed: layerSeed(i) });
      model.add(
        new DeformConv2D({
          ...first, name: c.name, filters: c.filters, kernelSize: c.kernelSize, strides: c.stride, padding: 'same',
          activation: 'relu', modulation: kind === 'dcnv2', kernelInitializer,
        }),
      );
    } else {
      model.add(
        new PlainConv2D({
          ...first, name: c.name, filters: c.filters, kernelSize: c.kernelSize, strides: c.stride, padding: 'same',
          activation: 'relu', kernelInitializer: initializers.glorotUniform({ seed: layerSeed(i) }),
        }),
      );
    }
  });
  model.add(layers.globalAveragePooling2d({ name: 'gap' }));
  model.add(
    layers.dense({ name: 'logits', units: spec.classes, kernelInitializer: initializers.glorotUniform({ seed: layerSeed(spec.convs.length) }) }),
  );
  return model;
}

/** One layer's parameters and multiply-adds per image. */
export interface LayerCost {
  readonly name: string;
  readonly type: 'conv' | 'deformable' | 'dense';
  readonly outputShape: readonly [number, number, number];
  readonly params: number;
  /** The convolution proper (or the dense layer): Ho·Wo·Cout·k²·Cin. */
  readonly convMacs: number;
  /** Deformable only: the offset (and mask) branch, a regular convolution to 2k² (3k² with masks) channels. */
  readonly branchMacs: number;
  /**
   * Deformable only: bilinear sampling, Ho·Wo·k²·(4 + 4·Cin): four corner weights per sampling point,
   * then four multiply-adds per point and input channel; plus, with masks, one multiply per point and
   * channel (modulation).
   */
  readonly samplingMacs: number;
  readonly macs: number;
}

export interface ClassifierCost {
  readonly kind: ClassifierKind;
  readonly params: number;
  /** Multiply-adds per image (the "FLOPs" of the ResNet and DCN papers). */
  readonly macs: number;
  readonly layers: readonly LayerCost[];
}

/**
 * Parameters and multiply-adds per image of a classifier, from its spec (not from a model): ReLUs,
 * sigmoids, biases and the global average pooling's additions are not counted.
 */
export function classifierCost(kind: ClassifierKind, spec: ClassifierSpec = CLASSIFIER_SPEC): ClassifierCost {
  checkKind(kind);
  const out: LayerCost[] = [];
  let size = spec.inputSize;
  let cin = spec.inputChannels;
  for (const c of spec.convs) {
    const ho = convOutSize(size, c.kernelSize, c.stride, 'same');
    const k2 = c.kernelSize * c.kernelSize;
    const deformable = c.deformable && kind !== 'regular';
    const modulated = deformable && kind === 'dcnv2';
    const convMacs = ho * ho * c.filters * k2 * cin;
    let params = k2 * cin * c.filters + c.filters;
    let branchMacs = 0;
    let samplingMacs = 0;
    if (deformable) {
      const branch = (modulated ? 3 : 2) * k2;
      params += k2 * cin * branch + branch;
      branchMacs = ho * ho * branch * k2 * cin;
      samplingMacs = ho * ho * k2 * (4 + 4 * cin) + (modulated ? ho * ho * k2 * cin : 0);
    }
    out.push({
      name: c.name, type: deformable ? 'deformable' : 'conv', outputShape: [ho, ho, c.filters], params,
      convMacs, branchMacs, samplingMacs, macs: convMacs + branchMacs + samplingMacs,
    });
    size = ho;
    cin = c.filters;
  }
  const denseMacs = cin * spec.classes;
  out.push({
    name: 'logits', type: 'dense', outputShape: [1, 1, spec.classes], params: denseMacs + spec.classes,
    convMacs: denseMacs, branchMacs: 0, samplingMacs: 0, macs: denseMacs,
  });
  return {
    kind,
    params: out.reduce((a, l) => a + l.params, 0),
    macs: out.reduce((a, l) => a + l.macs, 0),
    layers: out,
  };
}
