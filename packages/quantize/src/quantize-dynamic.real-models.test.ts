import { encodeModel } from '@whittle/onnx';
import { readModel } from '@whittle/onnx/node';
import { declaredInputs, type RealModelId, realModel, realModelInputs, runOnnxRuntime } from '@whittle/test-fixtures';
import { describe, expect, it } from 'vitest';
import { opCounts, QUIET, runChecked, runModel, outputsSqnr } from './test-support.js';
import { type QuantizeDynamicOptions, quantizeDynamic } from './quantize-dynamic.js';

interface Case {
  id: RealModelId;
  options: QuantizeDynamicOptions;
  /** Nodes expected to be quantized, and the lowest acceptable SQNR of the outputs in dB. */
  quantized: number;
  minimumSqnr: number;
  /** The largest acceptable ratio of file sizes, quantized / original. */
  maximumSizeRatio: number;
  integerOp: string;
}

const CASES: Case[] = [
  // SVTR attention: 13 MatMuls, 9 with constant weights (opset 9: com.microsoft DynamicQuantizeMatMul).
  {
    id: 'ocr-rec',
    options: {},
    quantized: 9,
    minimumSqnr: 20,
    maximumSizeRatio: 0.75,
    integerOp: 'DynamicQuantizeMatMul',
  },
  // NHWC CNN of Convs only: Conv opted in.
  {
    id: 'oww-embedding',
    options: { opTypes: ['Conv'] },
    quantized: 19,
    minimumSqnr: 20,
    maximumSizeRatio: 0.3,
    integerOp: 'ConvInteger',
  },
  // Gemm MLP, the second head inside an If branch.
  {
    id: 'oww-hey-jarvis',
    options: {},
    quantized: 4,
    minimumSqnr: 20,
    maximumSizeRatio: 0.3,
    integerOp: 'MatMulInteger',
  },
  // Convs inside If branches (the LSTMs stay in float).
  {
    id: 'silero-vad-v5',
    options: { opTypes: ['MatMul', 'Gemm', 'Conv'], perChannel: true },
    quantized: 10,
    minimumSqnr: 20,
    maximumSizeRatio: 0.75,
    integerOp: 'ConvInteger',
  },
];

describe('quantize-dynamic on real models', () => {
  for (const testCase of CASES) {
    it(`${testCase.id}: quantizes, runs in onnxruntime-node, shrinks, keeps the outputs`, async () => {
      const fixture = realModel(testCase.id);
      const { model, fileSize } = readModel(fixture.path);
      const feeds = realModelInputs(fixture, declaredInputs(model));
      const expected = await runOnnxRuntime(fixture.path, feeds, QUIET);
      const result = await runChecked(quantizeDynamic, testCase.options, model);
      const statistics = result.statistics!;
      expect(statistics.nodesQuantized).toBe(testCase.quantized);
      expect(opCounts(model)[testCase.integerOp]).toBeGreaterThan(0);
      const actual = await runModel(model, feeds);
      const ratio = outputsSqnr(expected, actual);
      const sizeRatio = encodeModel(model).byteLength / fileSize;
      console.info(
        `${testCase.id}: ${statistics.nodesQuantized} nodes, SQNR ${ratio.toFixed(1)} dB, file ${(sizeRatio * 100).toFixed(1)}%, ` +
          `constants ${statistics.weightBytesBefore} → ${statistics.weightBytesAfter} bytes`,
      );
      expect(statistics.weightBytesAfter).toBeLessThan(statistics.weightBytesBefore!);
      expect(sizeRatio).toBeLessThan(testCase.maximumSizeRatio);
      expect(ratio).toBeGreaterThan(testCase.minimumSqnr);
    });
  }
});
