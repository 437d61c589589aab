import { DataType, GraphBuilder, type Model, Node, type Tensor, Value } from '@whittle/ir';
import { type OrtTensor, Random } from '@whittle/test-fixtures';
import { describe, expect, it } from 'vitest';
import { fuseBatchNorm } from './fuse-batchnorm.js';
import { opTypesOf, randomFeed, randomTensor, runChecked, runKeepingOutputs } from './test-support.js';

const run = (model: Model) => runChecked(fuseBatchNorm, model);

function batchNorm(b: GraphBuilder, random: Random, input: Value, channels: number, output = 'y'): Value {
  const params = [
    randomTensor(random, `${output}_scale`, [channels], { low: 0.5, high: 2 }),
    randomTensor(random, `${output}_bias`, [channels]),
    randomTensor(random, `${output}_mean`, [channels]),
    randomTensor(random, `${output}_var`, [channels], { low: 0.1, high: 3 }),
  ].map((tensor) => b.initializer(tensor));
  return b.op('BatchNormalization', [input, ...params], { output, attributes: { epsilon: 1e-3 } });
}

/** Run the pass and check ONNX Runtime gives the same outputs before and after. */
const fusesExactly = (model: Model, feeds: Record<string, OrtTensor>) =>
  runKeepingOutputs(fuseBatchNorm, model, feeds, 1e-5);

function convModel(options: {
  group?: number;
  bias?: boolean;
  transposed?: boolean;
  inChannels?: number;
  outChannels?: number;
}) {
  const random = new Random(7);
  const { group = 1, bias = true, transposed = false, inChannels = 4, outChannels = 6 } = options;
  const b = new GraphBuilder();
  const x = b.input('x', DataType.FLOAT, [1, inChannels, 5, 5]);
  const weightDims = transposed ? [inChannels, outChannels / group, 3, 3] : [outChannels, inChannels / group, 3, 3];
  const inputs = [x, b.initializer(randomTensor(random, 'w', weightDims))];
  if (bias) inputs.push(b.initializer(randomTensor(random, 'b', [outChannels])));
  const conv = b.op(transposed ? 'ConvTranspose' : 'Conv', inputs, {
    output: 'conv',
    attributes: { group, pads: [1, 1, 1, 1], ...(transposed ? { strides: [2, 2] } : {}) },
  });
  b.output(batchNorm(b, random, conv, outChannels));
  const model = b.model({ opsetImports: [{ domain: '', version: 13 }] });
  return { model, feeds: { x: randomFeed(random, [1, inChannels, 5, 5]) } };
}

function gemmModel(options: { transB: boolean; c?: number[]; beta?: number; opset?: number }) {
  const random = new Random(11);
  const b = new GraphBuilder();
  const a = b.input('a', DataType.FLOAT, [2, 5]);
  const weight = b.initializer(randomTensor(random, 'w', options.transB ? [3, 5] : [5, 3]));
  const inputs = [a, weight];
  if (options.c) inputs.push(b.initializer(randomTensor(random, 'c', options.c)));
  const gemm = b.op('Gemm', inputs, {
    output: 'gemm',
    attributes: {
      transB: options.transB ? 1 : 0,
      alpha: 0.75,
      ...(options.beta === undefined ? {} : { beta: { type: 'float', value: options.beta } }),
    },
  });
  b.output(batchNorm(b, random, gemm, 3));
  const model = b.model({ opsetImports: [{ domain: '', version: options.opset ?? 13 }] });
  return { model, feeds: { a: randomFeed(random, [2, 5]) } };
}

