import type { Model } from '@whittle/ir';
import type { Plugin } from '@whittle/spec';
import { stripDocStrings } from './strip-doc-strings.js';

export { stripDocStrings, type StripDocStringsOptions } from './strip-doc-strings.js';

/** The plugin whittle loads with `--plugin @acme/whittle-third-party-pass`. */
export const plugin: Plugin<Model> = {
  name: '@acme/whittle-third-party-pass',
  passes: [stripDocStrings],
  presets: { 'acme/tidy': ['acme/strip-doc-strings'] },
};

export default plugin;
