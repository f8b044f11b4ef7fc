/**
 * Dawn for Node (the `webgpu` devDependency) over the CPU Vulkan drivers that vitest.config.ts asks for in
 * DCNV2_WEBGPU_VK_ICD: `nodeGpu()` for the float32 tests (SwiftShader), `float16Gpu()` for the float16 ones
 * (lavapipe 25, the driver with shader-f16). These GPUs are injected, made here with `create` before any
 * backend finds its own, so this module points VK_ICD_FILENAMES at the same drivers the backend resolves
 * from DCNV2_WEBGPU_VK_ICD (the backend then finds the process's driver list already equal to the one it
 * is asked for). With a user-set VK_ICD_FILENAMES both are Dawn's default adapter.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { create } from 'webgpu';
import { LAVAPIPE_ADAPTER, lavapipeIcdPath, resolveVulkanIcds, SWIFTSHADER_ADAPTER, SWIFTSHADER_ICDS } from '../src/cpu-vulkan-drivers.js';

const asked = (process.env.DCNV2_WEBGPU_VK_ICD ?? '').split(':').filter((d) => d.length > 0);
const resolved = resolveVulkanIcds(asked, process.env, homedir(), existsSync);
if ('error' in resolved) throw new Error(`DCNV2_WEBGPU_VK_ICD: ${resolved.error.reason}`);
if (resolved.icds.length > 0) process.env.VK_ICD_FILENAMES = resolved.icds.join(':');
const listed = (process.env.VK_ICD_FILENAMES ?? '').split(':');
const lvp = lavapipeIcdPath(process.env, homedir());
const registered = [
  ...(listed.some((f) => SWIFTSHADER_ICDS.includes(f)) ? ['swiftshader'] : []),
  ...(lvp !== null && listed.includes(lvp) ? ['lavapipe'] : []),
];
const gpus = new Map<string, GPU>();

function gpuFor(flags: string[]): GPU {
  const key = flags.join(' ');
  let gpu = gpus.get(key);
  if (gpu === undefined) {
    gpu = create(flags);
    gpus.set(key, gpu);
  }
  return gpu;
}

export function nodeGpu(): GPU {
  return gpuFor(registered.includes('swiftshader') && registered.includes('lavapipe') ? [`adapter=${SWIFTSHADER_ADAPTER}`] : []);
}

/** Whether the float16 tests have a driver: lavapipe found, or the user's own drivers (neither known CPU driver). */
export const float16DriverNote = registered.includes('lavapipe') || registered.length === 0
  ? null
  : 'Mesa lavapipe 25 not found: run scripts/fetch-lavapipe.sh (scripts/setup.sh does), or set VK_ICD_FILENAMES to a driver with shaderFloat16';

export function float16Gpu(): GPU {
  if (float16DriverNote !== null) throw new Error(float16DriverNote);
  return gpuFor(registered.includes('lavapipe') ? [`adapter=${LAVAPIPE_ADAPTER}`] : []);
}
