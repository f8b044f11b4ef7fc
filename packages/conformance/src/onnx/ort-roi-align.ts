/// <reference types="node" />
/**
 * Runs ONNX `RoiAlign` (opset 16, half_pixel, avg) through onnxruntime-web's WebAssembly backend under Node:
 * an implementation independent of this package's references, for deformable RoI pooling without offset
 * and mask. ONNX Runtime's CPU kernel (onnxruntime/core/providers/cpu/object_detection/roialign.cc)
 * follows the same definition as torchvision's roi_align (aligned=True) in half_pixel mode: start =
 * coord * scale - 0.5, no minimum RoI size, grid = sampling_ratio or ceil(roi / pooled), count =
 * max(grid_h * grid_w, 1), and the same clamping bilinear rule (0 beyond -1 and H, <= 0 clamps to 0, a low
 * corner >= H-1 clamps to H-1). It computes in float32 and takes spatial_scale as a float32 attribute, so
 * it is compared as a float32 peer (twice the tolerance). Forward only: ONNX has no RoiAlign gradient.
 * The wasm runtime (`loadOrt`) and the session cache (`OrtSessions`) are shared with the DeformConv runner.
 */
import type { RoiPoolGeometry } from '@dcnv2/core';
import { loadOrt } from './ort-runtime.js';
import { OrtSessions } from './ort-sessions.js';
import { buildRoiAlignModel, roiAlignModelShapes, ROI_ALIGN_IO } from './roi-align-model.js';

export interface OrtRoiAlign {
  /** RoIAlign of `input` `[N, C, H, W]` over `rois` `[R, 5]` = (batch index, x1, y1, x2, y2): `[R, C, ph, pw]`. */
  run(g: RoiPoolGeometry, input: Float32Array, rois: Float32Array): Promise<Float32Array>;
  /** Releases every cached session. */
  dispose(): Promise<void>;
}

function geometryKey(g: RoiPoolGeometry): string {
  return [g.batch, g.channels, g.inHeight, g.inWidth, g.rois, g.pooledH, g.pooledW, g.spatialScale, g.samplingRatio].join(',');
}

/** A RoiAlign runner on onnxruntime-web (single-threaded unless the runtime was loaded with more). */
export function createOrtRoiAlign(threads = 1): OrtRoiAlign {
  const sessions = new OrtSessions();

  async function runOnce(g: RoiPoolGeometry, input: Float32Array, rois: Float32Array): Promise<Float32Array> {
    const shapes = roiAlignModelShapes(g);
    const outCount = shapes.Y.reduce((a, b) => a * b, 1);
    if (outCount === 0) return new Float32Array(0);
    const ort = await loadOrt(threads);
    const s = await sessions.session(ort, geometryKey(g), () => buildRoiAlignModel(g));
    // ONNX splits our (batch index, x1, y1, x2, y2) rows into boxes and int64 batch indices.
    const boxes = new Float32Array(g.rois * 4);
    const batchIndices = new BigInt64Array(g.rois);
    for (let r = 0; r < g.rois; r++) {
      batchIndices[r] = BigInt(rois[r * 5]);
      boxes.set(rois.subarray(r * 5 + 1, r * 5 + 5), r * 4);
    }
    const io = ROI_ALIGN_IO;
    const results = await s.run({
      [io.input]: new ort.Tensor('float32', input, shapes.X),
      [io.rois]: new ort.Tensor('float32', boxes, shapes.rois),
      [io.batchIndices]: new ort.Tensor('int64', batchIndices, shapes.batch_indices),
    });
    const y = results[io.output];
    if (y === undefined || !(y.data instanceof Float32Array) || y.data.length !== outCount) {
      throw new Error(`onnxruntime-web RoiAlign returned an unexpected ${io.output}`);
    }
    return y.data;
  }

  return {
    run: (g, input, rois) => sessions.serialise(() => runOnce(g, input, rois)),
    dispose: () => sessions.dispose(),
  };
}
