/**
 * `upgrade-opset` on every conformance model of opsets 9-12 that onnxruntime-node runs, and on the real models of
 * opsets 9 and 11: same outputs at opset 13, the verifier clean.
 */
import { readFileSync } from 'node:fs';
import { DataType, GraphBuilder, Tensor, tensorType, verifyModel } from '@whittle/ir';
import { decodeTensor, encodeModel } from '@whittle/onnx';
import { readModel } from '@whittle/onnx/node';
import {
  conformanceCases,
  conformanceFeeds,
  ort,
  realModels,
  relativeDifference,
  runOnnxRuntime,
} from '@whittle/test-fixtures';
import { describe, expect, it } from 'vitest';
import { loadRealModel, QUIET } from './test-support.js';
import { UpgradeOpsetCodes, upgradeOpset } from './upgrade-opset.js';

describe('upgrade-opset', () => {
  it('conformance models of opsets 9-12: same outputs at opset 13', async () => {
    const failures: string[] = [];
    const seen = new Set<number>();
    let compared = 0;
    let rewritten = 0;
    for (const testCase of conformanceCases()) {
      const { model } = readModel(testCase.modelPath);
      const opset = model.opsetVersion('') ?? 0;
      if (opset < 9 || opset > 12) continue;
      const feeds = conformanceFeeds(testCase, model, decodeTensor);
      if (typeof feeds === 'string') continue;
      let expected: Awaited<ReturnType<typeof runOnnxRuntime>>;
      try {
        expected = await runOnnxRuntime(new Uint8Array(readFileSync(testCase.modelPath)), feeds, QUIET);
      } catch {
        continue; // ONNX Runtime does not run the original either.
      }
      try {
        const statistics = upgradeOpset(model);
        expect(model.opsetVersion('')).toBe(13);
        const errors = verifyModel(model).filter((diagnostic) => diagnostic.severity === 'error');
        if (errors.length > 0) failures.push(`${testCase.id}: verifier: ${errors[0]!.message}`);
        if (statistics.nodesRewritten > 0) rewritten++;
        const actual = await runOnnxRuntime(encodeModel(model), feeds, QUIET);
        compared++;
        seen.add(opset);
        const difference = relativeDifference(expected, actual);
        if (!(difference <= 1e-5)) failures.push(`${testCase.id} (opset ${opset}): outputs differ by ${difference}`);
      } catch (error) {
        failures.push(`${testCase.id} (opset ${opset}): ${(error as Error).message.split('\n')[0]}`);
      }
    }
    console.info(`upgrade-opset: ${compared} conformance models compared, ${rewritten} with ops rewritten`);
    expect(failures).toEqual([]);
    expect(compared).toBeGreaterThan(50);
    expect(rewritten).toBeGreaterThanOrEqual(5);
  });

  for (const fixture of realModels.filter((model) => model.id.startsWith('ocr-'))) {
    it(`${fixture.id}: same outputs at opset 13`, async () => {
      const { model, feeds, expected } = await loadRealModel(fixture);
      const statistics = upgradeOpset(model);
      expect(statistics.toOpset).toBe(13);
      const actual = await runOnnxRuntime(encodeModel(model), feeds, QUIET);
      expect(relativeDifference(expected, actual)).toBeLessThanOrEqual(1e-5);
    });
  }

  it('Softmax on a middle axis before 13 (2-D coercion) becomes Flatten → Softmax → Reshape', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, [2, 3, 4]);
    const y = b.op('Softmax', [x], { attributes: { axis: 1 }, output: 'y' });
    b.output(y, tensorType(DataType.FLOAT, [2, 3, 4]));
    const model = b.model({ opsetImports: [{ domain: '', version: 11 }] });
    const data = Float32Array.from({ length: 24 }, (_, index) => Math.sin(index));
    const feeds = { x: new ort.Tensor('float32', data, [2, 3, 4]) };
    const expected = await runOnnxRuntime(encodeModel(model), feeds, QUIET);
    upgradeOpset(model);
    expect(model.graph.nodes.map((node) => node.opType)).toEqual(['Shape', 'Flatten', 'Softmax', 'Reshape']);
    const actual = await runOnnxRuntime(encodeModel(model), feeds, QUIET);
    expect(relativeDifference(expected, actual)).toBeLessThanOrEqual(1e-6);
  });

  it('opset 9 attributes that became inputs (Pad, Split, ReduceSum, TopK, Slice, Clip, Squeeze), Upsample, Dropout', async () => {
    const F = DataType.FLOAT;
    const b = new GraphBuilder();
    const x = b.input('x', F, [1, 2, 4, 4]);
    const padded = b.op('Pad', [x], { attributes: { pads: [0, 0, 1, 1, 0, 0, 1, 1], value: 0.5 }, output: 'padded' });
    const [left, right] = b.node('Split', [padded], { outputs: 2, attributes: { axis: 3, split: [2, 4] } });
    const summed = b.op('ReduceSum', [right!], { attributes: { axes: [3], keepdims: 1 }, output: 'summed' });
    const clipped = b.op('Clip', [summed], { attributes: { min: -1.5, max: 2.5 }, output: 'clipped' });
    const sliced = b.op('Slice', [left!], { attributes: { starts: [1], ends: [5], axes: [2] }, output: 'sliced' });
    const squeezed = b.op('Squeeze', [clipped], { attributes: { axes: [3] }, output: 'squeezed' });
    const shape = b.initializer(Tensor.fromArray('shape', DataType.INT64, [2], BigInt64Array.of(1n, -1n)));
    const flat = b.op('Reshape', [squeezed, shape], { output: 'flat' });
    const [top] = b.node('TopK', [flat], { outputs: 2, attributes: { k: 3, axis: 1 } });
    const scales = b.initializer(Tensor.fromArray('scales', F, [4], Float32Array.of(1, 1, 2, 2)));
    const upsampled = b.op('Upsample', [sliced, scales], { attributes: { mode: 'nearest' }, output: 'upsampled' });
    const dropped = b.op('Dropout', [upsampled], { attributes: { ratio: 0.3 }, output: 'dropped' });
    b.output(top!, tensorType(F, [1, 3]));
    b.output(dropped, tensorType(F, [1, 2, 8, 4]));
    const model = b.model({ opsetImports: [{ domain: '', version: 9 }] });
    const data = Float32Array.from({ length: 32 }, (_, index) => Math.cos(index * 1.7) * 3);
    const feeds = { x: new ort.Tensor('float32', data, [1, 2, 4, 4]) };
    const expected = await runOnnxRuntime(encodeModel(model), feeds, QUIET);
    const statistics = upgradeOpset(model);
    expect(statistics.nodesRewritten).toBe(9);
    expect(verifyModel(model).filter((diagnostic) => diagnostic.severity === 'error')).toEqual([]);
    expect(model.graph.nodes.map((node) => node.opType)).toContain('Resize');
    const actual = await runOnnxRuntime(encodeModel(model), feeds, QUIET);
    expect(relativeDifference(expected, actual)).toBe(0);
  });

  it('a model below opset 9 is refused with a code', () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, [2]);
    b.output(b.op('Relu', [x], { output: 'y' }), tensorType(DataType.FLOAT, [2]));
    const model = b.model({ opsetImports: [{ domain: '', version: 7 }] });
    expect(() => upgradeOpset(model)).toThrow(expect.objectContaining({ code: UpgradeOpsetCodes.UNSUPPORTED }));
  });
});
