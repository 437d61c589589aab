import { DataType, GraphBuilder, type Model, Tensor, tensorType, Value } from '@whittle/ir';
import type { PassResult } from '@whittle/spec';
import { describe, expect, it } from 'vitest';
import { deduplicateInitializers } from './deduplicate-initializers.js';
import { floats } from './shape-inference/test-support.js';
import { contextFor, errorsOf } from './test-support.js';

const context = contextFor();

async function run(model: Model): Promise<PassResult<Model>> {
  const result = await deduplicateInitializers.create({}).run(model, context);
  expect(errorsOf(result.model)).toEqual([]);
  expect((await deduplicateInitializers.create({}).run(model, context)).changed).toBe(false);
  return result;
}

const names = (values: readonly Value[]) => values.map((value) => value.name);

describe('deduplicate-initializers', () => {
  it('merges initializers with the same type, dims and bytes, and only those', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, [2]);
    const a = b.initializer(floats('a', [1, 2]));
    const a2 = b.initializer(floats('a2', [1, 2]));
    const a3 = b.initializer(floats('a3', [1, 2]));
    const otherDims = b.initializer(floats('a_2d', [1, 2], [1, 2]));
    const otherType = b.initializer(Tensor.fromArray('a_i32', DataType.INT32, [2], Int32Array.of(1, 2)));
    const negativeZero = b.initializer(floats('z', [0, -0]));
    const zero = b.initializer(floats('z2', [0, 0]));
    b.graph.valueInfo.push(a2);
    let sum = b.op('Add', [x, a]);
    for (const value of [a2, a3, otherDims, negativeZero, zero]) sum = b.op('Add', [sum, value]);
    b.output(b.op('Cast', [otherType], { attributes: { to: DataType.FLOAT }, output: 'i' }));
    b.output(b.op('Identity', [sum], { output: 'y' }));
    const model = b.model();
    const result = await run(model);
    expect(result.statistics).toEqual({ initializersRemoved: 2, bytesSaved: 16 });
    expect(names(model.graph.initializers)).toEqual(['a', 'a_2d', 'a_i32', 'z', 'z2']);
    expect(a.uses).toHaveLength(3);
    expect(a2.uses).toEqual([]);
    expect(model.graph.valueInfo).toEqual([]);
  });

  it('merges string tensors by their elements', async () => {
    const b = new GraphBuilder();
    const s1 = b.initializer(Tensor.fromStrings('s1', [2], ['ab', 'c']));
    const s2 = b.initializer(Tensor.fromStrings('s2', [2], ['ab', 'c']));
    const s3 = b.initializer(Tensor.fromStrings('s3', [2], ['a', 'bc']));
    for (const [index, value] of [s1, s2, s3].entries()) b.output(b.op('Identity', [value], { output: `y${index}` }));
    const model = b.model();
    expect((await run(model)).statistics).toMatchObject({ initializersRemoved: 1 });
    expect(names(model.graph.initializers)).toEqual(['s1', 's3']);
  });

  it('keeps initializers that are graph inputs or graph outputs (of any graph)', async () => {
    const b = new GraphBuilder();
    const overridable = b.graph.addInput(new Value('default', tensorType(DataType.FLOAT, [2])));
    b.graph.addInitializer(floats('default', [1, 2]), overridable);
    const a = b.initializer(floats('a', [1, 2]));
    const asOutput = b.initializer(floats('out', [1, 2]));
    const asBranchOutput = b.initializer(floats('branch_out', [1, 2]));
    const cond = b.input('cond', DataType.BOOL, []);
    const thenBranch = new GraphBuilder('then');
    thenBranch.output(asBranchOutput);
    const elseBranch = new GraphBuilder('else');
    elseBranch.output(elseBranch.op('Identity', [a], { output: 'else_out' }));
    b.output(b.op('Add', [overridable, a], { output: 'y' }));
    b.output(asOutput);
    b.output(
      b.op('If', [cond], { output: 'z', attributes: { then_branch: thenBranch.graph, else_branch: elseBranch.graph } }),
    );
    const model = b.model();
    const result = await run(model);
    expect(result.changed).toBe(false);
    expect(names(model.graph.initializers)).toEqual(['default', 'a', 'out', 'branch_out']);
  });

  it('redirects reads from subgraphs and works per graph', async () => {
    const b = new GraphBuilder();
    const cond = b.input('cond', DataType.BOOL, []);
    const a = b.initializer(floats('a', [3]));
    const a2 = b.initializer(floats('a2', [3]));
    const thenBranch = new GraphBuilder('then');
    const inner = thenBranch.initializer(floats('inner', [3]));
    const inner2 = thenBranch.initializer(floats('inner2', [3]));
    thenBranch.output(thenBranch.op('Sum', [thenBranch.op('Add', [a2, inner]), inner2], { output: 'then_out' }));
    const elseBranch = new GraphBuilder('else');
    elseBranch.output(elseBranch.op('Identity', [a], { output: 'else_out' }));
    b.output(
      b.op('If', [cond], { output: 'y', attributes: { then_branch: thenBranch.graph, else_branch: elseBranch.graph } }),
    );
    const model = b.model();
    const result = await run(model);
    expect(result.statistics).toMatchObject({ initializersRemoved: 2 });
    expect(names(model.graph.initializers)).toEqual(['a']);
    expect(names(thenBranch.graph.initializers)).toEqual(['inner']);
    expect(thenBranch.graph.nodes[0]!.input(0)).toBe(a);
  });
});
