import { DataType, GraphBuilder, Graph, type Model, Node, Tensor, tensorType, Value, verifyModel } from '@whittle/ir';
import { validateOptions } from '@whittle/core';
import { ort } from '@whittle/test-fixtures';
import { describe, expect, it } from 'vitest';
import { quantizeStatic } from './quantize-static.js';
import { QuantizeStaticCodes } from './static-codes.js';
import {
  copyModel,
  minMaxTable,
  numbersOf,
  opCounts,
  optimizedOpCounts,
  seededFloats,
  runOnOneThread,
  runStatic,
  sqnr,
} from './test-support.js';

const F = DataType.FLOAT;

function floatInit(builder: GraphBuilder, name: string, dims: number[], seed: number, scale = 0.5): Value {
  const count = dims.reduce((a, b) => a * b, 1);
  return builder.initializer(Tensor.fromArray(name, F, dims, seededFloats(count, seed, -scale, scale)));
}

function nodesOf(model: Model, opType: string): Node[] {
  return [...model.graph.allNodes()].filter((node) => node.opType === opType);
}

function constantOf(value: Value | undefined): Tensor {
  const tensor = value?.constant;
  if (!tensor) throw new Error(`'${value?.name}' is not a constant`);
  return tensor;
}

function floatsOf(value: Value | undefined): Float32Array {
  return Float32Array.from(constantOf(value).toArray() as ArrayLike<number>);
}

/** The DequantizeLinear that produces a node's input. */
function dequantizeOf(node: Node, index: number): Node {
  const producer = node.input(index)?.producer;
  if (producer?.opType !== 'DequantizeLinear')
    throw new Error(`input ${index} of ${node.describe()} is not dequantized`);
  return producer;
}

function errorsOf(model: Model) {
  return verifyModel(model).filter((diagnostic) => diagnostic.severity === 'error');
}

function input(name: string, dims: number[], seed: number, low = -1, high = 1) {
  const count = dims.reduce((a, b) => a * b, 1);
  return { [name]: new ort.Tensor('float32', seededFloats(count, seed, low, high), dims) };
}

/** Min-max ranges over eight random inputs (seeds 11-18); fidelity is checked on one of them. */
async function calibrated(model: Model, name: string, dims: number[]) {
  return minMaxTable(
    model,
    Array.from({ length: 8 }, (_, index) => input(name, dims, 11 + index)),
  );
}

const SEED = 11;

/** ONNX Runtime writes QLinearConv in the default domain, or the NHWC com.microsoft one on x86. */
function qlinearConvs(counts: Record<string, number>): number {
  return (counts.QLinearConv ?? 0) + (counts['com.microsoft::QLinearConv'] ?? 0);
}

function convRelu(opset = 17) {
  const b = new GraphBuilder();
  const x = b.input('x', F, [1, 3, 8, 8]);
  const w = floatInit(b, 'w', [4, 3, 3, 3], 1);
  const bias = floatInit(b, 'bias', [4], 2, 0.2);
  const conv = b.op('Conv', [x, w, bias], { name: 'conv', attributes: { pads: [1, 1, 1, 1] }, output: 'conv_out' });
  const relu = b.op('Relu', [conv], { name: 'relu', output: 'y' });
  b.output(relu, tensorType(F, [1, 4, 8, 8]));
  return b.model({ opsetImports: [{ domain: '', version: opset }] });
}

describe('quantize-static: Conv + Relu', () => {
  it('places Q/DQ around the group, the pair after the Relu, weights int8 per channel, bias int32', async () => {
    const model = convRelu();
    const reference = copyModel(model);
    const table = await calibrated(model, 'x', [1, 3, 8, 8]);
    const { changed, statistics, reports } = await runStatic(model, { calibrationTable: table });
    expect(changed).toBe(true);
    expect(errorsOf(model)).toEqual([]);
    expect(reports.filter((report) => report.severity === 'warning')).toEqual([]);
    const conv = nodesOf(model, 'Conv')[0]!;
    // Input: Q→DQ shared, weight and bias from integer constants.
    const inputDequantize = dequantizeOf(conv, 0);
    expect(inputDequantize.input(0)?.producer?.opType).toBe('QuantizeLinear');
    const weightDequantize = dequantizeOf(conv, 1);
    expect(constantOf(weightDequantize.input(0)).dataType).toBe(DataType.INT8);
    expect(weightDequantize.intAttribute('axis')).toBe(0);
    expect(constantOf(weightDequantize.input(1)).dims).toEqual([4]);
    const biasDequantize = dequantizeOf(conv, 2);
    expect(constantOf(biasDequantize.input(0)).dataType).toBe(DataType.INT32);
    // Conv feeds the Relu directly; the pair is after the Relu and the output keeps its name.
    const relu = nodesOf(model, 'Relu')[0]!;
    expect(relu.input(0)?.producer).toBe(conv);
    const outputDequantize = model.graph.outputs[0]!.producer!;
    expect(model.graph.outputs[0]!.name).toBe('y');
    expect(outputDequantize.opType).toBe('DequantizeLinear');
    expect(outputDequantize.input(0)?.producer?.input(0)?.producer).toBe(relu);
    // Relu output range [0, max]: asymmetric uint8 with zero point 0 makes the Relu redundant for the runtime.
    expect(numbersOf(constantOf(outputDequantize.input(2)))).toEqual([0]);
    expect(statistics).toMatchObject({
      nodesQuantized: 1,
      weightsQuantized: 1,
      biasesQuantized: 1,
      activationsFolded: 1,
      quantizeLinearNodes: 2,
      dequantizeLinearNodes: 4,
    });
    // Float weights are gone: 4 bytes per weight became 1.
    expect(model.graph.initializers.some((value) => value.name === 'w')).toBe(false);

    const feeds = input('x', [1, 3, 8, 8], SEED);
    const expected = (await runOnOneThread(reference, feeds)).y!.data as Float32Array;
    const actual = (await runOnOneThread(model, feeds)).y!.data as Float32Array;
    expect(sqnr(expected, actual)).toBeGreaterThan(25);
    const fused = await optimizedOpCounts(model);
    expect(qlinearConvs(fused)).toBe(1);
    expect(fused.Conv).toBeUndefined();
  });

  it('bias int32: dequantized bias is the float bias within half a step of input_scale × weight_scale', async () => {
    const model = convRelu();
    const floatBias = floatsOf(model.graph.initializers.find((value) => value.name === 'bias'));
    await runStatic(model, { calibrationTable: await calibrated(model, 'x', [1, 3, 8, 8]) });
    const conv = nodesOf(model, 'Conv')[0]!;
    const inputScale = floatsOf(dequantizeOf(conv, 0).input(1))[0]!;
    const weightScales = floatsOf(dequantizeOf(conv, 1).input(1));
    const biasDequantize = dequantizeOf(conv, 2);
    const integers = constantOf(biasDequantize.input(0)).toArray() as Int32Array;
    const biasScales = floatsOf(biasDequantize.input(1));
    expect(biasDequantize.intAttribute('axis')).toBe(0);
    // Zero point 0 is DequantizeLinear's default: int32 biases carry none (4 bytes per channel less).
    expect(biasDequantize.input(2)).toBeUndefined();
    floatBias.forEach((value, channel) => {
      const step = Math.fround(inputScale * weightScales[channel]!);
      expect(biasScales[channel]).toBe(step);
      expect(Math.abs(integers[channel]! * step - value)).toBeLessThanOrEqual(step / 2 + 1e-12);
    });
  });

  it('per-tensor weights when perChannel is false; bias scale is one scalar', async () => {
    const model = convRelu();
    await runStatic(model, { calibrationTable: await calibrated(model, 'x', [1, 3, 8, 8]), perChannel: false });
    const conv = nodesOf(model, 'Conv')[0]!;
    expect(constantOf(dequantizeOf(conv, 1).input(1)).dims).toEqual([]);
    expect(dequantizeOf(conv, 1).attribute('axis')).toBeUndefined();
    expect(constantOf(dequantizeOf(conv, 2).input(1)).dims).toEqual([]);
  });
});

