/**
 * ONNX Runtime Web's `DeformConv` (opset 19) on its wasm backend under Node, through the conformance package's
 * runner (model built in code, wasm files read from node_modules, nothing fetched). onnxruntime-web fixes its
 * thread count when its wasm runtime starts, once per process, which is one reason each implementation runs in
 * its own worker process. Each run creates the input tensors, copies them into the wasm heap, runs the session
 * and copies the output back, as an application does. ONNX Runtime has no DeformConv gradient: forward only.
 */
import { loadConformanceOnnx, ortWebVersion } from '../peers/conformance-onnx.js';
import { forwardRunner, SkipError, type Adapter } from './types.js';

export const ortWebAdapter: Adapter = async (c, { threads, direction }) => {
  if (direction !== 'fwd') throw new SkipError('ONNX Runtime has no DeformConv gradient');
  const onnx = await loadConformanceOnnx();
  const runner = onnx.createOrtDeformConv({ threads });
  const tensors = { input: c.input, weight: c.weight, offset: c.offset, mask: c.mask, bias: c.bias };
  const g = c.geometry;
  // Start the wasm runtime now (the probe runs a tiny DeformConv), so that the heap growth measured from here on
  // is what this case's op needs; the case's own session is created by its first (untimed, checked) run.
  const available = await onnx.ortAvailable({ threads });
  if (!available.ok) throw new SkipError(available.reason);
  const shape = [g.batch, g.outChannels, g.outHeight, g.outWidth];
  return forwardRunner(`${ortWebVersion()} (wasm)`, threads, shape, () => runner.run(g, tensors), () => runner.dispose());
};
