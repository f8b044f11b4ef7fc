/**
 * The paper-style figure for one image and one model (platform-free): the analysed node, the three
 * analyses of src/analyses, the three tiles rendered by src/render, and the summary figures.
 *
 * The node: the last convolution layer (the last layer with a rank-4 output; conv5 of the shipped
 * classifiers, 8×8×64), at the position whose receptive-field centre is nearest the centre of the
 * object's box, its response summed over the layer's 64 channels (conv5 has no class channels).
 *
 * The sampling-locations tile shows, as the paper's figure does, the locations composed through the
 * deformable stack (the layers from the node's layer down to the lowest `DeformConv2D`, conv5 and conv4:
 * 9 × 9 = 81 paths), placed in the image by the tap centres of the regular layers below (conv3, conv2,
 * conv1: an affine map, `y_image = 4·y + 3` here), each weighted by `mask × |∂r/∂image|` at that place
 * (`mask`: the product of the DCNv2 masks along the paths, summed over the paths; 1 per path for DCNv1
 * and regular convolutions; the gradient bilinearly interpolated, 0 outside). The regular network gets
 * the same two layers, undeformed: a 7 × 7 grid at 4-pixel spacing (81 paths). Locations that a deformable
 * layer moves outside its input map (outside (−1, H) × (−1, W)) are dropped by the analysis, so a
 * deformable network can have fewer than 81 paths. Dots are coloured and sized by
 * `0.2 + 0.8 · weight / max weight`, so that locations of zero weight still show.
 */
import { argMax, softmax, tidy, tensor4d, type Tensor } from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';

import { effectiveReceptiveField } from '../analyses/erf.js';
import { errorBoundedSaliency } from '../analyses/saliency.js';
import { effectiveSamplingLocations } from '../analyses/sampling-locations.js';
import { OptionError } from '../errors.js';
import { renderHeatmap } from '../render/erf.js';
import { renderMask } from '../render/saliency.js';
import { renderSamplingLocations } from '../render/sampling.js';

/** A square single-channel image in [0, 1] and the box of the object in it (canvas pixels, as a `GeometricPlacement`). */
export interface FigureImage {
  readonly data: Float32Array;
  readonly height: number;
  readonly width: number;
  readonly box: { readonly x: number; readonly y: number; readonly width: number; readonly height: number };
}

export interface ModelFigureOptions {
  /** The layer whose taps' level is drawn (the lowest deformable layer). Default: the model's lowest `DeformConv2D`. */
  readonly level?: string;
  /** Renderer upscaling. Default 3. */
  readonly scale?: number;
  /** Saliency bound ε. Default 0.05 (errorBoundedSaliency's default). */
  readonly epsilon?: number;
}

export interface ModelFigureSummary {
  readonly predicted: number;
  readonly probability: number;
  readonly node: { readonly layer: string; readonly y: number; readonly x: number; readonly channel: 'sum'; readonly centre: { readonly y: number; readonly x: number } };
  /** The node's response on the full image. */
  readonly response: number;
  readonly sampling: {
    /** The level drawn: locations in the input of this layer, mapped to the image. */
    readonly level: string;
    /** Tap paths through the drawn layers (81 for two 3×3 layers). */
    readonly paths: number;
    /** Distinct locations among them. */
    readonly points: number;
    /** Distinct image locations after composing through every layer down to the image (what `effectiveSamplingLocations` returns). */
    readonly imagePoints: number;
    /** Mean distance (image px) of the drawn level's paths from the node's centre. */
    readonly meanDistance: number;
    /** Mean over the drawn level's paths of the product of masks (1 without modulation). */
    readonly meanMask: number;
  };
  readonly erf: {
    /** Radius (image px) around the node's centre of the smallest disc holding 50% of Σ|∂r/∂image|. */
    readonly r50: number;
    /** The same for 90%. */
    readonly r90: number;
    /** Centre of mass of |∂r/∂image|. */
    readonly centroid: { readonly y: number; readonly x: number };
  };
  readonly saliency: { readonly area: number; readonly relativeError: number; readonly epsilon: number; readonly evaluations: number };
}

