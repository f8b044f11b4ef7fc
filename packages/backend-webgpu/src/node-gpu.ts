/**
 * Finding a `GPU` when the caller injected none: `navigator.gpu` in browsers (and Deno), otherwise, in
 * Node, the optional `webgpu` package (Dawn for Node). Without a hardware adapter Dawn needs a Vulkan
 * driver: when VK_ICD_FILENAMES is unset and Chromium's SwiftShader ICD exists at a known place, it is
 * used (and XDG_RUNTIME_DIR defaults to the temp directory), so the conformance CLI works on a GPU-less
 * machine. Set VK_ICD_FILENAMES yourself to pick another driver.
 */
import { BackendError } from '@dcnv2/core';

const SWIFTSHADER_ICDS = ['/usr/lib/chromium/vk_swiftshader_icd.json', '/usr/lib/chromium-browser/vk_swiftshader_icd.json'];

interface DawnModule {
  create(flags: string[]): GPU;
}

let nodeGpu: Promise<GPU> | null = null;

async function loadDawn(): Promise<GPU> {
  const fs = await import('node:fs');
  const os = await import('node:os');
  const env = process.env;
  if (env.VK_ICD_FILENAMES === undefined) {
    const icd = SWIFTSHADER_ICDS.find((f) => fs.existsSync(f));
    if (icd !== undefined) env.VK_ICD_FILENAMES = icd;
  }
  if (env.XDG_RUNTIME_DIR === undefined) env.XDG_RUNTIME_DIR = os.tmpdir();
  const spec = 'webgpu';
  let mod: DawnModule;
  try {
    mod = (await import(spec)) as DawnModule;
  } catch (e) {
    throw new BackendError(
      { argument: 'backend', expected: 'navigator.gpu, an injected { gpu } or { device }, or the "webgpu" package in Node', actual: 'none' },
      `cannot load "webgpu": ${(e as Error).message}`,
    );
  }
  return mod.create([]);
}

/** The `GPU` entry point of this environment. */
export async function defaultGpu(): Promise<GPU> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu !== undefined) return nav.gpu;
  const isNode = typeof process !== 'undefined' && process.versions?.node !== undefined;
  if (!isNode) {
    throw new BackendError({ argument: 'backend', expected: 'a WebGPU-capable environment (navigator.gpu)', actual: 'none' });
  }
  nodeGpu ??= loadDawn().catch((e: unknown) => {
    nodeGpu = null;
    throw e;
  });
  return nodeGpu;
}
