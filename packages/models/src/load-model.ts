/**
 * `loadModel(name)`: one of the trained classifiers that ship in this package, rebuilt from its tfjs-layers
 * topology (`DeformConv2D` of @dcnv2/tfjs and this package's `PlainConv2D` are registered for
 * serialization) with its weights, offline, in Node and browsers. The weights come from a generated module
 * (see weights/format.ts for why), imported on demand.
 *
 * The model takes `[N, 64, 64, 1]` float32 canvases with pixels in [0, 1] and returns `[N, 10]` logits.
 * Set a tfjs backend first (cpu, or `await prepareDcnv2('wasm')` after `tf.setBackend('wasm')`).
 */
import '@dcnv2/tfjs';
import { io } from '@tensorflow/tfjs-core';
import { loadLayersModel, type LayersModel } from '@tensorflow/tfjs-layers';

import { OptionError } from './errors.js';
import './networks/plain-conv2d.js';
import { SHIPPED_MODELS, type ShippedModelName } from './weights/index.js';
import { base64ToBytes, type ShippedModel } from './weights/format.js';

export { SHIPPED_MODEL_NAMES, type ShippedModelName } from './weights/index.js';

export interface LoadedModel {
  readonly model: LayersModel;
  readonly name: ShippedModelName;
  readonly classNames: readonly string[];
  /** Everything the module ships but the weights: topology, training record, check figure. */
  readonly info: Omit<ShippedModel, 'weightsBase64'>;
}

/** The shipped model's data without building it (training record, check figure, class names). */
export async function shippedModel(name: ShippedModelName): Promise<ShippedModel> {
  const table: Readonly<Record<string, () => Promise<{ default: ShippedModel }>>> = SHIPPED_MODELS;
  const load = Object.prototype.hasOwnProperty.call(table, name) ? table[name] : undefined;
  if (load === undefined) {
    throw new OptionError(`no shipped model named ${String(name)}; the package has ${Object.keys(SHIPPED_MODELS).map((n) => `'${n}'`).join(', ')}`);
  }
  return (await load()).default;
}

export async function loadModel(name: ShippedModelName): Promise<LoadedModel> {
  const shipped = await shippedModel(name);
  const bytes = base64ToBytes(shipped.weightsBase64);
  const weightData = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const model = await loadLayersModel(
    io.fromMemory({ modelTopology: shipped.modelTopology, weightSpecs: [...shipped.weightSpecs], weightData }),
  );
  const { weightsBase64, ...info } = shipped;
  void weightsBase64;
  return { model, name, classNames: shipped.classNames, info };
}
