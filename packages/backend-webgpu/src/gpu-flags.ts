/**
 * WebGPU's numeric flags, written out: the GPUBufferUsage / GPUMapMode / GPUShaderStage globals are absent
 * in Node unless Dawn installs them.
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
