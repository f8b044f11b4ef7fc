/**
 * Fashion-MNIST (Xiao, Rasul and Vollgraf, 2017): 70 000 28×28 grey-scale images of clothing in 10
 * classes, 60 000 for training and 10 000 for testing. Platform-free: this module turns the IDX bytes
 * into arrays; `loadFashionMnist` of `@dcnv2/models/node` reads Debian's files.
 */
import { DatasetFormatError, OptionError } from './errors.js';
import { parseIdx } from './idx.js';

export const FASHION_MNIST_CLASS_NAMES = Object.freeze([
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
] as const);

export type FashionMnistSplit = 'train' | 'test';

/** Items per split, as published. */
export const FASHION_MNIST_SIZES: Readonly<Record<FashionMnistSplit, number>> = Object.freeze({ train: 60000, test: 10000 });

/** The Debian package that provides the files, and where it puts them. */
export const FASHION_MNIST_DEBIAN_PACKAGE = 'dataset-fashion-mnist';
export const FASHION_MNIST_DEBIAN_DIR = '/usr/share/datasets/fashion-mnist';

/** File names of a split, without the `.gz` that Debian's copies carry. */
export function fashionMnistFileNames(split: FashionMnistSplit): { images: string; labels: string } {
  if (split !== 'train' && split !== 'test') throw new OptionError(`split must be 'train' or 'test', got ${String(split)}`);
  const prefix = split === 'train' ? 'train' : 't10k';
  return { images: `${prefix}-images-idx3-ubyte`, labels: `${prefix}-labels-idx1-ubyte` };
}

/**
 * A set of single-channel images with labels. `images` is N×H×W, row-major, values in [0, 1]: the same
 * memory as an NHWC tensor with C = 1.
 */
export interface ImageSet {
  readonly images: Float32Array;
  readonly labels: Uint8Array;
  readonly count: number;
  readonly height: number;
  readonly width: number;
  readonly classNames: readonly string[];
}

export interface FashionMnist extends ImageSet {
  readonly split: FashionMnistSplit | undefined;
}

export interface FashionMnistFromIdxOptions {
  /** Which split the bytes are; checked against the published count when given. */
  readonly split?: FashionMnistSplit;
  /** Keep only the first `limit` items (a subset for quick runs). */
  readonly limit?: number;
}

/**
 * Fashion-MNIST from the (decompressed) bytes of an images file and a labels file. Pixels become
 * float32 `byte / 255`. Throws `IdxError`s for malformed files and `DatasetFormatError` when they are
 * valid IDX but not Fashion-MNIST (shape, count, label range).
 */
export function fashionMnistFromIdx(
  imagesBytes: ArrayBuffer | ArrayBufferView,
  labelsBytes: ArrayBuffer | ArrayBufferView,
  options: FashionMnistFromIdxOptions = {},
): FashionMnist {
  const images = parseIdx(imagesBytes);
  const labels = parseIdx(labelsBytes);
  if (images.dims.length !== 3 || images.dims[1] !== 28 || images.dims[2] !== 28) {
    throw new DatasetFormatError(`Fashion-MNIST images must have dimensions [N, 28, 28], got [${images.dims.join(', ')}]`);
  }
  if (labels.dims.length !== 1) {
    throw new DatasetFormatError(`Fashion-MNIST labels must have dimensions [N], got [${labels.dims.join(', ')}]`);
  }
  const n = images.dims[0];
  if (labels.dims[0] !== n) {
    throw new DatasetFormatError(`Fashion-MNIST has ${n} images but ${labels.dims[0]} labels`);
  }
  const { split, limit } = options;
  if (split !== undefined) {
    fashionMnistFileNames(split); // validates the name
    if (n !== FASHION_MNIST_SIZES[split]) {
      throw new DatasetFormatError(`Fashion-MNIST ${split} split has ${FASHION_MNIST_SIZES[split]} items, these files have ${n}`);
    }
  }
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) {
    throw new OptionError(`limit must be a non-negative integer, got ${String(limit)}`);
  }
  const count = limit === undefined ? n : Math.min(n, limit);
  const labelData = labels.data.slice(0, count);
  for (let i = 0; i < count; i++) {
    if (labelData[i] > 9) throw new DatasetFormatError(`Fashion-MNIST label ${i} is ${labelData[i]}, not a class 0..9`);
  }
  const pixels = images.data;
  const size = count * 28 * 28;
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = pixels[i] / 255;
  return {
    images: out,
    labels: labelData,
    count,
    height: 28,
    width: 28,
    classNames: FASHION_MNIST_CLASS_NAMES,
    split,
  };
}
