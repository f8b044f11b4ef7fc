/**
 * Finding a `GPU` when the caller injected none, in Node (and other runtimes with the `node` export
 * condition): `navigator.gpu` where the runtime has one (Deno), otherwise the optional `webgpu` package
 * (Dawn for Node). Browsers and bundles for them get browser-gpu.ts instead (package.json `imports`,
 * `#node-gpu`), so no Node built-in reaches a browser bundle.
 *
 * The adapter is Dawn's default unless the caller chose drivers (`nodeAdapter.vulkanIcd` or
 * DCNV2_WEBGPU_VK_ICD): then, and only then, VK_ICD_FILENAMES is set to them (and XDG_RUNTIME_DIR, when
 * unset, to the temp directory, which spares the Vulkan loader's warnings) before Dawn first enumerates.
 * The Vulkan loader reads that list once per process, so the first `GPU` made fixes it: a later request
 * for other drivers is refused with BackendError. An adapter name (`nodeAdapter.adapterName` or
 * DCNV2_WEBGPU_ADAPTER) becomes Dawn's `adapter=NAME` flag; where SwiftShader and lavapipe are both in
 * use and no name is given, each request picks one by name: lavapipe when it needs `shader-f16`,
 * SwiftShader otherwise.
 */
import { BackendError } from '@dcnv2/core';
import { lavapipeIcdPath, LAVAPIPE_ADAPTER, listSeparator, resolveVulkanIcds, SWIFTSHADER_ADAPTER, SWIFTSHADER_ICDS } from './cpu-vulkan-drivers.js';
import { ENV_ADAPTER_NAME, ENV_VULKAN_ICD, type GpuNeeds, type NodeAdapterOptions } from './node-adapter.js';

export type { GpuNeeds, NodeAdapterOptions } from './node-adapter.js';

interface DawnModule {
  create(flags: string[]): GPU;
}

/** The process's driver choice, fixed when Dawn is first loaded. */
interface Choice {
  /** VK_ICD_FILENAMES as Dawn enumerates with it (undefined: the system's drivers). */
  readonly vkIcdFilenames: string | undefined;
  /** Whether a caller chose the drivers (this module set VK_ICD_FILENAMES). */
  readonly byCaller: boolean;
  /** Which of the known CPU drivers it lists. */
  readonly swiftshader: boolean;
  readonly lavapipe: boolean;
}

interface NodeModules {
  readonly existsSync: (file: string) => boolean;
  readonly homedir: () => string;
  readonly tmpdir: () => string;
}

let nodeModules: Promise<NodeModules> | null = null;
let dawn: Promise<DawnModule> | null = null;
let choice: Choice | null = null;
const gpus = new Map<string, GPU>();
/** The flags each GPU this module made was created with, for the message when it has no adapter. */
const flagsOf = new WeakMap<GPU, readonly string[]>();

async function loadNodeModules(): Promise<NodeModules> {
  const fs = await import('node:fs');
  const os = await import('node:os');
  return { existsSync: fs.existsSync, homedir: os.homedir, tmpdir: os.tmpdir };
}

function envValue(name: string): string | undefined {
  const v = process.env[name];
  return v === undefined || v === '' ? undefined : v;
}

/** The drivers the caller asks for (option, else environment), as ICD paths; null when none are asked for. */
function requestedIcds(node: NodeModules, nodeAdapter: NodeAdapterOptions | undefined): { icds: readonly string[]; source: string } | null {
  const sep = listSeparator(process.platform);
  let entries: readonly string[];
  let source: string;
  if (nodeAdapter?.vulkanIcd !== undefined) {
    entries = typeof nodeAdapter.vulkanIcd === 'string' ? [nodeAdapter.vulkanIcd] : nodeAdapter.vulkanIcd;
    source = 'options.nodeAdapter.vulkanIcd';
  } else {
    const fromEnv = envValue(ENV_VULKAN_ICD);
    if (fromEnv === undefined) return null;
    entries = fromEnv.split(sep).filter((e) => e.length > 0);
    source = ENV_VULKAN_ICD;
  }
  const r = resolveVulkanIcds(entries, process.env, node.homedir(), node.existsSync);
  if ('error' in r) {
    throw new BackendError({ argument: source, expected: 'a Vulkan driver: "swiftshader", "lavapipe" or the path of an ICD json', actual: r.error.entry }, r.error.reason);
  }
  return { icds: r.icds, source };
}

/** Fixes the process's driver choice (once) and starts loading Dawn. */
function choose(node: NodeModules, requested: { icds: readonly string[] } | null): Choice {
  const env = process.env;
  const sep = listSeparator(process.platform);
  if (requested !== null) {
    // The Vulkan loader reads this when Dawn first enumerates adapters, i.e. after this assignment.
    env.VK_ICD_FILENAMES = requested.icds.join(sep);
    if (env.XDG_RUNTIME_DIR === undefined) env.XDG_RUNTIME_DIR = node.tmpdir();
  }
  const vk = env.VK_ICD_FILENAMES;
  const listed = (vk ?? '').split(sep);
  const lvp = lavapipeIcdPath(env, node.homedir());
  return {
    vkIcdFilenames: vk,
    byCaller: requested !== null,
    swiftshader: listed.some((f) => SWIFTSHADER_ICDS.includes(f)),
    lavapipe: lvp !== null && listed.includes(lvp),
  };
}

