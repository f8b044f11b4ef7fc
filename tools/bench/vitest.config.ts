import { defineConfig } from 'vitest/config';

// The end-to-end tests start real worker processes (Node and, where installed, Python with torch) and run
// real convolutions on a loaded 2-core machine: seconds each, which is not a failure. Nothing asserts time.
export default defineConfig({
  test: { testTimeout: 300_000, hookTimeout: 300_000 },
});
