/// <reference types="node" />
// (This module runs onnxruntime-web under Node: it needs Node's types even where a build config sets `types: []`.)
/**
 * Runs ONNX `DeformConv` (opset 19) through onnxruntime-web's WebAssembly backend under Node, as an independent
 * cross-check of the @dcnv2 backends.
 *
 * Loading: `onnxruntime-web` is imported lazily (so a missing or broken install only makes `ortAvailable()` report
 * `ok: false`). Before the first session is created the wasm runtime is pointed at the files shipped in
 * `node_modules/onnxruntime-web/dist`: the `.mjs` glue by `file:` URL and the `.wasm` binary read from disk and
 * passed as `env.wasm.wasmBinary`, so nothing is ever fetched from the network. `env.wasm.proxy` is off and
 * `env.wasm.numThreads` is set from `threads` (default 1). onnxruntime-web initialises its wasm runtime once per
 * process, so the first caller fixes the thread count; asking for a different count later throws.
 *
 * How ONNX Runtime's CPU DeformConv kernel (onnxruntime/core/providers/cpu/nn/deform_conv.cc, compiled into
 * ort-wasm-simd-threaded.wasm 1.30.0) relates to torchvision's `deform_conv2d` (which made the golden vectors):
 *
 * Same as torchvision:
 * - sampling point of tap (i,j) at output (oy,ox): `y = oy*sh - pad_top + i*dh + dy`, `x = ox*sw - pad_left +
 *   j*dw + dx`; the integer part is exact and the offset is added with a single float32 rounding, as in
 *   torchvision;
 * - offset layout: channel `((g*kh + i)*kw + j)*2` is dy (rows), `+1` is dx; mask channel `(g*kh + i)*kw + j`;
 *   input channel `c` uses offset group `c / (Cin/offset_group)`;
 * - boundary rule: a sample is 0 once `y <= -1 || y >= H || x <= -1 || x >= W`; otherwise bilinear weights
 *   `(1-ly)(1-lx), (1-ly)lx, ly(1-lx), ly*lx` from `floor()`, and each of the four corners outside the unpadded
 *   image reads 0 (padding is virtual zeros, never clamping) — torchvision's `bilinear_interpolate`;
 * - the mask multiplies the interpolated value; no mask means 1 (DCNv1), no bias means 0;
 * - convolution groups: weight `[Cout, Cin/group, kh, kw]`, output channel block `g` reads input channels block `g`.
 *
 * Different, harmlessly:
 * - ONNX takes asymmetric pads `[top, left, bottom, right]`; torchvision only symmetric ones. The begin pads move
 *   the sampling grid, the end pads only change the output size, which is exactly torchvision applied to an input
 *   zero-padded explicitly (how the golden `asymmetric_pads` case was made);
 * - accumulation order: ORT does deformable im2col then an MLAS GEMM per group and adds the bias last, so float32
 *   results differ from torchvision by rounding only (~1e-6 on the golden cases).
 *
 * Not supported by ORT: gradients (DeformConv has no backward kernel), so this checks forward outputs only.
 */
import type { ConvGeometry } from '@dcnv2/core';
import type { Tensor as OrtTensor } from 'onnxruntime-web';

import { buildDeformConvModel, deformConvModelShapes, DEFORM_CONV_IO } from './deform-conv-model.js';
import { checkThreads, loadOrt, ortThreadCount } from './ort-runtime.js';
import { OrtSessions } from './ort-sessions.js';

export interface OrtDeformConvOptions {
  /** `ort.env.wasm.numThreads`. Default 1. Fixed by the first use in a process. */
  readonly threads?: number;
}

/** Row-major float32 tensors of one call, shaped as core's `convShapes(g)`. */
export interface OrtDeformConvTensors {
  readonly input: Float32Array;
  readonly weight: Float32Array;
  readonly offset: Float32Array;
  /** `null`: no mask input (DCNv1). */
  readonly mask: Float32Array | null;
  /** `null`: no bias input. */
  readonly bias: Float32Array | null;
}

export interface OrtDeformConv {
  /** Thread count requested for the wasm runtime. */
  readonly threads: number;
  /** Forward pass; resolves to the output `[N, Cout, Ho, Wo]`. Calls on one instance run one at a time. */
  run(g: ConvGeometry, tensors: OrtDeformConvTensors): Promise<Float32Array>;
  /** Number of cached sessions (one per geometry and mask/bias combination). */
  readonly sessionCount: number;
  /** Releases every cached session. The instance stays usable (sessions are re-created on demand). */
  dispose(): Promise<void>;
}

export type OrtAvailability = { ok: true } | { ok: false; reason: string };

function describeError(e: unknown): string {
  if (e instanceof Error) return e.message || e.name;
  return String(e);
}

// ---------------------------------------------------------------------------------------------------------------
// Sessions.

function geometryKey(g: ConvGeometry, withMask: boolean, withBias: boolean): string {
  return [
    g.batch, g.inChannels, g.inHeight, g.inWidth, g.outChannels, g.kernelH, g.kernelW, g.strideH, g.strideW,
    g.padTop, g.padLeft, g.padBottom, g.padRight, g.dilationH, g.dilationW, g.groups, g.offsetGroups,
    g.outHeight, g.outWidth, withMask ? 'm' : '-', withBias ? 'b' : '-',
  ].join(',');
}

