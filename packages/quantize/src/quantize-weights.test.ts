import { DataType, GraphBuilder, type Model, type Node, Tensor, tensorType, unpackInt4 } from '@whittle/ir';
import { validateOptions } from '@whittle/core';
import { encodeModel } from '@whittle/onnx';
import { WhittleError } from '@whittle/spec';
import { ort, Random, runOnnxRuntime } from '@whittle/test-fixtures';
import { describe, expect, it } from 'vitest';
import { contextFor, runPass } from './test-support.js';
import { type QuantizeWeightsOptions, QuantizeWeightsCodes, quantizeWeights } from './quantize-weights.js';
import {
  type BlockSettings,
  dequantizedAt,
  packMatMulNBitsWeights,
  packMatMulNBitsZeroPoints,
  quantizeBlocks,
} from './weight-only-blockwise.js';

function randomValues(count: number, seed: number, scale = 1): Float32Array {
  const random = new Random(seed);
  return Float32Array.from({ length: count }, () => (random.next() * 2 - 1) * scale);
}

function matMulModel(k: number, n: number, opset = 17, seed = 1): { model: Model; weight: Float32Array } {
  const weight = randomValues(k * n, seed);
  const b = new GraphBuilder();
  const a = b.input('a', DataType.FLOAT, [3, k]);
  const w = b.initializer(Tensor.fromArray('W', DataType.FLOAT, [k, n], weight));
  b.output(b.op('MatMul', [a, w], { name: 'matmul', output: 'y' }), tensorType(DataType.FLOAT, [3, n]));
  return { model: b.model({ opsetImports: [{ domain: '', version: opset }] }), weight };
}

/** A [M, K] @ W [K, N] in float64. */
function matMul(a: Float32Array, w: (k: number, n: number) => number, m: number, k: number, n: number): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let p = 0; p < k; p++) sum += a[i * k + p]! * w(p, j);
      out[i * n + j] = sum;
    }
  return out;
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, relative: number) {
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]!));
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
  expect(worst / scale).toBeLessThan(relative);
}

const nodesOf = (model: Model, opType: string): Node[] =>
  [...model.graph.allNodes()].filter((node) => node.opType === opType);

describe('block quantization and packing', () => {
  const settings: BlockSettings = { bits: 4, blockSize: 32, symmetric: true };

  it('quantizes symmetric blocks to [-7, 7] with scale max|w| / 7', () => {
    const values = Float32Array.from({ length: 40 }, (_, i) => (i - 20) / 10);
    const quantized = quantizeBlocks(1, 40, (_, index) => values[index]!, settings);
    expect(quantized.blocks).toBe(2);
    expect(quantized.scales[0]).toBeCloseTo(2 / 7, 6);
    expect(quantized.scales[1]).toBeCloseTo(1.9 / 7, 6);
    expect(quantized.values[0]).toBe(-7);
    expect(Math.max(...quantized.values)).toBe(7);
    for (let index = 0; index < 40; index++) {
      const step = quantized.scales[Math.floor(index / 32)]!;
      expect(Math.abs(dequantizedAt(quantized, 0, index, 32) - values[index]!)).toBeLessThanOrEqual(step / 2 + 1e-7);
    }
  });

  it('packs B as [N, k_blocks, blob]: low nibble first, codes offset by 8, the last block padded with 8', () => {
    const k = 40;
    const read = (row: number, index: number) => (row === 0 ? (index % 15) - 7 : -(index % 15) + 7);
    const quantized = quantizeBlocks(2, k, read, settings);
    const packed = packMatMulNBitsWeights(quantized, settings);
    expect(packed.length).toBe(2 * 2 * 16);
    const codes = unpackInt4(packed, 2 * 64, false);
    for (let row = 0; row < 2; row++) {
      for (let index = 0; index < 64; index++) {
        const code = codes[row * 64 + index]!;
        if (index < k) expect(code).toBe(quantized.values[row * k + index]! + 8);
        else expect(code).toBe(8);
      }
    }
    // Element 0 sits in the low nibble of byte 0, element 1 in its high nibble.
    expect(packed[0]! & 0x0f).toBe(codes[0]);
    expect(packed[0]! >> 4).toBe(codes[1]);
  });

  it('packs asymmetric zero points per row, low nibble first, rows byte-aligned', () => {
    const asymmetric: BlockSettings = { bits: 4, blockSize: 32, symmetric: false };
    const quantized = quantizeBlocks(2, 96, (row, index) => (row + 1) * (index / 96) + 0.1 * row, asymmetric);
    expect(quantized.blocks).toBe(3);
    const points = packMatMulNBitsZeroPoints(quantized, asymmetric);
    expect(points.length).toBe(2 * 2);
    for (let row = 0; row < 2; row++) {
      const unpacked = unpackInt4(points.subarray(row * 2, row * 2 + 2), 3, false);
      expect([...unpacked]).toEqual([...quantized.zeroPoints.subarray(row * 3, row * 3 + 3)]);
    }
    const eightBit = quantizeBlocks(2, 96, (row, index) => index / 96 - row, { ...asymmetric, bits: 8 });
    expect(packMatMulNBitsZeroPoints(eightBit, { ...asymmetric, bits: 8 })).toEqual(
      Uint8Array.from(eightBit.zeroPoints),
    );
  });
});

