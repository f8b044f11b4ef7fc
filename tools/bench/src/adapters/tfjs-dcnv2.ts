/**
 * dcnv2's deformable convolution as a tfjs op: `deformConv2d` of `@dcnv2/tfjs` on tf.Tensors, on tfjs `cpu`
 * (kernels on @dcnv2/backend-cpu) or tfjs `wasm` (kernels on @dcnv2/backend-wasm at the row's thread count,
 * one), what a tfjs model pays per call of the op. Each row starts where its users' data is: a tfjs model
 * holds its tensors in tfjs already (weights are variables, activations come from the layer below), so the
 * tf.Tensors are made once in setup; a direct caller holds host arrays, so the direct `dcnv2-<backend>` row
 * (markdown.ts's `÷ dcnv2 direct` column divides by it) uploads them every run. Both then run one forward
 * kernel (and one backward: dy is tf.valueAndGrads' seed, no multiply or sum is added) and read every
 * result back to the host (`dataSync` here, `download` there). The difference is the tfjs path, all of it
 * counted: the kernels reading tfjs's storage (tfjs cpu: the values themselves; wasm: views of its memory)
 * and copying it into dcnv2's, their results written into tfjs's storage, the layout change of the NHWC rows,
 * and tfjs's autodiff bookkeeping (on tfjs wasm the tape saves a copy of every input of the node, its
 * Identity kernel copying the data). The kernels keep the forward call's uploaded inputs for the node's
 * gradient (@dcnv2/tfjs host-cache.ts), as tfjs's tape keeps its inputs: the direct row uploads them again
 * for `deformConv2dBackward`. The NHWC rows' weight is the same tensor every run, so its reorder is cached
 * after the first (as in inference; in training each step's weight is new and pays it).
 *
 * `tfjs-dcnv2-*` passes NCHW / OIHW tensors, exactly the case's; `tfjs-nhwc-*` passes tfjs's default NHWC /
 * HWIO, laid out once in setup (a tfjs model holds them that way), its results turned back to NCHW only for
 * the agreement check.
 */
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { convShapes, type Backend } from '@dcnv2/core';
import { convParams } from '@dcnv2/conformance';
import type { Tensor, Tensor1D, Tensor4D } from '@tensorflow/tfjs-core';
import { packageVersion } from '../package-info.js';
import type { TfjsDcnv2Backend, TfjsDcnv2Layout } from '../tfjs-rows.js';
import { permute4d } from './permute-4d.js';
import { loadTf } from './tfjs-dense.js';
import type { Adapter, CheckTensorName, HostTensor } from './types.js';

type Dims4 = [number, number, number, number];
const NCHW_TO_NHWC: Dims4 = [0, 2, 3, 1];
const NHWC_TO_NCHW: Dims4 = [0, 3, 1, 2];
const OIHW_TO_HWIO: Dims4 = [2, 3, 1, 0];
const HWIO_TO_OIHW: Dims4 = [3, 2, 0, 1];

/** The names of the op's inputs, in the order tf.valueAndGrads takes them, and of their gradients. */
const INPUTS = ['input', 'weight', 'offset', 'mask', 'bias'] as const;
type InputName = (typeof INPUTS)[number];
const GRAD_NAMES: Readonly<Record<InputName, CheckTensorName>> = {
  input: 'grad_input',
  weight: 'grad_weight',
  offset: 'grad_offset',
  mask: 'grad_mask',
  bias: 'grad_bias',
};

/** A host tensor in the call's layout, and how a tensor of that layout goes back to the case's (NCHW / OIHW). */
interface Laid {
  readonly shape: readonly number[];
  readonly data: Float32Array;
  readonly back: (data: Float32Array) => Float32Array;
}

function same(shape: readonly number[], data: Float32Array): Laid {
  return { shape, data, back: (d) => d };
}

/** `data` (NCHW / OIHW `shape`) in the NHWC call's layout: permuted by `to`, and back by `from`. */
function permuted(shape: readonly number[], data: Float32Array, to: Dims4, from: Dims4): Laid {
  const s = shape as Dims4;
  const t = to.map((a) => s[a]!) as Dims4;
  return { shape: t, data: permute4d(data, s, to), back: (d) => permute4d(d, t, from) };
}

