/**
 * The job blocks the host writes into the wasm memory and the C kernels read: the one declaration of
 * their layout. Each job is a list of fields (name, C type, meaning); the byte offsets follow from the
 * order with natural alignment (i32: 4 bytes, f64: 8), exactly as a C compiler lays out a struct of
 * those members in that order (wasm32).
 *
 * From these lists, scripts/build-wasm.mjs (through scripts/job-header.ts) generates
 * src/kernels/generated/jobs.h before compiling: the `ConvJob` and `RoiJob` structs the kernels use, with
 * a `_Static_assert` per field that the compiler put it at the offset this module computes, and the
 * block size. The host writes the blocks with `writeJob` / `setJobFields` from the same offsets.
 * Pointers are 32-bit (wasm32), so they are i32 fields.
 */

/** The C type of a job field: int32 (sizes, counts, pointers, flags) or float64. */
export type JobFieldType = 'i32' | 'f64';

/** One field of a job block: its name in C and in TypeScript, its type, what it holds. */
export interface JobFieldSpec {
  readonly name: string;
  readonly type: JobFieldType;
  readonly doc: string;
}

/** A job block: the C struct's name, what it is for, its fields in order. */
export interface JobSpec {
  readonly struct: string;
  readonly doc: string;
  readonly fields: readonly JobFieldSpec[];
}

/** A job's layout: the spec it came from, each field's byte offset and type, the block's size in bytes. */
export interface JobLayout<Field extends string = string> {
  readonly spec: JobSpec;
  readonly offsets: Readonly<Record<Field, number>>;
  readonly types: Readonly<Record<Field, JobFieldType>>;
  readonly bytes: number;
}

const SIZE: Readonly<Record<JobFieldType, number>> = { i32: 4, f64: 8 };

/** The layout of a job spec: fields in order, each aligned to its size; the size rounded to the largest. */
export function jobLayout<const S extends JobSpec>(spec: S): JobLayout<S['fields'][number]['name']> {
  type Field = S['fields'][number]['name'];
  const offsets = {} as Record<Field, number>;
  const types = {} as Record<Field, JobFieldType>;
  let at = 0;
  let align = 1;
  for (const f of spec.fields as ReadonlyArray<JobFieldSpec & { readonly name: Field }>) {
    if (f.name in offsets) throw new Error(`job ${spec.struct}: field ${f.name} declared twice`);
    const size = SIZE[f.type];
    at = Math.ceil(at / size) * size;
    offsets[f.name] = at;
    types[f.name] = f.type;
    at += size;
    align = Math.max(align, size);
  }
  return { spec, offsets, types, bytes: Math.ceil(at / align) * align };
}

/** The deformable convolution's job (kernels/dcn.c). */
export const CONV_JOB = jobLayout({
  struct: 'ConvJob',
  doc: 'deformable convolution (kernels/dcn.c): one call, forward or backward; a job per thread in backward',
  fields: [
    { name: 'N', type: 'i32', doc: 'batch' },
    { name: 'CIN', type: 'i32', doc: 'input channels' },
    { name: 'H', type: 'i32', doc: 'input height' },
    { name: 'W', type: 'i32', doc: 'input width' },
    { name: 'COUT', type: 'i32', doc: 'output channels' },
    { name: 'KH', type: 'i32', doc: 'kernel height' },
    { name: 'KW', type: 'i32', doc: 'kernel width' },
    { name: 'SH', type: 'i32', doc: 'stride, vertical' },
    { name: 'SW', type: 'i32', doc: 'stride, horizontal' },
    { name: 'PT', type: 'i32', doc: 'padding, top' },
    { name: 'PL', type: 'i32', doc: 'padding, left' },
    { name: 'DH', type: 'i32', doc: 'dilation, vertical' },
    { name: 'DW', type: 'i32', doc: 'dilation, horizontal' },
    { name: 'GROUPS', type: 'i32', doc: 'convolution groups' },
    { name: 'OG', type: 'i32', doc: 'offset groups' },
    { name: 'HO', type: 'i32', doc: 'output height' },
    { name: 'WO', type: 'i32', doc: 'output width' },
    { name: 'P', type: 'i32', doc: 'pixels per tile (multiple of 8)' },
    { name: 'kcc', type: 'i32', doc: 'input channels per column block (forward) / chunk (backward; multiple of 4 unless Cg)' },
    { name: 'ntiles', type: 'i32', doc: 'tiles per image' },
    { name: 'input', type: 'i32', doc: 'pointer: input' },
    { name: 'weight', type: 'i32', doc: 'pointer: weight' },
    { name: 'offset', type: 'i32', doc: 'pointer: offset' },
    { name: 'mask', type: 'i32', doc: 'pointer: mask (0: none, DCNv1)' },
    { name: 'bias', type: 'i32', doc: 'pointer: bias (0: none)' },
    { name: 'wpack', type: 'i32', doc: 'pointer: forward, weight packed in 4-row panels; backward, W^T packed in 4-row panels' },
    { name: 'out', type: 'i32', doc: 'pointer: forward output' },
    { name: 'gout', type: 'i32', doc: 'pointer: grad_output' },
    { name: 'gin', type: 'i32', doc: "pointer: grad_input (this thread's copy)" },
    { name: 'goff', type: 'i32', doc: 'pointer: grad_offset' },
    { name: 'gmask', type: 'i32', doc: 'pointer: grad_mask' },
    { name: 'gw', type: 'i32', doc: "pointer: grad_weight (this thread's copy)" },
    { name: 'gb', type: 'i32', doc: 'pointer: grad_bias' },
    { name: 'want', type: 'i32', doc: 'backward: bit 0 input, 1 offset, 2 mask, 3 weight, 4 bias (CONV_WANT)' },
    { name: 'cb', type: 'i32', doc: 'forward: output channels per block (multiple of 4)' },
    { name: 'ncb', type: 'i32', doc: 'forward: blocks of output channels per conv group (chunks = N * ntiles * ncb)' },
  ],
});
export type ConvJobField = keyof typeof CONV_JOB.offsets;

