// In-page runner of one golden case through @dcnv2/core's public API (resolved by the page's import map),
// forward and, where the case has a gradOutput, backward; every result comes back as base64 (the test
// decodes and checks it with checkPageResults).
import { deformConv2d, deformConv2dBackward, deformRoiPool, deformRoiPoolBackward } from '@dcnv2/core';
import { encode, tensor as t } from './tensor-codec.js';

async function runCase(forward, backward, args, c, backend, gradNames) {
  const r = { output: encode((await forward(args, c.params, { backend })).data) };
  if (c.gradOutput !== null) {
    const g = await backward({ ...args, gradOutput: t(c.shapes.output, c.gradOutput) }, c.params, { backend });
    for (const k of gradNames) if (g[k]) r[`grad_${k}`] = encode(g[k].data);
  }
  return r;
}

/** A deform_conv2d case (pagePayload's format) on `backend`. */
export function runConvCase(backend, c) {
  const args = {
    input: t(c.shapes.input, c.input), weight: t(c.shapes.weight, c.weight), offset: t(c.shapes.offset, c.offset),
    mask: t(c.shapes.mask, c.mask), bias: t(c.shapes.bias, c.bias),
  };
  return runCase(deformConv2d, deformConv2dBackward, args, c, backend, ['input', 'offset', 'mask', 'weight', 'bias']);
}

/** A deform_roi_pool case on `backend`. */
export function runRoiCase(backend, c) {
  const args = { input: t(c.shapes.input, c.input), rois: t(c.shapes.rois, c.rois), offset: t(c.shapes.offset, c.offset), mask: t(c.shapes.mask, c.mask) };
  return runCase(deformRoiPool, deformRoiPoolBackward, args, c, backend, ['input', 'offset', 'mask']);
}
