import { constantValueOf, DataType, type Dimension, GraphBuilder, type Model, Tensor, type Value } from '@whittle/ir';
import type { PassResult } from '@whittle/spec';
import { describe, expect, it } from 'vitest';
import { eliminateIdentities, knownRankOf } from './eliminate-identities.js';
import { int64s } from './shape-inference/test-support.js';
import { contextFor, errorsOf, opTypesOf } from './test-support.js';

const context = contextFor();

async function run(model: Model): Promise<PassResult<Model>> {
  const inputs = model.graph.inputs.map((value) => [value.name, value.type]);
  const outputs = model.graph.outputs.map((value) => [value.name, value.type]);
  const result = await eliminateIdentities.create({}).run(model, context);
  expect(errorsOf(result.model)).toEqual([]);
  expect(model.graph.inputs.map((value) => [value.name, value.type])).toEqual(inputs);
  expect(model.graph.outputs.map((value) => [value.name, value.type])).toEqual(outputs);
  const again = await eliminateIdentities.create({}).run(model, context);
  expect(again.changed).toBe(false);
  return result;
}

/** x -> Relu -> <op under test> -> Neg -> y, so that removal never has to rename a graph output. */
function around(
  build: (b: GraphBuilder, input: Value) => Value,
  shape: Dimension[] | null = [2, 3],
  opset = 17,
): Model {
  const b = new GraphBuilder();
  const x = b.input('x', DataType.FLOAT, shape ?? undefined);
  const relu = b.op('Relu', [x], { output: 'relu' });
  if (shape === null) relu.type = undefined;
  else relu.type = { kind: 'tensor', elementType: DataType.FLOAT, shape };
  b.output(b.op('Neg', [build(b, relu)], { output: 'y' }));
  return b.model({ opsetImports: [{ domain: '', version: opset }] });
}

