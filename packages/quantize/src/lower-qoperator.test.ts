import { type AttributeShorthand, DataType, type Value } from '@whittle/ir';
import { Random } from '@whittle/test-fixtures';
import { describe, expect, it } from 'vitest';
import { contextFor, opCounts, opTypesOf, lowerAndCompare, QdqBuilder } from './test-support.js';
import { lowerQOperator } from './lower-qoperator.js';

const random = new Random(11);
const OUT = 0.05;

/** x → Q/DQ → Conv(DQ weight, DQ int32 bias) → [activation] → Q → DQ → y. */
function convModel(
  options: {
    perChannel?: boolean;
    activation?: 'Relu' | 'Clip6';
    outputZeroPoint?: number;
    opset?: number;
    weightType?: DataType.UINT8 | DataType.INT8;
    floatBias?: boolean;
  } = {},
) {
  const q = new QdqBuilder(random);
  const x = q.input('x', [1, 3, 8, 8]);
  const xScale = 0.02;
  const input = q.qdq(x, xScale, 128);
  const weight = q.weight([4, 3, 3, 3], {
    ...(options.perChannel ? { axis: 0 } : {}),
    ...(options.weightType ? { type: options.weightType } : {}),
  });
  const biasValues = [0.1, -0.2, 0.3, 0.05];
  const bias = options.floatBias ? q.vector(DataType.FLOAT, biasValues) : q.bias(biasValues, xScale, weight.scales);
  let y: Value = q.b.op('Conv', [input, weight.value, bias], { name: 'conv', attributes: { pads: [1, 1, 1, 1] } });
  if (options.activation === 'Relu') y = q.b.op('Relu', [y]);
  if (options.activation === 'Clip6') y = q.b.op('Clip', [y, q.scalar(DataType.FLOAT, 0), q.scalar(DataType.FLOAT, 6)]);
  q.output(q.dequantize(q.quantize(y, OUT, options.outputZeroPoint ?? 0), OUT, options.outputZeroPoint ?? 0), 'y');
  return { model: q.model(options.opset ?? 13), feeds: { x: q.feed([1, 3, 8, 8]) } };
}

