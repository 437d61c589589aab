import { defineConfig } from 'vitest/config';

/** Settings every package's tests share; each package's vitest.config.ts starts from these. */
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    // Conformance and real-model tests run onnxruntime-node over hundreds of models.
    testTimeout: 180_000,
    hookTimeout: 180_000,
    pool: 'forks',
  },
});
