/** Platform-free training pieces (the CLI and its file writers are Node-only: cli.ts, node.ts). */
export {
  CHECK_SUBSET, GEOMETRIC_TEST_SEED, TRAINING_DATA, type CanvasBatch, type CanvasBatchOptions, type TrainingData, canvasBatches, checkData,
} from './data.js';
export { ProgressBar, formatDuration, formatProgress, type ProgressSink, type ProgressState } from './progress.js';
export {
  type EpochRecord, type EvaluateOptions, type Evaluation, type TrainOptions, type TrainResult, epochPlan, evaluateClassifier, trainClassifier,
} from './train.js';