export function makeTfjsDcnv2Adapter(backend: TfjsDcnv2Backend, layout: TfjsDcnv2Layout): Adapter {
  return async (c, { direction }) => {
    const tf = await loadTf(backend);
    const dcn = await import('@dcnv2/tfjs');
    const here = fileURLToPath(import.meta.url);
    let served: unknown;
    if (backend === 'wasm') {
      // One thread, as the direct row it is divided by (prepareDcnv2 would take every core, blocking).
      const wasmEntry = createRequire(createRequire(here).resolve('@dcnv2/tfjs')).resolve('@dcnv2/backend-wasm');
      const { createWasmBackend } = (await import(pathToFileURL(wasmEntry).href)) as { createWasmBackend(o: { threads: number }): Backend };
      const b = createWasmBackend({ threads: 1 });
      await b.init();
      await dcn.disposeDcnv2Backends();
      dcn.setDcnv2Backend('wasm', b);
      served = b;
    } else {
      served = await dcn.prepareDcnv2(backend);
    }

    const g = c.geometry;
    const s = convShapes(g);
    const nhwc = layout === 'NHWC';
    const lay = (shape: readonly number[], data: Float32Array, weight = false): Laid =>
      !nhwc ? same(shape, data) : weight ? permuted(shape, data, OIHW_TO_HWIO, HWIO_TO_OIHW) : permuted(shape, data, NCHW_TO_NHWC, NHWC_TO_NCHW);
    const host: Readonly<Record<InputName, Laid>> = {
      input: lay(s.input, c.input),
      weight: lay(s.weight, c.weight, true),
      offset: lay(s.offset, c.offset),
      mask: lay(s.mask, c.mask),
      bias: same(s.bias, c.bias),
    };
    // The output comes back in the layout of the input (NHWC: [N, Ho, Wo, Cout]).
    const outBack = (d: Float32Array) => (nhwc ? permute4d(d, [g.batch, g.outHeight, g.outWidth, g.outChannels], NHWC_TO_NCHW) : d);
    const dyHost = lay(s.output, c.gradOutput);
    const params = { ...convParams(g), dataFormat: layout };

    const op = (input: Tensor, weight: Tensor, offset: Tensor, mask: Tensor, bias: Tensor): Tensor =>
      dcn.deformConv2d(
        { input: input as Tensor4D, weight: weight as Tensor4D, offset: offset as Tensor4D, mask: mask as Tensor4D, bias: bias as Tensor1D },
        params,
      );
    const withGrads = tf.valueAndGrads(op as (...args: Tensor[]) => Tensor);

    // The tensors a model holds: made once.
    const xs = INPUTS.map((k) => tf.tensor(host[k].data, [...host[k].shape], 'float32'));
    const dy = tf.tensor(dyHost.data, [...dyHost.shape], 'float32');

    /** One call as a model makes it: the op (and its gradients) on its tensors, results read back. */
    function once(): Partial<Record<CheckTensorName, Float32Array>> {
      const made: Tensor[] = [];
      try {
        if (direction === 'fwd') {
          const y = op(xs[0]!, xs[1]!, xs[2]!, xs[3]!, xs[4]!);
          made.push(y);
          return { output: y.dataSync() as Float32Array };
        }
        const { value, grads } = withGrads(xs, dy);
        made.push(value, ...grads);
        const r: Partial<Record<CheckTensorName, Float32Array>> = { output: value.dataSync() as Float32Array };
        INPUTS.forEach((k, i) => (r[GRAD_NAMES[k]] = grads[i]!.dataSync() as Float32Array));
        return r;
      } finally {
        tf.dispose(made);
      }
    }

    const tfjsPkg = packageVersion('@dcnv2/tfjs', here);
    // The dcnv2 backend serving the tfjs backend, as @dcnv2/tfjs resolves it, and the build it picked.
    let dcnPkg = `@dcnv2/backend-${backend} ?`;
    try {
      dcnPkg = packageVersion(`@dcnv2/backend-${backend}`, createRequire(here).resolve('@dcnv2/tfjs'));
    } catch {
      // keep the name
    }
    const info = (served as { info?: { variant?: unknown } }).info;
    const variant = typeof info?.variant === 'string' ? ` (${info.variant})` : '';
    const tfjsBackendPkg = backend === 'cpu' ? '@tensorflow/tfjs-backend-cpu' : '@tensorflow/tfjs-backend-wasm';
    return {
      version: `${tfjsPkg} ${layout} on ${packageVersion(tfjsBackendPkg, here)}, kernels on ${dcnPkg}${variant}`,
      threads: 1,
      async run() {
        once();
      },
      async outputs() {
        const r = once();
        const res: Partial<Record<CheckTensorName, HostTensor>> = {};
        res.output = { shape: s.output, data: outBack(r.output!) };
        for (const k of INPUTS) {
          const got = r[GRAD_NAMES[k]];
          if (got !== undefined) res[GRAD_NAMES[k]] = { shape: s[k], data: host[k].back(got) };
        }
        return res;
      },
      async dispose() {
        tf.dispose([...xs, dy]);
        await dcn.disposeDcnv2Backends();
      },
    };
  };
}

export const tfjsDcnv2CpuAdapter = makeTfjsDcnv2Adapter('cpu', 'NCHW');
export const tfjsDcnv2WasmAdapter = makeTfjsDcnv2Adapter('wasm', 'NCHW');
export const tfjsNhwcCpuAdapter = makeTfjsDcnv2Adapter('cpu', 'NHWC');
export const tfjsNhwcWasmAdapter = makeTfjsDcnv2Adapter('wasm', 'NHWC');
