/**
 * Host side of the backward pass: pipelines of the four kernels of backward-shader.ts (one explicit bind
 * group layout shared by all), and the dispatches of one `deformConv2dBackward` call, all in one command
 * buffer. Unused bindings get small dummy buffers (one per writable slot, so no buffer is bound twice).
 * With f16 storage grad_input is accumulated in a float32 scratch buffer (the CAS adds need 32-bit
 * words) and rounded into the f16 tensor by a last dispatch.
 */
import type { ConvGeometry, ConvGradRequest } from '@dcnv2/core';
import { backwardShader, BWD_FIELDS, BWD_WORKGROUP } from './backward-shader.js';
import { encodeDispatch, SlotBindings, uniformBuffer } from './gpu-plumbing.js';
import type { StorageType } from './storage-type.js';

type Entry = 'gradBias' | 'gradWeight' | 'gradCoord' | 'gradInput' | 'storeGradInput';

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
  private readonly slots: SlotBindings;
  private readonly pipelines = new Map<Entry, GPUComputePipeline>();

  private constructor(private readonly dev: GPUDevice) {
    this.slots = new SlotBindings(dev, 'dcnv2 backward');
  }

  static async create(dev: GPUDevice, storage: StorageType): Promise<BackwardKernels> {
    const k = new BackwardKernels(dev);
    const module = dev.createShaderModule({ code: backwardShader(storage), label: `dcnv2 deform_conv2d backward (${storage})` });
    const layout = dev.createPipelineLayout({ bindGroupLayouts: [k.slots.layout] });
    const entries: Entry[] = ['gradBias', 'gradWeight', 'gradCoord', 'gradInput', ...(storage === 'f16' ? (['storeGradInput'] as const) : [])];
    const pipes = await Promise.all(
      entries.map((entryPoint) => dev.createComputePipelineAsync({ layout, compute: { module, entryPoint }, label: `dcnv2 ${entryPoint}` })),
    );
    entries.forEach((e, i) => k.pipelines.set(e, pipes[i]!));
    return k;
  }

  destroy(): void {
    this.slots.destroy();
  }

  /** Records and submits every requested gradient's dispatches. `maxDim` = maxComputeWorkgroupsPerDimension. */
  run(g: ConvGeometry, b: BackwardBuffers, want: ConvGradRequest, maxDim: number): void {
    const dev = this.dev;
    const HoWo = g.outHeight * g.outWidth;
    const K = g.kernelH * g.kernelW;
    const base: Record<(typeof BWD_FIELDS)[number], number> = {
      cin: g.inChannels, h: g.inHeight, w: g.inWidth, cout: g.outChannels, kh: g.kernelH, kw: g.kernelW,
      sh: g.strideH, sw: g.strideW, padT: g.padTop, padL: g.padLeft, dh: g.dilationH, dw: g.dilationW,
      og: g.offsetGroups, ho: g.outHeight, wo: g.outWidth, hasMask: b.mask ? 1 : 0,
      cinPerG: g.inChannels / g.groups, coutPerG: g.outChannels / g.groups, cinPerOg: g.inChannels / g.offsetGroups,
      k: K, n: g.batch, wantOffset: b.gOffset ? 1 : 0, wantMask: b.gMask ? 1 : 0, total: 0, rowStride: 0, nBase: 0, cBase: 0, cCount: g.inChannels,
    };
    const enc = dev.createCommandEncoder();
    const uniforms: GPUBuffer[] = [];
    const dispatch = (entry: Entry, total: number, out0: GPUBuffer | null, out1: GPUBuffer | null, gin: GPUBuffer | null, slab?: { nBase: number; cBase: number; cCount: number }) => {
      if (total === 0) return;
      const groups = Math.ceil(total / BWD_WORKGROUP);
      const gx = Math.min(groups, maxDim);
      const gy = Math.ceil(groups / gx);
      // `total` is an i32 uniform and linear ids (< total + one row) u32: every total is a tensor size,
      // which core keeps below 2^31, or a gradInput slab.
      if (gy > maxDim || total > 2 ** 31 - 1) throw new RangeError(`backward: ${total} invocations exceed the dispatch grid`);
      const p = { ...base, ...slab, total, rowStride: gx * BWD_WORKGROUP };
      const u = uniformBuffer(dev, new Int32Array(BWD_FIELDS.map((f) => p[f])));
      uniforms.push(u);
      const bind = this.slots.bindGroup(u, [b.input, b.weight, b.offset, b.mask, b.gradOut], [out0, out1, gin]);
      encodeDispatch(enc, this.pipelines.get(entry)!, bind, gx, gy);
    };
    if (want.bias && b.gBias) dispatch('gradBias', g.outChannels, b.gBias, null, null);
    if (want.weight && b.gWeight) dispatch('gradWeight', g.outChannels * (g.inChannels / g.groups) * K, b.gWeight, null, null);
    if (b.gOffset || b.gMask) dispatch('gradCoord', g.batch * g.offsetGroups * K * HoWo, b.gOffset, b.gMask, null);
    if (b.gInput) {
      const acc = b.gInputF32 ?? b.gInput;
      enc.clearBuffer(acc);
      for (const slab of gradInputSlabs(g.batch, g.inChannels, K * HoWo)) {
        dispatch('gradInput', slab.nCount * slab.cCount * K * HoWo, null, null, acc, { nBase: slab.nBase, cBase: slab.cBase, cCount: slab.cCount });
      }
      if (b.gInputF32) dispatch('storeGradInput', g.batch * g.inChannels * g.inHeight * g.inWidth, b.gInput, null, b.gInputF32);
    }
    dev.queue.submit([enc.finish()]);
    for (const u of uniforms) u.destroy();
  }
}
