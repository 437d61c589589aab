import { defineConfig } from 'vitest/config';

/** Running vitest from the root runs every package's tests, each with its own config. */
export default defineConfig({
  test: {
    projects: ['packages/*/vitest.config.ts', 'apps/*/vitest.config.ts', 'examples/*/vitest.config.ts'],
  },
});
