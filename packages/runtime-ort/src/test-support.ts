/** Helpers for this package's tests (not exported from the package). */
import { DataType, GraphBuilder, type Model, Tensor } from '@whittle/ir';
import { encodeModel } from '@whittle/onnx';
import type { ExecutorTensor } from '@whittle/spec';
import type { OrtTensor } from '@whittle/test-fixtures';
import { expect } from 'vitest';
import { toOrtTensor } from './tensor-conversion.js';

/** Executor outputs as ORT tensors, for the fixtures' comparison helpers (no data copy). */
export function asOrt(outputs: Readonly<Record<string, ExecutorTensor>>): Record<string, OrtTensor> {
  return Object.fromEntries(Object.entries(outputs).map(([name, tensor]) => [name, toOrtTensor(tensor)]));
}

/** Expect a promise or a function to fail with a WhittleError of this code; returns the error. */
export async function expectCode(
  action: Promise<unknown> | (() => unknown),
  code: string,
): Promise<Error & { code: string; location?: { value?: string; file?: string }; hint?: string }> {
  let caught: unknown;
  try {
    await (typeof action === 'function' ? action() : action);
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected an error with code ${code}`).toBeDefined();
  expect((caught as { code?: string }).code, String(caught)).toBe(code);
  return caught as Error & { code: string };
}

/** The model's bytes, to check that nothing changed it. */
export const fingerprint = (model: Model): Buffer => Buffer.from(encodeModel(model));

/**
 * x:float32[2,3] + w (initializer [3]) -> sum -> Relu -> relu -> Neg -> y (output), plus Shape(relu) -> shape
 * (int64, unused). Intermediates carry no type; `y` is typed.
 */
export function smallModel(): Model {
  const builder = new GraphBuilder('small');
  const x = builder.input('x', DataType.FLOAT, ['batch', 3]);
  const w = builder.initializer(Tensor.fromArray('w', DataType.FLOAT, [3], new Float32Array([1, -2, 3])));
  const sum = builder.op('Add', [x, w], { output: 'sum' });
  const relu = builder.op('Relu', [sum], { output: 'relu' });
  builder.op('Shape', [relu], { output: 'shape' });
  const y = builder.op('Neg', [relu], { output: 'y' });
  builder.output(y, { kind: 'tensor', elementType: DataType.FLOAT, shape: ['batch', 3] });
  return builder.model();
}

export const float32 = (dims: number[], values: number[]): ExecutorTensor => ({
  type: 'float32',
  dims,
  data: new Float32Array(values),
});
