import { defineConfig } from 'tsup';
import { commonOptions } from '../../tsup.base.js';

export default defineConfig({
  ...commonOptions,
  entry: ['src/index.ts'],
});
