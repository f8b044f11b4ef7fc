export { PlainConv2D, type PlainConv2DArgs, convOutSize, samePads } from './plain-conv2d.js';
export {
  CLASSIFIER_KINDS,
  CLASSIFIER_SPEC,
  type ClassifierCost,
  type ClassifierKind,
  type ClassifierSpec,
  type ConvSpec,
  type CreateClassifierOptions,
  type LayerCost,
  checkKind,
  classifierCost,
  createClassifier,
} from './classifier.js';
