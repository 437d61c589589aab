import { DataType, type Dimension, GraphBuilder, type Model, type Value } from '@whittle/ir';
import { type OrtTensor, Random } from '@whittle/test-fixtures';
import { describe, expect, it } from 'vitest';
import { fuseMatMulAdd } from './fuse-matmul-add.js';
import { opTypesOf, randomFeed, randomTensor, runChecked, runKeepingOutputs } from './test-support.js';

const run = (m: Model) => runChecked(fuseMatMulAdd, m);

interface Case {
  aShape?: Dimension[] | null;
  bias?: number[];
  swap?: boolean;
  flatten?: boolean;
  opset?: number;
}

function model(options: Case = {}): { model: Model; feeds: Record<string, OrtTensor> } {
  const random = new Random(21);
  const { aShape = [2, 5], bias = [3], opset = 13 } = options;
  const b = new GraphBuilder();
  let a: Value;
  let feedDims = [2, 5];
  if (options.flatten) {
    const x = b.input('x', DataType.FLOAT, [2, 5, 1]);
    a = b.op('Flatten', [x], { output: 'flat' });
    feedDims = [2, 5, 1];
  } else {
    a = b.input('x', DataType.FLOAT, aShape ?? undefined);
    if (aShape?.length === 3) feedDims = [2, 2, 5];
  }
  const product = b.op('MatMul', [a, b.initializer(randomTensor(random, 'w', [5, 3]))], { output: 'product' });
  const constant = b.initializer(randomTensor(random, 'bias', bias));
  b.output(b.op('Add', options.swap ? [constant, product] : [product, constant], { output: 'y' }));
  const feeds = { x: randomFeed(random, feedDims) };
  return { model: b.model({ opsetImports: [{ domain: '', version: opset }] }), feeds };
}

describe('fuse-matmul-add', () => {
  it('turns MatMul + Add of a row bias into Gemm with the same outputs and output name', async () => {
    for (const options of [
      {},
      { bias: [1, 3] },
      { bias: [] },
      { bias: [1] },
      { swap: true },
      { aShape: ['batch', 5] },
      { flatten: true },
      { opset: 7 },
    ] satisfies Case[]) {
      const { model: m, feeds } = model(options);
      const result = await runKeepingOutputs(fuseMatMulAdd, m, feeds, 1e-6);
      expect(result.statistics).toEqual({ matMulsFused: 1 });
      expect(opTypesOf(m).filter((op) => op !== 'Flatten')).toEqual(['Gemm']);
      const gemm = m.graph.nodes.at(-1)!;
      expect(gemm.output(0)!.name).toBe('y');
      expect(m.graph.outputs[0]).toBe(gemm.output(0));
    }
  });

  it('leaves MatMul + Add where Gemm would differ or A’s rank is not known to be 2', async () => {
    for (const options of [
      { aShape: [2, 2, 5] },
      { aShape: null },
      { bias: [2, 3] },
      { bias: [2, 1] },
      { bias: [1, 1, 3] },
      { opset: 6 },
    ] satisfies Case[]) {
      const { model: m } = model(options);
      expect((await run(m)).changed).toBe(false);
      expect(opTypesOf(m)).toEqual(['MatMul', 'Add']);
    }
  });

  it('leaves a MatMul whose product has another reader or whose weight is not constant', async () => {
    const shared = model().model;
    shared.graph.outputs.push(shared.graph.nodes[0]!.output(0)!);
    expect((await run(shared)).changed).toBe(false);

    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, [2, 5]);
    const w = b.input('w', DataType.FLOAT, [5, 3]);
    const product = b.op('MatMul', [x, w]);
    b.output(b.op('Add', [product, b.initializer(randomTensor(new Random(1), 'bias', [3]))], { output: 'y' }));
    const m = b.model();
    expect((await run(m)).changed).toBe(false);
  });
});
