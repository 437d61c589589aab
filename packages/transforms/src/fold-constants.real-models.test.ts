/**
 * lift-constants then fold-constants on every real model of @whittle/test-fixtures: ONNX Runtime outputs stay within
 * 1e-6 of the original model's (relative to each output's largest magnitude), the IR verifier finds no error, graph
 * inputs and outputs keep their names, node counts go down, and a second run of either pass changes nothing.
 */
import { DataType, type Model, verifyModel } from '@whittle/ir';
import { encodeModel } from '@whittle/onnx';
import { readModel } from '@whittle/onnx/node';
import type { DiagnosticInput, PassContext } from '@whittle/spec';
import { declaredInputs, type Outputs, realModelInputs, realModels, runOnnxRuntime } from '@whittle/test-fixtures';
import { describe, expect, it } from 'vitest';
import { foldConstants } from './fold-constants.js';
import { liftConstants } from './lift-constants.js';

const RELATIVE = 1e-6;

function contextFor(reports: DiagnosticInput[]): PassContext<Model> {
  const context: PassContext<Model> = {
    report: (diagnostic) => reports.push(diagnostic),
    analysis: (analysis, model) => analysis.compute(model, context),
    debug: true,
  };
  return context;
}

function nodeCount(model: Model): number {
  let count = 0;
  for (const graph of model.graphs()) count += graph.nodeCount;
  return count;
}

/** Largest |a - b| over each output's largest |a|, across outputs (0 when bit-identical). */
function largestRelativeDifference(expected: Outputs, actual: Outputs): number {
  expect(Object.keys(actual)).toEqual(Object.keys(expected));
  let worst = 0;
  for (const [name, tensor] of Object.entries(expected)) {
    const other = actual[name]!;
    expect(other.type).toBe(tensor.type);
    expect(other.dims).toEqual(tensor.dims);
    const a = tensor.data as ArrayLike<number>;
    const b = other.data as ArrayLike<number>;
    if (tensor.type !== 'float32' && tensor.type !== 'float64') {
      expect(Array.from(b)).toEqual(Array.from(a));
      continue;
    }
    let scale = 0;
    for (let index = 0; index < a.length; index++) scale = Math.max(scale, Math.abs(a[index]!));
    for (let index = 0; index < a.length; index++) {
      const difference = Math.abs(a[index]! - b[index]!);
      if (Number.isNaN(a[index]!) !== Number.isNaN(b[index]!)) return Number.POSITIVE_INFINITY;
      if (difference > 0) worst = Math.max(worst, scale > 0 ? difference / scale : Number.POSITIVE_INFINITY);
    }
  }
  return worst;
}

function opCounts(model: Model): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const graph of model.graphs())
    for (const node of graph.nodes) counts[node.opType] = (counts[node.opType] ?? 0) + 1;
  return counts;
}

describe('lift-constants + fold-constants on real models', () => {
  it.each(realModels.map((fixture) => [fixture.id, fixture] as const))(
    '%s: outputs within 1e-6, fewer nodes, valid IR, idempotent',
    async (_id, fixture) => {
      const model = readModel(fixture.path).model;
      const feeds = realModelInputs(fixture, declaredInputs(model));
      const expected = await runOnnxRuntime(fixture.path, feeds);
      const interfaceBefore = [model.graph.inputs.map((value) => value.name), model.graph.outputs.map((v) => v.name)];
      const reports: DiagnosticInput[] = [];
      const context = contextFor(reports);
      const original = nodeCount(model);
      const opsBefore = opCounts(model);

      const lifted = await liftConstants.create({}).run(model, context);
      const afterLift = nodeCount(model);
      const bytesBefore = encodeModel(model).byteLength;
      const folded = await foldConstants.create({}).run(model, context);
      const afterFold = nodeCount(model);
      const bytesAfter = encodeModel(model).byteLength;

      expect(reports).toEqual([]);
      expect(verifyModel(model).filter((diagnostic) => diagnostic.severity === 'error')).toEqual([]);
      expect([model.graph.inputs.map((value) => value.name), model.graph.outputs.map((v) => v.name)]).toEqual(
        interfaceBefore,
      );
      const difference = largestRelativeDifference(expected, await runOnnxRuntime(encodeModel(model), feeds));
      expect(difference).toBeLessThanOrEqual(RELATIVE);
      expect(afterFold).toBeLessThanOrEqual(original);
      // Folding never grows these models: it adds no copies of weights, only small tables in place of their inputs.
      expect(bytesAfter).toBeLessThanOrEqual(bytesBefore);
      expect(folded.statistics!.nodesFolded).toBeGreaterThanOrEqual(0);
      if (opsBefore.Constant) expect(afterLift).toBeLessThan(original);

      expect((await liftConstants.create({}).run(model, context)).changed).toBe(false);
      const again = await foldConstants.create({}).run(model, context);
      expect(again.changed).toBe(false);
      expect(again.statistics!.nodesFolded).toBe(0);

      const opsAfter = opCounts(model);
      const foldedOps = Object.keys(opsBefore)
        .filter((op) => op !== 'Constant' && (opsAfter[op] ?? 0) < opsBefore[op]!)
        .map((op) => `${op} ${opsBefore[op]}->${opsAfter[op] ?? 0}`);
      console.info(
        `${fixture.id}: nodes ${original} -> ${afterLift} after lift-constants ${JSON.stringify(lifted.statistics)} ` +
          `-> ${afterFold} after fold-constants ${JSON.stringify(folded.statistics)}; ` +
          `file ${bytesBefore} -> ${bytesAfter} bytes; largest relative difference ${difference.toExponential(2)}; ` +
          `folded: ${foldedOps.join(', ') || 'nothing'}`,
      );
    },
  );

  it('folds the shape arithmetic of Silero VAD, including inside its If branches', async () => {
    const fixture = realModels.find((model) => model.id === 'silero-vad-v5')!;
    const model = readModel(fixture.path).model;
    const context = contextFor([]);
    await liftConstants.create({}).run(model, context);
    const before = nodeCount(model);
    const subgraphNodesBefore = [...model.graphs()].slice(1).reduce((total, graph) => total + graph.nodeCount, 0);
    const result = await foldConstants.create({}).run(model, context);
    const subgraphNodesAfter = [...model.graphs()].slice(1).reduce((total, graph) => total + graph.nodeCount, 0);
    expect(result.statistics!.nodesFolded).toBeGreaterThan(0);
    expect(nodeCount(model)).toBe(before - result.statistics!.nodesFolded!);
    expect(subgraphNodesAfter).toBeLessThan(subgraphNodesBefore);
    // Folded subgraph values live in the subgraph that computes them.
    const subgraphInitializers = [...model.graphs()].slice(1).flatMap((graph) => graph.initializers);
    expect(subgraphInitializers.length).toBeGreaterThan(0);
    expect(subgraphInitializers.every((value) => value.initializer?.dataType !== DataType.UNDEFINED)).toBe(true);
  });
});
