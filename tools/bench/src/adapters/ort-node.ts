/**
 * onnxruntime-node on its CPU execution provider, the native yardstick: `DeformConv` (impl `ort-node`) and, as
 * the dense yardstick, a plain `Conv` of the same shape (impl `dense-ort-node`). `intraOpNumThreads` is the
 * thread count; inter-op parallelism is off (a one-node graph has none). Each run wraps the host arrays in
 * tensors, runs the session and gets the output as a host Float32Array. Forward only: ONNX Runtime has no
 * training kernels for these ops.
 */
import { convShapes } from '@dcnv2/core';
import type { Tensor } from 'onnxruntime-node';
import { loadConformanceOnnx } from '../peers/conformance-onnx.js';
import { buildConvModel, convModelShapes, CONV_IO } from '../peers/onnx-conv-model.js';
import { createOrtNodeSession, loadOrtNode, ortNodeVersion } from './ort-node-session.js';
import { forwardRunner, SkipError, type Adapter } from './types.js';

function makeOrtNodeAdapter(op: 'DeformConv' | 'Conv'): Adapter {
  return async (c, { threads, direction }) => {
    if (direction !== 'fwd') throw new SkipError(`ONNX Runtime has no ${op} gradient`);
    const ort = await loadOrtNode();
    const onnx = await loadConformanceOnnx();
    const g = c.geometry;
    const model = op === 'DeformConv' ? onnx.buildDeformConvModel(g, { withMask: true, withBias: true }) : buildConvModel(g, onnx.ProtoWriter);
    const session = await createOrtNodeSession(ort, model, threads);
    const feeds = (): Record<string, Tensor> => {
      if (op === 'DeformConv') {
        // The conformance builder names the inputs X, W, offset, B, mask; their shapes are core's.
        const s = convShapes(g);
        return {
          X: new ort.Tensor('float32', c.input, s.input),
          W: new ort.Tensor('float32', c.weight, s.weight),
          offset: new ort.Tensor('float32', c.offset, s.offset),
          B: new ort.Tensor('float32', c.bias, s.bias),
          mask: new ort.Tensor('float32', c.mask, s.mask),
        };
      }
      const s = convModelShapes(g);
      return {
        [CONV_IO.input]: new ort.Tensor('float32', c.input, s.X),
        [CONV_IO.weight]: new ort.Tensor('float32', c.weight, s.W),
        [CONV_IO.bias]: new ort.Tensor('float32', c.bias, s.B),
      };
    };
    const once = async (): Promise<Float32Array> => {
      const r = await session.run(feeds());
      const y = r.Y;
      if (y === undefined || !(y.data instanceof Float32Array)) throw new Error('onnxruntime-node returned no float32 Y');
      return y.data;
    };
    return forwardRunner(ortNodeVersion(op), threads, [g.batch, g.outChannels, g.outHeight, g.outWidth], once, () => session.release());
  };
}

export const ortNodeDeformAdapter = makeOrtNodeAdapter('DeformConv');
export const ortNodeDenseAdapter = makeOrtNodeAdapter('Conv');
