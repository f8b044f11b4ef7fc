/**
 * Dawn for Node (the `webgpu` devDependency) over the CPU Vulkan drivers that vitest.config.ts registers:
 * `nodeGpu()` for the float32 tests (SwiftShader), `float16Gpu()` for the float16 ones (lavapipe 25, the
 * driver with shader-f16). With a user-set VK_ICD_FILENAMES both are Dawn's default adapter.
 */
import { create } from 'webgpu';
import { LAVAPIPE_ADAPTER, SWIFTSHADER_ADAPTER } from '../src/cpu-vulkan-drivers.js';

const registered = (process.env.DCNV2_TEST_CPU_DRIVERS ?? '').split(',').filter((d) => d.length > 0);
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

/** Whether the float16 tests have a driver: lavapipe found, or the user's own VK_ICD_FILENAMES. */
export const float16DriverNote = registered.includes('lavapipe') || registered.length === 0
  ? null
  : 'Mesa lavapipe 25 not found: run scripts/fetch-lavapipe.sh (scripts/setup.sh does), or set VK_ICD_FILENAMES to a driver with shaderFloat16';

export function float16Gpu(): GPU {
  if (float16DriverNote !== null) throw new Error(float16DriverNote);
  return gpuFor(registered.includes('lavapipe') ? [`adapter=${LAVAPIPE_ADAPTER}`] : []);
}
