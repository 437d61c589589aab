import { DataType, GraphBuilder, Node, Tensor, tensorType } from '@whittle/ir';
import { ort } from '@whittle/test-fixtures';
import { describe, expect, it } from 'vitest';
import { weightRoundingShift } from './static-bias-correction.js';
import { quantizeStaticTensor } from './static-weights.js';
import { checkedOutputsSqnr, copyModel, minMaxTable, runOnOneThread, runStatic, seededFloats } from './test-support.js';

const F = DataType.FLOAT;

/** Σ over the inputs of each output of (dequantized − original) weight × input mean, by brute force. */
function bruteForceShift(
  original: Float32Array,
  dequantized: Float64Array,
  means: number[],
  weightIndex: (output: number, input: number) => number[],
  outputs: number,
  inputsOf: (output: number) => number[],
): number[] {
  return Array.from({ length: outputs }, (_, output) => {
    let sum = 0;
    for (const input of inputsOf(output)) {
      for (const index of weightIndex(output, input)) sum += (dequantized[index]! - original[index]!) * means[input]!;
    }
    return sum;
  });
}

function dequantize(weight: ReturnType<typeof quantizeStaticTensor>, channelOf: (index: number) => number) {
  return Float64Array.from(weight.data, (value, index) => {
    const channel = weight.scales.length === 1 ? 0 : channelOf(index);
    return (value - weight.zeroPoints[channel]!) * weight.scales[channel]!;
  });
}

describe('weightRoundingShift', () => {
  it('Conv with groups: each output reads the input channels of its group', () => {
    // W[M=4, C/g=2, 3, 3], group 2: outputs 0-1 read input channels 0-1, outputs 2-3 channels 2-3.
    const dims = [4, 2, 3, 3];
    const original = seededFloats(72, 3);
    const weight = quantizeStaticTensor(original, dims, {
      type: DataType.INT8,
      symmetric: true,
      narrow: true,
      axis: 0,
    });
    const node = new Node({ opType: 'Conv', attributes: [{ name: 'group', type: 'int', value: 2 }] });
    const means = [5, -2, 0.5, 10];
    const shift = weightRoundingShift(node, original, weight, means)!;
    const dequantized = dequantize(weight, (index) => Math.floor(index / 18));
    const expected = bruteForceShift(
      original,
      dequantized,
      means,
      (output, input) => Array.from({ length: 9 }, (_, k) => (output * 2 + (input % 2)) * 9 + k),
      4,
      (output) => (output < 2 ? [0, 1] : [2, 3]),
    );
    expect(Array.from(shift)).toEqual(expected.map((value) => expect.closeTo(value, 9)));
    expect(shift.some((value) => value !== 0)).toBe(true);
  });

  it('Gemm with transB reads B[N, K]; MatMul reads B[K, N]; a shape that does not fit gives undefined', () => {
    const original = seededFloats(12, 5);
    const means = [1, -3, 2, 7];
    const transposed = quantizeStaticTensor(original, [3, 4], { type: DataType.INT8, symmetric: true, axis: 0 });
    const gemm = new Node({ opType: 'Gemm', attributes: [{ name: 'transB', type: 'int', value: 1 }] });
    const gemmShift = weightRoundingShift(gemm, original, transposed, means)!;
    const gemmDequantized = dequantize(transposed, (index) => Math.floor(index / 4));
    expect(Array.from(gemmShift)).toEqual(
      bruteForceShift(
        original,
        gemmDequantized,
        means,
        (n, k) => [n * 4 + k],
        3,
        () => [0, 1, 2, 3],
      ).map((value) => expect.closeTo(value, 9)),
    );
    const plain = quantizeStaticTensor(original, [4, 3], { type: DataType.INT8, symmetric: true, axis: 1 });
    const matMulShift = weightRoundingShift(new Node({ opType: 'MatMul' }), original, plain, means)!;
    const matMulDequantized = dequantize(plain, (index) => index % 3);
    expect(Array.from(matMulShift)).toEqual(
      bruteForceShift(
        original,
        matMulDequantized,
        means,
        (n, k) => [k * 3 + n],
        3,
        () => [0, 1, 2, 3],
      ).map((value) => expect.closeTo(value, 9)),
    );
    expect(weightRoundingShift(new Node({ opType: 'MatMul' }), original, plain, [1, 2])).toBeUndefined();
  });
});