function gemm(transB: 0 | 1) {
  const b = new GraphBuilder();
  const x = b.input('x', F, [2, 6]);
  const w = floatInit(b, 'w', transB ? [5, 6] : [6, 5], 3);
  const c = floatInit(b, 'c', [5], 4, 0.1);
  const y = b.op('Gemm', [x, w, c], { name: 'gemm', attributes: { transB }, output: 'y' });
  b.output(y, tensorType(F, [2, 5]));
  return b.model();
}

describe('quantize-static: per-channel axes', () => {
  for (const transB of [1, 0] as const) {
    it(`Gemm transB=${transB}: one scale per output column (axis ${transB ? 0 : 1})`, async () => {
      const model = gemm(transB);
      const reference = copyModel(model);
      await runStatic(model, { calibrationTable: await calibrated(model, 'x', [2, 6]) });
      const node = nodesOf(model, 'Gemm')[0]!;
      const weight = dequantizeOf(node, 1);
      expect(weight.intAttribute('axis')).toBe(transB ? 0 : 1);
      expect(constantOf(weight.input(1)).dims).toEqual([5]);
      expect(constantOf(dequantizeOf(node, 2).input(0)).dataType).toBe(DataType.INT32);
      // The scale of column n is the max |w| of that column over 127.
      const original = floatsOf(reference.graph.initializers.find((value) => value.name === 'w'));
      const scales = floatsOf(weight.input(1));
      for (let column = 0; column < 5; column++) {
        let max = 0;
        for (let k = 0; k < 6; k++) max = Math.max(max, Math.abs(original[transB ? column * 6 + k : k * 5 + column]!));
        expect(scales[column]).toBeCloseTo(max / 127, 7);
      }
      const feeds = input('x', [2, 6], SEED);
      const expected = (await runOnOneThread(reference, feeds)).y!.data as Float32Array;
      expect(sqnr(expected, (await runOnOneThread(model, feeds)).y!.data as Float32Array)).toBeGreaterThan(25);
      const fused = await optimizedOpCounts(model);
      expect(fused['com.microsoft::QGemm']).toBe(1);
    });
  }

  it('MatMul: B [K, N] per output column, axis 1', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', F, [3, 8]);
    const w = floatInit(b, 'w', [8, 4], 5);
    b.output(b.op('MatMul', [x, w], { name: 'matmul', output: 'y' }), tensorType(F, [3, 4]));
    const model = b.model();
    const reference = copyModel(model);
    await runStatic(model, { calibrationTable: await calibrated(model, 'x', [3, 8]) });
    const weight = dequantizeOf(nodesOf(model, 'MatMul')[0]!, 1);
    expect(weight.intAttribute('axis')).toBe(1);
    expect(constantOf(weight.input(1)).dims).toEqual([4]);
    const feeds = input('x', [3, 8], SEED);
    const expected = (await runOnOneThread(reference, feeds)).y!.data as Float32Array;
    expect(sqnr(expected, (await runOnOneThread(model, feeds)).y!.data as Float32Array)).toBeGreaterThan(25);
    const fused = await optimizedOpCounts(model);
    expect(fused.QLinearMatMul).toBe(1);
  });

  it('ConvTranspose with groups: axis 1 (C_out/group scales), bias scale of output o is that of o mod C_out/group', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', F, [1, 4, 5, 5]);
    // group 2: W [C_in=4, C_out/group=3, 3, 3], C_out = 6.
    const w = floatInit(b, 'w', [4, 3, 3, 3], 6);
    const bias = floatInit(b, 'bias', [6], 7, 0.3);
    const y = b.op('ConvTranspose', [x, w, bias], { name: 'deconv', attributes: { group: 2 }, output: 'y' });
    b.output(y, tensorType(F, [1, 6, 7, 7]));
    const model = b.model();
    const reference = copyModel(model);
    await runStatic(model, { calibrationTable: await calibrated(model, 'x', [1, 4, 5, 5]) });
    const node = nodesOf(model, 'ConvTranspose')[0]!;
    const weight = dequantizeOf(node, 1);
    expect(weight.intAttribute('axis')).toBe(1);
    const weightScales = floatsOf(weight.input(1));
    expect(weightScales.length).toBe(3);
    const inputScale = floatsOf(dequantizeOf(node, 0).input(1))[0]!;
    const biasScales = floatsOf(dequantizeOf(node, 2).input(1));
    expect(Array.from(biasScales)).toEqual(
      Array.from({ length: 6 }, (_, output) => Math.fround(inputScale * weightScales[output % 3]!)),
    );
    const feeds = input('x', [1, 4, 5, 5], SEED);
    const expected = (await runOnOneThread(reference, feeds)).y!.data as Float32Array;
    expect(sqnr(expected, (await runOnOneThread(model, feeds)).y!.data as Float32Array)).toBeGreaterThan(25);
  });
});

