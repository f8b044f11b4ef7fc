/**
 * @dcnv2/models (in progress): the data foundation of "the paper in miniature". Platform-free: no Node
 * built-ins here; the file loaders are in `@dcnv2/models/node`.
 */
export {
  ModelsError,
  OptionError,
  IdxError,
  IdxMagicError,
  IdxDTypeError,
  IdxTruncatedError,
  IdxOverflowError,
  IdxTrailingBytesError,
  DatasetFormatError,
  DatasetNotFoundError,
} from './errors.js';
export { IDX_DTYPES, type IdxArray, type ParseIdxOptions, encodeIdx, isGzip, parseIdx } from './idx.js';
export { Rng, checkSeed, deriveSeed, mix32, permutation } from './rng.js';
export {
  FASHION_MNIST_CLASS_NAMES,
  FASHION_MNIST_DEBIAN_DIR,
  FASHION_MNIST_DEBIAN_PACKAGE,
  FASHION_MNIST_SIZES,
  type FashionMnist,
  type FashionMnistFromIdxOptions,
  type FashionMnistSplit,
  type ImageSet,
  fashionMnistFileNames,
  fashionMnistFromIdx,
} from './fashion-mnist.js';
export {
  GEOMETRIC_DEFAULT_CANVAS,
  GEOMETRIC_DEFAULT_SCALE,
  type GeometricBatch,
  type GeometricBatchOptions,
  type GeometricItem,
  type GeometricOptions,
  type GeometricPlacement,
  type GeometricPlacements,
  type GeometricSet,
  geometricBatches,
  geometricItem,
  geometricPlacement,
  geometricSet,
  renderPlaced,
} from './geometric.js';
export * from './analyses/index.js';
export * from './networks/index.js';
export * from './train/index.js';
export { loadModel, shippedModel, SHIPPED_MODEL_NAMES, type LoadedModel, type ShippedModelName } from './load-model.js';
export { base64ToBytes, bytesToBase64, type ShippedCheck, type ShippedModel, type ShippedTraining } from './weights/format.js';
export * from './render/index.js';