/** Bits of the convolution job's `want` field. */
export const CONV_WANT = { input: 1, offset: 2, mask: 4, weight: 8, bias: 16 } as const;

/** The modulated deformable RoI pooling's job (kernels/roi_pool.c). */
export const ROI_JOB = jobLayout({
  struct: 'RoiJob',
  doc: 'deformable RoI pooling (kernels/roi_pool.c): sizes, pointers, chunking, then the geometry in double',
  fields: [
    { name: 'N', type: 'i32', doc: 'batch' },
    { name: 'C', type: 'i32', doc: 'channels' },
    { name: 'H', type: 'i32', doc: 'input height' },
    { name: 'W', type: 'i32', doc: 'input width' },
    { name: 'R', type: 'i32', doc: 'RoIs' },
    { name: 'PH', type: 'i32', doc: 'pooled height (bins per column)' },
    { name: 'PW', type: 'i32', doc: 'pooled width (bins per row)' },
    { name: 'SR', type: 'i32', doc: 'sampling ratio (<= 0: adaptive)' },
    { name: 'input', type: 'i32', doc: 'pointer: input' },
    { name: 'rois', type: 'i32', doc: 'pointer: RoIs, 5 floats each (batch index, x1, y1, x2, y2)' },
    { name: 'offset', type: 'i32', doc: 'pointer: offset (0: none)' },
    { name: 'mask', type: 'i32', doc: 'pointer: mask (0: none)' },
    { name: 'out', type: 'i32', doc: 'pointer: forward output' },
    { name: 'gout', type: 'i32', doc: 'pointer: grad_output' },
    { name: 'gin', type: 'i32', doc: 'pointer: grad_input' },
    { name: 'goff', type: 'i32', doc: 'pointer: grad_offset' },
    { name: 'gmask', type: 'i32', doc: 'pointer: grad_mask' },
    { name: 'part', type: 'i32', doc: 'pointer: gather partial sums per block of channels' },
    { name: 'cb', type: 'i32', doc: 'forward / gather: channels per block' },
    { name: 'ncb', type: 'i32', doc: 'forward / gather: blocks per RoI (chunks = R * ncb)' },
    { name: 'scb', type: 'i32', doc: 'scatter: channels per chunk' },
    { name: 'cap', type: 'i32', doc: 'plan entries per workspace (>= the largest bin\'s entries)' },
    { name: 'want', type: 'i32', doc: 'backward: bit 0 input, 1 offset, 2 mask (ROI_WANT)' },
    { name: 'scale', type: 'f64', doc: 'spatial scale' },
    { name: 'gamma', type: 'f64', doc: 'offset scale (gamma)' },
  ],
});
export type RoiJobField = keyof typeof ROI_JOB.offsets;

/** Bits of the RoI pooling job's `want` field. */
export const ROI_WANT = { input: 1, offset: 2, mask: 4 } as const;

/** Writes the given fields of a job block at `ptr`; the others are left as they are. */
export function setJobFields<F extends string>(memory: WebAssembly.Memory, ptr: number, layout: JobLayout<F>, fields: Partial<Record<F, number>>): void {
  const view = new DataView(memory.buffer, ptr, layout.bytes);
  for (const [name, value] of Object.entries(fields) as Array<[F, number]>) {
    const at = layout.offsets[name];
    if (layout.types[name] === 'f64') view.setFloat64(at, value, true);
    else view.setInt32(at, value, true);
  }
}

/** Writes a whole job block at `ptr`: the given fields, every other byte 0. */
export function writeJob<F extends string>(memory: WebAssembly.Memory, ptr: number, layout: JobLayout<F>, fields: Partial<Record<F, number>>): void {
  new Uint8Array(memory.buffer, ptr, layout.bytes).fill(0);
  setJobFields(memory, ptr, layout, fields);
}
