/** Test-only: run a pipeline the way the CLI does, with the verifier after every pass. */
import { PassManager, PassRegistry } from '@whittle/core';
import { type Model, verifyModel } from '@whittle/ir';
import type { PipelineRunResult, PipelineStep } from '@whittle/spec';
import { transformsPlugin } from './index.js';

export function runPipeline(model: Model, steps: readonly PipelineStep[]): Promise<PipelineRunResult<Model>> {
  const registry = new PassRegistry<Model>().register(transformsPlugin);
  return new PassManager<Model>(registry).run(model, steps, {
    debug: true,
    verify: (candidate) => verifyModel(candidate),
  });
}

export function nodeCount(model: Model): number {
  let count = 0;
  for (const _ of model.graph.allNodes()) count++;
  return count;
}
