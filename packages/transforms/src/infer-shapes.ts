/**
 * The `infer-shapes` pass: element type and shape of every value, in every graph, written to the model (value_info
 * for intermediate values). See ./shape-inference for the engine and the per-op rules.
 */
import type { Model } from '@whittle/ir';
import type { DiagnosticInput, PassDefinition } from '@whittle/spec';
import type { Inferrer } from './shape-inference/context.js';
import { ShapeInferenceEngine, type ShapeInferenceStatistics } from './shape-inference/engine.js';
import { defaultInferrers } from './shape-inference/registry.js';

export { ShapeInferenceCodes } from './shape-inference/codes.js';
export type { InferenceContext, Inferrer, TensorFacts } from './shape-inference/context.js';
export type { PartialTensor } from './shape-inference/data.js';
export type { ShapeInferenceStatistics } from './shape-inference/engine.js';
export { supportedOps as shapeInferenceSupportedOps } from './shape-inference/registry.js';

export interface InferShapesSettings {
  /** Where warnings (SHAPE_CONFLICT) and notes go. */
  report?: (diagnostic: DiagnosticInput) => void;
  /** Extra or replacement inferrers by op type (default domain). */
  inferrers?: Readonly<Record<string, Inferrer>>;
}

/**
 * Infer and write the types of every value of a model (in place). Returns whether any value gained facts, and
 * counts: values typed in this run, values fully static, values still unknown.
 */
export function runShapeInference(
  model: Model,
  settings: InferShapesSettings = {},
): { changed: boolean; statistics: ShapeInferenceStatistics } {
  const inferrers = settings.inferrers
    ? new Map([...defaultInferrers, ...Object.entries(settings.inferrers)])
    : defaultInferrers;
  const engine = new ShapeInferenceEngine(model, {
    inferrers,
    ...(settings.report ? { report: settings.report } : {}),
  });
  return engine.run();
}

export type InferShapesOptions = Record<string, never>;

/** The `infer-shapes` pass (no options). */
export const inferShapes: PassDefinition<InferShapesOptions, Model> = {
  name: 'infer-shapes',
  description:
    'Infer the element type and shape of every value (subgraphs included) and record them as value_info; ' +
    'symbolic dims are carried through, small shape computations are evaluated',
  create() {
    return {
      name: 'infer-shapes',
      run(model, context) {
        const { changed, statistics } = runShapeInference(model, {
          report: (diagnostic) => context.report(diagnostic),
        });
        return {
          model,
          changed,
          // Only types changed: the graph's structure, and any analysis of it, is the same.
          ...(changed ? {} : { preserved: 'all' as const }),
          statistics: { ...statistics },
        };
      },
    };
  },
};
