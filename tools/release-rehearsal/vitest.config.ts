import { defineConfig } from 'vitest/config';

// One rehearsal: copy + offline install + changeset version + publish + npm install + the README example.
// About a minute on an idle 2-core machine; several times that when turbo runs other suites beside it, which
// is not a failure: nothing here asserts wall time.
export default defineConfig({
  test: { testTimeout: 300_000, hookTimeout: 300_000, teardownTimeout: 30_000 },
});
