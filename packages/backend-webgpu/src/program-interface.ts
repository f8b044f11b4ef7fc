/**
 * One declaration per WGSL program of what it binds (after onnxruntime-web's ShaderHelper / ProgramInfo):
 * the uniform block's fields in order and the storage buffers in order. From it come the WGSL declarations
 * (`wgslInterface`), the bind group layout and bind groups (compute-program.ts) and the uniform buffer's
 * bytes (`packUniforms`), so no binding number or uniform offset is written by hand anywhere.
 *
 * Layout: group 0; binding 0 is the uniform block `params` (struct `Params`, every field 4 bytes, in
 * declaration order), bindings 1, 2, ... the storage buffers in declaration order.
 */

/** Types of uniform fields (4 bytes each). */
export type UniformType = 'i32' | 'f32';
/** Element types of storage arrays: `ST` is the storage type's alias (storage-type.ts). */
export type ElementType = 'ST' | 'f32' | 'u32' | 'i32' | 'atomic<u32>';

export interface StorageBinding<B extends string = string> {
  readonly name: B;
  readonly access: 'read' | 'read_write';
  readonly element: ElementType;
  /** A comment written above the declaration. */
  readonly note?: string;
}

export interface ProgramInterface<U extends string = string, B extends string = string> {
  /** Names the program in labels (every label starts with "dcnv2", which the backend's error filter relies on). */
  readonly label: string;
  /** The uniform block's fields, in order. */
  readonly uniforms: ReadonlyArray<readonly [U, UniformType]>;
  /** The storage buffers, bindings 1, 2, ... in this order. */
  readonly storage: ReadonlyArray<StorageBinding<B>>;
}

/** The uniform fields of a program interface. */
export type UniformName<I> = I extends ProgramInterface<infer U, string> ? U : never;
/** The storage binding names of a program interface. */
export type BindingName<I> = I extends ProgramInterface<string, infer B> ? B : never;
/** A value for every uniform field. */
export type UniformValues<I> = Readonly<Record<UniformName<I>, number>>;
/** Buffers of the storage bindings (missing or null: unbound, a placeholder is bound). */
export type BindingBuffers<I> = Readonly<Partial<Record<BindingName<I>, GPUBuffer | null>>>;

/** Declares a program interface, keeping its field and binding names as literal types. */
export function programInterface<const U extends string, const B extends string>(i: ProgramInterface<U, B>): ProgramInterface<U, B> {
  return i;
}

/** The WGSL name of the uniform block variable. */
export const UNIFORM_VAR = 'params';
/** The binding of the uniform block. */
export const UNIFORM_BINDING = 0;

/** The binding number of storage binding `k` (0-based in declaration order). */
export function storageBinding(k: number): number {
  return UNIFORM_BINDING + 1 + k;
}

/** The WGSL declarations of `i`: `struct Params`, the uniform variable and every storage variable. */
export function wgslInterface(i: ProgramInterface): string {
  const fields = i.uniforms.map(([name, type]) => `  ${name}: ${type},`).join('\n');
  const vars = i.storage.map((b, k) => {
    const note = b.note === undefined ? '' : `// ${b.note}\n`;
    return `${note}@group(0) @binding(${storageBinding(k)}) var<storage, ${b.access}> ${b.name}: array<${b.element}>;`;
  });
  return `struct Params {
${fields}
}

@group(0) @binding(${UNIFORM_BINDING}) var<uniform> ${UNIFORM_VAR}: Params;
${vars.join('\n')}
`;
}

/** The uniform buffer's bytes for `values`: each field 4 bytes at its declaration's place, little-endian. */
export function packUniforms<I extends ProgramInterface>(i: I, values: UniformValues<I>): ArrayBuffer {
  const bytes = new ArrayBuffer(i.uniforms.length * 4);
  const view = new DataView(bytes);
  i.uniforms.forEach(([name, type], k) => {
    const v = (values as Record<string, number>)[name]!;
    if (type === 'i32') view.setInt32(k * 4, v, true);
    else view.setFloat32(k * 4, v, true);
  });
  return bytes;
}