async function loadDawn(): Promise<DawnModule> {
  const spec = 'webgpu'; // a variable, so bundlers targeting Node leave Dawn's native addon alone
  try {
    return (await import(spec)) as DawnModule;
  } catch (e) {
    throw new BackendError(
      { argument: 'backend', expected: 'navigator.gpu, an injected { gpu } or { device }, or the "webgpu" package in Node', actual: 'none' },
      `cannot load "webgpu" (install it: npm i webgpu): ${(e as Error).message}`,
    );
  }
}

/** Dawn's flags for `needs`: the caller's adapter name, else one where both known CPU drivers are listed. */
function adapterFlags(c: Choice, needs: GpuNeeds, nodeAdapter: NodeAdapterOptions | undefined): string[] {
  const name = nodeAdapter?.adapterName ?? envValue(ENV_ADAPTER_NAME);
  if (name !== undefined) return [`adapter=${name}`];
  if (c.swiftshader && c.lavapipe) return [`adapter=${needs.shaderF16 === true ? LAVAPIPE_ADAPTER : SWIFTSHADER_ADAPTER}`];
  return [];
}

/**
 * The `GPU` entry point of this environment for an adapter with `needs`: `navigator.gpu` where it exists,
 * else Dawn (the `webgpu` package) over the drivers `nodeAdapter` (or the environment) asks for.
 */
export async function defaultGpu(needs: GpuNeeds = {}, nodeAdapter?: NodeAdapterOptions): Promise<GPU> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu !== undefined) return nav.gpu;
  const isNode = typeof process !== 'undefined' && process.versions?.node !== undefined;
  if (!isNode) {
    throw new BackendError({ argument: 'backend', expected: 'a WebGPU-capable environment (navigator.gpu)', actual: 'none' });
  }
  nodeModules ??= loadNodeModules();
  const node = await nodeModules;
  const requested = requestedIcds(node, nodeAdapter);
  if (choice === null) {
    choice = choose(node, requested);
  } else if (requested !== null) {
    const want = requested.icds.join(listSeparator(process.platform));
    if (want !== choice.vkIcdFilenames) {
      const current = choice.vkIcdFilenames === undefined ? "the system's Vulkan drivers (VK_ICD_FILENAMES unset)" : `VK_ICD_FILENAMES=${choice.vkIcdFilenames}`;
      throw new BackendError(
        { argument: requested.source, expected: `the Vulkan drivers this process already uses (${current})`, actual: want },
        'the Vulkan loader reads the driver list once per process, when Dawn first looks for adapters: choose the driver before the first backend initialises, and the same for every backend',
      );
    }
  }
  const c = choice;
  dawn ??= loadDawn().catch((e: unknown) => {
    dawn = null;
    throw e;
  });
  const mod = await dawn;
  const flags = adapterFlags(c, needs, nodeAdapter);
  const key = flags.join(' ');
  let gpu = gpus.get(key);
  if (gpu === undefined) {
    gpu = mod.create(flags);
    gpus.set(key, gpu);
    flagsOf.set(gpu, flags);
  }
  return gpu;
}

/** Why `gpu.requestAdapter()` gave no adapter, and what to do, for the BackendError the backend throws. */
export function noAdapterHint(gpu: GPU): string {
  const flags = flagsOf.get(gpu);
  if (flags === undefined) return 'requestAdapter() returned null';
  const c = choice;
  const named = flags.length > 0 ? ` matching Dawn's ${flags.join(' ')}` : '';
  const how =
    `set ${ENV_VULKAN_ICD}=swiftshader (Chromium's SwiftShader) or ${ENV_VULKAN_ICD}=lavapipe (Mesa 25's lavapipe, also float16) ` +
    `before the process creates its first backend, or pass createWebGpuBackend({ nodeAdapter: { vulkanIcd: 'swiftshader' } }); ` +
    `${ENV_ADAPTER_NAME} or nodeAdapter.adapterName picks an adapter by name`;
  if (c?.vkIcdFilenames === undefined) {
    return `Dawn (the "webgpu" package) found no adapter${named} with the system's Vulkan drivers (no GPU, or no driver Dawn accepts). To run on the CPU without a GPU, ${how}`;
  }
  return `Dawn (the "webgpu" package) found no adapter${named} with VK_ICD_FILENAMES=${c.vkIcdFilenames}${c.byCaller ? '' : ' (set outside dcnv2)'}; ${how}`;
}
