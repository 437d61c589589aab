import {
  type AttributeShorthand,
  DataType,
  type Graph,
  GraphBuilder,
  type Model,
  Tensor,
  tensorType,
} from '@whittle/ir';
import { encodeModel } from '@whittle/onnx';
import type { DiagnosticInput } from '@whittle/spec';
import { bitIdentical, ort, outputsDifference, realModels, runOnnxRuntime } from '@whittle/test-fixtures';
import { describe, expect, it } from 'vitest';
import { liftConstants } from './lift-constants.js';
import { contextFor, errorsOf, loadRealModel, nodeCount, opCounts } from './test-support.js';

async function lift(model: Model, reports: DiagnosticInput[] = []) {
  return liftConstants.create({}).run(model, contextFor(reports));
}

const constant = (builder: GraphBuilder, output: string, attributes: Record<string, AttributeShorthand>) =>
  builder.op('Constant', [], { output, attributes });

describe('lift-constants', () => {
  it('lifts every dense value form and leaves sparse values', async () => {
    const builder = new GraphBuilder();
    const x = builder.input('x', DataType.FLOAT, [2]);
    const weights = Tensor.fromArray('w_tensor', DataType.FLOAT, [2], Float32Array.of(1, 2));
    const forms = [
      constant(builder, 'c_value', { value: weights }),
      constant(builder, 'c_float', { value_float: 0.5 }),
      constant(builder, 'c_floats', { value_floats: [0.5, 1.5] }),
      constant(builder, 'c_int', { value_int: 3 }),
      constant(builder, 'c_ints', { value_ints: [1, 2] }),
      constant(builder, 'c_string', { value_string: 'hello' }),
      constant(builder, 'c_strings', { value_strings: ['a', 'b'] }),
    ];
    const sparse = constant(builder, 'c_sparse', {
      sparse_value: { type: 'sparse-tensor', value: { opaque: true } } as AttributeShorthand,
    });
    for (const value of [...forms, sparse]) builder.op('Identity', [value]);
    builder.output(builder.op('Add', [x, forms[0]!], { output: 'y' }));
    const model = builder.model();

    const result = await lift(model);
    expect(result.changed).toBe(true);
    expect(result.statistics).toEqual({ constantsLifted: 7 });
    const graph = model.graph;
    expect(graph.initializers.map((value) => value.name)).toEqual([
      'c_value',
      'c_float',
      'c_floats',
      'c_int',
      'c_ints',
      'c_string',
      'c_strings',
    ]);
    expect(graph.nodes.filter((node) => node.is('Constant')).map((node) => node.output(0)!.name)).toEqual(['c_sparse']);
    // The same Value objects, now initializers: names and uses are unchanged.
    expect(forms[0]!.initializer).toBe(weights);
    expect(forms[0]!.constant?.name).toBe('c_value');
    expect(forms[0]!.producer).toBeUndefined();
    expect(forms[0]!.uses.map((use) => use.node.opType)).toEqual(['Identity', 'Add']);
    const read = (index: number) => forms[index]!.initializer!;
    expect([read(1).dataType, read(1).dims, Array.from(read(1).toArray() as Float32Array)]).toEqual([
      DataType.FLOAT,
      [],
      [0.5],
    ]);
    expect([read(3).dataType, read(3).dims, (read(3).toArray() as BigInt64Array)[0]]).toEqual([DataType.INT64, [], 3n]);
    expect([read(4).dims, Array.from(read(4).toArray() as BigInt64Array)]).toEqual([[2], [1n, 2n]]);
    expect(read(5).strings()).toEqual(['hello']);
    expect(read(6).strings()).toEqual(['a', 'b']);
    expect(forms[2]!.type).toEqual(tensorType(DataType.FLOAT, [2]));
    expect(errorsOf(model)).toEqual([]);

    const again = await lift(model);
    expect(again.changed).toBe(false);
    expect(again.statistics).toEqual({ constantsLifted: 0 });
  });

  it('keeps a Constant whose output is a graph output', async () => {
    const builder = new GraphBuilder();
    const x = builder.input('x', DataType.FLOAT, [1]);
    const kept = constant(builder, 'answer', { value: Tensor.fromArray('', DataType.FLOAT, [1], Float32Array.of(42)) });
    const lifted = constant(builder, 'one', { value_float: { type: 'float', value: 1 } });
    builder.output(kept);
    builder.output(builder.op('Add', [x, lifted], { output: 'y' }));
    const model = builder.model();
    const result = await lift(model);
    expect(result.statistics).toEqual({ constantsLifted: 1 });
    expect(model.graph.outputs.map((value) => value.name)).toEqual(['answer', 'y']);
    expect(model.graph.outputs[0]!.producer?.opType).toBe('Constant');
    expect(errorsOf(model)).toEqual([]);
    const feeds = { x: new ort.Tensor('float32', Float32Array.of(2), [1]) };
    const outputs = await runOnnxRuntime(encodeModel(model), feeds);
    expect(Array.from(outputs.answer!.data as Float32Array)).toEqual([42]);
    expect(Array.from(outputs.y!.data as Float32Array)).toEqual([3]);
  });

  it('lifts Constant nodes of subgraphs into the subgraph that holds them', async () => {
    const branch = (name: string, value: number): Graph => {
      const body = new GraphBuilder(name);
      const c = constant(body, `${name}_c`, {
        value: Tensor.fromArray('', DataType.FLOAT, [1], Float32Array.of(value)),
      });
      // An outer-scope value read inside the branch.
      body.output(body.op('Mul', [c, outerValue], { output: `${name}_out` }));
      return body.graph;
    };
    const builder = new GraphBuilder();
    const condition = builder.input('condition', DataType.BOOL, []);
    const x = builder.input('x', DataType.FLOAT, [1]);
    const outerValue = constant(builder, 'outer_c', { value_floats: { type: 'floats', value: [10] } });
    const sum = builder.op('Add', [x, outerValue], { output: 'sum' });
    const chosen = builder.op('If', [condition], {
      output: 'chosen',
      attributes: { then_branch: branch('then', 2), else_branch: branch('else', 3) },
    });
    builder.output(builder.op('Add', [sum, chosen], { output: 'y' }));
    const model = builder.model();

    const feeds = (flag: boolean) => ({
      condition: new ort.Tensor('bool', Uint8Array.of(flag ? 1 : 0), []),
      x: new ort.Tensor('float32', Float32Array.of(1), [1]),
    });
    const before = [
      await runOnnxRuntime(encodeModel(model), feeds(true)),
      await runOnnxRuntime(encodeModel(model), feeds(false)),
    ];

    const result = await lift(model);
    expect(result.statistics).toEqual({ constantsLifted: 3 });
    expect(model.graph.initializers.map((value) => value.name)).toEqual(['outer_c']);
    const ifNode = model.graph.nodes.find((node) => node.is('If'))!;
    const [thenGraph, elseGraph] = ifNode.subgraphs();
    expect(thenGraph!.initializers.map((value) => value.name)).toEqual(['then_c']);
    expect(elseGraph!.initializers.map((value) => value.name)).toEqual(['else_c']);
    expect(thenGraph!.nodeCount).toBe(1);
    expect(errorsOf(model)).toEqual([]);

    const after = [
      await runOnnxRuntime(encodeModel(model), feeds(true)),
      await runOnnxRuntime(encodeModel(model), feeds(false)),
    ];
    expect(Array.from(after[0]!.y!.data as Float32Array)).toEqual([31]);
    expect(Array.from(after[1]!.y!.data as Float32Array)).toEqual([41]);
    expect(outputsDifference(before[0]!, after[0]!)).toBeUndefined();
    expect(outputsDifference(before[1]!, after[1]!)).toBeUndefined();
  });

  it('leaves models of IR version 3 alone with a note', async () => {
    const builder = new GraphBuilder();
    const x = builder.input('x', DataType.FLOAT, [1]);
    builder.output(builder.op('Add', [x, constant(builder, 'one', { value_float: 0.5 })], { output: 'y' }));
    const model = builder.model({ irVersion: 3 });
    const reports: DiagnosticInput[] = [];
    const result = await lift(model, reports);
    expect(result.changed).toBe(false);
    expect(reports.map((report) => report.code)).toEqual(['LIFT_CONSTANTS_OLD_IR_VERSION']);
    expect(model.graph.nodeCount).toBe(2);
  });
});

describe('lift-constants on real models', () => {
  it.each(realModels.map((fixture) => [fixture.id, fixture] as const))(
    '%s: outputs bit-identical, Constant nodes gone, second run unchanged',
    async (_id, fixture) => {
      const { model, feeds, expected } = await loadRealModel(fixture);
      const nodesBefore = nodeCount(model);
      const constantsBefore = opCounts(model).Constant ?? 0;

      const result = await lift(model);
      expect(result.statistics!.constantsLifted).toBe(nodesBefore - nodeCount(model));
      expect(result.changed).toBe(constantsBefore > 0);
      expect(errorsOf(model)).toEqual([]);
      const actual = await runOnnxRuntime(encodeModel(model), feeds);
      expect(outputsDifference(expected, actual)).toBeUndefined();
      expect(bitIdentical(expected, actual)).toBe(true);
      const again = await lift(model);
      expect(again.changed).toBe(false);
      console.info(
        `${fixture.id}: ${nodesBefore} -> ${nodeCount(model)} nodes, ${result.statistics!.constantsLifted} of ${constantsBefore} Constant nodes lifted`,
      );
    },
  );
});