describe('quantize-weights: MatMul', () => {
  const cases: [string, QuantizeWeightsOptions, number][] = [
    ['int4 symmetric', { bits: 4, symmetric: true }, 64],
    ['int4 asymmetric, K padded', { bits: 4, symmetric: false }, 72],
    ['int8 symmetric, block 64, K padded', { bits: 8, blockSize: 64 }, 100],
    ['int8 asymmetric, block 128', { bits: 8, blockSize: 128, symmetric: false }, 256],
  ];

  it.each(cases)('MatMulNBits (%s) equals the float product of the dequantized weights', async (_, options, k) => {
    const n = 48;
    const { model, weight } = matMulModel(k, n);
    const a = randomValues(3 * k, 7);
    const before = await runOnnxRuntime(encodeModel(model), { a: new ort.Tensor('float32', a, [3, k]) });
    const result = await runPass(quantizeWeights, model, { ...options, minElements: 0 });
    expect(result.statistics).toMatchObject({ matMulsQuantized: 1 });
    const node = nodesOf(model, 'MatMulNBits')[0]!;
    expect(node.domain).toBe('com.microsoft');
    const blockSize = options.blockSize ?? 32;
    const blocks = Math.ceil(k / blockSize);
    expect(node.input(1)!.initializer!.dims).toEqual([n, blocks, (blockSize * (options.bits ?? 4)) / 8]);
    expect(node.input(2)!.initializer!.dims).toEqual([n * blocks]);
    expect(node.input(3) !== undefined).toBe(options.symmetric === false);
    expect(model.graph.initializers.map((value) => value.name)).not.toContain('W');
    expect(model.opsetVersion('com.microsoft')).toBe(1);
    const after = await runOnnxRuntime(encodeModel(model), { a: new ort.Tensor('float32', a, [3, k]) });
    // The reference: the same quantization, dequantized in JS, multiplied in float64.
    const quantized = quantizeBlocks(n, k, (column, row) => weight[row * n + column]!, {
      bits: options.bits ?? 4,
      blockSize,
      symmetric: options.symmetric ?? true,
    });
    const expected = matMul(a, (row, column) => dequantizedAt(quantized, column, row, blockSize), 3, k, n);
    expectClose(after.y!.data as Float32Array, expected, 1e-5);
    // And it stays close to the float model.
    expectClose(after.y!.data as Float32Array, before.y!.data as Float32Array, options.bits === 8 ? 0.02 : 0.2);
    expect((await runPass(quantizeWeights, model, { ...options, minElements: 0 })).changed).toBe(false);
  });

  it.each(cases)(
    'DequantizeLinear at opset 21 (%s) equals the float product of the dequantized weights',
    async (_, options, k) => {
      const n = 40;
      const { model, weight } = matMulModel(k, n, 21, 3);
      const a = randomValues(3 * k, 9);
      await runPass(quantizeWeights, model, { ...options, format: 'dequantize-linear', minElements: 0 });
      const dq = nodesOf(model, 'DequantizeLinear')[0]!;
      const blockSize = options.blockSize ?? 32;
      expect(dq.intAttribute('axis')).toBe(0);
      expect(dq.intAttribute('block_size')).toBe(blockSize);
      expect(dq.input(0)!.initializer!.dataType).toBe(
        options.symmetric === false
          ? options.bits === 8
            ? DataType.UINT8
            : DataType.UINT4
          : options.bits === 8
            ? DataType.INT8
            : DataType.INT4,
      );
      expect(dq.input(1)!.initializer!.dims).toEqual([Math.ceil(k / blockSize), n]);
      expect(nodesOf(model, 'MatMul')[0]!.input(1)).toBe(dq.output(0));
      const after = await runOnnxRuntime(encodeModel(model), { a: new ort.Tensor('float32', a, [3, k]) });
      const quantized = quantizeBlocks(n, k, (column, row) => weight[row * n + column]!, {
        bits: options.bits ?? 4,
        blockSize,
        symmetric: options.symmetric ?? true,
      });
      const expected = matMul(a, (row, column) => dequantizedAt(quantized, column, row, blockSize), 3, k, n);
      expectClose(after.y!.data as Float32Array, expected, 1e-5);
    },
  );

  it('refuses dequantize-linear below opset 21 with a hint to use matmulnbits', async () => {
    const { model } = matMulModel(64, 64);
    const error = await Promise.resolve()
      .then(() => quantizeWeights.create({ format: 'dequantize-linear', minElements: 0 }).run(model, contextFor()))
      .catch((caught: unknown) => caught);
    expect(WhittleError.is(error) && error.code).toBe(QuantizeWeightsCodes.OPSET_TOO_OLD);
    expect(WhittleError.is(error) && error.hint).toContain('matmulnbits');
    expect(model.opsetVersion('')).toBe(17);
    expect(nodesOf(model, 'MatMul')).toHaveLength(1);
  });

  it('packs a weight read by two MatMuls once', async () => {
    const b = new GraphBuilder();
    const a = b.input('a', DataType.FLOAT, [2, 64]);
    const w = b.initializer(Tensor.fromArray('W', DataType.FLOAT, [64, 64], randomValues(4096, 5)));
    const first = b.op('MatMul', [a, w]);
    b.output(b.op('MatMul', [first, w], { output: 'y' }), tensorType(DataType.FLOAT, [2, 64]));
    const model = b.model();
    const result = await runPass(quantizeWeights, model, {});
    expect(result.statistics).toMatchObject({ matMulsQuantized: 2 });
    const [one, two] = nodesOf(model, 'MatMulNBits');
    expect(one!.input(1)).toBe(two!.input(1));
    expect(model.graph.initializers.map((value) => value.name).sort()).toEqual(['W_q4', 'W_scales']);
  });

  it('skips weights below minElements', async () => {
    const { model } = matMulModel(32, 64);
    const result = await runPass(quantizeWeights, model, {});
    expect(result.changed).toBe(false);
    expect(result.statistics).toMatchObject({ matMulsQuantized: 0, nodesSkipped: 1 });
  });
});