describe('eliminate-identities', () => {
  it('removes Identity nodes and keeps the graph output name by renaming the replacement', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, [2]);
    const relu = b.op('Relu', [x], { output: 'relu' });
    const copy = b.op('Identity', [relu], { output: 'copy' });
    const copy2 = b.op('Identity', [copy], { output: 'copy2' });
    b.output(b.op('Identity', [copy2], { output: 'y' }));
    const model = b.model();
    const result = await run(model);
    expect(opTypesOf(model)).toEqual(['Relu']);
    expect(model.graph.outputs[0]).toBe(relu);
    expect(relu.name).toBe('y');
    expect(result.statistics).toMatchObject({ nodesRemoved: 3, identities: 3, keptForOutputs: 0 });
  });

  it('keeps an Identity that would rename a graph output onto a graph input', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, [2]);
    b.output(b.op('Identity', [x], { output: 'y' }));
    const model = b.model();
    const result = await run(model);
    expect(result.changed).toBe(false);
    expect(opTypesOf(model)).toEqual(['Identity']);
    expect(result.statistics).toMatchObject({ nodesRemoved: 0, keptForOutputs: 1 });
  });

  it('keeps an Identity that forwards an outer value as a subgraph output, removes inner ones', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, [2]);
    const cond = b.input('cond', DataType.BOOL, []);
    const thenBranch = new GraphBuilder('then');
    thenBranch.output(thenBranch.op('Identity', [x], { output: 'then_out' }));
    const elseBranch = new GraphBuilder('else');
    const abs = elseBranch.op('Abs', [x], { output: 'abs' });
    elseBranch.output(elseBranch.op('Identity', [elseBranch.op('Identity', [abs])], { output: 'else_out' }));
    b.output(
      b.op('If', [cond], { output: 'y', attributes: { then_branch: thenBranch.graph, else_branch: elseBranch.graph } }),
    );
    const model = b.model();
    await run(model);
    expect(thenBranch.graph.nodes.map((node) => node.opType)).toEqual(['Identity']);
    expect(elseBranch.graph.nodes.map((node) => node.opType)).toEqual(['Abs']);
    expect(elseBranch.graph.outputs[0]!.name).toBe('else_out');
  });

  it('keeps an Identity whose output a subgraph lists as its own output', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, [2]);
    const cond = b.input('cond', DataType.BOOL, []);
    const copy = b.op('Identity', [b.op('Relu', [x])], { output: 'copy' });
    const thenBranch = new GraphBuilder('then');
    thenBranch.output(copy);
    const elseBranch = new GraphBuilder('else');
    elseBranch.output(elseBranch.op('Abs', [x], { output: 'else_out' }));
    b.output(
      b.op('If', [cond], { output: 'y', attributes: { then_branch: thenBranch.graph, else_branch: elseBranch.graph } }),
    );
    const model = b.model();
    const result = await run(model);
    expect(result.changed).toBe(false);
    expect(result.statistics).toMatchObject({ keptForOutputs: 1 });
    expect(thenBranch.graph.outputs[0]).toBe(copy);
  });

  describe('Dropout', () => {
    const dropout = (opset: number, extra: (b: GraphBuilder) => (Value | undefined)[] = () => [], outputs = 1) =>
      around((b, input) => b.node('Dropout', [input, ...extra(b)], { outputs })[0]!, [2, 3], opset);

    it('removes inference Dropout (no training_mode, or a constant false one, or ratio 0)', async () => {
      for (const model of [
        dropout(10),
        dropout(13),
        dropout(13, (b) => [undefined, b.initializer(Tensor.fromArray('t', DataType.BOOL, [], Uint8Array.of(0)))]),
        dropout(13, (b) => [
          b.initializer(Tensor.fromArray('r', DataType.FLOAT, [], Float32Array.of(0))),
          b.initializer(Tensor.fromArray('t', DataType.BOOL, [], Uint8Array.of(1))),
        ]),
        dropout(13, (b) => [
          undefined,
          b.op('Constant', [], { attributes: { value: Tensor.fromArray('', DataType.BOOL, [], Uint8Array.of(0)) } }),
        ]),
        dropout(13, () => [], 2),
      ]) {
        const result = await run(model);
        expect(opTypesOf(model).filter((op) => op !== 'Constant')).toEqual(['Relu', 'Neg']);
        expect(result.statistics).toMatchObject({ dropouts: 1 });
      }
    });

    it('keeps Dropout in training mode, with a runtime training_mode, or with its mask read', async () => {
      const training = dropout(13, (b) => [
        b.initializer(Tensor.fromArray('r', DataType.FLOAT, [], Float32Array.of(0.5))),
        b.initializer(Tensor.fromArray('t', DataType.BOOL, [], Uint8Array.of(1))),
      ]);
      const runtime = dropout(13, (b) => [undefined, b.input('training', DataType.BOOL, [])]);
      const masked = around((b, input) => {
        const [out, mask] = b.node('Dropout', [input], { outputs: 2 });
        b.output(mask!);
        return out!;
      });
      for (const model of [training, runtime, masked]) {
        expect((await run(model)).changed).toBe(false);
        expect(opTypesOf(model)).toContain('Dropout');
      }
    });
  });

  it('removes a Cast to the element type the input is known to have, and only that', async () => {
    const same = around((b, input) => b.op('Cast', [input], { attributes: { to: DataType.FLOAT } }));
    expect((await run(same)).statistics).toMatchObject({ casts: 1 });
    expect(opTypesOf(same)).toEqual(['Relu', 'Neg']);
    const other = around((b, input) => b.op('Cast', [input], { attributes: { to: DataType.DOUBLE } }));
    expect((await run(other)).changed).toBe(false);
    const unknown = around((b, input) => b.op('Cast', [input], { attributes: { to: DataType.FLOAT } }), null);
    expect((await run(unknown)).changed).toBe(false);
  });

  describe('Reshape', () => {
    const reshape = (target: number[], shape: Dimension[] | null = [2, 3], allowzero?: number) =>
      around(
        (b, input) =>
          b.op('Reshape', [input, b.initializer(int64s('shape', target))], {
            ...(allowzero === undefined ? {} : { attributes: { allowzero } }),
          }),
        shape,
      );

    it('removes a Reshape to the static shape the input already has', async () => {
      for (const target of [
        [2, 3],
        [0, 3],
        [2, -1],
        [0, -1],
      ]) {
        const model = reshape(target);
        expect((await run(model)).statistics).toMatchObject({ reshapes: 1 });
        expect(opTypesOf(model)).toEqual(['Relu', 'Neg']);
      }
    });

    it('keeps a Reshape that changes the shape or whose shapes are not all known', async () => {
      for (const model of [
        reshape([3, 2]),
        reshape([6]),
        reshape([2, 3], ['N', 3]),
        reshape([2, 3], null),
        reshape([0, 3], [2, 3], 1),
        reshape([-1, -1]),
        around((b, input) => b.op('Reshape', [input, b.input('shape', DataType.INT64, [2])])),
      ]) {
        expect((await run(model)).changed).toBe(false);
        expect(opTypesOf(model)).toContain('Reshape');
      }
    });
  });

  it('removes Flatten of a rank-2 input at axis 1, keeps the others', async () => {
    const flat = around((b, input) => b.op('Flatten', [input], { attributes: { axis: 1 } }), ['N', 'C']);
    expect((await run(flat)).statistics).toMatchObject({ flattens: 1 });
    for (const model of [
      around((b, input) => b.op('Flatten', [input]), [2, 3, 4]),
      around((b, input) => b.op('Flatten', [input], { attributes: { axis: 0 } }), [2, 3]),
      around((b, input) => b.op('Flatten', [input]), null),
    ]) {
      expect((await run(model)).changed).toBe(false);
    }
  });

  it('removes Squeeze without axes only when no dim can be 1', async () => {
    const squeeze = around((b, input) => b.op('Squeeze', [input]), [2, 3]);
    expect((await run(squeeze)).statistics).toMatchObject({ squeezes: 1 });
    for (const model of [
      around((b, input) => b.op('Squeeze', [input]), [1, 3]),
      around((b, input) => b.op('Squeeze', [input]), ['N', 3]),
      around((b, input) => b.op('Squeeze', [input, b.initializer(int64s('axes', [0]))]), [1, 3]),
    ]) {
      expect((await run(model)).changed).toBe(false);
    }
  });

  it('removes Unsqueeze with empty axes (input or attribute), keeps real ones', async () => {
    const empty13 = around((b, input) => b.op('Unsqueeze', [input, b.initializer(int64s('axes', []))]));
    expect((await run(empty13)).statistics).toMatchObject({ unsqueezes: 1 });
    const empty11 = around(
      (b, input) => b.op('Unsqueeze', [input], { attributes: { axes: { type: 'ints', value: [] } } }),
      [2, 3],
      11,
    );
    expect((await run(empty11)).statistics).toMatchObject({ unsqueezes: 1 });
    const real = around((b, input) => b.op('Unsqueeze', [input, b.initializer(int64s('axes', [0]))]));
    expect((await run(real)).changed).toBe(false);
  });

  it('removes identity Transposes (explicit perm, or default perm on rank <= 1)', async () => {
    const explicit = around((b, input) => b.op('Transpose', [input], { attributes: { perm: [0, 1] } }), ['N', 'C']);
    expect((await run(explicit)).statistics).toMatchObject({ transposes: 1 });
    const vector = around((b, input) => b.op('Transpose', [input]), [5]);
    expect((await run(vector)).statistics).toMatchObject({ transposes: 1 });
    for (const model of [
      around((b, input) => b.op('Transpose', [input], { attributes: { perm: [1, 0] } })),
      around((b, input) => b.op('Transpose', [input]), [2, 3]),
      around((b, input) => b.op('Transpose', [input]), null),
    ]) {
      expect((await run(model)).changed).toBe(false);
    }
  });

  describe('Transpose pairs', () => {
    const pair = (first: number[] | undefined, second: number[] | undefined, shape: Dimension[] = [1, 2, 3, 4]) =>
      around(
        (b, input) =>
          b.op('Transpose', [b.op('Transpose', [input], first ? { attributes: { perm: first } } : {})], {
            ...(second ? { attributes: { perm: second } } : {}),
          }),
        shape,
      );

    it('removes pairs whose permutations compose to the identity', async () => {
      for (const model of [
        pair([0, 2, 3, 1], [0, 3, 1, 2]),
        pair([1, 0, 2, 3], [1, 0, 2, 3]),
        pair(undefined, undefined),
      ]) {
        const result = await run(model);
        expect(result.statistics).toMatchObject({ transposePairs: 1, nodesRemoved: 2 });
        expect(opTypesOf(model)).toEqual(['Relu', 'Neg']);
      }
    });

    it('keeps pairs that do not cancel or whose first Transpose has other readers', async () => {
      const shared = around((b, input) => {
        const first = b.op('Transpose', [input], { attributes: { perm: [1, 0] } });
        b.output(b.op('Abs', [first], { output: 'other' }));
        return b.op('Transpose', [first], { attributes: { perm: [1, 0] } });
      });
      for (const model of [pair([0, 2, 3, 1], [0, 2, 3, 1]), shared]) {
        expect((await run(model)).changed).toBe(false);
        expect(opTypesOf(model).filter((op) => op === 'Transpose')).toHaveLength(2);
      }
    });

    it('keeps a cancelling pair between a graph input and a graph output', async () => {
      const b = new GraphBuilder();
      const x = b.input('x', DataType.FLOAT, [2, 3]);
      const t = b.op('Transpose', [x], { attributes: { perm: [1, 0] } });
      b.output(b.op('Transpose', [t], { attributes: { perm: [1, 0] }, output: 'y' }));
      const model = b.model();
      expect((await run(model)).changed).toBe(false);
      expect(opTypesOf(model)).toEqual(['Transpose', 'Transpose']);
    });

    it('finds pairs exposed by removing an Identity between them', async () => {
      const model = around((b, input) => {
        const first = b.op('Transpose', [input], { attributes: { perm: [1, 0] } });
        return b.op('Transpose', [b.op('Identity', [first])], { attributes: { perm: [1, 0] } });
      });
      const result = await run(model);
      expect(opTypesOf(model)).toEqual(['Relu', 'Neg']);
      expect(result.statistics).toMatchObject({ identities: 1, transposePairs: 1, nodesRemoved: 3 });
    });
  });

  it('reads constants from Constant nodes and ranks from producers', () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT);
    const floats = b.op('Constant', [], { attributes: { value_floats: [1.5, 2.5] } });
    const ints = b.op('Constant', [], { attributes: { value_ints: [2, -1] } });
    expect(Array.from(constantValueOf(floats)!.toArray() as Float32Array)).toEqual([1.5, 2.5]);
    expect(constantValueOf(ints)!.dims).toEqual([2]);
    expect(knownRankOf(b.op('Reshape', [x, ints]))).toBe(2);
    expect(knownRankOf(b.op('Flatten', [x]))).toBe(2);
    expect(knownRankOf(b.op('Relu', [x]))).toBeUndefined();
  });
});
