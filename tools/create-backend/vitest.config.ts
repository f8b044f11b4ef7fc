import { defineConfig } from 'vitest/config';

// The scaffold test builds a generated package with tsc and runs the conformance suites on it, twice, beside
// whatever else turbo runs on a loaded 2-core machine: tens of seconds, which is not a failure. Only this
// package's own tests run here: template/test/ is the generated package's test, not one of ours.
export default defineConfig({
  test: { include: ['test/**/*.test.ts'], testTimeout: 300_000, hookTimeout: 300_000 },
});
