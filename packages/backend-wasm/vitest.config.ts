import { defineConfig } from 'vitest/config';

// Suites compute real convolutions (and a float64 reference); on a loaded 2-core machine a file can take
// tens of seconds, which is not a failure: nothing here asserts wall time.
export default defineConfig({
  test: { testTimeout: 300_000, hookTimeout: 300_000 },
});
