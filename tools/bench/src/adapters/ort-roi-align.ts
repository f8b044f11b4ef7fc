/**
 * ONNX Runtime's `RoiAlign` (opset 16, half_pixel, avg): the plain RoIAlign yardstick of the RoI pooling op,
 * from the conformance package's model builder and runner. `roialign-ort-node`: onnxruntime-node's CPU
 * execution provider (native, `intraOpNumThreads` = the thread count); the RoIs are split into ONNX's `[R, 4]`
 * boxes and `[R]` int64 batch indices once, in setup, as a detector hands them over. `roialign-ort-web`:
 * onnxruntime-web's wasm backend under Node through the conformance runner (`env.wasm.numThreads`, fixed once
 * per process, hence one worker per thread count), which splits the RoIs on each call. Each run wraps the
 * host arrays in tensors, runs the session and gets the output back as a host Float32Array. Forward only:
 * ONNX Runtime has no RoiAlign gradient.
 */
import type { Tensor } from 'onnxruntime-node';
import { loadConformanceOnnx, ortWebVersion } from '../peers/conformance-onnx.js';
import type { RoiCaseData } from '../roi-case-data.js';
import type { Direction } from '../shapes.js';
import { createOrtNodeSession, loadOrtNode, ortNodeVersion } from './ort-node-session.js';
import { forwardRunner, SkipError, type Adapter } from './types.js';

/** dcnv2's `[R, 5]` RoIs as ONNX's `[R, 4]` boxes (x1, y1, x2, y2) and `[R]` int64 batch indices. */
export function splitRois(rois: Float32Array, count: number): { boxes: Float32Array; batchIndices: BigInt64Array } {
  const boxes = new Float32Array(count * 4);
  const batchIndices = new BigInt64Array(count);
  for (let r = 0; r < count; r++) {
    batchIndices[r] = BigInt(rois[r * 5]);
    boxes.set(rois.subarray(r * 5 + 1, r * 5 + 5), r * 4);
  }
  return { boxes, batchIndices };
}

/** Skips what ONNX Runtime cannot run: a backward (it has no RoiAlign gradient), an empty output. */
function requireRunnable(c: RoiCaseData, direction: Direction): void {
  if (direction !== 'fwd') throw new SkipError('ONNX Runtime has no RoiAlign gradient');
  const g = c.geometry;
  if (g.rois * g.channels * g.pooledH * g.pooledW === 0) throw new SkipError('the output is empty (R = 0 or C = 0): nothing for ONNX Runtime to run');
}

export const ortNodeRoiAlignAdapter: Adapter<RoiCaseData> = async (c, { threads, direction }) => {
  requireRunnable(c, direction);
  const ort = await loadOrtNode();
  const onnx = await loadConformanceOnnx();
  const g = c.geometry;
  const shapes = onnx.roiAlignModelShapes(g);
  const io = onnx.ROI_ALIGN_IO;
  const session = await createOrtNodeSession(ort, onnx.buildRoiAlignModel(g), threads);
  const { boxes, batchIndices } = splitRois(c.rois, g.rois);
  const once = async (): Promise<Float32Array> => {
    const feeds: Record<string, Tensor> = {
      [io.input]: new ort.Tensor('float32', c.input, shapes.X),
      [io.rois]: new ort.Tensor('float32', boxes, shapes.rois),
      [io.batchIndices]: new ort.Tensor('int64', batchIndices, shapes.batch_indices),
    };
    const y = (await session.run(feeds))[io.output];
    if (y === undefined || !(y.data instanceof Float32Array)) throw new Error(`onnxruntime-node returned no float32 ${io.output}`);
    return y.data;
  };
  return forwardRunner(ortNodeVersion('RoiAlign'), threads, shapes.Y, once, () => session.release());
};

export const ortWebRoiAlignAdapter: Adapter<RoiCaseData> = async (c, { threads, direction }) => {
  requireRunnable(c, direction);
  const onnx = await loadConformanceOnnx();
  // Start the wasm runtime now (with this worker's thread count), so that the heap growth measured from here
  // on is what this case's op needs; the case's own session is created by its first (untimed, checked) run.
  const available = await onnx.ortAvailable({ threads });
  if (!available.ok) throw new SkipError(available.reason);
  const runner = onnx.createOrtRoiAlign(threads);
  const g = c.geometry;
  const shape = onnx.roiAlignModelShapes(g).Y;
  return forwardRunner(`${ortWebVersion()} (wasm, RoiAlign)`, threads, shape, () => runner.run(g, c.input, c.rois), () => runner.dispose());
};
