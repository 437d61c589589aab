/**
 * quantize-weights on the real models with MatMul / Gemm weights: the quantized models run in onnxruntime-node;
 * each MatMulNBits gives what a float MatMul of its weights, decoded independently from the packed layout, gives;
 * SQNR against the float model is reported.
 */
import { DataType, type Model, Node, Tensor, tensorType, unpackInt4, Value } from '@whittle/ir';
import { encodeModel } from '@whittle/onnx';
import { readModel } from '@whittle/onnx/node';
import { WhittleError } from '@whittle/spec';
import {
  declaredInputs,
  type RealModelId,
  realModel,
  realModelInputs,
  relativeDifference,
  runOnnxRuntime,
} from '@whittle/test-fixtures';
import { afterAll, describe, expect, it } from 'vitest';
import { contextFor, errorsOf, checkedOutputsSqnr } from './test-support.js';
import { type QuantizeWeightsOptions, QuantizeWeightsCodes, quantizeWeights } from './quantize-weights.js';

const rows: string[] = [];
afterAll(() => {
  if (rows.length > 0) console.log(`quantize-weights on real models:\n${rows.sort().join('\n')}`);
});

/**
 * Replace every MatMulNBits by a float MatMul (+ bias) whose weight is decoded from B, scales and zero points as
 * the contrib spec lays them out: B [N, k_blocks, blob] packed low nibble first, scales [N * k_blocks], zero points
 * [N * ceil(k_blocks * bits / 8)] (default 2^(bits - 1)).
 */
function decodeMatMulNBits(model: Model): number {
  let decoded = 0;
  for (const graph of model.graphs()) {
    for (const node of graph.nodes) {
      if (node.opType !== 'MatMulNBits') continue;
      const k = node.intAttribute('K')!;
      const n = node.intAttribute('N')!;
      const bits = node.intAttribute('bits')!;
      const blockSize = node.intAttribute('block_size')!;
      const blocks = Math.ceil(k / blockSize);
      const padded = blocks * blockSize;
      const packed = node.input(1)!.initializer!.bytes();
      const codes = bits === 4 ? unpackInt4(packed, n * padded, false) : packed;
      const scales = node.input(2)!.initializer!.toArray() as Float32Array;
      const zeroBytes = node.input(3)?.initializer?.bytes();
      const zeroRow = Math.ceil((blocks * bits) / 8);
      const weight = new Float32Array(k * n);
      for (let column = 0; column < n; column++) {
        const points = zeroBytes
          ? bits === 4
            ? unpackInt4(zeroBytes.subarray(column * zeroRow, (column + 1) * zeroRow), blocks, false)
            : zeroBytes.subarray(column * blocks, (column + 1) * blocks)
          : new Uint8Array(blocks).fill(2 ** (bits - 1));
        for (let row = 0; row < k; row++) {
          const block = Math.floor(row / blockSize);
          const code = codes[column * padded + row]!;
          weight[row * n + column] = Math.fround((code - points[block]!) * scales[column * blocks + block]!);
        }
      }
      const w = graph.addInitializer(Tensor.fromArray(`${node.name}_decoded`, DataType.FLOAT, [k, n], weight));
      w.type = tensorType(DataType.FLOAT, [k, n]);
      const output = node.output(0)!;
      node.setOutput(0, undefined);
      const bias = node.input(5);
      const product = bias ? new Value(`${output.name}_unbiased`) : output;
      const matMul = new Node({ opType: 'MatMul', inputs: [node.input(0), w], outputs: [product] });
      graph.insertBefore(node, matMul);
      if (bias) graph.insertBefore(node, new Node({ opType: 'Add', inputs: [product, bias], outputs: [output] }));
      graph.removeNode(node);
      decoded++;
    }
  }
  return decoded;
}

interface Case {
  id: RealModelId;
  options: QuantizeWeightsOptions;
  label: string;
  matMuls: number;
  gemms: number;
  /** SQNR floor against the float model. */
  floor: number;
}

