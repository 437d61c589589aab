/**
 * Every real model (REFERENCE.md section 2) through the executor, compared with onnxruntime on the original file:
 * bit for bit with graph optimizations disabled. The caller's Model is left exactly as it was.
 */
import type { Model } from '@whittle/ir';
import { readModel } from '@whittle/onnx/node';
import { declaredInputs, outputsDifference, realModelInputs, realModels, runOnnxRuntime } from '@whittle/test-fixtures';
import { describe, expect, it } from 'vitest';
import { createOrtExecutor } from './executor.js';
import { asOrt, fingerprint } from './test-support.js';

describe('real models through the onnxruntime executor', () => {
  for (const fixture of realModels) {
    it(`${fixture.id}: bit-identical to onnxruntime on the file, model untouched`, async () => {
      const model: Model = readModel(fixture.path).model;
      const before = fingerprint(model);
      const feeds = realModelInputs(fixture, declaredInputs(model));
      const executor = await createOrtExecutor(model, { optimizationLevel: 'disabled', threads: 1 });
      try {
        expect(executor.inputs.map((input) => input.name)).toEqual(declaredInputs(model).map((input) => input.name));
        for (const input of executor.inputs) {
          const declared = declaredInputs(model).find((entry) => entry.name === input.name)!;
          expect(input.dims).toEqual(declared.shape ?? []);
          expect(input.type).toBe(feeds[input.name]!.type);
        }
        expect(executor.outputNames).toEqual(model.graph.outputs.map((value) => value.name));
        const actual = await executor.run(feeds);
        const expected = await runOnnxRuntime(fixture.path, feeds);
        expect(outputsDifference(expected, asOrt(actual))).toBeUndefined();
        // The data is the array onnxruntime returned, not a copy of it.
        for (const tensor of Object.values(actual)) expect(ArrayBuffer.isView(tensor.data)).toBe(true);
      } finally {
        await executor.dispose();
      }
      expect(fingerprint(model).equals(before)).toBe(true);
    });
  }
});
