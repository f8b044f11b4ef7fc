/**
 * The dense yardstick in JavaScript: a plain convolution of the same shape with TensorFlow.js (`tf.fused.conv2d`
 * with bias, what tfjs layers call) on its cpu backend (`dense-tfjs-cpu`, plain JS) and its wasm backend
 * (`dense-tfjs-wasm`, XNNPACK with SIMD, single-threaded: its threaded build needs a browser worker setup).
 *
 * tfjs convolves channels-last, and its wasm backend supports nothing else, so the case's input and weight are
 * laid out once as NHWC / HWIO in setup (a tfjs model keeps them that way); each run creates the tensors from
 * those arrays, convolves and reads the result back to the host. Not a deformable conv: the agreement check
 * compares it with a plain float64 convolution instead.
 *
 * Forward only: tfjs-backend-wasm has no Conv2DBackpropFilter kernel, and tfjs-backend-cpu's is a naive loop
 * (about 23 s on shape A on the 2-core development machine, some 80x its forward), no useful yardstick.
 */
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { packageVersion } from '../package-info.js';
import { permute4d } from './permute-4d.js';
import { SkipError, type Adapter } from './types.js';

type Tf = typeof import('@tensorflow/tfjs-core');

/** NCHW -> NHWC. */
export function nchwToNhwc(src: Float32Array, n: number, c: number, h: number, w: number): Float32Array {
  return permute4d(src, [n, c, h, w], [0, 2, 3, 1]);
}

/** NHWC -> NCHW. */
export function nhwcToNchw(src: Float32Array, n: number, c: number, h: number, w: number): Float32Array {
  return permute4d(src, [n, h, w, c], [0, 3, 1, 2]);
}

/** OIHW -> HWIO (tfjs filter layout). */
export function oihwToHwio(src: Float32Array, o: number, i: number, kh: number, kw: number): Float32Array {
  return permute4d(src, [o, i, kh, kw], [2, 3, 1, 0]);
}

/** tfjs-core on `backend` (cpu; wasm single-threaded, its .wasm files from disk), ready. */
export async function loadTf(backend: 'cpu' | 'wasm'): Promise<Tf> {
  const tf: Tf = await import('@tensorflow/tfjs-core');
  if (backend === 'cpu') {
    await import('@tensorflow/tfjs-backend-cpu');
  } else {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    // The .wasm files ship next to the package's entry point; loading them from disk keeps the run offline.
    const dir = dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm'));
    wasm.setWasmPaths(`${dir}/`);
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  }
  if (!(await tf.setBackend(backend))) throw new SkipError(`tfjs backend ${backend} failed to initialise`);
  await tf.ready();
  return tf;
}

function makeTfjsAdapter(backend: 'cpu' | 'wasm'): Adapter {
  return async (c, { direction }) => {
    if (direction !== 'fwd') {
      throw new SkipError(
        backend === 'wasm'
          ? 'tfjs-backend-wasm has no Conv2DBackpropFilter kernel'
          : "tfjs-backend-cpu's Conv2DBackpropFilter is a naive loop (~80x its forward), not a useful yardstick",
      );
    }
    const g = c.geometry;
    if (g.groups !== 1) throw new SkipError('tfjs conv2d has no groups');
    if ((g.dilationH > 1 || g.dilationW > 1) && (g.strideH > 1 || g.strideW > 1)) {
      throw new SkipError('tfjs conv2d does not combine dilation > 1 with stride > 1');
    }
    const tf = await loadTf(backend);
    const [n, cin, h, w, cout] = [g.batch, g.inChannels, g.inHeight, g.inWidth, g.outChannels];
    const xNhwc = nchwToNhwc(c.input, n, cin, h, w);
    const wHwio = oihwToHwio(c.weight, cout, cin, g.kernelH, g.kernelW);
    const pad: [[number, number], [number, number], [number, number], [number, number]] = [
      [0, 0],
      [g.padTop, g.padBottom],
      [g.padLeft, g.padRight],
      [0, 0],
    ];
    const once = async (): Promise<Float32Array> => {
      const x = tf.tensor4d(xNhwc, [n, h, w, cin]);
      const filter = tf.tensor4d(wHwio, [g.kernelH, g.kernelW, cin, cout]);
      const bias = tf.tensor1d(c.bias);
      const y = tf.fused.conv2d({ x, filter, bias, strides: [g.strideH, g.strideW], pad, dataFormat: 'NHWC', dilations: [g.dilationH, g.dilationW] });
      try {
        return (await y.data()) as Float32Array;
      } finally {
        tf.dispose([x, filter, bias, y]);
      }
    };
    const here = fileURLToPath(import.meta.url);
    const backendPkg = backend === 'cpu' ? '@tensorflow/tfjs-backend-cpu' : '@tensorflow/tfjs-backend-wasm';
    return {
      version: `${packageVersion('@tensorflow/tfjs-core', here)}, ${packageVersion(backendPkg, here)}${backend === 'wasm' ? ' (simd)' : ''}`,
      threads: 1,
      async run() {
        await once();
      },
      async outputs() {
        const y = await once();
        return { output: { shape: [n, cout, g.outHeight, g.outWidth], data: nhwcToNchw(y, n, cout, g.outHeight, g.outWidth) } };
      },
      async dispose() {
        tf.disposeVariables();
      },
    };
  };
}

export const tfjsCpuAdapter = makeTfjsAdapter('cpu');
export const tfjsWasmAdapter = makeTfjsAdapter('wasm');
