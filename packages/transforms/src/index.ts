import type { Model } from '@whittle/ir';
import type { PassDefinition, Plugin } from '@whittle/spec';
import { deduplicateInitializers } from './deduplicate-initializers.js';
import { eliminateDeadCode } from './eliminate-dead-code.js';
import { eliminateIdentities } from './eliminate-identities.js';
import { fixInputShapes } from './fix-input-shapes.js';
import { foldConstants } from './fold-constants.js';
import { fuseBatchNorm } from './fuse-batchnorm.js';
import { fuseBiasAdd } from './fuse-bias-add.js';
import { fuseMatMulAdd } from './fuse-matmul-add.js';
import { inferShapes } from './infer-shapes.js';
import { liftConstants } from './lift-constants.js';
import { fixpointPass } from './optimize.js';
import { removeUnused } from './remove-unused.js';
import { topologicalSort } from './topological-sort.js';
import { upgradeOpsetPass } from './upgrade-opset.js';

export { deduplicateInitializers } from './deduplicate-initializers.js';
export { eliminateDeadCode } from './eliminate-dead-code.js';
export { eliminateIdentities } from './eliminate-identities.js';
export { fixInputShapes } from './fix-input-shapes.js';
export { foldConstants } from './fold-constants.js';
export { fuseBatchNorm } from './fuse-batchnorm.js';
export { fuseBiasAdd } from './fuse-bias-add.js';
export { fuseMatMulAdd } from './fuse-matmul-add.js';
export { bypassNode, removeValueInfo } from './graph-edits.js';
export { inferShapes } from './infer-shapes.js';
export { liftConstants } from './lift-constants.js';
export { fixpointPass, type OptimizeOptions } from './optimize.js';
export { removeUnused } from './remove-unused.js';
export { topologicalSort } from './topological-sort.js';
export {
  type UpgradeOpsetOptions,
  type UpgradeOpsetStatistics,
  UpgradeOpsetCodes,
  upgradeOpset,
  upgradeOpsetPass,
} from './upgrade-opset.js';

/**
 * The safe default order: constants first (so fusions see initializers and folds see constants), shapes before
 * the rewrites that need them, fusions before dead-code removal, clean-up and sorting last.
 */
// biome-ignore lint/suspicious/noExplicitAny: each pass has options of its own type
export const OPTIMIZE_SEQUENCE: readonly PassDefinition<any, Model>[] = [
  liftConstants,
  foldConstants,
  inferShapes,
  eliminateIdentities,
  fuseBiasAdd,
  fuseBatchNorm,
  fuseMatMulAdd,
  eliminateDeadCode,
  deduplicateInitializers,
  removeUnused,
  topologicalSort,
];

export const optimize = fixpointPass('optimize', 'The default graph optimizations', OPTIMIZE_SEQUENCE);

/** Whittle's graph optimization passes; the CLI registers this plugin. */
export const transformsPlugin: Plugin<Model> = {
  name: '@whittle/transforms',
  passes: [...OPTIMIZE_SEQUENCE, fixInputShapes, optimize, upgradeOpsetPass],
};
