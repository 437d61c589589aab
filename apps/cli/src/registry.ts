import { PassManager, type Pipeline, PassRegistry } from '@whittle/core';
import { loadPlugin } from '@whittle/core/node';
import { type Model, verifyModel } from '@whittle/ir';
import type { PipelineRunResult } from '@whittle/spec';
import { builtinPlugins } from './builtin-plugins.js';

export interface PluginRequest {
  specifier: string;
  /** The folder the specifier resolves from. */
  from: string;
}

/** The built-in passes plus the plugins a user named, in order. */
export async function createRegistry(plugins: readonly PluginRequest[]): Promise<PassRegistry<Model>> {
  const registry = new PassRegistry<Model>();
  for (const plugin of builtinPlugins) registry.register(plugin);
  for (const { specifier, from } of plugins) registry.register(await loadPlugin<Model>(specifier, { from }));
  return registry;
}

/** Run a pipeline the way every command does: the IR verifier after each pass when --debug is given. */
export function runPipeline(
  registry: PassRegistry<Model>,
  model: Model,
  pipeline: Pipeline,
  debug: boolean | undefined,
): Promise<PipelineRunResult<Model>> {
  return new PassManager<Model>(registry).run(model, pipeline, {
    debug: debug ?? false,
    verify: (candidate) => verifyModel(candidate),
  });
}

/**
 * A run's statistics in one record, each named after its pass (`fuse-batchnorm.batchNormsFused`). Composite passes
 * such as `optimize` already name theirs that way and are listed in `alreadyNamed`.
 */
export function statisticsByPass(
  result: PipelineRunResult<Model>,
  alreadyNamed: readonly string[] = [],
): Record<string, number> {
  const statistics: Record<string, number> = {};
  for (const record of result.passes) {
    for (const [key, value] of Object.entries(record.statistics)) {
      statistics[alreadyNamed.includes(record.pass) ? key : `${record.pass}.${key}`] = value;
    }
  }
  return statistics;
}
