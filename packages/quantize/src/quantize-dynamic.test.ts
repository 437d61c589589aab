import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataType, Graph, GraphBuilder, type Model, Node, Value, tensorType } from '@whittle/ir';
import { decodeModel, encodeModel } from '@whittle/onnx';
import { readModel } from '@whittle/onnx/node';
import type { DiagnosticInput } from '@whittle/spec';
import { type OrtTensor, ort, Random } from '@whittle/test-fixtures';
import { describe, expect, it } from 'vitest';
import {
  contextFor,
  floatFeed,
  floatTensor,
  opCounts,
  opTypesOf,
  randomFloats,
  runChecked,
  runModel,
  outputsSqnr,
} from './test-support.js';
import { type QuantizeDynamicOptions, quantizeDynamic } from './quantize-dynamic.js';

const random = new Random(7);

function matMulModel(options: { opset?: number; k?: number; n?: number; shared?: boolean } = {}) {
  const { opset = 17, k = 64, n = 32 } = options;
  const b = new GraphBuilder();
  const x = b.input('x', DataType.FLOAT, [2, 5, k]);
  const w = b.initializer(floatTensor('w', [k, n], randomFloats(random, k * n)));
  b.output(b.op('MatMul', [x, w], { name: 'mm', output: 'y' }));
  if (options.shared) {
    const w2 = b.initializer(floatTensor('w2', [k, n], randomFloats(random, k * n)));
    b.output(b.op('MatMul', [x, w2], { name: 'mm2', output: 'y2' }));
    b.output(b.op('MatMul', [x, w], { name: 'mm3', output: 'y3' }));
  }
  const model = b.model({ opsetImports: [{ domain: '', version: opset }] });
  const feeds = { x: floatFeed([2, 5, k], randomFloats(random, 10 * k, -2, 2)) };
  return { model, feeds };
}

async function quantizeAndCompare(
  model: Model,
  feeds: Record<string, OrtTensor>,
  options: QuantizeDynamicOptions,
  minimumSqnr: number,
  reports: DiagnosticInput[] = [],
) {
  const before = await runModel(model, feeds);
  const result = await runChecked(quantizeDynamic, options, model, reports);
  const after = await runModel(model, feeds);
  expect(Object.keys(after)).toEqual(Object.keys(before));
  const ratio = outputsSqnr(before, after);
  expect(ratio).toBeGreaterThan(minimumSqnr);
  return { result, ratio, before, after };
}