describe('quantize-static: Concat and data movement', () => {
  function twoBranches(withConcatRange: boolean) {
    const b = new GraphBuilder();
    const x = b.input('x', F, [1, 2, 4, 4]);
    const c1 = b.op('Conv', [x, floatInit(b, 'w1', [3, 2, 1, 1], 21)], { name: 'c1', output: 'a' });
    const c2 = b.op('Conv', [x, floatInit(b, 'w2', [3, 2, 1, 1], 22, 2)], { name: 'c2', output: 'b' });
    const cat = b.op('Concat', [c1, c2], { name: 'cat', attributes: { axis: 1 }, output: 'cat_out' });
    const r = b.op(
      'Reshape',
      [cat, b.initializer(Tensor.fromArray('shape', DataType.INT64, [2], BigInt64Array.of(1n, -1n)))],
      {
        name: 'reshape',
        output: 'flat',
      },
    );
    const t = b.op('Transpose', [r], { name: 'transpose', attributes: { perm: [1, 0] }, output: 'flat_t' });
    const f = b.op('Flatten', [t], { name: 'flatten', attributes: { axis: 0 }, output: 'flat_f' });
    const g = b.op('Gemm', [f, floatInit(b, 'wg', [96, 4], 23)], { name: 'head', output: 'y' });
    b.output(g, tensorType(F, [1, 4]));
    const model = b.model();
    return { model, withConcatRange };
  }

  it('Concat keeps its own parameters per input; data-movement outputs share their input’s scale and zero point', async () => {
    const { model } = twoBranches(true);
    const reference = copyModel(model);
    const table = await calibrated(model, 'x', [1, 2, 4, 4]);
    const { statistics } = await runStatic(model, { calibrationTable: table });
    expect(errorsOf(model)).toEqual([]);
    const cat = nodesOf(model, 'Concat')[0]!;
    const scaleA = floatsOf(dequantizeOf(cat, 0).input(1))[0]!;
    const scaleB = floatsOf(dequantizeOf(cat, 1).input(1))[0]!;
    expect(scaleA).not.toBe(scaleB);
    const reshape = nodesOf(model, 'Reshape')[0]!;
    const catPair = dequantizeOf(reshape, 0);
    for (const op of ['Transpose', 'Flatten', 'Gemm']) {
      const pair = dequantizeOf(nodesOf(model, op)[0]!, 0);
      // The very same scale and zero point values: the runtime sees equal parameters and drops the pair.
      expect(pair.input(1)).toBe(catPair.input(1));
      expect(pair.input(2)).toBe(catPair.input(2));
    }
    expect(statistics.nodesQuantized).toBe(7);
    const feeds = input('x', [1, 2, 4, 4], SEED);
    const expected = (await runOnOneThread(reference, feeds)).y!.data as Float32Array;
    expect(sqnr(expected, (await runOnOneThread(model, feeds)).y!.data as Float32Array)).toBeGreaterThan(25);
    const fused = await optimizedOpCounts(model);
    expect(fused['com.microsoft::QLinearConcat']).toBe(1);
    // Reshape / Transpose / Flatten run on integers: no DQ→op→Q left around them.
    expect(fused.DequantizeLinear ?? 0).toBeLessThanOrEqual(1);
  });

  it('a Concat output without a calibrated range covers the union of its inputs’ ranges', async () => {
    const { model } = twoBranches(false);
    const table = await calibrated(model, 'x', [1, 2, 4, 4]);
    delete table.tensors.cat_out;
    const { reports } = await runStatic(model, { calibrationTable: table });
    expect(reports.filter((report) => report.code === QuantizeStaticCodes.MISSING_RANGE)).toEqual([]);
    const cat = nodesOf(model, 'Concat')[0]!;
    const quantize = cat.output(0)!.uses.find((use) => use.node.opType === 'QuantizeLinear')!.node;
    const scale = floatsOf(quantize.input(1))[0]!;
    const zeroPoint = Number(constantOf(quantize.input(2)).toArray()[0]);
    // Every value either input can represent is representable in the output (to a step of rounding).
    for (const index of [0, 1]) {
      const pair = dequantizeOf(cat, index);
      const inputScale = floatsOf(pair.input(1))[0]!;
      const inputZeroPoint = Number(constantOf(pair.input(2)).toArray()[0]);
      expect((0 - zeroPoint) * scale).toBeLessThanOrEqual((0 - inputZeroPoint) * inputScale + scale);
      expect((255 - zeroPoint) * scale).toBeGreaterThanOrEqual((255 - inputZeroPoint) * inputScale - scale);
    }
  });

  it('leaves a data-movement op on a float input in float', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', F, [2, 3]);
    const s = b.op('Softmax', [x], { output: 's' });
    const t = b.op('Transpose', [s], { name: 't', attributes: { perm: [1, 0] }, output: 'y' });
    b.output(t, tensorType(F, [3, 2]));
    const model = b.model();
    const { statistics, changed } = await runStatic(model, { calibrationTable: await calibrated(model, 'x', [2, 3]) });
    expect(changed).toBe(false);
    expect(statistics.skippedFloatInput).toBe(1);
    expect(opCounts(model)).toEqual({ Softmax: 1, Transpose: 1 });
  });
});

