// In-page runner of one golden case through @dcnv2/core's public API (resolved by the page's import map),
// forward and, where the case has a gradOutput, backward; every result comes back as base64 (the test
// decodes and checks it with checkPageResults). Which tensors an op takes and which gradients it returns
// come from core's op table (OPS), not from this file.
import { deformConv2d, deformConv2dBackward, deformRoiPool, deformRoiPoolBackward, OPS } from '@dcnv2/core';
import { encode, tensor as t } from './tensor-codec.js';

/** The op's `args` from a payload case: each input of the op table, shaped as the payload says (null when absent). */
function argsOf(op, c) {
  return Object.fromEntries(op.inputs.map((i) => [i.name, t(c.shapes[i.name], c[i.name] ?? null)]));
}

async function runCase(op, forward, backward, c, backend) {
  const args = argsOf(op, c);
  const r = { output: encode((await forward(args, c.params, { backend })).data) };
  if (c.gradOutput !== null) {
    const g = await backward({ ...args, gradOutput: t(c.shapes.output, c.gradOutput) }, c.params, { backend });
    for (const k of op.grads) if (g[k]) r[`grad_${k}`] = encode(g[k].data);
  }
  return r;
}

/** A deform_conv2d case (pagePayload's format) on `backend`. */
export function runConvCase(backend, c) {
  return runCase(OPS.deform_conv2d, deformConv2d, deformConv2dBackward, c, backend);
}

/** A deform_roi_pool case on `backend`. */
export function runRoiCase(backend, c) {
  return runCase(OPS.deform_roi_pool, deformRoiPool, deformRoiPoolBackward, c, backend);
}