describe('quantize-dynamic', () => {
  it('writes DynamicQuantizeLinear → MatMulInteger → Cast → Mul(x_scale × w_scale) for a MatMul', async () => {
    const { model, feeds } = matMulModel();
    const { result } = await quantizeAndCompare(model, feeds, {}, 30);
    expect(opTypesOf(model)).toEqual(['DynamicQuantizeLinear', 'MatMulInteger', 'Cast', 'Mul', 'Mul']);
    const [dql, integer, cast, scales, rescaled] = model.graph.nodes as Node[];
    expect(integer!.input(0)).toBe(dql!.output(0));
    expect(integer!.input(2)).toBe(dql!.output(2));
    expect(integer!.input(1)!.initializer!.dataType).toBe(DataType.INT8);
    expect(integer!.input(3)!.initializer!.dims).toEqual([]);
    expect(scales!.input(0)).toBe(dql!.output(1));
    expect(rescaled!.inputs).toEqual([cast!.output(0), scales!.output(0)]);
    expect(rescaled!.output(0)!.name).toBe('y');
    expect(model.graph.findValue('w')).toBeUndefined();
    expect(result.statistics).toMatchObject({ nodesQuantized: 1, nodesSkipped: 0 });
    const { weightBytesBefore, weightBytesAfter } = result.statistics!;
    expect(weightBytesBefore).toBe(64 * 32 * 4);
    expect(weightBytesAfter).toBe(64 * 32 + 4 + 1);
  });

  it('shares one DynamicQuantizeLinear per activation and one integer weight per weight', async () => {
    const { model, feeds } = matMulModel({ shared: true });
    await quantizeAndCompare(model, feeds, {}, 30);
    expect(opCounts(model)).toMatchObject({ DynamicQuantizeLinear: 1, MatMulInteger: 3 });
    const integerWeights = model.graph.initializers.filter((value) => value.initializer!.dims.length === 2);
    expect(integerWeights.map((value) => value.initializer!.dataType)).toEqual([DataType.INT8, DataType.INT8]);
  });

  it('quantizes uint8 and per-channel weights (per-column zero points for uint8)', async () => {
    for (const options of [
      { weightType: 'uint8' },
      { perChannel: true },
      { weightType: 'uint8', perChannel: true },
    ] satisfies QuantizeDynamicOptions[]) {
      const { model, feeds } = matMulModel();
      await quantizeAndCompare(model, feeds, options, 30);
      const integer = model.graph.nodes.find((node) => node.opType === 'MatMulInteger')!;
      const zeroPoint = integer.input(3)!.initializer!;
      expect(integer.input(1)!.initializer!.dataType).toBe(
        options.weightType === 'uint8' ? DataType.UINT8 : DataType.INT8,
      );
      expect(zeroPoint.dims).toEqual(options.weightType === 'uint8' && options.perChannel ? [32] : []);
      const scale = model.graph.nodes.find((node) => node.opType === 'Mul')!.input(1)!.initializer!;
      expect(scale.dims).toEqual(options.perChannel ? [32] : []);
    }
  });

  it('turns Gemm into MatMulInteger with transB applied to the weight, alpha and beta folded, a [N] bias', async () => {
    for (const [transA, transB, alpha, beta, biasDims] of [
      [0, 1, 1, 1, [16]],
      [0, 0, 0.5, 2, [1, 16]],
      [1, 1, 1, 1, []],
      [0, 1, 2, 0.5, [3, 16]],
      [0, 0, 1, 1, undefined],
    ] as const) {
      const b = new GraphBuilder();
      const x = b.input('x', DataType.FLOAT, transA ? [48, 3] : [3, 48]);
      const w = b.initializer(floatTensor('w', transB ? [16, 48] : [48, 16], randomFloats(random, 768)));
      const count = biasDims?.reduce((product: number, dim) => product * dim, 1);
      const c = biasDims ? b.initializer(floatTensor('c', [...biasDims], randomFloats(random, count!))) : undefined;
      b.output(
        b.op('Gemm', c ? [x, w, c] : [x, w], {
          name: 'gemm',
          output: 'y',
          attributes: { transA, transB, alpha: { type: 'float', value: alpha }, beta: { type: 'float', value: beta } },
        }),
      );
      const model = b.model({ opsetImports: [{ domain: '', version: 13 }] });
      const feeds = { x: floatFeed(transA ? [48, 3] : [3, 48], randomFloats(random, 144, -2, 2)) };
      await quantizeAndCompare(model, feeds, { minElements: 0 }, 30);
      const ops = opTypesOf(model);
      expect(ops).toContain('MatMulInteger');
      expect(ops).not.toContain('Gemm');
      expect(ops.includes('Add')).toBe(c !== undefined);
      if (c && biasDims?.length !== 2) {
        const add = model.graph.nodes.find((node) => node.opType === 'Add')!;
        expect(add.input(1)!.initializer!.dims).toEqual([16]);
      }
    }
  });

  it('quantizes an opted-in Conv into ConvInteger with its attributes, a channel bias and per-channel scales', async () => {
    for (const options of [
      { opTypes: ['Conv'], minElements: 0 },
      { opTypes: ['Conv'], minElements: 0, perChannel: true },
      { opTypes: ['Conv'], minElements: 0, perChannel: true, weightType: 'uint8' },
      { opTypes: ['Conv'], minElements: 0, weightType: 'uint8' },
    ] satisfies QuantizeDynamicOptions[]) {
      const b = new GraphBuilder();
      const x = b.input('x', DataType.FLOAT, [1, 8, 9, 9]);
      const w = b.initializer(floatTensor('w', [12, 4, 3, 3], randomFloats(random, 432)));
      const bias = b.initializer(floatTensor('bias', [12], randomFloats(random, 12)));
      b.output(
        b.op('Conv', [x, w, bias], {
          name: 'conv',
          output: 'y',
          attributes: { pads: [1, 1, 1, 1], strides: [2, 2], group: 2, kernel_shape: [3, 3] },
        }),
      );
      const model = b.model({ opsetImports: [{ domain: '', version: 13 }] });
      const feeds = { x: floatFeed([1, 8, 9, 9], randomFloats(random, 648, -1, 3)) };
      await quantizeAndCompare(model, feeds, options, 28);
      expect(opTypesOf(model)).toEqual(['DynamicQuantizeLinear', 'ConvInteger', 'Cast', 'Mul', 'Mul', 'Add']);
      const conv = model.graph.nodes[1]!;
      expect(conv.intAttribute('group')).toBe(2);
      expect(conv.intsAttribute('pads')).toEqual([1, 1, 1, 1]);
      expect(conv.input(3)!.initializer!.dims).toEqual([]);
      const scale = model.graph.nodes[3]!.input(1)!.initializer!;
      expect(scale.dims).toEqual(options.perChannel ? [12, 1, 1] : []);
      expect(model.graph.nodes[5]!.input(1)!.initializer!.dims).toEqual([1, 12, 1, 1]);
    }
  });

  it('quantizes Conv1d and leaves Conv out unless asked', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, [1, 4, 20]);
    const w = b.initializer(floatTensor('w', [6, 4, 5], randomFloats(random, 120)));
    b.output(b.op('Conv', [x, w], { output: 'y' }));
    const model = b.model();
    expect((await quantizeDynamic.create({ minElements: 0 }).run(model, contextFor())).changed).toBe(false);
    const feeds = { x: floatFeed([1, 4, 20], randomFloats(random, 80)) };
    await quantizeAndCompare(model, feeds, { opTypes: ['Conv'], minElements: 0, perChannel: true }, 28);
    expect(opCounts(model).ConvInteger).toBe(1);
  });

  it('leaves excluded, small and non-constant weights in float', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, [2, 32]);
    const z = b.input('z', DataType.FLOAT, [32, 32]);
    const big = b.initializer(floatTensor('big', [32, 32], randomFloats(random, 1024)));
    const small = b.initializer(floatTensor('small', [32, 8], randomFloats(random, 256)));
    b.output(b.op('MatMul', [x, big], { name: 'encoder/attention/q', output: 'q' }));
    b.output(b.op('MatMul', [x, small], { name: 'head', output: 'h' }));
    b.output(b.op('MatMul', [x, z], { name: 'dynamic', output: 'd' }));
    b.output(b.op('MatMul', [x, big], { name: 'kept', output: 'k' }));
    const model = b.model();
    const result = await runChecked(quantizeDynamic, { exclude: ['encoder/*'] }, model);
    expect(opTypesOf(model).filter((op) => op === 'MatMul')).toHaveLength(3);
    expect(result.statistics).toMatchObject({ nodesQuantized: 1, nodesSkipped: 2 });
    // The float weight stays: the excluded MatMul still reads it.
    expect(model.graph.findValue('big')?.initializer?.dataType).toBe(DataType.FLOAT);
    expect(model.graph.findValue('small')?.initializer?.dataType).toBe(DataType.FLOAT);
  });

  it('reads weights from Constant nodes and quantizes MatMuls inside If branches', async () => {
    const branch = (name: string, scale: number) => {
      const graph = new Graph(name);
      const weight = new Node({
        opType: 'Constant',
        name: `${name}_w`,
        outputs: [new Value(`${name}_weight`, tensorType(DataType.FLOAT, [48, 40]))],
        attributes: [
          {
            name: 'value',
            type: 'tensor',
            value: floatTensor('', [48, 40], randomFloats(random, 1920, -scale, scale)),
          },
        ],
      });
      graph.appendNode(weight);
      return { graph, weight: weight.output(0)! };
    };
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, [3, 48]);
    const flag = b.input('flag', DataType.BOOL, []);
    const thenBranch = branch('then', 1);
    const elseBranch = branch('else', 2);
    for (const { graph, weight } of [thenBranch, elseBranch]) {
      const out = new Value(`${graph.name}_out`, tensorType(DataType.FLOAT, [3, 40]));
      graph.appendNode(new Node({ opType: 'MatMul', name: `${graph.name}_mm`, inputs: [x, weight], outputs: [out] }));
      graph.outputs.push(out);
    }
    b.output(
      b.op('If', [flag], { output: 'y', attributes: { then_branch: thenBranch.graph, else_branch: elseBranch.graph } }),
      tensorType(DataType.FLOAT, [3, 40]),
    );
    const model = b.model();
    for (const value of [true, false]) {
      const copy = readBack(model);
      const feeds = {
        x: floatFeed([3, 48], randomFloats(random, 144)),
        flag: new ort.Tensor('bool', Uint8Array.of(value ? 1 : 0), []),
      };
      const { result } = await quantizeAndCompare(copy, feeds, {}, 30);
      expect(result.statistics).toMatchObject({ nodesQuantized: 2 });
      expect(opCounts(copy)).toMatchObject({ MatMulInteger: 2, DynamicQuantizeLinear: 2 });
      expect(opCounts(copy).Constant ?? 0).toBe(0);
    }
  });

  it('writes com.microsoft DynamicQuantizeMatMul below opset 11, or leaves the model when contrib ops are off', async () => {
    const reports: DiagnosticInput[] = [];
    const { model, feeds } = matMulModel({ opset: 9 });
    await quantizeAndCompare(model, feeds, {}, 30, reports);
    expect(opTypesOf(model)).toEqual(['DynamicQuantizeMatMul']);
    expect(model.opsetVersion('com.microsoft')).toBe(1);
    expect(reports.map((report) => report.code)).toEqual(['QUANTIZE_DYNAMIC_USED_CONTRIB_OPS']);

    const old = matMulModel({ opset: 10 }).model;
    const warnings: DiagnosticInput[] = [];
    const result = await quantizeDynamic.create({ useContribOps: false }).run(old, contextFor(warnings));
    expect(result.changed).toBe(false);
    expect(warnings.map((report) => report.code)).toEqual(['QUANTIZE_DYNAMIC_OPSET_TOO_OLD']);
  });

  it('writes the pattern ONNX Runtime fuses into DynamicQuantizeMatMul / MatMulIntegerToFloat', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, [4, 64]);
    const w = b.initializer(floatTensor('w', [32, 64], randomFloats(random, 2048)));
    const c = b.initializer(floatTensor('c', [32], randomFloats(random, 32)));
    const w2 = b.initializer(floatTensor('w2', [32, 32], randomFloats(random, 1024)));
    const hidden = b.op('Gemm', [x, w, c], { attributes: { transB: 1 } });
    b.output(b.op('MatMul', [hidden, w2], { output: 'y' }));
    b.output(
      b.op('MatMul', [x, b.initializer(floatTensor('w3', [64, 32], randomFloats(random, 2048)))], { output: 'z' }),
    );
    b.output(
      b.op('MatMul', [x, b.initializer(floatTensor('w4', [64, 32], randomFloats(random, 2048)))], { output: 'v' }),
    );
    const model = b.model({ opsetImports: [{ domain: '', version: 17 }] });
    await runChecked(quantizeDynamic, {}, model);
    const directory = mkdtempSync(join(tmpdir(), 'whittle-dynamic-'));
    try {
      const path = join(directory, 'optimized.onnx');
      const session = await ort.InferenceSession.create(encodeModel(model), {
        executionProviders: ['cpu'],
        graphOptimizationLevel: 'all',
        optimizedModelFilePath: path,
        logSeverityLevel: 4,
      });
      await session.release();
      const counts = opCounts(readModel(path).model);
      // x feeds three MatMuls (one shared DynamicQuantizeLinear): MatMulIntegerToFloat; the Gemm's output feeds one.
      expect(counts).toMatchObject({ DynamicQuantizeLinear: 1, MatMulIntegerToFloat: 3, DynamicQuantizeMatMul: 1 });
      expect(counts.MatMulInteger ?? 0).toBe(0);
      expect(counts.Cast ?? 0).toBe(0);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});

/** A deep copy through the ONNX encoder and decoder. */
const readBack = (model: Model): Model => decodeModel(encodeModel(model)).model;