export interface ModelFigure {
  /** PNG bytes of the three tiles: sampling locations, ERF, saliency. */
  readonly tiles: readonly [Uint8Array, Uint8Array, Uint8Array];
  readonly summary: ModelFigureSummary;
}

type Layer = LayersModel['layers'][number];

const POINTWISE = new Set(['Activation', 'ReLU', 'BatchNormalization', 'Dropout', 'InputLayer']);
const pairOf = (v: unknown): [number, number] => (typeof v === 'number' ? [v, v] : Array.isArray(v) ? [Number(v[0]), Number(v[1] ?? v[0])] : [1, 1]);

/** Input position of the centre of a (regular) convolution's taps at output position `p` along one axis. */
function tapCentre(layer: Layer, p: number, axis: 0 | 1): number {
  const cfg = layer.getConfig() as Record<string, unknown>;
  const k = pairOf(cfg['kernelSize'])[axis];
  const s = pairOf(cfg['strides'])[axis];
  const d = pairOf(cfg['dilationRate'])[axis];
  const size = layer.inboundNodes[0]?.inputTensors[0]?.shape[axis + 1];
  if (typeof size !== 'number') throw new OptionError(`layer '${layer.name}': input size unknown`);
  const total = cfg['padding'] === 'same' ? Math.max(0, (Math.ceil(size / s) - 1) * s + d * (k - 1) + 1 - size) : 0;
  return s * p - Math.floor(total / 2) + (d * (k - 1)) / 2;
}

/** Maps a position in the output of `model.layers[index]` to the image through the tap centres of the layers up to it. */
export function toImage(model: LayersModel, index: number, y: number, x: number): { y: number; x: number } {
  for (let i = index; i >= 0; i--) {
    const l = model.layers[i]!;
    const cls = l.getClassName();
    if (POINTWISE.has(cls)) continue;
    if (!('kernelSize' in (l.getConfig() as object))) throw new OptionError(`layer '${l.name}' (${cls}): cannot map positions through it`);
    y = tapCentre(l, y, 0);
    x = tapCentre(l, x, 1);
  }
  return { y, x };
}

function bilinearAbs(map: Float32Array, h: number, w: number, y: number, x: number): number {
  const y0 = Math.floor(y);
  const x0 = Math.floor(x);
  let v = 0;
  for (const [yy, fy] of [[y0, 1 - (y - y0)], [y0 + 1, y - y0]] as const) {
    for (const [xx, fx] of [[x0, 1 - (x - x0)], [x0 + 1, x - x0]] as const) {
      if (yy >= 0 && yy < h && xx >= 0 && xx < w && fy * fx > 0) v += fy * fx * Math.abs(map[yy * w + xx]!);
    }
  }
  return v;
}

/** Radius around (cy, cx) of the smallest disc of pixel centres holding `fraction` of Σ|map|. */
export function massRadius(map: ArrayLike<number>, h: number, w: number, cy: number, cx: number, fraction: number): number {
  const items: [number, number][] = [];
  let total = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const a = Math.abs(map[y * w + x]!);
      total += a;
      if (a > 0) items.push([Math.hypot(y - cy, x - cx), a]);
    }
  }
  if (total === 0) return 0;
  items.sort((a, b) => a[0] - b[0]);
  let acc = 0;
  for (const [d, a] of items) {
    acc += a;
    if (acc >= fraction * total * (1 - 1e-9)) return d;
  }
  return items[items.length - 1]![0];
}

