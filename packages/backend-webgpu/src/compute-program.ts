/**
 * A WGSL program on a device, made from its one interface declaration (program-interface.ts): the bind
 * group layout, the bind groups and uniform buffers of its dispatches, and its pipelines, compiled once per
 * (storage type, entry point) and cached by that key. Every kernel module of the backend (forward,
 * backward, RoI pooling) runs through one.
 */
import { COMPUTE, COPY_DST, STORAGE, UNIFORM } from './gpu-flags.js';
import type { Grid } from './dispatch-grid.js';
import {
  packUniforms, storageBinding, UNIFORM_BINDING, type BindingBuffers, type BindingName, type ProgramInterface, type UniformValues,
} from './program-interface.js';
import type { StorageType } from './storage-type.js';

/** One command buffer being recorded, with the uniform buffers its dispatches use (freed once submitted). */
export class Recording {
  readonly encoder: GPUCommandEncoder;
  private readonly uniforms: GPUBuffer[] = [];

  constructor(private readonly dev: GPUDevice, label: string) {
    this.encoder = dev.createCommandEncoder({ label });
  }

  /** A uniform buffer holding `bytes` (a multiple of 4), alive until `submit`. */
  uniform(bytes: ArrayBuffer): GPUBuffer {
    const u = this.dev.createBuffer({ size: bytes.byteLength, usage: UNIFORM | COPY_DST, label: 'dcnv2 uniforms' });
    this.dev.queue.writeBuffer(u, 0, bytes);
    this.uniforms.push(u);
    return u;
  }

  /** Submits the commands and frees the uniform buffers (the queue keeps what it still needs). */
  submit(): void {
    this.dev.queue.submit([this.encoder.finish()]);
    for (const u of this.uniforms) u.destroy();
  }
}

export class ComputeProgram<I extends ProgramInterface> {
  readonly layout: GPUBindGroupLayout;
  private readonly pipelineLayout: GPUPipelineLayout;
  /** What an unbound binding gets: one small buffer for every read-only binding, one per writable binding (never bound twice as writable). */
  private readonly placeholders: readonly GPUBuffer[];
  private readonly modules = new Map<StorageType, GPUShaderModule>();
  /** Pipelines being compiled or compiled, by `storage:entry`. */
  private readonly pending = new Map<string, Promise<GPUComputePipeline>>();
  /** Pipelines compiled, by `storage:entry`: what `dispatch` uses. */
  private readonly compiled = new Map<string, GPUComputePipeline>();

  constructor(private readonly dev: GPUDevice, readonly iface: I, private readonly source: (storage: StorageType) => string) {
    this.layout = dev.createBindGroupLayout({
      label: `dcnv2 ${iface.label}`,
      entries: [
        { binding: UNIFORM_BINDING, visibility: COMPUTE, buffer: { type: 'uniform' } },
        ...iface.storage.map((b, k) => ({
          binding: storageBinding(k), visibility: COMPUTE, buffer: { type: b.access === 'read' ? ('read-only-storage' as const) : ('storage' as const) },
        })),
      ],
    });
    this.pipelineLayout = dev.createPipelineLayout({ bindGroupLayouts: [this.layout], label: `dcnv2 ${iface.label}` });
    const placeholder = () => dev.createBuffer({ size: 16, usage: STORAGE | COPY_DST, label: `dcnv2 ${iface.label} unbound` });
    const shared = placeholder();
    this.placeholders = iface.storage.map((b) => (b.access === 'read' ? shared : placeholder()));
  }

  private module(storage: StorageType): GPUShaderModule {
    let m = this.modules.get(storage);
    if (m === undefined) {
      m = this.dev.createShaderModule({ code: this.source(storage), label: `dcnv2 ${this.iface.label} (${storage})` });
      this.modules.set(storage, m);
    }
    return m;
  }

  /** The pipeline of `entry` for `storage`, compiled once (a failed compile is not cached: the next call reports it again). */
  pipeline(storage: StorageType, entry: string): Promise<GPUComputePipeline> {
    const key = `${storage}:${entry}`;
    let p = this.pending.get(key);
    if (p === undefined) {
      p = this.dev.createComputePipelineAsync({
        layout: this.pipelineLayout, compute: { module: this.module(storage), entryPoint: entry }, label: `dcnv2 ${this.iface.label} ${entry} (${storage})`,
      });
      p.then((c) => this.compiled.set(key, c), () => this.pending.delete(key));
      this.pending.set(key, p);
    }
    return p;
  }

  /** Compiles the pipelines of `entries` for `storage` (once): `dispatch` needs them. */
  async ready(storage: StorageType, entries: readonly string[]): Promise<void> {
    await Promise.all(entries.map(async (entry) => {
      if (!this.compiled.has(`${storage}:${entry}`)) this.compiled.set(`${storage}:${entry}`, await this.pipeline(storage, entry));
    }));
  }

  /** Records one compute pass of `entry` over `grid`, with `uniforms` in a fresh uniform buffer and `buffers` bound. */
  dispatch(rec: Recording, storage: StorageType, entry: string, uniforms: UniformValues<I>, buffers: BindingBuffers<I>, grid: Grid): void {
    const pipeline = this.compiled.get(`${storage}:${entry}`);
    if (pipeline === undefined) throw new Error(`${this.iface.label}: kernel ${entry} (${storage}) used before ready()`);
    const u = rec.uniform(packUniforms(this.iface, uniforms));
    const bind = this.dev.createBindGroup({
      layout: this.layout,
      entries: [
        { binding: UNIFORM_BINDING, resource: { buffer: u } },
        ...this.iface.storage.map((b, k) => ({
          binding: storageBinding(k),
          resource: { buffer: (buffers as Record<string, GPUBuffer | null>)[b.name as BindingName<I>] ?? this.placeholders[k]! },
        })),
      ],
    });
    const pass = rec.encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bind);
    pass.dispatchWorkgroups(grid.x, grid.y, grid.z);
    pass.end();
  }

  destroy(): void {
    for (const b of new Set(this.placeholders)) b.destroy();
  }
}
