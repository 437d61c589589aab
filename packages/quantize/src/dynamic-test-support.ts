/**
 * Test-only helpers for the quantize-dynamic and lower-qoperator tests (never exported from the package): a pass
 * context, checked pass runs, ONNX Runtime runs of IR models, SQNR, op counts, random data.
 */
import { DataType, type Model, Tensor, verifyModel } from '@whittle/ir';
import { encodeModel } from '@whittle/onnx';
import type { DiagnosticInput, PassContext, PassDefinition, PassResult } from '@whittle/spec';
import {
  type OrtTensor,
  type Outputs,
  ort,
  type Random,
  runOnnxRuntime,
  type SessionSettings,
} from '@whittle/test-fixtures';
import { expect } from 'vitest';

/** ONNX Runtime without its warnings in the test output. */
export const QUIET: SessionSettings = { logSeverityLevel: 4 };

export function contextFor(reports: DiagnosticInput[] = []): PassContext<Model> {
  const context: PassContext<Model> = {
    report: (diagnostic) => reports.push(diagnostic),
    analysis: (analysis, model) => analysis.compute(model, context),
    debug: true,
  };
  return context;
}

export const errorsOf = (model: Model) => verifyModel(model).filter((diagnostic) => diagnostic.severity !== 'info');

/**
 * Run a pass and check what it must keep: no verifier error or warning, the graph outputs' names and types, and
 * nothing left to change on a second run.
 */
export async function runChecked<T>(
  definition: PassDefinition<T, Model>,
  options: T,
  model: Model,
  reports: DiagnosticInput[] = [],
): Promise<PassResult<Model>> {
  const outputs = model.graph.outputs.map((value) => [value.name, value.type]);
  const result = await definition.create(options).run(model, contextFor(reports));
  expect(errorsOf(result.model)).toEqual([]);
  expect(model.graph.outputs.map((value) => [value.name, value.type])).toEqual(outputs);
  expect((await definition.create(options).run(model, contextFor())).changed).toBe(false);
  return result;
}

export function runModel(model: Model, feeds: Record<string, OrtTensor>, settings: SessionSettings = QUIET) {
  return runOnnxRuntime(encodeModel(model), feeds, settings);
}

/** Signal-to-quantization-noise ratio in dB over every float output: 10·log10(Σ ref² / Σ (ref − out)²). */
export function sqnr(reference: Outputs, actual: Outputs): number {
  let signal = 0;
  let noise = 0;
  for (const [name, expected] of Object.entries(reference)) {
    if (expected.type !== 'float32') continue;
    const got = actual[name];
    if (!got) return Number.NEGATIVE_INFINITY;
    const a = expected.data as Float32Array;
    const b = got.data as Float32Array;
    for (let index = 0; index < a.length; index++) {
      signal += a[index]! * a[index]!;
      noise += (a[index]! - b[index]!) ** 2;
    }
  }
  return noise === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10(signal / noise);
}

/** Nodes of each op type, subgraphs included. */
export function opCounts(model: Model): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const node of model.graph.allNodes()) counts[node.opType] = (counts[node.opType] ?? 0) + 1;
  return counts;
}

export const opTypesOf = (model: Model) => model.graph.nodes.map((node) => node.opType);

export function randomFloats(random: Random, count: number, low = -1, high = 1): Float32Array {
  return Float32Array.from({ length: count }, () => random.uniform(low, high));
}

export function floatTensor(name: string, dims: number[], values: ArrayLike<number>): Tensor {
  return Tensor.fromArray(name, DataType.FLOAT, dims, Float32Array.from(values));
}

export function floatFeed(dims: number[], values: ArrayLike<number>): OrtTensor {
  return new ort.Tensor('float32', Float32Array.from(values), dims);
}