/** The three analyses of `model` at the node nearest the object's centre, their tiles and summary. */
export async function modelFigure(model: LayersModel, image: FigureImage, options: ModelFigureOptions = {}): Promise<ModelFigure> {
  const { data, height: h, width: w, box } = image;
  const scale = options.scale ?? 3;
  const layers = model.layers;
  const nodeIndex = layers.map((l) => (l.outputShape as unknown[]).length === 4 && !Array.isArray((l.outputShape as unknown[])[0])).lastIndexOf(true);
  if (nodeIndex < 0) throw new OptionError('model: no layer with a rank-4 output');
  const nodeLayer = layers[nodeIndex]!;
  const [, ho, wo] = nodeLayer.outputShape as [null, number, number, number];
  // The object's centre in pixel coordinates (pixel i is at i).
  const oy = box.y + box.height / 2 - 0.5;
  const ox = box.x + box.width / 2 - 0.5;
  let best = { y: 0, x: 0, d: Infinity, centre: { y: 0, x: 0 } };
  for (let y = 0; y < ho; y++) {
    for (let x = 0; x < wo; x++) {
      const c = toImage(model, nodeIndex, y, x);
      const d = Math.hypot(c.y - oy, c.x - ox);
      if (d < best.d) best = { y, x, d, centre: c };
    }
  }
  const node = { layer: nodeLayer.name, y: best.y, x: best.x };
  const img = { data, height: h, width: w };

  const { predicted, probability } = tidy(() => {
    const logits = model.predict(tensor4d(data, [1, h, w, 1])) as Tensor;
    const p = softmax(logits).dataSync();
    const k = argMax(logits, 1).dataSync()[0]!;
    return { predicted: k, probability: p[k]! };
  });

  const erf = effectiveReceptiveField(model, img, node);
  const sal = errorBoundedSaliency(model, img, node, { epsilon: options.epsilon ?? 0.05 });

  const levelName = options.level ?? layers.filter((l) => l.getClassName() === 'DeformConv2D').map((l) => l.name)[0];
  if (levelName === undefined) throw new OptionError('options.level: the model has no DeformConv2D; name the layer whose level to draw');
  const levelIndex = layers.findIndex((l) => l.name === levelName);
  if (levelIndex < 0 || levelIndex > nodeIndex) throw new OptionError(`options.level: no layer '${levelName}' at or below the node's layer`);
  const esl = effectiveSamplingLocations(model, img, node);
  const level = esl.levels.find((l) => l.layer === levelName);
  if (level === undefined) throw new Error(`no sampling level for layer '${levelName}'`);
  let paths = 0;
  let distSum = 0;
  let maskSum = 0;
  const points = level.points.map((p) => {
    const c = toImage(model, levelIndex - 1, p.y, p.x);
    paths += p.paths;
    distSum += p.paths * Math.hypot(c.y - best.centre.y, c.x - best.centre.x);
    maskSum += p.mask;
    return { y: c.y, x: c.x, weight: p.mask * bilinearAbs(erf.heatmap, h, w, c.y, c.x) };
  });

  let gy = 0;
  let gx = 0;
  for (let i = 0; i < h * w; i++) {
    gy += Math.floor(i / w) * Math.abs(erf.heatmap[i]!);
    gx += (i % w) * Math.abs(erf.heatmap[i]!);
  }
  const centroid = erf.sumAbs > 0 ? { y: gy / erf.sumAbs, x: gx / erf.sumAbs } : { y: NaN, x: NaN };

  const maxWeight = points.reduce((m, p) => Math.max(m, p.weight), 0);
  const shown = points.map((p) => ({ ...p, weight: maxWeight > 0 ? 0.2 + (0.8 * p.weight) / maxWeight : 1 }));
  const tiles = [
    renderSamplingLocations(img, shown, { scale, marker: best.centre, radius: [0.4 * scale, 1.2 * scale] }),
    renderHeatmap(img, erf.heatmap, { scale }),
    renderMask(img, sal.mask, { scale }),
  ] as const;
  return {
    tiles,
    summary: {
      predicted,
      probability,
      node: { ...node, channel: 'sum', centre: best.centre },
      response: erf.response,
      sampling: {
        level: levelName,
        paths,
        points: level.points.length,
        imagePoints: esl.points.length,
        meanDistance: distSum / paths,
        meanMask: maskSum / paths,
      },
      erf: { r50: massRadius(erf.heatmap, h, w, best.centre.y, best.centre.x, 0.5), r90: massRadius(erf.heatmap, h, w, best.centre.y, best.centre.x, 0.9), centroid },
      saliency: { area: sal.area, relativeError: sal.relativeError, epsilon: sal.epsilon, evaluations: sal.evaluations },
    },
  };
}
