/**
 * Finding a `GPU` when the caller injected none: `navigator.gpu` in browsers (and Deno), otherwise, in
 * Node, the optional `webgpu` package (Dawn for Node). Without a hardware adapter Dawn needs a Vulkan
 * driver: when VK_ICD_FILENAMES is unset, the CPU drivers found at their known places (Chromium's
 * SwiftShader, and the lavapipe 25 that scripts/fetch-lavapipe.sh extracts; see cpu-vulkan-drivers.ts)
 * are registered, both at once, and XDG_RUNTIME_DIR defaults to the temp directory, so the conformance
 * CLI works on a GPU-less machine. Dawn then sees one adapter per driver; where both are listed (by this
 * module or by whoever set VK_ICD_FILENAMES), each request picks one by name: SwiftShader normally,
 * lavapipe when the caller needs `shader-f16` (SwiftShader lacks it). Set VK_ICD_FILENAMES yourself to
 * use another driver: without those two in it, Dawn's own choice of adapter stands.
 */
import { BackendError } from '@dcnv2/core';
import { lavapipeIcdPath, LAVAPIPE_ADAPTER, SWIFTSHADER_ADAPTER, SWIFTSHADER_ICDS } from './cpu-vulkan-drivers.js';

interface DawnModule {
  create(flags: string[]): GPU;
}

/** What the adapter must offer. */
export interface GpuNeeds {
  /** The `shader-f16` feature (float16 storage). */
  readonly shaderF16?: boolean;
}

interface Dawn {
  readonly mod: DawnModule;
  /** Which of the known CPU drivers VK_ICD_FILENAMES lists. */
  readonly swiftshader: boolean;
  readonly lavapipe: boolean;
}

let dawn: Promise<Dawn> | null = null;
const gpus = new Map<string, GPU>();

async function loadDawn(): Promise<Dawn> {
  const fs = await import('node:fs');
  const os = await import('node:os');
  const env = process.env;
  const lvp = lavapipeIcdPath(env, os.homedir());
  if (env.VK_ICD_FILENAMES === undefined) {
    const ss = SWIFTSHADER_ICDS.find((f) => fs.existsSync(f));
    const icds = [...(ss !== undefined ? [ss] : []), ...(lvp !== null && fs.existsSync(lvp) ? [lvp] : [])];
    // The Vulkan loader reads this when Dawn first enumerates adapters, i.e. after this assignment.
    if (icds.length > 0) env.VK_ICD_FILENAMES = icds.join(':');
  }
  const listed = (env.VK_ICD_FILENAMES ?? '').split(':');
  const swiftshader = listed.some((f) => SWIFTSHADER_ICDS.includes(f));
  const lavapipe = lvp !== null && listed.includes(lvp);
  if (env.XDG_RUNTIME_DIR === undefined) env.XDG_RUNTIME_DIR = os.tmpdir();
  const spec = 'webgpu';
  try {
    return { mod: (await import(spec)) as DawnModule, swiftshader, lavapipe };
  } catch (e) {
    throw new BackendError(
      { argument: 'backend', expected: 'navigator.gpu, an injected { gpu } or { device }, or the "webgpu" package in Node', actual: 'none' },
      `cannot load "webgpu": ${(e as Error).message}`,
    );
  }
}

/** Dawn's flags for `needs`: an adapter name only where the known CPU drivers are listed. */
function adapterFlags(d: Dawn, needs: GpuNeeds): string[] {
  if (needs.shaderF16 === true && d.lavapipe) return [`adapter=${LAVAPIPE_ADAPTER}`];
  if (d.swiftshader && d.lavapipe) return [`adapter=${SWIFTSHADER_ADAPTER}`];
  return [];
}

/** The `GPU` entry point of this environment, for an adapter with `needs`. */
export async function defaultGpu(needs: GpuNeeds = {}): Promise<GPU> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu !== undefined) return nav.gpu;
  const isNode = typeof process !== 'undefined' && process.versions?.node !== undefined;
  if (!isNode) {
    throw new BackendError({ argument: 'backend', expected: 'a WebGPU-capable environment (navigator.gpu)', actual: 'none' });
  }
  dawn ??= loadDawn().catch((e: unknown) => {
    dawn = null;
    throw e;
  });
  const d = await dawn;
  const flags = adapterFlags(d, needs);
  const key = flags.join(' ');
  let gpu = gpus.get(key);
  if (gpu === undefined) {
    gpu = d.mod.create(flags);
    gpus.set(key, gpu);
  }
  return gpu;
}
