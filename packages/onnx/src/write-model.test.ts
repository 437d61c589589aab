import { existsSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataType, GraphBuilder, Tensor } from '@whittle/ir';
import { describe, expect, it } from 'vitest';
import { readModel, writeModel } from './node.js';

function modelWithWeights(count: number, elements: number) {
  const builder = new GraphBuilder();
  let current = builder.input('x', DataType.FLOAT, [1, elements]);
  for (let index = 0; index < count; index++) {
    const weight = builder.initializer(
      Tensor.fromArray(`w${index}`, DataType.FLOAT, [elements], new Float32Array(elements).fill(index + 1)),
    );
    current = builder.op('Mul', [current, weight], { output: `y${index}` });
  }
  builder.output(current);
  return builder.model();
}

describe('writeModel', () => {
  it('moves large tensors to external data when the model would pass the inline limit', () => {
    const folder = mkdtempSync(join(tmpdir(), 'whittle-write-'));
    const model = modelWithWeights(4, 4096);
    const small = join(folder, 'small.onnx');
    expect(writeModel(model, small, { inlineLimit: 1 << 20 }).externalBytes).toBe(0);
    const large = join(folder, 'large.onnx');
    const result = writeModel(model, large, { inlineLimit: 32 * 1024 });
    expect(result.externalBytes).toBeGreaterThanOrEqual(4 * 4096 * 4);
    expect(existsSync(`${large}.data`)).toBe(true);
    expect(statSync(large).size).toBeLessThan(4096);
    const { model: reread } = readModel(large);
    const values = reread.graph.initializers.map((value) => (value.initializer!.toArray() as Float32Array)[4095]);
    expect(values).toEqual([1, 2, 3, 4]);
    expect(readdirSync(folder).sort()).toEqual(['large.onnx', 'large.onnx.data', 'small.onnx']);
  });

  it('writes external data aligned, and reads it back through the new file', () => {
    const folder = mkdtempSync(join(tmpdir(), 'whittle-write-'));
    const path = join(folder, 'model.onnx');
    writeModel(modelWithWeights(3, 300), path, { externalData: 'external', externalLocation: 'weights.bin' });
    const { model } = readModel(path);
    const offsets = model.graph.initializers.map(
      (value) => (value.initializer!.carried['onnx.external'] as { offset: number }).offset,
    );
    expect(offsets.every((offset) => offset % 64 === 0)).toBe(true);
    const copy = join(folder, 'copy.onnx');
    writeModel(model, copy);
    expect(existsSync(`${copy}.data`)).toBe(true);
    expect(
      readModel(copy).model.graph.initializers.map((value) => (value.initializer!.toArray() as Float32Array)[0]),
    ).toEqual([1, 2, 3]);
  });
});
