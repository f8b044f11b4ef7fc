/**
 * Where the CPU Vulkan drivers that let Dawn run without a GPU live on a Debian machine set up by
 * scripts/setup.sh: Chromium's SwiftShader (float32 only) and Mesa's lavapipe 25, which
 * scripts/fetch-lavapipe.sh extracts into a cache directory (it has shaderFloat16, so Dawn offers
 * `shader-f16` on it). Pure path arithmetic, no Node imports: node-gpu.ts and the package's vitest config
 * both use it, and the browser bundle must not import `node:*` statically.
 */

/** Chromium's SwiftShader ICD manifests (Debian, Ubuntu), in order of preference. */
export const SWIFTSHADER_ICDS: readonly string[] = ['/usr/lib/chromium/vk_swiftshader_icd.json', '/usr/lib/chromium-browser/vk_swiftshader_icd.json'];

/** Substrings of the adapter names Dawn reports, for its `adapter=NAME` flag. */
export const SWIFTSHADER_ADAPTER = 'SwiftShader';
export const LAVAPIPE_ADAPTER = 'llvmpipe';

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
