import { existsSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { defineConfig } from 'vitest/config';
import { lavapipeIcdPath, SWIFTSHADER_ICDS } from './src/cpu-vulkan-drivers.ts';

// Tests run on Dawn (the `webgpu` package) over CPU Vulkan drivers, so they need no GPU: Chromium's
// SwiftShader for float32, Mesa's lavapipe 25 (scripts/fetch-lavapipe.sh) for float16 (SwiftShader has no
// shader-f16). Both are registered in one VK_ICD_FILENAMES; test/gpu.ts picks the adapter by name and
// learns from DCNV2_TEST_CPU_DRIVERS which ones are there. A VK_ICD_FILENAMES already set (a real GPU's
// driver) wins, and then Dawn's default adapter serves every test.
const env: Record<string, string> = {};
if (process.env.VK_ICD_FILENAMES === undefined) {
  const drivers: Array<[string, string | null | undefined]> = [
    ['swiftshader', SWIFTSHADER_ICDS.find((f) => existsSync(f))],
    ['lavapipe', lavapipeIcdPath(process.env, homedir())],
  ];
  const found = drivers.filter((d): d is [string, string] => typeof d[1] === 'string' && existsSync(d[1]));
  if (found.length > 0) {
    env.VK_ICD_FILENAMES = found.map((d) => d[1]).join(':');
    env.DCNV2_TEST_CPU_DRIVERS = found.map((d) => d[0]).join(',');
  }
}
if (process.env.XDG_RUNTIME_DIR === undefined) env.XDG_RUNTIME_DIR = tmpdir();

export default defineConfig({
  test: { testTimeout: 120_000, hookTimeout: 60_000, env },
});