describe('quantize-static: more placement rules', () => {
  it('MaxPool and Split share their input’s parameters; Pad with a non-zero value does not', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', F, [1, 2, 6, 6]);
    const conv = b.op('Conv', [x, floatInit(b, 'w', [4, 2, 1, 1], 71)], { name: 'conv', output: 'c' });
    const pool = b.op('MaxPool', [conv], {
      name: 'pool',
      attributes: { kernel_shape: [2, 2], strides: [2, 2] },
      output: 'p',
    });
    const [left, right] = b.node(
      'Split',
      [pool, b.initializer(Tensor.fromArray('split', DataType.INT64, [2], BigInt64Array.of(2n, 2n)))],
      {
        name: 'split',
        attributes: { axis: 1 },
        outputs: ['left', 'right'],
      },
    );
    const pads = b.initializer(
      Tensor.fromArray('pads', DataType.INT64, [8], BigInt64Array.of(0n, 0n, 1n, 1n, 0n, 0n, 1n, 1n)),
    );
    const fill = b.initializer(Tensor.fromArray('fill', F, [], Float32Array.of(5)));
    const padded = b.op('Pad', [right!, pads, fill], { name: 'pad', output: 'padded' });
    b.output(
      b.op('Conv', [left!, floatInit(b, 'w2', [2, 2, 1, 1], 72)], { name: 'conv2', output: 'y1' }),
      tensorType(F, [1, 2, 3, 3]),
    );
    b.output(
      b.op('Conv', [padded, floatInit(b, 'w3', [2, 2, 1, 1], 73)], { name: 'conv3', output: 'y2' }),
      tensorType(F, [1, 2, 5, 5]),
    );
    const model = b.model();
    const table = await calibrated(model, 'x', [1, 2, 6, 6]);
    const { statistics } = await runStatic(model, { calibrationTable: table });
    expect(errorsOf(model)).toEqual([]);
    const convPair = dequantizeOf(nodesOf(model, 'MaxPool')[0]!, 0);
    const splitPair = dequantizeOf(nodesOf(model, 'Split')[0]!, 0);
    expect(splitPair.input(1)).toBe(convPair.input(1));
    const leftPair = dequantizeOf(nodesOf(model, 'Conv').find((node) => node.name === 'conv2')!, 0);
    expect(leftPair.input(1)).toBe(convPair.input(1));
    // Pad writes 5 where the input never was: its output gets its own range (conv3 quantizes it), not the input's.
    const padPair = dequantizeOf(nodesOf(model, 'Conv').find((node) => node.name === 'conv3')!, 0);
    expect(padPair.input(1)).not.toBe(convPair.input(1));
    expect(statistics.skippedUnsupported).toBe(1);
  });

  it('an Add among float ops stays float (a layer norm’s variance + eps); next to quantized tensors it is quantized', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', F, [2, 8]);
    const mean = b.op('ReduceMean', [x], { attributes: { axes: [1] }, output: 'mean' });
    const centered = b.op('Sub', [x, mean], { output: 'centered' });
    const square = b.op('Mul', [centered, centered], { name: 'square', output: 'square' });
    const variance = b.op('ReduceMean', [square], { attributes: { axes: [1] }, output: 'variance' });
    const eps = b.initializer(Tensor.fromArray('eps', F, [], Float32Array.of(1e-5)));
    const shifted = b.op('Add', [variance, eps], { name: 'add_eps', output: 'shifted' });
    const normalized = b.op('Div', [centered, b.op('Sqrt', [shifted], { output: 'std' })], { output: 'normalized' });
    const projected = b.op('MatMul', [normalized, floatInit(b, 'w', [8, 4], 81)], {
      name: 'proj',
      output: 'projected',
    });
    const residual = b.op('Add', [projected, floatInit(b, 'r', [4], 82)], { name: 'add_bias', output: 'y' });
    b.output(residual, tensorType(F, [2, 4]));
    const model = b.model({ opsetImports: [{ domain: '', version: 13 }] });
    const table = await calibrated(model, 'x', [2, 8]);
    await runStatic(model, { calibrationTable: table });
    const quantizedOps = [...model.graph.allNodes()]
      .filter((node) => node.inputs.some((value) => value?.producer?.opType === 'DequantizeLinear'))
      .map((node) => node.name || node.opType);
    expect(quantizedOps).toEqual(['proj', 'add_bias']);
    expect(
      nodesOf(model, 'Add')
        .find((node) => node.name === 'add_eps')!
        .input(0)?.name,
    ).toBe('variance');
  });

  it('a MatMul feeding Clip → Log (a mel filterbank) stays float: rounding would make small energies log(0)', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', F, [2, 8]);
    const energies = b.op('MatMul', [x, floatInit(b, 'filters', [8, 4], 83)], { name: 'filterbank', output: 'e' });
    const floor = b.initializer(Tensor.fromArray('floor', F, [], Float32Array.of(1e-10)));
    const clipped = b.op('Clip', [energies, floor], { name: 'floor', output: 'clipped' });
    const logged = b.op('Log', [clipped], { output: 'log' });
    const projected = b.op('MatMul', [logged, floatInit(b, 'w', [4, 3], 84)], { name: 'proj', output: 'y' });
    b.output(projected, tensorType(F, [2, 3]));
    const model = b.model({ opsetImports: [{ domain: '', version: 13 }] });
    // Energies from 0 to 1000, many of them tiny: squares of the inputs, scaled.
    const feeds = Array.from({ length: 8 }, (_, index) => ({
      x: new ort.Tensor(
        'float32',
        seededFloats(16, 31 + index).map((value) => 30 * value * value),
        [2, 8],
      ),
    }));
    const table = await minMaxTable(model, feeds);
    const { reports, statistics } = await runStatic(model, { calibrationTable: table });
    expect(reports.filter((report) => report.code === QuantizeStaticCodes.KEPT_FOR_RELATIVE_PRECISION)).toHaveLength(1);
    expect(statistics.skippedUnsupported).toBe(1);
    const quantizedOps = [...model.graph.allNodes()]
      .filter((node) => node.inputs.some((value) => value?.producer?.opType === 'DequantizeLinear'))
      .map((node) => node.name || node.opType);
    expect(quantizedOps).toEqual(['proj']);
  });

  it('a MatMul whose output is squared and summed before a Log stays float too; one that is centred first does not', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', F, [2, 8]);
    const real = b.op('MatMul', [x, floatInit(b, 'cosines', [8, 4], 85)], { name: 'stft', output: 'real' });
    const two = b.initializer(Tensor.fromArray('two', F, [], Float32Array.of(2)));
    const power = b.op('Pow', [real, two], { output: 'power' });
    const energies = b.op('MatMul', [power, floatInit(b, 'filters', [4, 4], 86)], { name: 'filterbank', output: 'e' });
    const logged = b.op('Log', [b.op('Abs', [energies], { output: 'magnitude' })], { output: 'log' });
    const other = b.op('MatMul', [x, floatInit(b, 'w', [8, 4], 87)], { name: 'centred', output: 'other' });
    const centred = b.op('Sub', [other, b.op('ReduceMean', [other], { output: 'mean' })], { output: 'centred_out' });
    const rooted = b.op('Sqrt', [b.op('Abs', [centred], { output: 'magnitude2' })], { output: 'root' });
    b.output(logged, tensorType(F, [2, 4]));
    b.output(rooted, tensorType(F, [2, 4]));
    const model = b.model({ opsetImports: [{ domain: '', version: 13 }] });
    const table = await calibrated(model, 'x', [2, 8]);
    const { reports } = await runStatic(model, { calibrationTable: table });
    const kept = reports.filter((report) => report.code === QuantizeStaticCodes.KEPT_FOR_RELATIVE_PRECISION);
    expect(kept.map((report) => report.location?.node)).toEqual(['stft', 'filterbank']);
  });

  it('a Gemm’s C of shape [1, N] becomes an int32 [N] bias', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', F, [3, 6]);
    const c = b.initializer(Tensor.fromArray('c', F, [1, 5], seededFloats(5, 91, -0.2, 0.2)));
    b.output(b.op('Gemm', [x, floatInit(b, 'w', [6, 5], 92), c], { name: 'gemm', output: 'y' }), tensorType(F, [3, 5]));
    const model = b.model();
    const reference = copyModel(model);
    await runStatic(model, { calibrationTable: await calibrated(model, 'x', [3, 6]) });
    const bias = dequantizeOf(nodesOf(model, 'Gemm')[0]!, 2);
    expect(constantOf(bias.input(0)).dims).toEqual([5]);
    expect(constantOf(bias.input(0)).dataType).toBe(DataType.INT32);
    const feeds = input('x', [3, 6], SEED);
    const expected = (await runOnOneThread(reference, feeds)).y!.data as Float32Array;
    expect(sqnr(expected, (await runOnOneThread(model, feeds)).y!.data as Float32Array)).toBeGreaterThan(25);
  });

  it('a channel of zero weights with a bias: the weight scale grows so the bias fits int32', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', F, [1, 2, 3, 3]);
    const weights = seededFloats(4, 93);
    weights.fill(0, 2, 4); // output channel 1: all zero
    const w = b.initializer(Tensor.fromArray('w', F, [2, 2, 1, 1], weights));
    const bias = b.initializer(Tensor.fromArray('bias', F, [2], Float32Array.of(0.25, 3.5)));
    b.output(b.op('Conv', [x, w, bias], { name: 'conv', output: 'y' }), tensorType(F, [1, 2, 3, 3]));
    const model = b.model();
    const reference = copyModel(model);
    const { reports } = await runStatic(model, { calibrationTable: await calibrated(model, 'x', [1, 2, 3, 3]) });
    expect(reports.filter((report) => report.code === QuantizeStaticCodes.BIAS_OVERFLOW)).toEqual([]);
    const conv = nodesOf(model, 'Conv')[0]!;
    const biasPair = dequantizeOf(conv, 2);
    const integers = numbersOf(constantOf(biasPair.input(0)));
    const scales = floatsOf(biasPair.input(1));
    expect(Math.abs(integers[1]! * scales[1]! - 3.5)).toBeLessThanOrEqual(scales[1]! / 2);
    const feeds = input('x', [1, 2, 3, 3], SEED);
    const expected = (await runOnOneThread(reference, feeds)).y!.data as Float32Array;
    expect(sqnr(expected, (await runOnOneThread(model, feeds)).y!.data as Float32Array)).toBeGreaterThan(25);
  });

  it('a graph input that is also a graph output keeps its name', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', F, [1, 2, 3, 3]);
    b.output(x);
    b.output(
      b.op('Conv', [x, floatInit(b, 'w', [2, 2, 1, 1], 94)], { name: 'conv', output: 'y' }),
      tensorType(F, [1, 2, 3, 3]),
    );
    const model = b.model();
    await runStatic(model, { calibrationTable: await calibrated(model, 'x', [1, 2, 3, 3]) });
    expect(model.graph.outputs.map((value) => value.name)).toEqual(['x', 'y']);
    expect(model.graph.outputs[0]).toBe(model.graph.inputs[0]);
    expect(errorsOf(model)).toEqual([]);
  });

  it('reads a bare record of ranges and an array of entries as well as { tensors }', async () => {
    for (const shape of ['record', 'array'] as const) {
      const model = convRelu();
      const table = (await calibrated(model, 'x', [1, 3, 8, 8])).tensors;
      const calibrationTable =
        shape === 'record' ? table : { tensors: Object.entries(table).map(([name, range]) => ({ name, ...range })) };
      const { statistics } = await runStatic(model, { calibrationTable: calibrationTable as never });
      expect(statistics.nodesQuantized).toBe(1);
    }
  });
});

