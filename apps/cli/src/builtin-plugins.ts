import type { Model } from '@whittle/ir';
import type { Plugin } from '@whittle/spec';
import { quantizePlugin } from '@whittle/quantize';
import { transformsPlugin } from '@whittle/transforms';

/** Passes whittle knows without --plugin. */
export const builtinPlugins: readonly Plugin<Model>[] = [transformsPlugin, quantizePlugin];
