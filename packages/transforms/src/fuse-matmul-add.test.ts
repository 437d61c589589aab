import { DataType, type Dimension, GraphBuilder, type Model, Tensor, type Value, verifyModel } from '@whittle/ir';
import { encodeModel } from '@whittle/onnx';
import type { PassContext, PassResult } from '@whittle/spec';
import { type OrtTensor, type Outputs, ort, Random, runOnnxRuntime } from '@whittle/test-fixtures';
import { describe, expect, it } from 'vitest';
import { fuseMatMulAdd } from './fuse-matmul-add.js';

const context: PassContext<Model> = {
  report: () => {},
  analysis: (analysis, model) => analysis.compute(model, context),
  debug: true,
};

async function run(model: Model): Promise<PassResult<Model>> {
  const outputs = model.graph.outputs.map((value) => [value.name, value.type]);
  const result = await fuseMatMulAdd.create({}).run(model, context);
  expect(verifyModel(result.model).filter((diagnostic) => diagnostic.severity === 'error')).toEqual([]);
  expect(model.graph.outputs.map((value) => [value.name, value.type])).toEqual(outputs);
  expect((await fuseMatMulAdd.create({}).run(model, context)).changed).toBe(false);
  return result;
}

const ops = (model: Model) => model.graph.nodes.map((node) => node.opType);

function randomTensor(random: Random, name: string, dims: number[]): Tensor {
  const count = dims.reduce((product, dim) => product * dim, 1);
  return Tensor.fromArray(
    name,
    DataType.FLOAT,
    dims,
    Float32Array.from({ length: count }, () => random.uniform(-1, 1)),
  );
}

function relativeError(expected: Outputs, actual: Outputs): number {
  let worst = 0;
  for (const [name, tensor] of Object.entries(expected)) {
    const a = tensor.data as Float32Array;
    const b = actual[name]!.data as Float32Array;
    expect(b.length).toBe(a.length);
    const scale = Math.max(...Array.from(a, Math.abs), 1e-30);
    for (let index = 0; index < a.length; index++) worst = Math.max(worst, Math.abs(a[index]! - b[index]!) / scale);
  }
  return worst;
}

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
  const count = feedDims.reduce((p, d) => p * d, 1);
  const feeds = {
    x: new ort.Tensor(
      'float32',
      Float32Array.from({ length: count }, () => random.normal()),
      feedDims,
    ),
  };
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
      const before = await runOnnxRuntime(encodeModel(m), feeds);
      const result = await run(m);
      expect(result.statistics).toEqual({ matMulsFused: 1 });
      expect(ops(m).filter((op) => op !== 'Flatten')).toEqual(['Gemm']);
      const gemm = m.graph.nodes.at(-1)!;
      expect(gemm.output(0)!.name).toBe('y');
      expect(m.graph.outputs[0]).toBe(gemm.output(0));
      const after = await runOnnxRuntime(encodeModel(m), feeds);
      expect(relativeError(before, after)).toBeLessThan(1e-6);
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
      expect(ops(m)).toEqual(['MatMul', 'Add']);
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