describe('fuse-batchnorm', () => {
  it('folds into a Conv with a bias, keeping the output name, and drops the BN constants', async () => {
    const { model, feeds } = convModel({});
    const result = await fusesExactly(model, feeds);
    expect(opTypesOf(model)).toEqual(['Conv']);
    expect(model.graph.outputs[0]!.name).toBe('y');
    expect(model.graph.outputs[0]!.producer!.opType).toBe('Conv');
    expect(result.statistics).toEqual({
      batchNormsFused: 1,
      intoConv: 1,
      intoConvTranspose: 0,
      intoGemm: 0,
      constantsRemoved: 4,
    });
    // The weight and bias were read by the Conv alone: their names stay.
    expect(model.graph.initializers.map((value) => value.name)).toEqual(['w', 'b']);
  });

  it('folds into grouped and depthwise Convs without a bias', async () => {
    for (const options of [
      { group: 2, bias: false },
      { group: 4, inChannels: 4, outChannels: 8, bias: false },
    ]) {
      const { model, feeds } = convModel(options);
      await fusesExactly(model, feeds);
      expect(opTypesOf(model)).toEqual(['Conv']);
      expect(model.graph.nodes[0]!.inputs).toHaveLength(3);
    }
  });

  it('folds into ConvTranspose, groups included (weight [C_in, C_out / group, k, k])', async () => {
    for (const options of [
      { transposed: true },
      { transposed: true, group: 2, bias: false },
      { transposed: true, group: 2, inChannels: 6, outChannels: 4 },
    ]) {
      const { model, feeds } = convModel(options);
      const result = await fusesExactly(model, feeds);
      expect(opTypesOf(model)).toEqual(['ConvTranspose']);
      expect(result.statistics).toMatchObject({ intoConvTranspose: 1 });
    }
  });

  it('folds into Gemm, respecting transB, beta and the shape of C', async () => {
    for (const options of [
      { transB: true, c: [3] },
      { transB: false, c: [1, 3], beta: 0.5 },
      { transB: false },
      { transB: true, c: [2, 3], beta: 2 },
      { transB: false, c: [2, 1] },
      { transB: true, c: [], opset: 9 },
    ]) {
      const { model, feeds } = gemmModel(options);
      const result = await fusesExactly(model, feeds);
      expect(opTypesOf(model)).toEqual(['Gemm']);
      expect(result.statistics).toMatchObject({ intoGemm: 1 });
      expect(model.graph.nodes[0]!.floatAttribute('beta', 1)).toBe(1);
    }
  });

  it('gives a shared weight a new initializer instead of changing the other reader', async () => {
    const random = new Random(3);
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, [1, 2, 4, 4]);
    const w = b.initializer(randomTensor(random, 'w', [2, 2, 1, 1]));
    const fused = b.op('Conv', [x, w], { output: 'conv' });
    b.output(batchNorm(b, random, fused, 2));
    b.output(b.op('Conv', [x, w], { output: 'other' }));
    const model = b.model();
    await fusesExactly(model, { x: randomFeed(random, [1, 2, 4, 4]) });
    expect(opTypesOf(model)).toEqual(['Conv', 'Conv']);
    expect(model.graph.nodes[1]!.input(1)).toBe(w);
    expect(model.graph.nodes[0]!.input(1)).not.toBe(w);
    expect(w.initializer!.bytes()).toEqual(randomTensor(new Random(3), 'w', [2, 2, 1, 1]).bytes());
  });

  it('reads parameters held by Constant nodes', async () => {
    const random = new Random(5);
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, [1, 2, 3, 3]);
    const constant = (tensor: Tensor) => b.op('Constant', [], { attributes: { value: tensor } });
    const conv = b.op('Conv', [x, constant(randomTensor(random, 'w', [2, 2, 1, 1]))], { output: 'conv' });
    const params = [
      randomTensor(random, 's', [2], { low: 0.5, high: 2 }),
      randomTensor(random, 'b', [2]),
      randomTensor(random, 'm', [2]),
      randomTensor(random, 'v', [2], { low: 0.1, high: 2 }),
    ].map(constant);
    b.output(b.op('BatchNormalization', [conv, ...params], { output: 'y' }));
    const model = b.model();
    const result = await fusesExactly(model, { x: randomFeed(random, [1, 2, 3, 3]) });
    expect(opTypesOf(model)).toEqual(['Conv']);
    expect(result.statistics).toMatchObject({ batchNormsFused: 1, constantsRemoved: 5 });
  });

  describe('leaves alone', () => {
    it('a Conv whose output has another reader', async () => {
      const { model } = convModel({});
      const conv = model.graph.nodes[0]!.output(0)!;
      model.graph.outputs.push(conv);
      const result = await run(model);
      expect(result.changed).toBe(false);
      expect(opTypesOf(model)).toEqual(['Conv', 'BatchNormalization']);
    });

    it('a Conv output read by another node too', async () => {
      const { model } = convModel({});
      const relu = new Node({ opType: 'Relu', inputs: [model.graph.nodes[0]!.output(0)], outputs: ['r'] });
      model.graph.appendNode(relu);
      model.graph.outputs.push(relu.output(0)!);
      expect((await run(model)).changed).toBe(false);
      expect(opTypesOf(model)).toEqual(['Conv', 'BatchNormalization', 'Relu']);
    });

    it('a BatchNormalization after an op it cannot fold into, or with parameters known only at run time', async () => {
      const random = new Random(1);
      const b = new GraphBuilder();
      const x = b.input('x', DataType.FLOAT, [1, 2, 3, 3]);
      b.output(batchNorm(b, random, b.op('Relu', [x]), 2, 'y1'));
      const conv = b.op('Conv', [x, b.initializer(randomTensor(random, 'w', [2, 2, 1, 1]))]);
      const mean = b.input('mean', DataType.FLOAT, [2]);
      const [scale, bias, , variance] = [0, 1, 2, 3].map((index) =>
        b.initializer(randomTensor(random, `p${index}`, [2], { low: 0.5, high: 1 })),
      );
      b.output(b.op('BatchNormalization', [conv, scale, bias, mean, variance], { output: 'y2' }));
      const model = b.model();
      expect((await run(model)).changed).toBe(false);
    });

    it('a BatchNormalization in training mode or with a running statistic read', async () => {
      const training = convModel({}).model;
      training.graph.nodes[1]!.setAttribute({ name: 'training_mode', type: 'int', value: 1 });
      expect((await run(training)).changed).toBe(false);
      const statistics = convModel({}).model;
      const bn = statistics.graph.nodes[1]!;
      bn.appendOutput(new Value('running_mean'));
      bn.appendOutput(new Value('running_var'));
      statistics.graph.outputs.push(bn.output(2)!);
      expect((await run(statistics)).changed).toBe(false);
      // Declared but unread: still the inference form.
      const unread = convModel({}).model;
      unread.graph.nodes[1]!.appendOutput(new Value('running_mean'));
      expect((await run(unread)).changed).toBe(true);
    });

    it('a Conv with a weight computed at run time', async () => {
      const random = new Random(2);
      const b = new GraphBuilder();
      const x = b.input('x', DataType.FLOAT, [1, 2, 3, 3]);
      const w = b.input('w', DataType.FLOAT, [2, 2, 1, 1]);
      b.output(batchNorm(b, random, b.op('Conv', [x, w]), 2));
      const model = b.model();
      expect((await run(model)).changed).toBe(false);
    });
  });
});
