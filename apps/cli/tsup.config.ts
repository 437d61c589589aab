import { defineConfig } from 'tsup';
import { commonOptions } from '../../tsup.base.js';

export default defineConfig({
  ...commonOptions,
  entry: ['src/index.ts', 'src/main.ts'],
  // main.ts is the command's executable; only the library entry point needs declarations.
  dts: { entry: 'src/index.ts' },
});
