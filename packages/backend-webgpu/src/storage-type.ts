/**
 * The element type tensors are stored as in GPU buffers. 'f32' everywhere by default; 'f16' (when the
 * device has `shader-f16` and the caller selects it) halves memory traffic while every kernel still
 * accumulates in f32. Shaders are written once against the alias `ST` (load with `f32(x[i])`, store with
 * `ST(v)`) and generated per storage type, so no kernel has an f16 twin.
 */
export type StorageType = 'f32' | 'f16';

/** The WGSL prologue of a shader for storage type `t`: must come first (an `enable` precedes everything). */
export function storageWgsl(t: StorageType): string {
  return t === 'f16' ? 'enable f16;\nalias ST = f16;\n' : 'alias ST = f32;\n';
}

/** Bytes per stored element. */
export function storageBytes(t: StorageType): number {
  return t === 'f16' ? 2 : 4;
}
