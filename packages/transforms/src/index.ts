import type { Model } from '@whittle/ir';
import type { PassDefinition, Plugin } from '@whittle/spec';

export { bypassNode, removeValueInfo } from './graph-edits.js';

// biome-ignore lint/suspicious/noExplicitAny: each pass has options of its own type
const passes: PassDefinition<any, Model>[] = [];

/** Whittle's graph optimization passes, registered by the CLI. */
export const transformsPlugin: Plugin<Model> = {
  name: '@whittle/transforms',
  passes,
};
