import { readFileSync } from 'node:fs';
import { DataType, Graph, Model, Tensor, tensorType, Value } from '@whittle/ir';
import { decodeModel } from '@whittle/onnx';
import { realModel } from '@whittle/test-fixtures';
import { describe, expect, it } from 'vitest';
import {
  checkedDataset,
  checkSample,
  type DatasetInput,
  datasetFromSamples,
  limitDataset,
  modelInputs,
  spreadDataset,
  type Sample,
} from './dataset.js';
import { caught, collectSamples, float32Tensor } from './test-support.js';

describe('modelInputs', () => {
  it('lists declared inputs that are not initializers, with ORT type names and symbolic dims', () => {
    const graph = new Graph('g');
    graph.addInput(new Value('x', tensorType(DataType.FLOAT, [null, 3, 'height', 'width'])));
    graph.addInput(new Value('ids', tensorType(DataType.INT64, [1, 'seq'])));
    graph.addInput(new Value('anything', tensorType(DataType.FLOAT16)));
    const weight = graph.addInitializer(Tensor.fromArray('w', DataType.FLOAT, [2], new Float32Array(2)));
    weight.type = tensorType(DataType.FLOAT, [2]);
    graph.addInput(weight);
    graph.addInput(new Value('list', { kind: 'sequence', elementType: tensorType(DataType.FLOAT, [null]) }));
    const inputs = modelInputs(new Model({ graph }));
    expect(inputs).toEqual([
      { name: 'x', type: 'float32', dims: [null, 3, 'height', 'width'] },
      { name: 'ids', type: 'int64', dims: [1, 'seq'] },
      { name: 'anything', type: 'float16', dims: undefined },
      { name: 'list', type: 'seq(float32[?])', dims: undefined },
    ]);
  });

  it('reads the inputs of the real PP-OCR recognizer', () => {
    const { model } = decodeModel(readFileSync(realModel('ocr-rec').path));
    expect(modelInputs(model)).toEqual([
      { name: 'x', type: 'float32', dims: ['p2o.DynamicDimension.0', 3, 48, 'p2o.DynamicDimension.1'] },
    ]);
  });
});

describe('checkSample', () => {
  const image: DatasetInput = { name: 'x', type: 'float32', dims: [1, 3, 'h', 'w'] };
  const mask: DatasetInput = { name: 'mask', type: 'bool', dims: [1, 'h', 'w'] };

  it('accepts a sample that fits, symbolic dims taking any positive size', () => {
    checkSample({ x: float32Tensor([1, 3, 48, 64]) }, [image]);
    checkSample(
      { x: float32Tensor([1, 3, 48, 64]), mask: { type: 'bool', dims: [1, 48, 64], data: new Uint8Array(48 * 64) } },
      [image, mask],
    );
  });

  it('reports a missing input', () => {
    const error = caught(() => checkSample({}, [image], { file: 'a.npz', description: 'sample 0' }));
    expect(error.code).toBe('DATASET_MISSING_INPUT');
    expect(error.location).toEqual({ file: 'a.npz', value: 'x' });
    expect(error.message).toContain("input 'x' (float32[1,3,?,?]) is missing");
  });

  it('reports an unknown input', () => {
    const error = caught(() => checkSample({ x: float32Tensor([1, 3, 2, 2]), y: float32Tensor([1]) }, [image]));
    expect(error.code).toBe('DATASET_UNKNOWN_INPUT');
    expect(error.location).toEqual({ value: 'y' });
  });

  it('reports a type mismatch', () => {
    const error = caught(() =>
      checkSample({ x: { type: 'float64', dims: [1, 3, 2, 2], data: new Float64Array(12) } }, [image], 'sample 4'),
    );
    expect(error.code).toBe('DATASET_TYPE_MISMATCH');
    expect(error.message).toBe("sample 4: input 'x': expected float32[1,3,?,?], got float64[1,3,2,2]");
  });

  it('reports rank, static dim, zero symbolic dim and data length mismatches', () => {
    const rank = caught(() => checkSample({ x: float32Tensor([1, 3, 48]) }, [image], { file: '/data/a.npy' }));
    expect(rank.code).toBe('DATASET_SHAPE_MISMATCH');
    expect(rank.message).toBe("/data/a.npy: input 'x': expected float32[1,3,?,?], got float32[1,3,48]");
    expect(rank.location).toEqual({ file: '/data/a.npy', value: 'x' });
    expect(caught(() => checkSample({ x: float32Tensor([1, 1, 4, 4]) }, [image])).code).toBe('DATASET_SHAPE_MISMATCH');
    expect(caught(() => checkSample({ x: float32Tensor([1, 3, 0, 4]) }, [image])).code).toBe('DATASET_SHAPE_MISMATCH');
    const short = caught(() =>
      checkSample({ x: { type: 'float32', dims: [1, 3, 2, 2], data: new Float32Array(5) } }, [image]),
    );
    expect(short.message).toContain('the data holds 5 elements, the dims say 12');
  });

  it('requires one size per symbol across the inputs of a sample', () => {
    const error = caught(() =>
      checkSample(
        { x: float32Tensor([1, 3, 48, 64]), mask: { type: 'bool', dims: [1, 48, 32], data: new Uint8Array(48 * 32) } },
        [image, mask],
      ),
    );
    expect(error.code).toBe('DATASET_SHAPE_MISMATCH');
    expect(error.message).toContain("dim 2 is 'w', which is 64 in input 'x'");
  });

  it('accepts any rank for an input whose shape is unknown, but not any type', () => {
    const free: DatasetInput = { name: 'x', type: 'float32', dims: undefined };
    checkSample({ x: float32Tensor([2, 5, 7]) }, [free]);
    checkSample({ x: float32Tensor([]) }, [free]);
    expect(caught(() => checkSample({ x: { type: 'int32', dims: [1], data: new Int32Array(1) } }, [free])).code).toBe(
      'DATASET_TYPE_MISMATCH',
    );
  });
});