describe('quantize-static: idempotence and QAT input', () => {
  it('running the pass on its own output changes nothing and reports what is already quantized', async () => {
    const model = convRelu();
    const table = await calibrated(model, 'x', [1, 3, 8, 8]);
    await runStatic(model, { calibrationTable: table });
    const before = opCounts(model);
    const names = [...model.graph.allNodes()].map((node) => node.name);
    const second = await runStatic(model, { calibrationTable: table });
    expect(second.changed).toBe(false);
    expect(opCounts(model)).toEqual(before);
    expect([...model.graph.allNodes()].map((node) => node.name)).toEqual(names);
    expect(second.statistics).toMatchObject({ nodesQuantized: 0, nodesAlreadyQuantized: 1, quantizeLinearNodes: 0 });
    const note = second.reports.find((report) => report.code === QuantizeStaticCodes.ALREADY_QUANTIZED);
    expect(note?.severity).toBe('info');
    expect(note?.message).toContain('2 QuantizeLinear and 4 DequantizeLinear (2 integer constants)');
  });

  it('keeps the parameters of a hand-built QAT model and quantizes only its float bias', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', F, [1, 2, 4, 4]);
    const sx = b.initializer(Tensor.fromArray('sx', F, [], Float32Array.of(0.0125)));
    const zx = b.initializer(Tensor.fromArray('zx', DataType.UINT8, [], Uint8Array.of(100)));
    const qx = b.op('QuantizeLinear', [x, sx, zx], { output: 'x_q' });
    const dx = b.op('DequantizeLinear', [qx, sx, zx], { output: 'x_dq' });
    const w = b.initializer(
      Tensor.fromArray('w_int', DataType.INT8, [3, 2, 1, 1], Int8Array.of(10, -20, 30, 40, -50, 60)),
    );
    const sw = b.initializer(Tensor.fromArray('sw', F, [3], Float32Array.of(0.01, 0.02, 0.03)));
    const zw = b.initializer(Tensor.fromArray('zw', DataType.INT8, [3], Int8Array.of(0, 0, 0)));
    const dw = b.op('DequantizeLinear', [w, sw, zw], { attributes: { axis: 0 }, output: 'w_dq' });
    const bias = b.initializer(Tensor.fromArray('bias', F, [3], Float32Array.of(0.1, -0.2, 0.3)));
    const conv = b.op('Conv', [dx, dw, bias], { name: 'conv', output: 'c' });
    const sy = b.initializer(Tensor.fromArray('sy', F, [], Float32Array.of(0.03)));
    const zy = b.initializer(Tensor.fromArray('zy', DataType.UINT8, [], Uint8Array.of(128)));
    const qy = b.op('QuantizeLinear', [conv, sy, zy], { output: 'c_q' });
    b.output(b.op('DequantizeLinear', [qy, sy, zy], { output: 'y' }), tensorType(F, [1, 3, 4, 4]));
    const model = b.model();
    const table = await calibrated(model, 'x', [1, 2, 4, 4]);
    const { statistics, reports } = await runStatic(model, { calibrationTable: table });
    expect(errorsOf(model)).toEqual([]);
    expect(statistics).toMatchObject({ quantizeLinearNodes: 0, weightsQuantized: 0, biasesQuantized: 1 });
    expect(reports.find((report) => report.code === QuantizeStaticCodes.ALREADY_QUANTIZED)?.message).toContain(
      '2 QuantizeLinear and 3 DequantizeLinear (1 integer constants)',
    );
    const node = nodesOf(model, 'Conv')[0]!;
    expect(node.input(0)?.name).toBe('x_dq');
    expect(node.input(1)?.name).toBe('w_dq');
    expect(floatsOf(model.graph.initializers.find((value) => value.name === 'sx'))[0]).toBe(Math.fround(0.0125));
    const biasScales = floatsOf(dequantizeOf(node, 2).input(1));
    expect(Array.from(biasScales)).toEqual(
      [0.01, 0.02, 0.03].map((scale) => Math.fround(Math.fround(0.0125) * Math.fround(scale))),
    );
    expect(nodesOf(model, 'QuantizeLinear').length).toBe(2);
  });
});

