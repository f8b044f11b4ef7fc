/**
 * The caller's choice of adapter when the backend finds its own `GPU` in Node (Dawn, the `webgpu`
 * package): types, environment variable names and the option's validation, shared by node-gpu.ts and
 * browser-gpu.ts (which ignores the choice). No Node imports.
 */
import { ParamError } from '@dcnv2/core';
import type { KnownVulkanDriver } from './cpu-vulkan-drivers.js';

/**
 * Which adapter Dawn should give the backend in Node, when neither `gpu` nor `device` is injected. Without
 * it (and without the environment variables below) Dawn's own default adapter is used, over the Vulkan
 * drivers the system has (or those `VK_ICD_FILENAMES` lists). Ignored in browsers (`navigator.gpu`).
 */
export interface NodeAdapterOptions {
  /**
   * Vulkan driver(s) for Dawn (Linux, Windows): `'swiftshader'` (Chromium's SwiftShader, found at
   * `/usr/lib/chromium/vk_swiftshader_icd.json` or `/usr/lib/chromium-browser/...`), `'lavapipe'` (Mesa
   * 25's lavapipe as the dcnv2 repository's `scripts/fetch-lavapipe.sh` installs it, the CPU driver with
   * `shader-f16`), or the path of a Vulkan ICD manifest (json); several in a list. The backend points
   * `VK_ICD_FILENAMES` at them before Dawn first enumerates its adapters. The Vulkan loader reads that
   * variable once per process, so this is a per-process choice: a later backend asking for other drivers
   * gets a `BackendError`. Default: `DCNV2_WEBGPU_VK_ICD`, else none (Dawn's default drivers).
   */
  readonly vulkanIcd?: KnownVulkanDriver | (string & {}) | readonly string[];
  /**
   * A substring of the adapter's name, passed to Dawn as its `adapter=NAME` flag (for instance
   * `'SwiftShader'`, `'llvmpipe'`, or a GPU's name when several are present). Default:
   * `DCNV2_WEBGPU_ADAPTER`; else, when both SwiftShader and lavapipe are the drivers in use, lavapipe
   * for `precision: 'float16'` (SwiftShader lacks `shader-f16`) and SwiftShader otherwise; else Dawn's choice.
   */
  readonly adapterName?: string;
}

/** What the adapter must offer. */
export interface GpuNeeds {
  /** The `shader-f16` feature (float16 storage). */
  readonly shaderF16?: boolean;
}

/** Environment variable: the Vulkan driver(s) for Dawn in Node, as `nodeAdapter.vulkanIcd` (a list separated by `:`, `;` on Windows). */
export const ENV_VULKAN_ICD = 'DCNV2_WEBGPU_VK_ICD';
/** Environment variable: the adapter name for Dawn in Node, as `nodeAdapter.adapterName`. */
export const ENV_ADAPTER_NAME = 'DCNV2_WEBGPU_ADAPTER';

const nonEmptyString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/** Throws ParamError unless `value` is undefined or a valid `NodeAdapterOptions`. */
export function checkNodeAdapter(value: unknown): NodeAdapterOptions | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ParamError({ argument: 'options.nodeAdapter', expected: 'an object { vulkanIcd?, adapterName? }', actual: value });
  }
  const o = value as { vulkanIcd?: unknown; adapterName?: unknown };
  const icd = o.vulkanIcd;
  if (icd !== undefined && !nonEmptyString(icd) && !(Array.isArray(icd) && icd.length > 0 && icd.every(nonEmptyString))) {
    throw new ParamError({
      argument: 'options.nodeAdapter.vulkanIcd',
      expected: '"swiftshader", "lavapipe", the path of a Vulkan ICD json, or a non-empty list of them',
      actual: icd,
    });
  }
  if (o.adapterName !== undefined && !nonEmptyString(o.adapterName)) {
    throw new ParamError({ argument: 'options.nodeAdapter.adapterName', expected: 'a non-empty string (a substring of the adapter name)', actual: o.adapterName });
  }
  return value as NodeAdapterOptions;
}