describe('lower-qoperator', () => {
  it('lowers DQ → Conv → Relu → Q to one QLinearConv (per-tensor and per-channel weights, int32 bias)', async () => {
    for (const perChannel of [false, true]) {
      for (const weightType of [DataType.INT8, DataType.UINT8] as const) {
        const { model, feeds } = convModel({ perChannel, activation: 'Relu', weightType });
        const { lowered, agreement, statistics } = await lowerAndCompare(model, feeds, { y: OUT });
        expect(opTypesOf(lowered)).toEqual(['QuantizeLinear', 'QLinearConv', 'DequantizeLinear']);
        expect(statistics).toMatchObject({ nodesLowered: 1, activationsFolded: 1, groupsKept: 0 });
        const conv = lowered.graph.nodes[1]!;
        expect(conv.input(8)!.initializer!.dataType).toBe(DataType.INT32);
        expect(conv.intsAttribute('pads')).toEqual([1, 1, 1, 1]);
        expect(agreement.maxSteps).toBeLessThanOrEqual(1);
      }
    }
  });

  it('quantizes a float Conv bias at x_scale × w_scale', async () => {
    const { model, feeds } = convModel({ perChannel: true, floatBias: true });
    const { lowered, agreement } = await lowerAndCompare(model, feeds, { y: OUT });
    expect(opTypesOf(lowered)).toEqual(['QuantizeLinear', 'QLinearConv', 'DequantizeLinear']);
    expect(agreement.maxSteps).toBeLessThanOrEqual(1);
  });

  it('turns a Relu/Clip the Q does not make redundant into an integer Clip (opset 12+), or keeps the QDQ', async () => {
    for (const [activation, zeroPoint] of [
      ['Relu', 20],
      ['Clip6', 0],
    ] as const) {
      const { model, feeds } = convModel({ activation, outputZeroPoint: zeroPoint });
      const { lowered, agreement } = await lowerAndCompare(model, feeds, { y: OUT });
      expect(opTypesOf(lowered)).toEqual(['QuantizeLinear', 'QLinearConv', 'Clip', 'DequantizeLinear']);
      expect(agreement.maxSteps).toBeLessThanOrEqual(1);
    }
    const old = convModel({ activation: 'Relu', outputZeroPoint: 20, opset: 11 }).model;
    const result = await lowerQOperator.create({}).run(old, contextFor());
    expect(result.changed).toBe(false);
    expect(opCounts(old).Conv).toBe(1);
  });

  it('lowers MatMul to QLinearMatMul (per-tensor or per-column B) and keeps other per-channel MatMuls in QDQ', async () => {
    for (const axis of [undefined, 1, 0] as const) {
      const q = new QdqBuilder(random);
      const x = q.input('x', [2, 5, 16]);
      const weight = q.weight([16, 8], axis === undefined ? {} : { axis });
      const y = q.b.op('MatMul', [q.qdq(x, 0.01, 120), weight.value]);
      q.output(q.dequantize(q.quantize(y, 0.02, 128), 0.02, 128), 'y');
      const { lowered, agreement } = await lowerAndCompare(q.model(), { x: q.feed([2, 5, 16]) }, { y: 0.02 });
      if (axis === 0) {
        expect(opCounts(lowered).MatMul).toBe(1);
        expect(agreement.maxSteps).toBe(0);
      } else {
        expect(opTypesOf(lowered)).toEqual(['QuantizeLinear', 'QLinearMatMul', 'DequantizeLinear']);
        expect(agreement.maxSteps).toBeLessThanOrEqual(1);
      }
    }
  });

  it('lowers Add and Mul to com.microsoft QLinearAdd / QLinearMul, or keeps them without contrib ops', async () => {
    for (const op of ['Add', 'Mul']) {
      for (const type of [DataType.UINT8, DataType.INT8] as const) {
        const q = new QdqBuilder(random);
        const a = q.input('a', [1, 4, 3, 3]);
        const b = q.input('b', [1, 4, 1, 1]);
        const zero = type === DataType.UINT8 ? 128 : 0;
        const y = q.b.op(op, [q.qdq(a, 0.01, zero, type), q.qdq(b, 0.03, zero + 3, type)]);
        q.output(q.dequantize(q.quantize(y, 0.02, zero - 5, type), 0.02, zero - 5, type), 'y');
        const model = q.model();
        const feeds = { a: q.feed([1, 4, 3, 3]), b: q.feed([1, 4, 1, 1]) };
        const { lowered, agreement } = await lowerAndCompare(model, feeds, { y: 0.02 });
        expect(opTypesOf(lowered)).toEqual(['QuantizeLinear', 'QuantizeLinear', `QLinear${op}`, 'DequantizeLinear']);
        expect(lowered.graph.nodes[2]!.domain).toBe('com.microsoft');
        expect(lowered.opsetVersion('com.microsoft')).toBe(1);
        expect(agreement.maxSteps).toBeLessThanOrEqual(1);
        const kept = await lowerAndCompare(model, feeds, { y: 0.02 }, { useContribOps: false });
        expect(opCounts(kept.lowered)[op]).toBe(1);
      }
    }
  });

  it('lowers Concat to QLinearConcat, or to a Concat of integers when every parameter matches', async () => {
    for (const same of [false, true]) {
      const q = new QdqBuilder(random);
      const a = q.input('a', [1, 2, 4]);
      const b = q.input('b', [1, 3, 4]);
      const y = q.b.op('Concat', [q.qdq(a, 0.02, 128), q.qdq(b, same ? 0.02 : 0.01, same ? 128 : 100)], {
        attributes: { axis: 1 },
      });
      q.output(q.dequantize(q.quantize(y, 0.02, 128), 0.02, 128), 'y');
      const feeds = { a: q.feed([1, 2, 4]), b: q.feed([1, 3, 4]) };
      const { lowered, agreement } = await lowerAndCompare(q.model(), feeds, { y: 0.02 });
      expect(opTypesOf(lowered)).toEqual([
        'QuantizeLinear',
        'QuantizeLinear',
        same ? 'Concat' : 'QLinearConcat',
        'DequantizeLinear',
      ]);
      expect(agreement.maxSteps).toBeLessThanOrEqual(same ? 0 : 1);
    }
  });

  it('lowers AveragePool, GlobalAveragePool, LeakyRelu and Sigmoid to their com.microsoft QLinear ops', async () => {
    for (const [op, attributes] of [
      ['AveragePool', { kernel_shape: [2, 2], strides: [2, 2] }],
      ['GlobalAveragePool', {}],
      ['LeakyRelu', { alpha: 0.2 }],
      ['Sigmoid', {}],
    ] satisfies [string, Record<string, AttributeShorthand>][]) {
      const q = new QdqBuilder(random);
      const x = q.input('x', [1, 3, 6, 6]);
      const y = q.b.op(op, [q.qdq(x, 0.03, 128)], { attributes });
      const outScale = op === 'Sigmoid' ? 1 / 256 : 0.02;
      const outZero = op === 'Sigmoid' ? 0 : 128;
      q.output(q.dequantize(q.quantize(y, outScale, outZero), outScale, outZero), 'y');
      const { lowered, agreement } = await lowerAndCompare(
        q.model(),
        { x: q.feed([1, 3, 6, 6], -3, 3) },
        { y: outScale },
      );
      expect(opTypesOf(lowered)).toEqual(['QuantizeLinear', `QLinear${op}`, 'DequantizeLinear']);
      expect(agreement.maxSteps).toBeLessThanOrEqual(1);
    }
  });

  it('runs MaxPool, Reshape, Transpose, Pad and Split on integers when the Q/DQ around them match', async () => {
    const q = new QdqBuilder(random);
    const x = q.input('x', [1, 4, 6, 6]);
    let y = q.b.op('MaxPool', [q.qdq(x, 0.02, 128)], { attributes: { kernel_shape: [2, 2], strides: [2, 2] } });
    y = q.b.op('Pad', [q.qdq(y, 0.02, 128), q.int64([0, 0, 1, 1, 0, 0, 1, 1])]);
    y = q.b.op('Transpose', [q.qdq(y, 0.02, 128)], { attributes: { perm: [0, 2, 3, 1] } });
    y = q.b.op('Reshape', [q.qdq(y, 0.02, 128), q.int64([1, 25, 4])]);
    const [left, right] = q.b.node('Split', [q.qdq(y, 0.02, 128), q.int64([1, 3])], {
      attributes: { axis: 2 },
      outputs: 2,
    });
    q.output(q.dequantize(q.quantize(left!, 0.02, 128), 0.02, 128), 'left');
    q.output(q.dequantize(q.quantize(right!, 0.02, 128), 0.02, 128), 'right');
    const { lowered, agreement, statistics } = await lowerAndCompare(
      q.model(),
      { x: q.feed([1, 4, 6, 6]) },
      { left: 0.02, right: 0.02 },
    );
    expect(opTypesOf(lowered)).toEqual([
      'QuantizeLinear',
      'MaxPool',
      'Pad',
      'Transpose',
      'Reshape',
      'Split',
      'DequantizeLinear',
      'DequantizeLinear',
    ]);
    expect(statistics).toMatchObject({ nodesOnIntegers: 5, quantizeLinearRemoved: 6, dequantizeLinearRemoved: 5 });
    // The pad value is the zero point.
    expect(lowered.graph.nodes[2]!.input(2)!.initializer!.toArray()[0]).toBe(128);
    expect(agreement.maxSteps).toBe(0);
  });

  it('keeps the Q/DQ around an op whose parameters do not match, or a per-channel activation', async () => {
    const q = new QdqBuilder(random);
    const x = q.input('x', [1, 4, 6, 6]);
    const y = q.b.op('Transpose', [q.qdq(x, 0.02, 128)], { attributes: { perm: [0, 2, 3, 1] } });
    q.output(q.dequantize(q.quantize(y, 0.03, 128), 0.03, 128), 'y');
    const model = q.model();
    const result = await lowerQOperator.create({}).run(model, contextFor());
    expect(result.changed).toBe(false);
    expect(result.statistics).toMatchObject({ groupsKept: 1 });
  });

  it('lowers a whole chain so that only the first Q and the last DQ stay, and honours `ops`', async () => {
    const build = () => {
      const q = new QdqBuilder(random);
      const x = q.input('x', [1, 3, 8, 8]);
      const w1 = q.weight([6, 3, 3, 3], { axis: 0 });
      let y = q.b.op('Conv', [q.qdq(x, 0.02, 128), w1.value], { attributes: { pads: [1, 1, 1, 1] } });
      y = q.b.op('Relu', [y]);
      y = q.b.op('MaxPool', [q.qdq(y, 0.04, 0)], { attributes: { kernel_shape: [2, 2], strides: [2, 2] } });
      const w2 = q.weight([8, 6, 1, 1], { axis: 0 });
      y = q.b.op('Conv', [q.qdq(y, 0.04, 0), w2.value]);
      y = q.b.op('GlobalAveragePool', [q.qdq(y, 0.05, 128)]);
      y = q.b.op('Flatten', [q.qdq(y, 0.01, 128)]);
      const w3 = q.weight([8, 5]);
      y = q.b.op('MatMul', [q.qdq(y, 0.01, 128), w3.value]);
      q.output(q.dequantize(q.quantize(y, 0.002, 128), 0.002, 128), 'y');
      return { model: q.model(), feeds: { x: q.feed([1, 3, 8, 8]) } };
    };
    const { model, feeds } = build();
    const { lowered, agreement } = await lowerAndCompare(model, feeds, { y: 0.002 });
    expect(opTypesOf(lowered)).toEqual([
      'QuantizeLinear',
      'QLinearConv',
      'MaxPool',
      'QLinearConv',
      'QLinearGlobalAveragePool',
      'Flatten',
      'QLinearMatMul',
      'DequantizeLinear',
    ]);
    expect(agreement.maxSteps).toBeLessThanOrEqual(3);
    const partial = await lowerAndCompare(model, feeds, { y: 0.002 }, { ops: ['Conv'] });
    expect(opCounts(partial.lowered)).toMatchObject({ QLinearConv: 2, MaxPool: 1, GlobalAveragePool: 1, MatMul: 1 });
  });
});
