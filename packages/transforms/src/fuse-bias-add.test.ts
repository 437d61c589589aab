import { DataType, GraphBuilder, type Model, type Value } from '@whittle/ir';
import { type OrtTensor, Random } from '@whittle/test-fixtures';
import { describe, expect, it } from 'vitest';
import { fuseBiasAdd } from './fuse-bias-add.js';
import { opTypesOf, randomFeed, randomTensor, runChecked, runKeepingOutputs } from './test-support.js';

const run = (model: Model) => runChecked(fuseBiasAdd, model);

const fusesExactly = (model: Model, feeds: Record<string, OrtTensor>) =>
  runKeepingOutputs(fuseBiasAdd, model, feeds, 1e-5);

interface ConvCase {
  op?: 'Conv' | 'ConvTranspose';
  group?: number;
  bias?: boolean;
  addend: number[];
  addendType?: DataType;
  swap?: boolean;
  sub?: boolean;
}

function convModel(options: ConvCase) {
  const random = new Random(9);
  const { op = 'Conv', group = 1, bias = false } = options;
  const b = new GraphBuilder();
  const x = b.input('x', DataType.FLOAT, [1, 4, 4, 4]);
  const weightDims = op === 'Conv' ? [6, 4 / group, 3, 3] : [4, 6 / group, 3, 3];
  const inputs = [x, b.initializer(randomTensor(random, 'w', weightDims))];
  if (bias) inputs.push(b.initializer(randomTensor(random, 'b', [6])));
  const conv = b.op(op, inputs, { output: 'conv', attributes: { group, pads: [1, 1, 1, 1] } });
  const addend = b.initializer(randomTensor(random, 'addend', options.addend, { type: options.addendType }));
  const operands: Value[] = options.swap ? [addend, conv] : [conv, addend];
  b.output(b.op(options.sub ? 'Sub' : 'Add', operands, { output: 'y' }));
  return { model: b.model(), feeds: { x: randomFeed(random, [1, 4, 4, 4]) } };
}

function gemmModel(options: { c?: number[]; beta?: number; addend: number[]; transB?: boolean }) {
  const random = new Random(13);
  const b = new GraphBuilder();
  const a = b.input('a', DataType.FLOAT, [2, 5]);
  const inputs = [a, b.initializer(randomTensor(random, 'w', options.transB ? [3, 5] : [5, 3]))];
  if (options.c) inputs.push(b.initializer(randomTensor(random, 'c', options.c)));
  const gemm = b.op('Gemm', inputs, {
    output: 'gemm',
    attributes: {
      transB: options.transB ? 1 : 0,
      ...(options.beta === undefined ? {} : { beta: { type: 'float', value: options.beta } }),
    },
  });
  b.output(b.op('Add', [gemm, b.initializer(randomTensor(random, 'addend', options.addend))], { output: 'y' }));
  return { model: b.model(), feeds: { a: randomFeed(random, [2, 5]) } };
}

describe('fuse-bias-add', () => {
  it('folds per-channel constants into Conv and ConvTranspose biases, either operand order, Sub too', async () => {
    const cases: ConvCase[] = [
      { addend: [1, 6, 1, 1] },
      { addend: [6, 1, 1], bias: true, swap: true },
      { addend: [1, 1, 1, 1] },
      { addend: [], bias: true },
      { addend: [1, 6, 1, 1], sub: true, bias: true },
      { op: 'ConvTranspose', addend: [1, 6, 1, 1] },
      { op: 'ConvTranspose', group: 2, addend: [6, 1, 1], bias: true },
      { op: 'Conv', group: 2, addend: [1, 6, 1, 1] },
    ];
    for (const options of cases) {
      const { model, feeds } = convModel(options);
      const result = await fusesExactly(model, feeds);
      expect(opTypesOf(model)).toEqual([options.op ?? 'Conv']);
      expect(model.graph.outputs[0]!.name).toBe('y');
      expect(result.statistics).toEqual({ biasesFused: 1, constantsRemoved: 1 });
      expect(model.graph.nodes[0]!.input(2)!.initializer!.dims).toEqual([6]);
    }
  });

  it('folds row constants into Gemm C (absent, [N], [1, N], [M, N]) with beta', async () => {
    for (const options of [
      { addend: [3] },
      { addend: [1, 3], c: [3], transB: true },
      { addend: [3], c: [1, 3], beta: 0.5 },
      { addend: [], c: [2, 3], beta: 2 },
      { addend: [1, 1], c: [2, 1] },
    ]) {
      const { model, feeds } = gemmModel(options);
      await fusesExactly(model, feeds);
      expect(opTypesOf(model)).toEqual(['Gemm']);
      expect(model.graph.nodes[0]!.floatAttribute('beta', 1)).toBe(1);
    }
  });

  it('leaves constants that are not per-channel biases', async () => {
    for (const options of [
      { addend: [6] }, // broadcasts over the last axis (width), not channels
      { addend: [1, 6, 4, 4] },
      { addend: [1, 1, 1, 1, 1] }, // would raise the rank
      { addend: [1, 6, 1, 1], addendType: DataType.DOUBLE },
      { addend: [1, 6, 1, 1], sub: true, swap: true }, // c - conv
    ] satisfies ConvCase[]) {
      const { model } = convModel(options);
      expect((await run(model)).changed).toBe(false);
      expect(opTypesOf(model)).toHaveLength(2);
    }
    const { model } = gemmModel({ addend: [2, 3] });
    expect((await run(model)).changed).toBe(false);
  });

  it('leaves an Add whose Conv output has other readers or whose addend is known only at run time', async () => {
    const shared = convModel({ addend: [1, 6, 1, 1] }).model;
    shared.graph.outputs.push(shared.graph.nodes[0]!.output(0)!);
    expect((await run(shared)).changed).toBe(false);

    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, [1, 2, 3, 3]);
    const conv = b.op('Conv', [x, b.initializer(randomTensor(new Random(1), 'w', [2, 2, 1, 1]))]);
    b.output(b.op('Add', [conv, b.input('bias', DataType.FLOAT, [1, 2, 1, 1])], { output: 'y' }));
    const model = b.model();
    expect((await run(model)).changed).toBe(false);
  });
});