describe('datasetFromSamples', () => {
  const samples: Sample[] = [{ x: float32Tensor([1]) }, { x: float32Tensor([2]) }, { x: float32Tensor([3]) }];

  it('iterates an array more than once and knows its size', async () => {
    const dataset = datasetFromSamples(samples);
    expect(dataset.size).toBe(3);
    expect(dataset.description).toBe('3 samples in memory');
    expect(await collectSamples(dataset)).toHaveLength(3);
    expect(await collectSamples(dataset)).toHaveLength(3);
  });

  it('iterates a function returning fresh async iterables more than once', async () => {
    let calls = 0;
    const dataset = datasetFromSamples(async function* () {
      calls++;
      yield* samples;
    }, 'generated');
    expect(dataset.size).toBeUndefined();
    expect(dataset.description).toBe('generated');
    expect(await collectSamples(dataset)).toHaveLength(3);
    expect(await collectSamples(dataset)).toHaveLength(3);
    expect(calls).toBe(2);
  });

  it('walks a one-shot generator once and then says so', async () => {
    const dataset = datasetFromSamples(
      (function* () {
        yield* samples;
      })(),
    );
    expect(await collectSamples(dataset)).toHaveLength(3);
    await expect(collectSamples(dataset)).rejects.toMatchObject({ code: 'DATASET_CONSUMED' });
  });

  it('limits and checks', async () => {
    const dataset = datasetFromSamples(samples);
    const limited = limitDataset(dataset, 2);
    expect(limited.size).toBe(2);
    expect(await collectSamples(limited)).toHaveLength(2);
    expect(await collectSamples(limitDataset(dataset, 0))).toHaveLength(0);
    // Spread: evenly when the size is known, the first ones when it is not.
    const many = datasetFromSamples(Array.from({ length: 10 }, (_, index) => ({ index: float32Tensor([1], index) })));
    const spread = spreadDataset(many, 4);
    expect(spread.size).toBe(4);
    expect((await collectSamples(spread)).map((sample) => (sample.index!.data as Float32Array)[0])).toEqual([
      0, 2, 5, 7,
    ]);
    expect(await collectSamples(spreadDataset(many, 20))).toHaveLength(10);
    expect(await collectSamples(spreadDataset(many, 0))).toHaveLength(0);
    expect(() => spreadDataset(many, -1)).toThrow(RangeError);
    const unsized = datasetFromSamples(async function* () {
      yield* Array.from({ length: 5 }, (_, index) => ({ index: float32Tensor([1], index) }));
    });
    expect(
      (await collectSamples(spreadDataset(unsized, 2))).map((sample) => (sample.index!.data as Float32Array)[0]),
    ).toEqual([0, 1]);
    const checked = checkedDataset(dataset, [{ name: 'x', type: 'float32', dims: [1] }]);
    await expect(collectSamples(checked)).rejects.toMatchObject({
      code: 'DATASET_SHAPE_MISMATCH',
      message: "sample 1: input 'x': expected float32[1], got float32[2]",
    });
  });
});
