/**
 * Any dcnv2 backend's RoI pooling, called through core's public `deformRoiPool` / `deformRoiPoolBackward` with
 * host tensors: what a user pays, validation (RoI values included), uploads and read-backs. Two variants:
 * `deformable` passes the case's offsets and masks (the op itself); `plain` passes neither, which is RoIAlign
 * aligned=True, like for like with the RoIAlign peers. Forward + backward asks for every gradient that exists
 * (input, and offset and mask where given). A backend without the deform_roi_pool kernels a case times is skipped, not failed.
 */
import { deformRoiPool, deformRoiPoolBackward, roiPoolShapes, type HostTensor as CoreHostTensor } from '@dcnv2/core';
import { roiPoolParams } from '@dcnv2/conformance';
import type { RoiKind } from '../impls.js';
import type { RoiCaseData } from '../roi-case-data.js';
import { dcnv2Runner, openDcnv2Backend, requireKernels } from './dcnv2-backend.js';
import type { Adapter, CheckTensorName } from './types.js';

function makeDcnv2RoiAdapter(kind: RoiKind): Adapter<RoiCaseData> {
  return async (c, { threads, direction, module }) => {
    const open = await openDcnv2Backend(module, threads);
    await requireKernels(open, 'deform_roi_pool', direction);
    const backend = open.backend;

    const deformable = kind === 'deformable';
    const g = { ...c.geometry, hasOffset: deformable, hasMask: deformable };
    const s = roiPoolShapes(g);
    const args = {
      input: { shape: s.input, data: c.input },
      rois: { shape: s.rois, data: c.rois },
      offset: deformable ? { shape: s.offset, data: c.offset } : null,
      mask: deformable ? { shape: s.mask, data: c.mask } : null,
    };
    const gradOutput = { shape: s.output, data: c.gradOutput };
    const params = roiPoolParams(g);

    async function once(): Promise<Partial<Record<CheckTensorName, CoreHostTensor>>> {
      const output = await deformRoiPool(args, params, { backend });
      if (direction === 'fwd') return { output };
      const grads = await deformRoiPoolBackward({ ...args, gradOutput }, params, { backend });
      return { output, grad_input: grads.input, grad_offset: grads.offset, grad_mask: grads.mask };
    }

    return dcnv2Runner(open, once);
  };
}

export const dcnv2RoiAdapter = makeDcnv2RoiAdapter('deformable');
export const dcnv2RoiPlainAdapter = makeDcnv2RoiAdapter('plain');
