import { defineConfig } from 'vitest/config';

// The real-data suites gunzip and parse all of Fashion-MNIST (about 55 MB) and render thousands of
// geometric items; on a loaded 2-core machine a file can take tens of seconds, which is not a failure:
// nothing here asserts wall time.
export default defineConfig({
  test: { testTimeout: 300_000, hookTimeout: 300_000 },
});
