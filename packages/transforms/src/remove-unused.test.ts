import { DataType, GraphBuilder, type Model, tensorType, Value } from '@whittle/ir';
import type { PassResult } from '@whittle/spec';
import { describe, expect, it } from 'vitest';
import { type RemoveUnusedOptions, removeUnused } from './remove-unused.js';
import { floats } from './shape-inference/test-support.js';
import { contextFor, errorsOf } from './test-support.js';

const context = contextFor();

async function run(model: Model, options: RemoveUnusedOptions = {}): Promise<PassResult<Model>> {
  const result = await removeUnused.create(options).run(model, context);
  expect(errorsOf(result.model)).toEqual([]);
  expect((await removeUnused.create(options).run(model, context)).changed).toBe(false);
  return result;
}

const names = (values: readonly Value[]) => values.map((value) => value.name);

function sample(): { model: Model; thenBranch: GraphBuilder } {
  const b = new GraphBuilder();
  const x = b.input('x', DataType.FLOAT, [2]);
  const cond = b.input('cond', DataType.BOOL, []);
  const overridable = b.graph.addInput(new Value('default', tensorType(DataType.FLOAT, [2])));
  b.graph.addInitializer(floats('default', [0, 0]), overridable);
  const unused = b.initializer(floats('unused', [1, 2]));
  b.graph.valueInfo.push(unused);
  const readInBranch = b.initializer(floats('read_in_branch', [1, 2]));
  const output = b.initializer(floats('as_output', [1, 2]));
  const branchOutput = b.initializer(floats('as_branch_output', [1, 2]));
  const thenBranch = new GraphBuilder('then');
  thenBranch.initializer(floats('inner_unused', [3]));
  thenBranch.output(thenBranch.op('Add', [x, readInBranch], { output: 'then_out', domain: 'com.example' }));
  const elseBranch = new GraphBuilder('else');
  elseBranch.output(branchOutput);
  b.output(
    b.op('If', [cond], { output: 'y', attributes: { then_branch: thenBranch.graph, else_branch: elseBranch.graph } }),
  );
  b.output(output);
  const model = b.model({
    opsetImports: [
      { domain: '', version: 17 },
      { domain: 'ai.onnx.ml', version: 3 },
      { domain: 'com.example', version: 1 },
      { domain: 'com.unused', version: 1 },
    ],
  });
  return { model, thenBranch };
}

describe('remove-unused', () => {
  it('removes unused initializers in every graph, unused opset imports, stale value_info', async () => {
    const { model, thenBranch } = sample();
    const stale = new Value('stale', tensorType(DataType.FLOAT, [2]));
    model.graph.valueInfo.push(stale);
    const result = await run(model);
    expect(result.statistics).toEqual({ initializersRemoved: 2, opsetImportsRemoved: 2, valueInfoRemoved: 2 });
    expect(names(model.graph.initializers)).toEqual(['default', 'read_in_branch', 'as_output', 'as_branch_output']);
    expect(thenBranch.graph.initializers).toEqual([]);
    expect(model.opsetImports.map((entry) => entry.domain)).toEqual(['', 'com.example']);
    expect(model.graph.valueInfo).toEqual([]);
    expect(names(model.graph.inputs)).toEqual(['x', 'cond', 'default']);
  });

  it('keeps the default domain even when no node uses it, whichever way it is spelled', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, [2]);
    b.output(x);
    const model = b.model({ opsetImports: [{ domain: 'ai.onnx', version: 13 }] });
    expect((await run(model)).changed).toBe(false);
    expect(model.opsetImports).toEqual([{ domain: 'ai.onnx', version: 13 }]);
  });

  it('keeps opset imports when the model carries local functions', async () => {
    const { model } = sample();
    model.carried['onnx.functions'] = [new Uint8Array([1])];
    const result = await run(model);
    expect(result.statistics).toMatchObject({ opsetImportsRemoved: 0 });
    expect(model.opsetImports).toHaveLength(4);
  });

  it('drops carried value_info entries that name no value in scope, keeps the others', async () => {
    const { model, thenBranch } = sample();
    model.graph.carried['onnx.orphanValueInfo'] = [{ name: 'nothing' }, { name: 'x' }];
    thenBranch.graph.carried['onnx.orphanValueInfo'] = [{ name: 'cond' }, { name: 'gone' }];
    const result = await run(model, { initializers: false, opsetImports: false });
    expect(result.statistics).toEqual({ initializersRemoved: 0, opsetImportsRemoved: 0, valueInfoRemoved: 2 });
    expect(model.graph.carried['onnx.orphanValueInfo']).toEqual([{ name: 'x' }]);
    expect(thenBranch.graph.carried['onnx.orphanValueInfo']).toEqual([{ name: 'cond' }]);
  });

  it('does only what its options allow', async () => {
    const { model } = sample();
    const result = await run(model, { initializers: false, valueInfo: false });
    expect(result.statistics).toEqual({ initializersRemoved: 0, opsetImportsRemoved: 2, valueInfoRemoved: 0 });
    expect(model.graph.initializers).toHaveLength(5);
    expect(removeUnused.options).toMatchObject({
      properties: { initializers: { default: true }, opsetImports: { default: true }, valueInfo: { default: true } },
    });
  });
});