describe('quantize-weights: Gemm and Gather', () => {
  it('Gemm with transB, alpha, beta and a bias becomes MatMulNBits with the bias input', async () => {
    const k = 96;
    const n = 24;
    const weight = randomValues(n * k, 11);
    const bias = randomValues(n, 12);
    const b = new GraphBuilder();
    const a = b.input('a', DataType.FLOAT, [2, k]);
    const w = b.initializer(Tensor.fromArray('W', DataType.FLOAT, [n, k], weight));
    const c = b.initializer(Tensor.fromArray('C', DataType.FLOAT, [n], bias));
    b.output(
      b.op('Gemm', [a, w, c], {
        name: 'gemm',
        output: 'y',
        attributes: { transB: 1, alpha: 0.5, beta: { type: 'float', value: 2 } },
      }),
      tensorType(DataType.FLOAT, [2, n]),
    );
    const model = b.model();
    const input = randomValues(2 * k, 13);
    await runPass(quantizeWeights, model, { opTypes: ['Gemm'], minElements: 0 });
    const node = nodesOf(model, 'MatMulNBits')[0]!;
    expect(node.inputs.length).toBe(6);
    const after = await runOnnxRuntime(encodeModel(model), { a: new ort.Tensor('float32', input, [2, k]) });
    const quantized = quantizeBlocks(n, k, (column, row) => 0.5 * weight[column * k + row]!, {
      bits: 4,
      blockSize: 32,
      symmetric: true,
    });
    const expected = matMul(input, (row, column) => dequantizedAt(quantized, column, row, 32), 2, k, n).map(
      (value, index) => value + 2 * bias[index % n]!,
    );
    expectClose(after.y!.data as Float32Array, expected, 1e-5);
  });

  function gatherModel(opset: number) {
    const table = randomValues(50 * 100, 21);
    const b = new GraphBuilder();
    const ids = b.input('ids', DataType.INT64, [4]);
    const t = b.initializer(Tensor.fromArray('table', DataType.FLOAT, [50, 100], table));
    b.output(b.op('Gather', [t, ids], { name: 'embed', output: 'y' }), tensorType(DataType.FLOAT, [4, 100]));
    return { model: b.model({ opsetImports: [{ domain: '', version: opset }] }), table };
  }

  it('Gather tables become DequantizeLinear (axis 1, block_size) at opset 21', async () => {
    const { model, table } = gatherModel(21);
    const result = await runPass(quantizeWeights, model, { minElements: 0 });
    expect(result.statistics).toMatchObject({ gathersQuantized: 1 });
    const dq = nodesOf(model, 'DequantizeLinear')[0]!;
    expect(dq.intAttribute('axis')).toBe(1);
    expect(dq.input(1)!.initializer!.dims).toEqual([50, 4]);
    const ids = BigInt64Array.of(0n, 7n, 49n, 7n);
    const { y } = await runOnnxRuntime(encodeModel(model), { ids: new ort.Tensor('int64', ids, [4]) });
    const quantized = quantizeBlocks(50, 100, (row, index) => table[row * 100 + index]!, {
      bits: 4,
      blockSize: 32,
      symmetric: true,
    });
    const expected = [...ids].flatMap((id) =>
      Array.from({ length: 100 }, (_, index) => dequantizedAt(quantized, Number(id), index, 32)),
    );
    expect([...(y!.data as Float32Array)]).toEqual(expected);
    expect(result.statistics!.weightBytesAfter! / result.statistics!.weightBytesBefore!).toBeLessThan(0.2);
  });

  it('keeps Gather tables float32 below opset 21, with a note', async () => {
    const { model } = gatherModel(17);
    const result = await runPass(quantizeWeights, model, { minElements: 0 });
    expect(result.changed).toBe(false);
    expect(result.reports.map((report) => report.code)).toContain(QuantizeWeightsCodes.GATHER_KEPT_FLOAT);
  });
});

describe('quantize-weights: options schema', () => {
  it('validates and fills in defaults like a pipeline does', () => {
    expect(validateOptions(quantizeWeights, {})).toEqual({
      bits: 4,
      blockSize: 32,
      symmetric: true,
      format: 'matmulnbits',
      minElements: 4096,
      opTypes: ['MatMul', 'Gather'],
    });
    expect(() => validateOptions(quantizeWeights, { bits: 3 })).toThrow();
    expect(() => validateOptions(quantizeWeights, { blockSize: 16 })).toThrow();
    expect(() => validateOptions(quantizeWeights, { opTypes: ['Conv'] })).toThrow();
    expect(() => quantizeWeights.create({ bits: 2 as 4 })).toThrow(/bits/);
  });
});
