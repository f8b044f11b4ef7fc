/**
 * Host side of the backward pass: the kernels of backward-shader.ts (one program, BACKWARD_PROGRAM, whose
 * interface gives the bind group layout and uniforms), and the dispatches of one `deformConv2dBackward`
 * call, all in one command buffer, each grid from `linearGrid` (a `LimitError` beyond the device's limit).
 * With f16 storage grad_input is accumulated in a float32 scratch buffer (the CAS adds need 32-bit
 * words) and rounded into the f16 tensor by a last dispatch.
 */
import type { ConvGeometry, ConvGradRequest } from '@dcnv2/core';
import { BACKWARD_PROGRAM, BACKWARD_WORKGROUP, backwardShader, type BackwardEntry } from './backward-shader.js';
import { ComputeProgram, Recording } from './compute-program.js';
import { convUniforms } from './conv-uniforms.js';
import { linearGrid } from './dispatch-grid.js';
import type { UniformValues } from './program-interface.js';
import type { StorageType } from './storage-type.js';

/** Most invocations of one gradInput dispatch (see gradInputSlabs). */
export const MAX_DISPATCH_ITEMS = 2 ** 30;

/** A gradInput dispatch: images [nBase, nBase + nCount) x channels [cBase, cBase + cCount). */
export interface GradInputSlab {
  readonly nBase: number;
  readonly nCount: number;
  readonly cBase: number;
  readonly cCount: number;
}

/**
 * The dispatches of gradInput, one invocation per (n, c, tap, pixel): N * Cin * K * Ho * Wo can pass 2^32
 * (Cin 256, a 3x3 kernel and 2M output pixels already do), where a linear invocation id wraps and the i32
 * `total` uniform overflows. So the work goes in slabs of whole images or, when one image is too much, of
 * channels, each of at most `maxItems` invocations. `plane` = K * Ho * Wo is at most half the offset
 * tensor's size, below 2^30, so a slab of one channel always fits.
 */
export function gradInputSlabs(batch: number, channels: number, plane: number, maxItems = MAX_DISPATCH_ITEMS): GradInputSlab[] {
  const slabs: GradInputSlab[] = [];
  if (plane <= 0 || channels <= 0) return slabs;
  const cStep = Math.min(channels, Math.max(1, Math.floor(maxItems / plane)));
  const nStep = cStep < channels ? 1 : Math.max(1, Math.floor(maxItems / (plane * channels)));
  for (let n0 = 0; n0 < batch; n0 += nStep) {
    for (let c0 = 0; c0 < channels; c0 += cStep) {
      slabs.push({ nBase: n0, nCount: Math.min(nStep, batch - n0), cBase: c0, cCount: Math.min(cStep, channels - c0) });
    }
  }
  return slabs;
}

export interface BackwardBuffers {
  readonly input: GPUBuffer;
  readonly weight: GPUBuffer;
  readonly offset: GPUBuffer;
  readonly mask: GPUBuffer | null;
  readonly gradOut: GPUBuffer;
  /** Outputs (already allocated; null where not requested). */
  readonly gInput: GPUBuffer | null;
  readonly gOffset: GPUBuffer | null;
  readonly gMask: GPUBuffer | null;
  readonly gWeight: GPUBuffer | null;
  readonly gBias: GPUBuffer | null;
  /**
   * f16 storage: a float32 buffer of as many elements as grad_input, where grad_input is accumulated
   * before being rounded into `gInput`. Null with f32 storage (the adds go to `gInput` directly).
   */
  readonly gInputF32: GPUBuffer | null;
}

export class BackwardKernels {
  private constructor(private readonly dev: GPUDevice, private readonly storage: StorageType, private readonly program: ComputeProgram<typeof BACKWARD_PROGRAM>) {}

  /** Compiles every entry point the storage type needs. */
  static async create(dev: GPUDevice, storage: StorageType): Promise<BackwardKernels> {
    const program = new ComputeProgram(dev, BACKWARD_PROGRAM, backwardShader);
    const entries: BackwardEntry[] = ['gradBias', 'gradWeight', 'gradCoord', 'gradInput', ...(storage === 'f16' ? (['storeGradInput'] as const) : [])];
    await program.ready(storage, entries);
    return new BackwardKernels(dev, storage, program);
  }

  destroy(): void {
    this.program.destroy();
  }

  /** Records and submits every requested gradient's dispatches. `maxDim` = maxComputeWorkgroupsPerDimension. */
  run(g: ConvGeometry, b: BackwardBuffers, want: ConvGradRequest, maxDim: number): void {
    const HoWo = g.outHeight * g.outWidth;
    const K = g.kernelH * g.kernelW;
    const base: UniformValues<typeof BACKWARD_PROGRAM> = {
      ...convUniforms(g, b.mask !== null), n: g.batch, wantOffset: b.gOffset ? 1 : 0, wantMask: b.gMask ? 1 : 0, total: 0, rowStride: 0, nBase: 0, cBase: 0, cCount: g.inChannels,
    };
    const reads = { inp: b.input, wgt: b.weight, off: b.offset, msk: b.mask, gout: b.gradOut };
    const rec = new Recording(this.dev, 'dcnv2 backward');
    const dispatch = (entry: BackwardEntry, total: number, writes: { out0?: GPUBuffer | null; out1?: GPUBuffer | null; gin?: GPUBuffer | null }, slab?: { nBase: number; cBase: number; cCount: number }) => {
      if (total === 0) return;
      // `total` is an i32 uniform and linear ids (< total + one row) u32: every total is a tensor size,
      // which core keeps below 2^31, or a gradInput slab.
      const grid = linearGrid(total, BACKWARD_WORKGROUP, { maxDim, argument: 'gradOutput', kernel: entry });
      this.program.dispatch(rec, this.storage, entry, { ...base, ...slab, total, rowStride: grid.x * BACKWARD_WORKGROUP }, { ...reads, ...writes }, grid);
    };
    if (want.bias && b.gBias) dispatch('gradBias', g.outChannels, { out0: b.gBias });
    if (want.weight && b.gWeight) dispatch('gradWeight', g.outChannels * (g.inChannels / g.groups) * K, { out0: b.gWeight });
    if (b.gOffset || b.gMask) dispatch('gradCoord', g.batch * g.offsetGroups * K * HoWo, { out0: b.gOffset, out1: b.gMask });
    if (b.gInput) {
      const acc = b.gInputF32 ?? b.gInput;
      rec.encoder.clearBuffer(acc);
      for (const slab of gradInputSlabs(g.batch, g.inChannels, K * HoWo)) {
        dispatch('gradInput', slab.nCount * slab.cCount * K * HoWo, { gin: acc }, { nBase: slab.nBase, cBase: slab.cBase, cCount: slab.cCount });
      }
      if (b.gInputF32) dispatch('storeGradInput', g.batch * g.inChannels * g.inHeight * g.inWidth, { out0: b.gInput, gin: b.gInputF32 });
    }
    rec.submit();
  }
}
