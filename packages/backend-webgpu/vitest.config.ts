import { existsSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { defineConfig } from 'vitest/config';
import { lavapipeIcdPath, SWIFTSHADER_ICDS } from './src/cpu-vulkan-drivers.ts';

// Tests run on Dawn (the `webgpu` package) over CPU Vulkan drivers, so they need no GPU: Chromium's
// SwiftShader for float32, Mesa's lavapipe 25 (scripts/fetch-lavapipe.sh) for float16 (SwiftShader has no
// shader-f16). The library never picks a driver by itself: this test-only default asks for both through
// its documented variable, DCNV2_WEBGPU_VK_ICD (test/gpu.ts registers the same list for the GPUs it
// injects, and picks the adapter by name). A DCNV2_WEBGPU_VK_ICD or VK_ICD_FILENAMES already set (a real
// GPU's driver) wins, and then Dawn's default adapter serves every test.
const env: Record<string, string> = {};
if (process.env.DCNV2_WEBGPU_VK_ICD === undefined && process.env.VK_ICD_FILENAMES === undefined) {
  const drivers: Array<[string, string | null | undefined]> = [
    ['swiftshader', SWIFTSHADER_ICDS.find((f) => existsSync(f))],
    ['lavapipe', lavapipeIcdPath(process.env, homedir())],
  ];
  const found = drivers.filter((d): d is [string, string] => typeof d[1] === 'string' && existsSync(d[1]));
  if (found.length > 0) env.DCNV2_WEBGPU_VK_ICD = found.map((d) => d[0]).join(':');
}
if (process.env.XDG_RUNTIME_DIR === undefined) env.XDG_RUNTIME_DIR = tmpdir();

export default defineConfig({
  test: { testTimeout: 300_000, hookTimeout: 300_000, env },
});