describe('quantize-static: exclusions and overrides', () => {
  function threeConvs() {
    const b = new GraphBuilder();
    const x = b.input('x', F, [1, 2, 4, 4]);
    let current = x;
    for (const [index, name] of ['/encoder/conv', '/decoder/conv_a', '/decoder/conv_b'].entries()) {
      current = b.op('Conv', [current, floatInit(b, `w${index}`, [2, 2, 1, 1], 40 + index)], {
        name,
        output: `t${index}`,
      });
    }
    b.output(current, tensorType(F, [1, 2, 4, 4]));
    return b.model();
  }
  const quantizedConvs = (model: Model) =>
    nodesOf(model, 'Conv')
      .filter((node) => node.input(1)?.producer?.opType === 'DequantizeLinear')
      .map((node) => node.name);

  it('by op type, by node name and by glob', async () => {
    for (const [exclude, expected] of [
      [['Conv'], []],
      [['/decoder/conv_a'], ['/encoder/conv', '/decoder/conv_b']],
      [['*/decoder/*'], ['/encoder/conv']],
      [['/enc?der/*'], ['/decoder/conv_a', '/decoder/conv_b']],
    ] as const) {
      const model = threeConvs();
      const table = await calibrated(model, 'x', [1, 2, 4, 4]);
      const { statistics } = await runStatic(model, { calibrationTable: table, exclude: [...exclude] });
      expect(quantizedConvs(model)).toEqual(expected);
      expect(statistics.skippedExcluded).toBe(3 - expected.length);
      expect(errorsOf(model)).toEqual([]);
    }
  });

  it('overrides a tensor’s range, type and symmetry, and a weight’s type', async () => {
    const model = threeConvs();
    const table = await calibrated(model, 'x', [1, 2, 4, 4]);
    await runStatic(model, {
      calibrationTable: table,
      overrides: { t0: { min: -4, max: 4, type: 'int8', symmetric: true }, w1: { type: 'uint8', symmetric: false } },
    });
    const second = nodesOf(model, 'Conv')[1]!;
    const pair = dequantizeOf(second, 0);
    expect(floatsOf(pair.input(1))[0]).toBe(Math.fround(4 / 127));
    expect(constantOf(pair.input(2)).dataType).toBe(DataType.INT8);
    expect(Number(constantOf(pair.input(2)).toArray()[0])).toBe(0);
    expect(constantOf(dequantizeOf(second, 1).input(0)).dataType).toBe(DataType.UINT8);
  });

  it('an override of an output whose activation is folded applies to the activation’s output', async () => {
    // Conv → Relu is quantized after the Relu: `conv_out` itself gets no Q/DQ, so its override moves to the Relu's.
    const model = convRelu();
    const table = await calibrated(model, 'x', [1, 3, 8, 8]);
    const { reports } = await runStatic(model, { calibrationTable: table, overrides: { conv_out: { type: 'int16' } } });
    const relu = nodesOf(model, 'Relu')[0]!;
    const quantize = relu.output(0)!.uses.find((use) => use.node.opType === 'QuantizeLinear')!.node;
    expect(constantOf(quantize.input(2)).dataType).toBe(DataType.INT16);
    expect(reports.filter((report) => report.code === QuantizeStaticCodes.OVERRIDE_UNUSED)).toEqual([]);
  });

  it('warns of an override that sets nothing, naming it', async () => {
    const model = threeConvs();
    const table = await calibrated(model, 'x', [1, 2, 4, 4]);
    const { reports } = await runStatic(model, {
      calibrationTable: table,
      overrides: { t0: { type: 'int16' }, tO: { type: 'int16' } },
    });
    const warnings = reports.filter((report) => report.code === QuantizeStaticCodes.OVERRIDE_UNUSED);
    expect(warnings.map((warning) => [warning.severity, warning.location?.value])).toEqual([['warning', 'tO']]);
  });

  it('counts an override as used only when it set something', async () => {
    const unused = (reports: { code: string; location?: { value?: string } }[]) =>
      reports.filter((report) => report.code === QuantizeStaticCodes.OVERRIDE_UNUSED).map((r) => r.location?.value);
    // The op is skipped for want of a range: the override of its input set nothing.
    const skipped = convRelu();
    const only = await runStatic(skipped, {
      calibrationTable: { tensors: { x: { min: -1, max: 1 } } },
      overrides: { x: { type: 'int16' } },
    });
    expect(nodesOf(skipped, 'QuantizeLinear')).toHaveLength(0);
    expect(unused(only.reports)).toEqual(['x']);
    // A range of the folded Conv output is only a fallback: the table's range of the Relu output wins.
    const folded = convRelu();
    const table = await calibrated(folded, 'x', [1, 3, 8, 8]);
    const ranged = await runStatic(folded, {
      calibrationTable: table,
      overrides: { conv_out: { min: -100, max: 100 } },
    });
    expect(unused(ranged.reports)).toEqual(['conv_out']);
    // Without a range of its own, the Relu output takes the Conv output's overridden range.
    const fallback = convRelu();
    const partial = structuredClone(table);
    delete partial.tensors.y;
    const taken = await runStatic(fallback, {
      calibrationTable: partial,
      overrides: { conv_out: { min: -100, max: 100 }, y: { type: 'uint8' } },
    });
    expect(unused(taken.reports)).toEqual([]);
  });

  it('a tensor without a range: warning with its name, the op stays float', async () => {
    const model = threeConvs();
    const table = await calibrated(model, 'x', [1, 2, 4, 4]);
    delete table.tensors.t1;
    const { reports, statistics } = await runStatic(model, { calibrationTable: table });
    const warnings = reports.filter((report) => report.code === QuantizeStaticCodes.MISSING_RANGE);
    expect(warnings.map((warning) => [warning.severity, warning.location?.value])).toEqual([['warning', 't1']]);
    // conv_a writes t1 and conv_b reads it: both stay float.
    expect(quantizedConvs(model)).toEqual(['/encoder/conv']);
    expect(statistics.skippedMissingRange).toBe(2);
  });

  it('a table made for another model is an error', async () => {
    const model = threeConvs();
    await expect(
      quantizeStatic.create({ calibrationTable: { tensors: { other: { min: 0, max: 1 } } } }).run(model, {
        report: () => {},
        analysis: (analysis, target) => analysis.compute(target, undefined as never),
        debug: true,
      }),
    ).rejects.toMatchObject({ code: QuantizeStaticCodes.TABLE_MISMATCH });
  });
});

