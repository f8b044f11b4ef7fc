import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { defineConfig } from 'vitest/config';

// Tests run on Dawn (the `webgpu` package) over SwiftShader, Chromium's CPU Vulkan driver, so they need no
// GPU. A VK_ICD_FILENAMES already set (a real GPU's driver) wins.
const swiftshader = '/usr/lib/chromium/vk_swiftshader_icd.json';
const env: Record<string, string> = {};
if (process.env.VK_ICD_FILENAMES === undefined && existsSync(swiftshader)) env.VK_ICD_FILENAMES = swiftshader;
if (process.env.XDG_RUNTIME_DIR === undefined) env.XDG_RUNTIME_DIR = tmpdir();

export default defineConfig({
  test: { testTimeout: 120_000, hookTimeout: 60_000, env },
});
