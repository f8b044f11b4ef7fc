/**
 * How a trained model ships: a generated ES module per model (`src/weights/<name>.ts`, built into
 * `dist/weights/<name>.js`) holding the tfjs-layers topology (JSON), the weight manifest and the float32
 * weights as one base64 string, plus the class names and the training record.
 *
 * Why a module and not `.bin` files: a module is found, bundled and code-split by every bundler (esbuild,
 * Vite/Rollup, webpack) and by Node with no loader, no asset rule, no `fetch` and no file system access, so
 * `loadModel` works offline in Node and browsers alike; `new URL('./x.bin', import.meta.url)` needs an asset
 * rule per bundler and `fetch` (which Node cannot use on `file:` URLs). Each model is its own chunk
 * (`loadModel` imports it dynamically), so an app pays only for the models it loads. Cost: base64 is 4/3
 * of the bytes (about 0.5 MB of JavaScript per model, ~0.37 MB of float32). Platform-free (`atob` exists
 * in Node 16+ and browsers; no `Buffer`).
 */
import type { io } from '@tensorflow/tfjs-core';

import type { ClassifierKind } from '../networks/classifier.js';
import type { TrainingData } from '../train/data.js';

/** The accuracy recorded at training time on a fixed test subset; `loadModel`'s test checks it. */
export interface ShippedCheck {
  /** Which items: `data` canvases of test items start..end (geometric under `seed`). */
  readonly data: TrainingData;
  readonly seed: number;
  readonly start: number;
  readonly end: number;
  readonly correct: number;
  readonly accuracy: number;
  /** The tfjs backend the figure was measured on. */
  readonly backend: string;
}

/** What the training run measured (the README table's row). */
export interface ShippedTraining {
  readonly command: string;
  readonly seed: number;
  readonly epochs: number;
  readonly trainSize: number;
  readonly batchSize: number;
  readonly learningRate: number;
  readonly backend: string;
  readonly trainSeconds: number;
  readonly testPlain: { readonly count: number; readonly accuracy: number };
  readonly testGeometric: { readonly count: number; readonly accuracy: number; readonly seed: number };
  /** Forward time per image on `backend` (batches of 100, one thread). */
  readonly msPerImage: number;
  /** How msPerImage was measured when not during the run (`--time`: alone, after training). */
  readonly msPerImageNote?: string;
  readonly params: number;
  readonly macs: number;
}

export interface ShippedModel {
  readonly name: string;
  readonly kind: ClassifierKind;
  readonly data: TrainingData;
  readonly classNames: readonly string[];
  /** NHWC without the batch: [64, 64, 1], pixels in [0, 1]. */
  readonly inputShape: readonly number[];
  readonly modelTopology: object;
  readonly weightSpecs: readonly io.WeightsManifestEntry[];
  /** float32 weights, little-endian, in `weightSpecs` order, base64. */
  readonly weightsBase64: string;
  readonly check: ShippedCheck;
  readonly training: ShippedTraining;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** base64 of bytes (standard alphabet, padded). */
export function bytesToBase64(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += B64[n >> 18] + B64[(n >> 12) & 63] + B64[(n >> 6) & 63] + B64[n & 63];
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i] << 16;
    out += `${B64[n >> 18]}${B64[(n >> 12) & 63]}==`;
  } else if (rest === 2) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8);
    out += `${B64[n >> 18]}${B64[(n >> 12) & 63]}${B64[(n >> 6) & 63]}=`;
  }
  return out;
}

const DECODE = (() => {
  const t = new Int16Array(128).fill(-1);
  for (let i = 0; i < 64; i++) t[B64.charCodeAt(i)] = i;
  return t;
})();

/** The bytes of a base64 string (standard alphabet; padding optional). */
export function base64ToBytes(s: string): Uint8Array {
  const clean = s.replace(/=+$/, '');
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let bits = 0;
  let acc = 0;
  let o = 0;
  for (let i = 0; i < clean.length; i++) {
    const c = clean.charCodeAt(i);
    const v = c < 128 ? DECODE[c] : -1;
    if (v < 0) throw new Error(`invalid base64 character at ${i}`);
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 255;
    }
  }
  return out;
}
