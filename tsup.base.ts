import type { Options } from 'tsup';

/** Build options every package shares; each package's tsup.config.ts adds its own entry points. */
export const commonOptions: Options = {
  format: ['esm'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
};
