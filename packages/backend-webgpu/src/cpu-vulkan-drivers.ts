/**
 * The Vulkan drivers a Node caller can ask Dawn to use by a short name (`nodeAdapter.vulkanIcd` or
 * `DCNV2_WEBGPU_VK_ICD`): Chromium's SwiftShader (float32 only) and Mesa's lavapipe 25, which the
 * repository's scripts/fetch-lavapipe.sh extracts into a cache directory (it has shaderFloat16, so Dawn
 * offers `shader-f16` on it). These are CPU rasterisers that let Dawn run without a GPU; the backend only
 * looks for them when a caller names them. Pure path arithmetic, no Node imports: node-gpu.ts, the
 * package's vitest config and its tests all use it.
 */

/** Chromium's SwiftShader ICD manifests (Debian, Ubuntu), in order of preference. */
export const SWIFTSHADER_ICDS: readonly string[] = ['/usr/lib/chromium/vk_swiftshader_icd.json', '/usr/lib/chromium-browser/vk_swiftshader_icd.json'];

/** Substrings of the adapter names Dawn reports, for its `adapter=NAME` flag. */
export const SWIFTSHADER_ADAPTER = 'SwiftShader';
export const LAVAPIPE_ADAPTER = 'llvmpipe';

/** The short driver names `vulkanIcd` accepts besides ICD manifest paths. */
export const KNOWN_VULKAN_DRIVERS = ['swiftshader', 'lavapipe'] as const;
export type KnownVulkanDriver = (typeof KNOWN_VULKAN_DRIVERS)[number];

/**
 * The lavapipe ICD manifest that scripts/fetch-lavapipe.sh writes: `$DCNV2_LAVAPIPE_DIR/lvp_icd.json`,
 * else `${XDG_CACHE_HOME:-$HOME/.cache}/dcnv2/lavapipe/lvp_icd.json` (the script uses the same rule).
 * Null when neither that variable nor a home directory is known.
 */
export function lavapipeIcdPath(env: Readonly<Record<string, string | undefined>>, home: string | undefined): string | null {
  if (env.DCNV2_LAVAPIPE_DIR) return `${env.DCNV2_LAVAPIPE_DIR}/lvp_icd.json`;
  const cache = env.XDG_CACHE_HOME || (home ? `${home}/.cache` : null);
  return cache === null ? null : `${cache}/dcnv2/lavapipe/lvp_icd.json`;
}

/** The separator of path lists (VK_ICD_FILENAMES, DCNV2_WEBGPU_VK_ICD) on `platform`. */
export function listSeparator(platform: string): string {
  return platform === 'win32' ? ';' : ':';
}

/** One requested driver that cannot be used: what was asked and why. */
export interface UnresolvedDriver {
  readonly entry: string;
  readonly reason: string;
}

/**
 * The ICD manifest paths for `entries` (short names or paths): `swiftshader` is the first of
 * `SWIFTSHADER_ICDS` that exists, `lavapipe` is `lavapipeIcdPath`'s; anything else is taken as a path.
 * Every path must exist. Returns the paths, or the first entry that cannot be used.
 */
export function resolveVulkanIcds(
  entries: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  home: string | undefined,
  exists: (file: string) => boolean,
): { readonly icds: readonly string[] } | { readonly error: UnresolvedDriver } {
  const icds: string[] = [];
  for (const entry of entries) {
    const name = entry.toLowerCase();
    if (name === 'swiftshader') {
      const found = SWIFTSHADER_ICDS.find(exists);
      if (found === undefined) {
        return { error: { entry, reason: `SwiftShader's Vulkan driver not found (looked for ${SWIFTSHADER_ICDS.join(', ')}; Debian's and Ubuntu's chromium packages ship it): install it, or give the path of its vk_swiftshader_icd.json` } };
      }
      icds.push(found);
    } else if (name === 'lavapipe') {
      const path = lavapipeIcdPath(env, home);
      if (path === null || !exists(path)) {
        return { error: { entry, reason: `Mesa's lavapipe 25 not found (looked for ${path ?? '$DCNV2_LAVAPIPE_DIR/lvp_icd.json'}; the dcnv2 repository's scripts/fetch-lavapipe.sh puts it there): fetch it, or give the path of a lavapipe (Mesa >= 25) lvp_icd.json` } };
      }
      icds.push(path);
    } else if (!exists(entry)) {
      return { error: { entry, reason: `no Vulkan ICD manifest at ${entry} (expected "swiftshader", "lavapipe" or the path of an ICD json)` } };
    } else {
      icds.push(entry);
    }
  }
  return { icds: [...new Set(icds)] };
}