/**
 * A depthwise 3×3 Conv of edge detectors (kernels that sum to almost zero, as in PP-OCR's recognizer) on an input
 * far from zero: rounding changes each kernel's sum, and with it the response to the input's mean.
 */
function edgeDetectors(withBias: boolean) {
  const b = new GraphBuilder();
  const x = b.input('x', F, [1, 4, 12, 12]);
  const kernels = seededFloats(36, 7, -3, 3);
  for (let channel = 0; channel < 4; channel++) {
    let sum = 0;
    for (let k = 0; k < 9; k++) sum += kernels[channel * 9 + k]!;
    kernels[channel * 9 + 4]! -= sum - 0.001;
  }
  const w = b.initializer(Tensor.fromArray('w', F, [4, 1, 3, 3], kernels));
  const inputs = [x, w];
  if (withBias) inputs.push(b.initializer(Tensor.fromArray('bias', F, [4], Float32Array.of(0.1, -0.2, 0.3, 0))));
  const conv = b.op('Conv', inputs, { name: 'conv', attributes: { group: 4 }, output: 'y' });
  b.output(conv, tensorType(F, [1, 4, 10, 10]));
  return b.model({ opsetImports: [{ domain: '', version: 17 }] });
}

function feed(seed: number) {
  // Each channel around its own mean (20, -15, 8, 30), varying by ±1.
  const data = seededFloats(576, seed, -1, 1).map((value, index) => value + [20, -15, 8, 30][Math.floor(index / 144)]!);
  return { x: new ort.Tensor('float32', data, [1, 4, 12, 12]) };
}

async function calibratedWithMeans(model: ReturnType<typeof edgeDetectors>) {
  const feeds = Array.from({ length: 6 }, (_, index) => feed(21 + index));
  const table = await minMaxTable(model, feeds);
  const means = [0, 1, 2, 3].map((channel) => {
    let sum = 0;
    for (const sample of feeds) {
      const data = sample.x.data as Float32Array;
      for (let index = channel * 144; index < (channel + 1) * 144; index++) sum += data[index]!;
    }
    return sum / (144 * feeds.length);
  });
  const tensors = Object.fromEntries(
    Object.entries(table.tensors).map(([name, range]) => [
      name,
      name === 'x' ? { ...range, statistics: { channelMeans: { axis: 1, values: means } } } : range,
    ]),
  );
  return { tensors };
}

describe('quantize-static: bias correction', () => {
  for (const withBias of [true, false]) {
    it(`removes the mean error of rounded zero-sum kernels (${withBias ? 'with a bias' : 'a bias added'})`, async () => {
      const model = edgeDetectors(withBias);
      const table = await calibratedWithMeans(model);
      // 16-bit activations: what is left is the weights' rounding.
      const options = { calibrationTable: table, activationType: 'int16' as const };
      const corrected = await runStatic(copyModel(model), options);
      const plain = await runStatic(copyModel(model), { ...options, biasCorrection: false });
      expect(corrected.statistics.biasesCorrected).toBe(1);
      expect(plain.statistics.biasesCorrected).toBe(0);
      const evaluation = feed(99);
      const reference = await runOnOneThread(model, evaluation);
      const correctedSqnr = checkedOutputsSqnr(reference, await runOnOneThread(corrected.model, evaluation));
      const plainSqnr = checkedOutputsSqnr(reference, await runOnOneThread(plain.model, evaluation));
      expect(correctedSqnr).toBeGreaterThan(plainSqnr + 10);
    });
  }

  it('a table without channel means quantizes as before', async () => {
    const model = edgeDetectors(true);
    const table = await minMaxTable(model, [feed(21), feed(22)]);
    const result = await runStatic(copyModel(model), { calibrationTable: table });
    expect(result.statistics.biasesCorrected).toBe(0);
    expect(result.statistics.biasesQuantized).toBe(1);
  });
});
