/**
 * Host side of the forward convolution: the kernel of forward-shader.ts (FORWARD_PROGRAM) and the
 * dispatches of one `deformConv2d` call, all in one command buffer. The grid is pixel tiles along x,
 * (group, output-channel tile) along y and images along z; the batch is split over dispatches of at most
 * maxComputeWorkgroupsPerDimension images, and the other axes beyond it are a `LimitError`.
 */
import type { ConvGeometry } from '@dcnv2/core';
import { ComputeProgram, Recording } from './compute-program.js';
import { convUniforms } from './conv-uniforms.js';
import { axisPieces, checkedGrid, type Grid } from './dispatch-grid.js';
import { FORWARD_PROGRAM, forwardFlushChunks, forwardShader, TILE_COUT, TILE_PIXELS } from './forward-shader.js';
import type { StorageType } from './storage-type.js';

export interface ForwardBuffers {
  readonly input: GPUBuffer;
  readonly weight: GPUBuffer;
  readonly offset: GPUBuffer;
  readonly mask: GPUBuffer | null;
  readonly bias: GPUBuffer | null;
  readonly output: GPUBuffer;
}

/** The dispatches of one forward call: the images each covers, and its grid. */
export type ForwardPlan = ReadonlyArray<{ readonly n0: number; readonly grid: Grid }>;

export class ForwardKernel {
  private constructor(private readonly dev: GPUDevice, private readonly storage: StorageType, private readonly program: ComputeProgram<typeof FORWARD_PROGRAM>) {}

  static async create(dev: GPUDevice, storage: StorageType): Promise<ForwardKernel> {
    const program = new ComputeProgram(dev, FORWARD_PROGRAM, forwardShader);
    await program.ready(storage, ['main']);
    return new ForwardKernel(dev, storage, program);
  }

  destroy(): void {
    this.program.destroy();
  }

  /** The dispatches for `g` (none for an empty output), checked before anything is allocated: `LimitError` beyond the device's grid. */
  static plan(g: ConvGeometry, maxDim: number): ForwardPlan {
    if (g.batch * g.outChannels * g.outHeight * g.outWidth === 0) return [];
    const x = Math.ceil((g.outHeight * g.outWidth) / TILE_PIXELS);
    const y = Math.ceil(g.outChannels / g.groups / TILE_COUT) * g.groups;
    return axisPieces(g.batch, maxDim).map((b) => ({ n0: b.base, grid: checkedGrid(x, y, b.count, { maxDim, argument: 'output', kernel: 'deform_conv2d forward' }) }));
  }

  /** Records and submits `plan`'s dispatches. */
  run(g: ConvGeometry, b: ForwardBuffers, plan: ForwardPlan): void {
    if (plan.length === 0) return;
    const conv = convUniforms(g, b.mask !== null);
    const base = {
      ...conv, hasBias: b.bias !== null ? 1 : 0, coTiles: Math.ceil(conv.coutPerG / TILE_COUT), n0: 0, flush: forwardFlushChunks(conv.cinPerG, conv.k),
    };
    const buffers = { inp: b.input, wgt: b.weight, off: b.offset, msk: b.mask, bia: b.bias, outp: b.output };
    const rec = new Recording(this.dev, 'dcnv2 forward');
    for (const d of plan) this.program.dispatch(rec, this.storage, 'main', { ...base, n0: d.n0 }, buffers, d.grid);
    rec.submit();
  }
}
