/**
 * A complete out-of-tree dcnv2 backend, small enough to read in one sitting: modulated deformable
 * convolution (DCNv2) forward, in plain JavaScript, on host Float32Arrays. Copy it, run
 *
 *   npx dcnv2-conformance --backend ./my-backend.js
 *
 * and grow it until nothing is skipped. It registers one kernel, deform_conv2d forward, so the suite
 * checks its forward pass (golden vectors from torchvision, properties, fuzzing against a float64
 * reference, onnxruntime-web, adversarial inputs) and reports the kernels it lacks (deform_conv2d
 * backward, deform_roi_pool forward and backward) as missing, by op and direction. The contract is the
 * `Backend` interface of @dcnv2/core (see its README, "Writing a backend"): core validates every call
 * and hands the kernel a resolved `ConvGeometry`.
 */

/** @type {import('@dcnv2/core').BackendCapabilities} */
const capabilities = { threads: 1, float16: false, resident: false, externalBuffers: false };

/**
 * Bilinear sample of plane `v` (H x W, starting at `base`) at (y, x), as torchvision does: 0 once the
 * point is a pixel or more outside the image; corners outside the image read 0 (padding is virtual zeros).
 * @param {Float32Array} v @param {number} base @param {number} H @param {number} W @param {number} y @param {number} x
 */
function bilinear(v, base, H, W, y, x) {
  if (y <= -1 || y >= H || x <= -1 || x >= W) return 0;
  const y0 = Math.floor(y);
  const x0 = Math.floor(x);
  const ly = y - y0;
  const lx = x - x0;
  const at = (/** @type {number} */ yy, /** @type {number} */ xx) => (yy >= 0 && yy < H && xx >= 0 && xx < W ? v[base + yy * W + xx] : 0);
  return (1 - ly) * (1 - lx) * at(y0, x0) + (1 - ly) * lx * at(y0, x0 + 1) + ly * (1 - lx) * at(y0 + 1, x0) + ly * lx * at(y0 + 1, x0 + 1);
}

/**
 * output[n, o, oy, ox] = bias[o] + sum over input channel c of o's group and kernel tap (i, j) of
 *   weight[o, c, i, j] * mask * bilinear(input[n, c], y, x), with
 *   y = oy*strideH - padTop + i*dilationH + dy,  x = ox*strideW - padLeft + j*dilationW + dx,
 * where dy, dx (offset channels 2t and 2t+1) and the mask (channel t) belong to tap t = (g*kh + i)*kw + j
 * of the offset group g of channel c. Sums run in float64 (JavaScript numbers), rounded once on store.
 * @param {import('@dcnv2/core').ConvGeometry} g every size and parameter, validated by core
 * @param {import('@dcnv2/core').ConvInputs<Float32Array>} inputs this backend's handles (mask, bias may be null)
 */
function deformConv2dForward(g, { input, weight, offset, mask, bias }) {
  const { batch: N, inChannels: Cin, inHeight: H, inWidth: W, outChannels: Cout, kernelH: kh, kernelW: kw, outHeight: Ho, outWidth: Wo } = g;
  const cinPerGroup = Cin / g.groups;
  const coutPerGroup = Cout / g.groups;
  const cinPerOffsetGroup = Cin / g.offsetGroups;
  const taps = kh * kw;
  const P = Ho * Wo;
  const out = new Float32Array(N * Cout * P);
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < Cout; o++) {
      const group = Math.floor(o / coutPerGroup);
      for (let oy = 0; oy < Ho; oy++) {
        for (let ox = 0; ox < Wo; ox++) {
          const p = oy * Wo + ox;
          let sum = bias === null ? 0 : bias[o];
          for (let ci = 0; ci < cinPerGroup; ci++) {
            const c = group * cinPerGroup + ci;
            const og = Math.floor(c / cinPerOffsetGroup);
            for (let i = 0; i < kh; i++) {
              for (let j = 0; j < kw; j++) {
                const t = (n * g.offsetGroups + og) * taps + i * kw + j;
                const y = oy * g.strideH - g.padTop + i * g.dilationH + offset[2 * t * P + p];
                const x = ox * g.strideW - g.padLeft + j * g.dilationW + offset[(2 * t + 1) * P + p];
                const m = mask === null ? 1 : mask[t * P + p];
                sum += weight[((o * cinPerGroup + ci) * kh + i) * kw + j] * m * bilinear(input, (n * Cin + c) * H * W, H, W, y, x);
              }
            }
          }
          out[(n * Cout + o) * P + p] = sum;
        }
      }
    }
  }
  return out;
}

/** A fresh backend. Its tensor handles are plain Float32Array copies in ordinary memory. */
function createMyBackend() {
  /** @type {import('@dcnv2/core').Backend<Float32Array>} */
  const backend = {
    name: 'my-backend',
    capabilities,
    async init() {}, // compile shaders or wasm, request a device, ...: once, before any call
    upload: (data) => Float32Array.from(data), // copy: the caller may reuse its array after the call
    download: async (handle) => Float32Array.from(handle),
    release() {}, // nothing to free: the garbage collector reclaims the arrays
    // Kernels by op and direction; each gets one argument object. Add `backward({ geometry, inputs,
    // gradOutput, want })` here, and `deform_roi_pool: { forward, backward }`, as you write them.
    kernels: {
      deform_conv2d: { forward: ({ geometry, inputs }) => deformConv2dForward(geometry, inputs) },
    },
    dispose() {},
  };
  return backend;
}

/** What the conformance CLI and the benchmarks load: `{ name, create(options) }`. */
/** @type {import('@dcnv2/core').BackendProvider} */
export const dcnBackend = { name: 'my-backend', create: () => createMyBackend() };
