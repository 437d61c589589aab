/**
 * lift-constants then fold-constants on every real model of @whittle/test-fixtures: ONNX Runtime outputs stay within
 * 1e-6 of the original model's (relative to each output's largest magnitude), the IR verifier finds no error, graph
 * inputs and outputs keep their names, node counts go down, and a second run of either pass changes nothing.
 */
import { DataType } from '@whittle/ir';
import { encodeModel } from '@whittle/onnx';
import { readModel } from '@whittle/onnx/node';
import type { DiagnosticInput } from '@whittle/spec';
import { realModels, relativeDifference, runOnnxRuntime } from '@whittle/test-fixtures';
import { describe, expect, it } from 'vitest';
import { foldConstants } from './fold-constants.js';
import { liftConstants } from './lift-constants.js';
import { contextFor, errorsOf, loadRealModel, nodeCount, opCounts } from './test-support.js';

const RELATIVE = 1e-6;

describe('lift-constants + fold-constants on real models', () => {
  it.each(realModels.map((fixture) => [fixture.id, fixture] as const))(
    '%s: outputs within 1e-6, fewer nodes, valid IR, idempotent',
    async (_id, fixture) => {
      const { model, feeds, expected } = await loadRealModel(fixture);
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
      expect(errorsOf(model)).toEqual([]);
      expect([model.graph.inputs.map((value) => value.name), model.graph.outputs.map((v) => v.name)]).toEqual(
        interfaceBefore,
      );
      const difference = relativeDifference(expected, await runOnnxRuntime(encodeModel(model), feeds));
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
