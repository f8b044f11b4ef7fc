/**
 * tfjs-backend-webgpu in Node, for the tests: on Dawn (the `webgpu` package) over Chromium's SwiftShader,
 * the CPU Vulkan driver the set-up installs. tfjs-backend-webgpu registers itself only where
 * `navigator.gpu` exists, which Node 20 lacks, so this registers it the way its own factory does: a
 * `WebGPUBackend` over a device. The device comes from a dcnv2 webgpu backend asked for SwiftShader (its
 * public `nodeAdapter` option finds the driver), which owns it; `prepareDcnv2('webgpu')` then makes the
 * dcnv2 backend the kernels use on that same device, as it does on tfjs's device in a browser.
 */
import { createWebGpuBackend, type WebGpuBackend } from '@dcnv2/backend-webgpu';
import * as tf from '@tensorflow/tfjs-core';
import { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { create, globals } from 'webgpu';

let seed: WebGpuBackend | null = null;

/** Registers tfjs backend `webgpu` (once). */
export async function registerNodeWebGpu(): Promise<void> {
  if (seed !== null) return;
  // tfjs-backend-webgpu's code uses the WebGPU globals (GPUBufferUsage, `instanceof GPUBuffer`) and
  // checks navigator.gpu in its constructor.
  // The backend first: it points the Vulkan loader at SwiftShader before Dawn first starts (once per process).
  const b = createWebGpuBackend({ nodeAdapter: { vulkanIcd: 'swiftshader' } });
  await b.init();
  seed = b;
  Object.assign(globalThis, globals);
  const nav = (globalThis as { navigator?: object }).navigator;
  Object.defineProperty(globalThis, 'navigator', { value: { ...(nav ?? {}), gpu: create([]) }, configurable: true, writable: true });
  tf.registerBackend('webgpu', () => new WebGPUBackend(b.device));
}
