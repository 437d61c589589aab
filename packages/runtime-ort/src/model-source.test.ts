/** Models with external data, or past the inline limit, go through a temporary folder that dispose() removes. */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataType, GraphBuilder, Tensor } from '@whittle/ir';
import { readModel, writeModel } from '@whittle/onnx/node';
import { declaredInputs, outputsDifference, realModel, realModelInputs, runOnnxRuntime } from '@whittle/test-fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExecutorCodes } from './codes.js';
import { createOrtExecutor } from './executor.js';
import { hasExternalData, modelSource } from './model-source.js';
import { asOrt, expectCode, fingerprint, smallModel } from './test-support.js';

let scratch: string;
let temporaries: string;

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'whittle-ort-test-'));
  temporaries = join(scratch, 'temporaries');
  mkdirSync(temporaries);
});

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('modelSource', () => {
  it('keeps a small model without external data in memory', () => {
    const source = modelSource(smallModel());
    expect(source.model).toBeInstanceOf(Uint8Array);
    expect(source.folder).toBeUndefined();
    source.cleanup();
  });

  it('runs a model with external data from a temporary folder, bit-identical, and removes the folder', async () => {
    const fixture = realModel('oww-embedding');
    const path = join(scratch, 'embedding.onnx');
    writeModel(readModel(fixture.path).model, path, { externalData: 'external' });
    const model = readModel(path).model;
    expect(hasExternalData(model)).toBe(true);
    const before = fingerprint(model);
    const feeds = realModelInputs(fixture, declaredInputs(model));
    const executor = await createOrtExecutor(model, {
      optimizationLevel: 'disabled',
      threads: 1,
      capture: [model.graph.nodes[3]!.outputs[0]!.name],
      temporaryDirectory: temporaries,
    });
    const file = executor.modelPath!;
    expect(file.startsWith(temporaries)).toBe(true);
    expect(readdirSync(join(file, '..')).sort()).toEqual(['model.onnx', 'model.onnx.data']);
    const outputs = await executor.run(feeds);
    const expected = await runOnnxRuntime(fixture.path, feeds);
    const own = asOrt(outputs);
    const name = model.graph.outputs[0]!.name;
    expect(outputsDifference(expected, { [name]: own[name]! })).toBeUndefined();
    expect(Object.keys(outputs)).toHaveLength(2);
    await executor.dispose();
    expect(existsSync(file)).toBe(false);
    expect(readdirSync(temporaries)).toEqual([]);
    expect(fingerprint(model).equals(before)).toBe(true);
  });

  it('writes a model past the inline limit with its large tensors as external data', async () => {
    const builder = new GraphBuilder('large');
    const x = builder.input('x', DataType.FLOAT, [4096]);
    const values = Float32Array.from({ length: 4096 }, (_, index) => index);
    const w = builder.initializer(Tensor.fromArray('w', DataType.FLOAT, [4096], values));
    builder.output(builder.op('Add', [x, w], { output: 'y' }), { kind: 'tensor', elementType: DataType.FLOAT });
    const executor = await createOrtExecutor(builder.model(), { inlineLimit: 8192, temporaryDirectory: temporaries });
    expect(readdirSync(join(executor.modelPath!, '..')).sort()).toEqual(['model.onnx', 'model.onnx.data']);
    const outputs = await executor.run({ x: { type: 'float32', dims: [4096], data: new Float32Array(4096).fill(1) } });
    expect((outputs.y!.data as Float32Array)[4095]).toBe(4096);
    await executor.dispose();
    expect(readdirSync(temporaries)).toEqual([]);
  });

  it('removes the folder when onnxruntime refuses the model', async () => {
    const builder = new GraphBuilder('bad');
    const x = builder.input('x', DataType.FLOAT, [1]);
    builder.output(builder.op('NoSuchOperator', [x], { output: 'y' }));
    const error = await expectCode(
      createOrtExecutor(builder.model(), { inlineLimit: 0, temporaryDirectory: temporaries }),
      ExecutorCodes.LOAD_FAILED,
    );
    expect(error.location?.file).toContain(temporaries);
    expect(readdirSync(temporaries)).toEqual([]);
  });

  it('a temporary folder that cannot be made is EXECUTOR_LOAD_FAILED', async () => {
    const error = await expectCode(
      createOrtExecutor(smallModel(), { inlineLimit: 0, temporaryDirectory: join(scratch, 'missing') }),
      ExecutorCodes.LOAD_FAILED,
    );
    expect(error.message).toContain('temporary folder');
  });
});
