/** Node-only entry (`@dcnv2/models/node`): file readers. Everything of the main entry is re-exported. */
export * from '../index.js';
export { readIdxFile, readMaybeGzip } from './idx-file.js';
export {
  FASHION_MNIST_DIR_ENV,
  type LoadFashionMnistOptions,
  defaultFashionMnistDir,
  loadFashionMnist,
  locateFashionMnist,
} from './fashion-mnist.js';
