import { defineConfig } from 'vitest/config';

// Packing and installing the tarballs, then nine production builds and nine page loads on a loaded 2-core
// machine: generous limits, nothing here asserts wall time.
export default defineConfig({
  test: { testTimeout: 300_000, hookTimeout: 300_000 },
});