function elementCount(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

function checkLength(name: string, data: Float32Array, dims: readonly number[]): void {
  if (!(data instanceof Float32Array)) throw new TypeError(`${name} must be a Float32Array`);
  const want = elementCount(dims);
  if (data.length !== want) {
    throw new RangeError(`${name}: expected ${want} elements for shape [${dims.join(', ')}], got ${data.length}`);
  }
}

export function createOrtDeformConv(options?: OrtDeformConvOptions): OrtDeformConv {
  const threads = checkThreads(options?.threads ?? 1);
  const sessions = new OrtSessions();

  async function runOnce(g: ConvGeometry, t: OrtDeformConvTensors): Promise<Float32Array> {
    const withMask = t.mask !== null;
    const withBias = t.bias !== null;
    const shapes = deformConvModelShapes(g);
    checkLength('input', t.input, shapes.X);
    checkLength('weight', t.weight, shapes.W);
    checkLength('offset', t.offset, shapes.offset);
    if (t.mask !== null) checkLength('mask', t.mask, shapes.mask);
    if (t.bias !== null) checkLength('bias', t.bias, shapes.B);
    const outCount = elementCount(shapes.Y);
    // An empty output (e.g. batch 0) needs no kernel; ORT would return the same empty tensor.
    if (outCount === 0) return new Float32Array(0);

    const ort = await loadOrt(threads);
    const s = await sessions.session(ort, geometryKey(g, withMask, withBias), () => buildDeformConvModel(g, { withMask, withBias }));
    const io = DEFORM_CONV_IO;
    const feeds: Record<string, OrtTensor> = {
      [io.input]: new ort.Tensor('float32', t.input, shapes.X),
      [io.weight]: new ort.Tensor('float32', t.weight, shapes.W),
      [io.offset]: new ort.Tensor('float32', t.offset, shapes.offset),
    };
    if (t.bias !== null) feeds[io.bias] = new ort.Tensor('float32', t.bias, shapes.B);
    if (t.mask !== null) feeds[io.mask] = new ort.Tensor('float32', t.mask, shapes.mask);
    const results = await s.run(feeds);
    const y = results[io.output];
    if (y === undefined) throw new Error(`onnxruntime-web returned no ${io.output}`);
    const data = y.data;
    if (!(data instanceof Float32Array) || data.length !== outCount) {
      throw new Error(`onnxruntime-web returned an unexpected ${io.output} (${y.type}, dims [${y.dims.join(', ')}])`);
    }
    return data;
  }

  return {
    threads,
    get sessionCount() {
      return sessions.size;
    },
    run: (g, tensors) => sessions.serialise(() => runOnce(g, tensors)),
    dispose: () => sessions.dispose(),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Availability probe.

const PROBE_GEOMETRY: ConvGeometry = {
  batch: 1, inChannels: 1, inHeight: 2, inWidth: 2, outChannels: 1, kernelH: 1, kernelW: 1,
  strideH: 1, strideW: 1, padTop: 0, padLeft: 0, padBottom: 0, padRight: 0, dilationH: 1, dilationW: 1,
  groups: 1, offsetGroups: 1, outHeight: 2, outWidth: 2, hasMask: true, hasBias: true,
};

let availability: Promise<OrtAvailability> | null = null;

async function probe(threads: number): Promise<OrtAvailability> {
  try {
    await loadOrt(threads);
  } catch (e) {
    return { ok: false, reason: `cannot load onnxruntime-web: ${describeError(e)}` };
  }
  const runner = createOrtDeformConv({ threads });
  try {
    // x = [1 2; 3 4], w = 2, offsets shift every sample by +0.5 in x, mask 0.5, bias 1:
    // y(r, c) = 1 + 2 * 0.5 * bilinear(r, c + 0.5), and the right column reads half a zero.
    const y = await runner.run(PROBE_GEOMETRY, {
      input: new Float32Array([1, 2, 3, 4]),
      weight: new Float32Array([2]),
      offset: new Float32Array([0, 0, 0, 0, 0.5, 0.5, 0.5, 0.5]),
      mask: new Float32Array([0.5, 0.5, 0.5, 0.5]),
      bias: new Float32Array([1]),
    });
    const want = [2.5, 2, 4.5, 3];
    if (!want.every((v, i) => Math.abs(y[i] - v) < 1e-6)) {
      return { ok: false, reason: `onnxruntime-web DeformConv probe gave [${Array.from(y).join(', ')}], expected [${want.join(', ')}]` };
    }
    return { ok: true };
  } catch (e) {
    return { ok: false, reason: `onnxruntime-web DeformConv (wasm) failed: ${describeError(e)}` };
  } finally {
    await runner.dispose();
  }
}

/**
 * Whether onnxruntime-web loads under this runtime and runs DeformConv correctly on a tiny probe; the reason
 * otherwise (for "skipped because ..." messages). The wasm runtime is initialised with `threads` (default: the
 * count it already has, else 1). A successful answer is cached.
 */
export function ortAvailable(options?: OrtDeformConvOptions): Promise<OrtAvailability> {
  const loaded = ortThreadCount();
  const threads = checkThreads(options?.threads ?? loaded ?? 1);
  if (loaded !== null && loaded !== threads) {
    return Promise.resolve({
      ok: false,
      reason: `onnxruntime-web is already initialised with ${loaded} thread(s) in this process, not ${threads}`,
    });
  }
  if (availability !== null) return availability;
  const p = probe(threads);
  availability = p;
  void p.then((r) => {
    if (!r.ok && availability === p) availability = null;
  });
  return p;
}
