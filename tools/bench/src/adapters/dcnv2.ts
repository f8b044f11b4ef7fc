/**
 * Any dcnv2 backend, loaded from the module that exports its `dcnBackend` provider, called through core's public
 * `deformConv2d` / `deformConv2dBackward` with host tensors: what a user pays, validation, uploads and
 * read-backs included. Adding a backend needs nothing here.
 */
import { convShapes, deformConv2d, deformConv2dBackward, type HostTensor as CoreHostTensor } from '@dcnv2/core';
import { convParams } from '@dcnv2/conformance';
import { dcnv2Runner, openDcnv2Backend, requireKernels } from './dcnv2-backend.js';
import type { Adapter, CheckTensorName } from './types.js';

export const dcnv2Adapter: Adapter = async (c, { threads, direction, module }) => {
  const open = await openDcnv2Backend(module, threads);
  await requireKernels(open, 'deform_conv2d', direction);
  const backend = open.backend;

  const g = c.geometry;
  const s = convShapes(g);
  const args = {
    input: { shape: s.input, data: c.input },
    weight: { shape: s.weight, data: c.weight },
    offset: { shape: s.offset, data: c.offset },
    mask: { shape: s.mask, data: c.mask },
    bias: { shape: s.bias, data: c.bias },
  };
  const gradOutput = { shape: s.output, data: c.gradOutput };
  const params = convParams(g);

  async function once(): Promise<Partial<Record<CheckTensorName, CoreHostTensor>>> {
    const output = await deformConv2d(args, params, { backend });
    if (direction === 'fwd') return { output };
    const grads = await deformConv2dBackward({ ...args, gradOutput }, params, { backend });
    return {
      output,
      grad_input: grads.input,
      grad_offset: grads.offset,
      grad_mask: grads.mask,
      grad_weight: grads.weight,
      grad_bias: grads.bias,
    };
  }

  return dcnv2Runner(open, once);
};
