import { defineConfig } from 'vitest/config';

// The conformance test runs every suite of both ops (hundreds of real convolutions, gradient checks against
// a float64 reference) once your kernels exist; on a loaded 2-core machine that takes a while, which is
// not a failure: nothing here asserts wall time.
export default defineConfig({
  test: { testTimeout: 300_000, hookTimeout: 120_000 },
});