const CASES: Case[] = [
  { id: 'ocr-rec', options: {}, label: 'int4', matMuls: 9, gemms: 0, floor: 15 },
  { id: 'ocr-rec', options: { bits: 8 }, label: 'int8', matMuls: 9, gemms: 0, floor: 35 },
  {
    id: 'ocr-rec',
    options: { symmetric: false, blockSize: 128 },
    label: 'int4-asym-128',
    matMuls: 9,
    gemms: 0,
    floor: 12,
  },
  { id: 'oww-melspectrogram', options: {}, label: 'int4', matMuls: 1, gemms: 0, floor: 10 },
  { id: 'oww-melspectrogram', options: { bits: 8 }, label: 'int8', matMuls: 1, gemms: 0, floor: 30 },
  { id: 'oww-hey-jarvis', options: { opTypes: ['MatMul', 'Gemm'] }, label: 'int4', matMuls: 0, gemms: 4, floor: 15 },
  { id: 'oww-hey-jarvis', options: { opTypes: ['Gemm'], bits: 8 }, label: 'int8', matMuls: 0, gemms: 4, floor: 30 },
  { id: 'oww-alexa', options: { opTypes: ['Gemm'] }, label: 'int4', matMuls: 0, gemms: 2, floor: 15 },
];

describe('quantize-weights on real models', () => {
  it.each(CASES.map((entry) => [`${entry.id} ${entry.label}`, entry] as const))('%s', async (_, entry) => {
    const fixture = realModel(entry.id);
    const model = readModel(fixture.path).model;
    const originalBytes = encodeModel(model).byteLength;
    const feeds = realModelInputs(fixture, declaredInputs(model));
    const reference = await runOnnxRuntime(fixture.path, feeds);
    const result = await quantizeWeights.create(entry.options).run(model, contextFor());
    expect(result.changed).toBe(true);
    expect(result.statistics, JSON.stringify(result.statistics)).toMatchObject({
      matMulsQuantized: entry.matMuls,
      gemmsQuantized: entry.gemms,
    });
    expect(errorsOf(model)).toEqual([]);
    const bytes = encodeModel(model);
    const outputs = await runOnnxRuntime(bytes, feeds);
    const quality = checkedOutputsSqnr(reference, outputs);
    const { weightBytesBefore = 0, weightBytesAfter = 0 } = result.statistics ?? {};
    rows.push(
      `  ${entry.id.padEnd(20)} ${entry.label.padEnd(14)} file ${(bytes.byteLength / originalBytes).toFixed(3)}x  ` +
        `weights ${(weightBytesAfter / weightBytesBefore).toFixed(3)}x  SQNR ${quality.toFixed(1)} dB`,
    );
    expect(quality).toBeGreaterThan(entry.floor);
    // The same model with every MatMulNBits decoded to a float MatMul: ORT gives the same outputs.
    expect(decodeMatMulNBits(model)).toBe(entry.matMuls + entry.gemms);
    const decoded = await runOnnxRuntime(encodeModel(model), feeds);
    expect(relativeDifference(decoded, outputs, { floor: 1e-30 })).toBeLessThan(1e-4);
  });

  it('refuses DequantizeLinear on the real models (all below opset 21)', async () => {
    const model = readModel(realModel('ocr-rec').path).model;
    const error = await Promise.resolve()
      .then(() => quantizeWeights.create({ format: 'dequantize-linear' }).run(model, contextFor()))
      .catch((caught: unknown) => caught);
    expect(WhittleError.is(error) && error.code).toBe(QuantizeWeightsCodes.OPSET_TOO_OLD);
  });

  it('is idempotent on a real model', async () => {
    const model = readModel(realModel('ocr-rec').path).model;
    expect((await quantizeWeights.create({}).run(model, contextFor())).changed).toBe(true);
    expect((await quantizeWeights.create({}).run(model, contextFor())).changed).toBe(false);
  });
});
