// The page of test/browser.test.ts, bundled by esbuild (platform browser, format esm) as an application
// would bundle it: tfjs-core, tfjs-backend-webgpu (which registers backend 'webgpu' from this page's own
// navigator.gpu) and @dcnv2/tfjs as it ships (dist/, resolved by the test's esbuild call). The golden cases
// come in as shapes, params and base64 float32 tensors; each result goes back as base64, per case and
// tensor name (output, grad_input, ...), for the test to compare in Node at the conformance tolerances.
// Plain JavaScript: the package's type check (tsconfig.json) runs before its own dist/ is built.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgpu';
import { deformConv2d, deformRoiPool, prepareDcnv2 } from '@dcnv2/tfjs';

function decode(s) {
  const bin = atob(s);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new Float32Array(bytes.buffer);
}

function encode(f) {
  const bytes = new Uint8Array(f.buffer, f.byteOffset, f.byteLength);
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

const infoOf = (i) => (i ? { vendor: i.vendor, architecture: i.architecture, device: i.device, description: i.description, isFallbackAdapter: i.isFallbackAdapter } : null);

/** Switches tfjs to webgpu (on this page's navigator.gpu) and prepares the dcnv2 backend on tfjs's device. */
async function useWebGpu() {
  const ok = await tf.setBackend('webgpu');
  await tf.ready();
  const dcn = await prepareDcnv2('webgpu');
  const device = tf.backend().device;
  return { setBackend: ok, backend: tf.getBackend(), sameDevice: dcn.device === device, adapter: infoOf(device?.adapterInfo) };
}

/** Reads every kept tensor (`await data()`, no synchronous read-back on webgpu), disposes it; name -> base64. */
async function readAll(kept) {
  const r = {};
  for (const [name, t] of kept) {
    r[name] = encode(await t.data());
    t.dispose();
  }
  return r;
}

const nchwToNhwc = (x) => tf.transpose(x, [0, 2, 3, 1]);

/**
 * deform_conv2d, every case (pagePayload's format), in `format`: the output and the gradient of every
 * input present (tf.grads with the case's gradOutput as dy), all returned in NCHW / OIHW like the vectors.
 */
async function runConv(cases, format) {
  await useWebGpu();
  const nhwc = format === 'NHWC';
  const before = tf.memory().numTensors;
  const results = [];
  for (const c of cases) {
    const kept = [];
    tf.tidy(() => {
      const names = ['input', 'weight', 'offset', ...(c.mask !== null ? ['mask'] : []), ...(c.bias !== null ? ['bias'] : [])];
      const xs = names.map((n) => {
        const x = tf.tensor(decode(c[n]), c.shapes[n]);
        return !nhwc || n === 'bias' ? x : n === 'weight' ? tf.transpose(x, [2, 3, 1, 0]) : nchwToNhwc(x);
      });
      const f = (...a) => deformConv2d(Object.fromEntries(names.map((n, i) => [n, a[i]])), { ...c.params, dataFormat: format });
      const y = f(...xs);
      kept.push(['output', tf.keep(nhwc ? tf.transpose(y, [0, 3, 1, 2]) : y)]);
      if (c.gradOutput === null) return;
      const dyNchw = tf.tensor(decode(c.gradOutput), c.shapes.output);
      const grads = tf.grads(f)(xs, nhwc ? nchwToNhwc(dyNchw) : dyNchw);
      names.forEach((n, i) => {
        const g = n === 'bias' || !nhwc ? grads[i] : n === 'weight' ? tf.transpose(grads[i], [3, 2, 0, 1]) : tf.transpose(grads[i], [0, 3, 1, 2]);
        kept.push([`grad_${n}`, tf.keep(g)]);
      });
    });
    results.push(await readAll(kept));
  }
  return { results, numTensors: { before, after: tf.memory().numTensors } };
}

/** deform_roi_pool, every case, NCHW: the output and the gradients of input, offset and mask (where present). */
async function runRoi(cases) {
  await useWebGpu();
  const before = tf.memory().numTensors;
  const results = [];
  for (const c of cases) {
    const kept = [];
    tf.tidy(() => {
      const names = ['input', ...(c.offset !== null ? ['offset'] : []), ...(c.mask !== null ? ['mask'] : [])];
      const xs = names.map((n) => tf.tensor(decode(c[n]), c.shapes[n]));
      const rois = tf.tensor(decode(c.rois), c.shapes.rois);
      const f = (...a) => deformRoiPool({ ...Object.fromEntries(names.map((n, i) => [n, a[i]])), rois }, { ...c.params, dataFormat: 'NCHW' });
      kept.push(['output', tf.keep(f(...xs))]);
      if (c.gradOutput === null) return;
      const grads = tf.grads(f)(xs, tf.tensor(decode(c.gradOutput), c.shapes.output));
      names.forEach((n, i) => kept.push([`grad_${n}`, tf.keep(grads[i])]));
    });
    results.push(await readAll(kept));
  }
  return { results, numTensors: { before, after: tf.memory().numTensors } };
}

window.probeAdapter = async () => {
  if (!('gpu' in navigator)) return { hasGpu: false, adapter: null };
  const adapter = await navigator.gpu.requestAdapter();
  return { hasGpu: true, adapter: adapter === null ? null : infoOf(adapter.info) };
};
window.useWebGpu = useWebGpu;
window.runConv = runConv;
window.runRoi = runRoi;
window.pageReady = true;
