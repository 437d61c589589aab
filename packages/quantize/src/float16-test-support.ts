/**
 * Test-only helpers of the convert-float16 and quantize-weights tests (never exported from the package): a pass
 * context, pass runs with the verifier, output quality (SQNR) and single-node models.
 */
import { type Model, verifyModel } from '@whittle/ir';
import type { DiagnosticInput, PassContext, PassDefinition, PassResult } from '@whittle/spec';
import type { Outputs } from '@whittle/test-fixtures';
import { expect } from 'vitest';

/** A pass context: diagnostics go into `reports`, analyses are computed when asked for, debug checks are on. */
export function contextFor(reports: DiagnosticInput[] = []): PassContext<Model> {
  const context: PassContext<Model> = {
    report: (diagnostic) => reports.push(diagnostic),
    analysis: (analysis, model) => analysis.compute(model, context),
    debug: true,
  };
  return context;
}

export const errorsOf = (model: Model) => verifyModel(model).filter((diagnostic) => diagnostic.severity === 'error');

/** Run a pass with options, check the verifier finds no error, and return the result with its diagnostics. */
export async function runPass<T>(
  definition: PassDefinition<T, Model>,
  model: Model,
  options: T,
): Promise<PassResult<Model> & { reports: DiagnosticInput[] }> {
  const reports: DiagnosticInput[] = [];
  const result = await definition.create(options).run(model, contextFor(reports));
  expect(errorsOf(result.model)).toEqual([]);
  return { ...result, reports };
}

/**
 * Signal to quantization noise ratio in dB over every float output: 10 log10(sum ref^2 / sum (ref - out)^2).
 * Infinity when the outputs are identical.
 */
export function sqnr(reference: Outputs, actual: Outputs): number {
  let signal = 0;
  let noise = 0;
  for (const [name, tensor] of Object.entries(reference)) {
    if (tensor.type !== 'float32') continue;
    const other = actual[name];
    expect(other?.type, `output ${name}`).toBe('float32');
    expect(other?.dims).toEqual(tensor.dims);
    const a = tensor.data as Float32Array;
    const b = other!.data as Float32Array;
    for (let index = 0; index < a.length; index++) {
      signal += a[index]! * a[index]!;
      noise += (a[index]! - b[index]!) ** 2;
    }
  }
  if (Number.isNaN(noise)) return Number.NEGATIVE_INFINITY;
  return noise === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10(signal / noise);
}

/** Op types of every node, subgraphs included, counted. */
export function opCounts(model: Model): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const graph of model.graphs()) {
    for (const node of graph.nodes) counts[node.opType] = (counts[node.opType] ?? 0) + 1;
  }
  return counts;
}
