/**
 * Host-side WebGPU plumbing every kernel module shares: the buffer-usage and shader-stage flags (the
 * GPUBufferUsage / GPUMapMode / GPUShaderStage globals are absent in Node unless Dawn installs them), uniform
 * buffers, one compute pass per dispatch, and the bind group shape of the backward and RoI pooling modules
 * (`SlotBindings`).
 */

/** GPUBufferUsage flags. */
export const MAP_READ = 0x0001;
export const COPY_SRC = 0x0004;
export const COPY_DST = 0x0008;
export const UNIFORM = 0x0040;
export const STORAGE = 0x0080;
/** GPUMapMode.READ. */
export const MAP_MODE_READ = 0x0001;
/** GPUShaderStage.COMPUTE. */
export const COMPUTE = 0x4;

/** A uniform buffer holding `data` (its byte length must be a multiple of 4). */
export function uniformBuffer(dev: GPUDevice, data: GPUAllowSharedBufferSource): GPUBuffer {
  const u = dev.createBuffer({ size: data.byteLength, usage: UNIFORM | COPY_DST });
  dev.queue.writeBuffer(u, 0, data);
  return u;
}

/** Records one compute pass: `pipeline` with `bind` as group 0 over a grid of x * y * z workgroups. */
export function encodeDispatch(enc: GPUCommandEncoder, pipeline: GPUComputePipeline, bind: GPUBindGroup, x: number, y: number, z = 1): void {
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bind);
  pass.dispatchWorkgroups(x, y, z);
  pass.end();
}

type Slot = GPUBuffer | null;

/**
 * One explicit bind group layout for every entry point of a module: binding 0 the uniform block, 1-5
 * read-only storage, 6-8 read-write storage. A slot an entry point does not use is bound to a small dummy
 * buffer, one per writable slot, so no buffer is bound twice as writable storage.
 */
export class SlotBindings {
  readonly layout: GPUBindGroupLayout;
  private readonly dummyR: GPUBuffer;
  private readonly dummyW: readonly GPUBuffer[];

  constructor(private readonly dev: GPUDevice, label: string) {
    const ro = { type: 'read-only-storage' as const };
    const rw = { type: 'storage' as const };
    this.layout = dev.createBindGroupLayout({
      label,
      entries: [
        { binding: 0, visibility: COMPUTE, buffer: { type: 'uniform' } },
        ...[1, 2, 3, 4, 5].map((binding) => ({ binding, visibility: COMPUTE, buffer: ro })),
        ...[6, 7, 8].map((binding) => ({ binding, visibility: COMPUTE, buffer: rw })),
      ],
    });
    this.dummyR = dev.createBuffer({ size: 16, usage: STORAGE | COPY_DST });
    this.dummyW = [0, 1, 2].map(() => dev.createBuffer({ size: 16, usage: STORAGE | COPY_DST }));
  }

  /** A bind group of `uniform`, the read-only slots 1-5 and the writable slots 6-8 (null: the slot's dummy). */
  bindGroup(uniform: GPUBuffer, reads: readonly [Slot, Slot, Slot, Slot, Slot], writes: readonly [Slot, Slot, Slot]): GPUBindGroup {
    return this.dev.createBindGroup({
      layout: this.layout,
      entries: [
        { binding: 0, resource: { buffer: uniform } },
        ...reads.map((b, i) => ({ binding: 1 + i, resource: { buffer: b ?? this.dummyR } })),
        ...writes.map((b, i) => ({ binding: 6 + i, resource: { buffer: b ?? this.dummyW[i]! } })),
      ],
    });
  }

  destroy(): void {
    this.dummyR.destroy();
    for (const b of this.dummyW) b.destroy();
  }
}