describe('quantize-static: opsets and subgraphs', () => {
  it('opset 11: per-channel through com.microsoft Q/DQ; ONNX Runtime still fuses QLinearConv', async () => {
    const model = convRelu(11);
    const reference = copyModel(model);
    const { reports } = await runStatic(model, { calibrationTable: await calibrated(model, 'x', [1, 3, 8, 8]) });
    expect(reports.some((report) => report.code === QuantizeStaticCodes.CONTRIB_OPS)).toBe(true);
    expect(model.opsetVersion('com.microsoft')).toBe(1);
    const weight = dequantizeOf(nodesOf(model, 'Conv')[0]!, 1);
    expect(weight.domain).toBe('com.microsoft');
    expect(weight.intAttribute('axis')).toBe(0);
    const feeds = input('x', [1, 3, 8, 8], SEED);
    const expected = (await runOnOneThread(reference, feeds)).y!.data as Float32Array;
    expect(sqnr(expected, (await runOnOneThread(model, feeds)).y!.data as Float32Array)).toBeGreaterThan(25);
    expect(qlinearConvs(await optimizedOpCounts(model))).toBe(1);
  });

  it('opset 9: raised to 10 (Slice attributes become inputs) so the fused model loads', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', F, [1, 3, 8, 8]);
    const conv = b.op('Conv', [x, floatInit(b, 'w', [4, 3, 3, 3], 1)], { name: 'conv', output: 'c' });
    const slice = b.op('Slice', [conv], {
      name: 'slice',
      attributes: { starts: [0], ends: [2], axes: [1] },
      output: 'y',
    });
    b.output(slice, tensorType(F, [1, 2, 6, 6]));
    const model = b.model({ opsetImports: [{ domain: '', version: 9 }] });
    const reference = copyModel(model);
    const { reports } = await runStatic(model, { calibrationTable: await calibrated(model, 'x', [1, 3, 8, 8]) });
    expect(reports.some((report) => report.code === QuantizeStaticCodes.OPSET_UPGRADED)).toBe(true);
    expect(model.opsetVersion('')).toBe(10);
    const sliceNode = nodesOf(model, 'Slice')[0]!;
    expect(sliceNode.attribute('starts')).toBeUndefined();
    expect(sliceNode.inputs.length).toBe(4);
    const feeds = input('x', [1, 3, 8, 8], SEED);
    const expected = (await runOnOneThread(reference, feeds, 'disabled')).y!.data as Float32Array;
    expect(sqnr(expected, (await runOnOneThread(model, feeds, 'all')).y!.data as Float32Array)).toBeGreaterThan(25);
    expect(qlinearConvs(await optimizedOpCounts(model))).toBe(1);
  });

  it('int16 activations on opset 17 use the contrib ops; on opset 21 ONNX’s own', async () => {
    for (const [opset, domain] of [
      [17, 'com.microsoft'],
      [21, ''],
    ] as const) {
      const model = convRelu(opset);
      const reference = copyModel(model);
      await runStatic(model, { calibrationTable: await calibrated(model, 'x', [1, 3, 8, 8]), activationType: 'int16' });
      const pair = dequantizeOf(nodesOf(model, 'Conv')[0]!, 0);
      expect(pair.domain).toBe(domain);
      expect(constantOf(pair.input(2)).dataType).toBe(DataType.INT16);
      const feeds = input('x', [1, 3, 8, 8], SEED);
      const expected = (await runOnOneThread(reference, feeds)).y!.data as Float32Array;
      expect(sqnr(expected, (await runOnOneThread(model, feeds)).y!.data as Float32Array)).toBeGreaterThan(35);
    }
  });

  it('quantizes inside If branches, weights lifted from Constant nodes', async () => {
    const branch = (name: string, seed: number, x: Value) => {
      const graph = new Graph(name);
      const weight = new Node({
        opType: 'Constant',
        name: `${name}_w`,
        outputs: [new Value(`${name}_w`, tensorType(F, [2, 2, 1, 1]))],
        attributes: [
          { name: 'value', type: 'tensor', value: Tensor.fromArray('', F, [2, 2, 1, 1], seededFloats(4, seed)) },
        ],
      });
      graph.appendNode(weight);
      const conv = new Node({
        opType: 'Conv',
        name: `${name}_conv`,
        inputs: [x, weight.output(0)],
        outputs: [`${name}_out`],
      });
      graph.appendNode(conv);
      const output = conv.output(0)!;
      output.type = tensorType(F, [1, 2, 3, 3]);
      graph.outputs.push(output);
      return graph;
    };
    const b = new GraphBuilder();
    const x = b.input('x', F, [1, 2, 3, 3]);
    const flag = b.input('flag', DataType.BOOL, []);
    const node = new Node({
      opType: 'If',
      name: 'if',
      inputs: [flag],
      outputs: ['y'],
      attributes: [
        { name: 'then_branch', type: 'graph', value: branch('then', 50, x) },
        { name: 'else_branch', type: 'graph', value: branch('else', 51, x) },
      ],
    });
    b.graph.appendNode(node);
    b.output(node.output(0)!, tensorType(F, [1, 2, 3, 3]));
    const model = b.model();
    const reference = copyModel(model);
    const table = {
      tensors: { x: { min: -1, max: 1 }, then_out: { min: -2, max: 2 }, else_out: { min: -2, max: 2 } },
    };
    const { statistics } = await runStatic(model, { calibrationTable: table });
    expect(errorsOf(model)).toEqual([]);
    expect(statistics).toMatchObject({ nodesQuantized: 2, weightsQuantized: 2 });
    const convs = nodesOf(model, 'Conv');
    for (const conv of convs) {
      expect(conv.input(1)?.producer?.graph).toBe(conv.graph);
      expect(constantOf(dequantizeOf(conv, 1).input(0)).dataType).toBe(DataType.INT8);
    }
    const feeds = { ...input('x', [1, 2, 3, 3], SEED), flag: new ort.Tensor('bool', [true], []) };
    const expected = (await runOnOneThread(reference, feeds)).y!.data as Float32Array;
    expect(sqnr(expected, (await runOnOneThread(model, feeds)).y!.data as Float32Array)).toBeGreaterThan(25);
  });

  it('validates its options through the pipeline’s validator (defaults filled in, typos rejected)', () => {
    const options = validateOptions(quantizeStatic, { perChannel: false });
    expect(options).toMatchObject({ perChannel: false, weightType: 'int8', activationType: 'uint8', exclude: [] });
    expect(() => validateOptions(quantizeStatic, { perChanel: false })).toThrow(/perChanel/);
    expect(() => validateOptions(quantizeStatic, { activationType: 'uint4' })).toThrow();
  });

  it('describes its options as JSON Schema with defaults', () => {
    const properties = (quantizeStatic.options as { properties: Record<string, { default?: unknown }> }).properties;
    expect(properties.weightType?.default).toBe('int8');
    expect(properties.activationType?.default).toBe('uint8');
    expect(properties.perChannel?.default).toBe(true);
    expect(properties.opTypes?.default).toContain('Gather');
  });
});
