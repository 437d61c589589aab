import type { Model } from '@whittle/ir';
import type { Plugin } from '@whittle/spec';

/** Passes whittle knows without --plugin. Graph optimization passes join here as they land. */
export const builtinPlugins: readonly Plugin<Model>[] = [];
