/**
 * Test-only helpers shared by the transforms tests (never exported from the package): a pass context, passes and
 * pipelines run with their checks, counts, random weights and feeds, real models with ONNX Runtime's outputs.
 */
import { readFileSync } from 'node:fs';
import { PassManager, PassRegistry } from '@whittle/core';
import { DataType, type Model, Tensor, verifyModel } from '@whittle/ir';
import { decodeTensor, encodeModel } from '@whittle/onnx';
import { readModel } from '@whittle/onnx/node';
import type {
  DiagnosticInput,
  PassContext,
  PassDefinition,
  PassResult,
  PipelineRunResult,
  PipelineStep,
} from '@whittle/spec';
import {
  type ConformanceDataSet,
  declaredInputs,
  type OrtTensor,
  ort,
  type Random,
  type RealModel,
  realModelInputs,
  relativeDifference,
  runOnnxRuntime,
} from '@whittle/test-fixtures';
import { expect } from 'vitest';
import { transformsPlugin } from './index.js';

/** ONNX Runtime settings that keep its warnings about the conformance models out of the test output. */
export const QUIET = { logSeverityLevel: 4 } as const;

/** A pass context: diagnostics go into `reports`, analyses are computed when asked for, debug checks are on. */
export function contextFor(reports: DiagnosticInput[] = []): PassContext<Model> {
  const context: PassContext<Model> = {
    report: (diagnostic) => reports.push(diagnostic),
    analysis: (analysis, model) => analysis.compute(model, context),
    debug: true,
  };
  return context;
}

/** Run a pipeline the way the CLI does, with the verifier after every pass. */
export function runPipeline(model: Model, steps: readonly PipelineStep[]): Promise<PipelineRunResult<Model>> {
  const registry = new PassRegistry<Model>().register(transformsPlugin);
  return new PassManager<Model>(registry).run(model, steps, {
    debug: true,
    verify: (candidate) => verifyModel(candidate),
  });
}

/**
 * Run a pass without options and check what it must keep: no verifier error, the graph outputs' names and types,
 * and nothing left to change on a second run.
 */
export async function runChecked(
  definition: PassDefinition<Record<string, never>, Model>,
  model: Model,
): Promise<PassResult<Model>> {
  const context = contextFor();
  const outputs = model.graph.outputs.map((value) => [value.name, value.type]);
  const result = await definition.create({}).run(model, context);
  expect(errorsOf(result.model)).toEqual([]);
  expect(model.graph.outputs.map((value) => [value.name, value.type])).toEqual(outputs);
  expect((await definition.create({}).run(model, context)).changed).toBe(false);
  return result;
}

/**
 * `runChecked`, and ONNX Runtime's outputs after the pass within `tolerance` of those before it (relative to each
 * output's largest magnitude).
 */
export async function runKeepingOutputs(
  definition: PassDefinition<Record<string, never>, Model>,
  model: Model,
  feeds: Record<string, OrtTensor>,
  tolerance: number,
): Promise<PassResult<Model>> {
  const before = await runOnnxRuntime(encodeModel(model), feeds);
  const result = await runChecked(definition, model);
  const after = await runOnnxRuntime(encodeModel(model), feeds);
  expect(Object.keys(after)).toEqual(Object.keys(before));
  // The floor only keeps an all-zero output from being divided by zero.
  expect(relativeDifference(before, after, { floor: 1e-30 })).toBeLessThan(tolerance);
  return result;
}

export const errorsOf = (model: Model) => verifyModel(model).filter((diagnostic) => diagnostic.severity === 'error');

/** Op types of the main graph's nodes, in order. */
export const opTypesOf = (model: Model) => model.graph.nodes.map((node) => node.opType);

/** Nodes of every graph, subgraphs included. */
export function nodeCount(model: Model): number {
  let count = 0;
  for (const _ of model.graph.allNodes()) count++;
  return count;
}

/** Nodes of each op type, subgraphs included. */
export function opCounts(model: Model): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const graph of model.graphs()) {
    for (const node of graph.nodes) counts[node.opType] = (counts[node.opType] ?? 0) + 1;
  }
  return counts;
}

export interface RandomTensorOptions {
  /** Values are uniform in [low, high); -1 and 1 by default. */
  low?: number;
  high?: number;
  /** FLOAT (the default) or DOUBLE. */
  type?: DataType;
}

export function randomTensor(
  random: Random,
  name: string,
  dims: readonly number[],
  { low = -1, high = 1, type = DataType.FLOAT }: RandomTensorOptions = {},
): Tensor {
  const count = dims.reduce((product, dim) => product * dim, 1);
  const values = Array.from({ length: count }, () => random.uniform(low, high));
  return type === DataType.DOUBLE
    ? Tensor.fromArray(name, type, dims, Float64Array.from(values))
    : Tensor.fromArray(name, type, dims, Float32Array.from(values));
}

/** A float32 ONNX Runtime input of standard normal values. */
export function randomFeed(random: Random, dims: readonly number[]): OrtTensor {
  const count = dims.reduce((product, dim) => product * dim, 1);
  return new ort.Tensor(
    'float32',
    Float32Array.from({ length: count }, () => random.normal()),
    dims,
  );
}

/** A real model read into the IR, the fixture's inputs for it, and ONNX Runtime's outputs on the original file. */
export async function loadRealModel(fixture: RealModel) {
  const loaded = readModel(fixture.path);
  const feeds = realModelInputs(fixture, declaredInputs(loaded.model));
  const expected = await runOnnxRuntime(fixture.path, feeds);
  return { ...loaded, feeds, expected };
}

/** The input tensors of a conformance data set, in order. */
export function readDataSetInputs(set: ConformanceDataSet): Tensor[] {
  return set.inputs.map((file) => decodeTensor(new Uint8Array(readFileSync(file)), { file }));
}
