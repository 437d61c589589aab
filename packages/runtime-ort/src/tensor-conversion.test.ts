import { ort } from '@whittle/test-fixtures';
import { describe, expect, it } from 'vitest';
import { ExecutorCodes } from './codes.js';
import { fromOrtTensor, toOrtTensor } from './tensor-conversion.js';
import { expectCode } from './test-support.js';

describe('toOrtTensor / fromOrtTensor', () => {
  it('hand the data array over without copying, both ways', () => {
    const data = new Float32Array([1, 2, 3, 4, 5, 6]);
    const tensor = toOrtTensor({ type: 'float32', dims: [2, 3], data });
    expect(tensor).toBeInstanceOf(ort.Tensor);
    expect(tensor.data).toBe(data);
    expect(tensor.dims).toEqual([2, 3]);
    const back = fromOrtTensor(tensor);
    expect(back).toEqual({ type: 'float32', dims: [2, 3], data });
    expect(back.data).toBe(data);
  });

  it('carry float16 as Uint16Array, bool as Uint8Array, int64 as BigInt64Array, int4 packed, strings', () => {
    const cases = [
      { type: 'float16', dims: [2], data: new Uint16Array([0x3c00, 0x7c00]) },
      { type: 'bool', dims: [3], data: new Uint8Array([1, 0, 1]) },
      { type: 'int64', dims: [1], data: new BigInt64Array([-1n]) },
      { type: 'uint64', dims: [1], data: new BigUint64Array([1n]) },
      { type: 'int4', dims: [3], data: new Uint8Array([0x21, 0x03]) },
      { type: 'string', dims: [2], data: ['a', 'b'] },
    ];
    for (const tensor of cases) {
      const converted = toOrtTensor(tensor);
      expect(converted.type).toBe(tensor.type);
      expect(converted.data).toBe(tensor.data);
      expect(fromOrtTensor(converted).data).toBe(tensor.data);
    }
  });

  it('refuse a data array of the wrong kind, a wrong element count, bad dims and types ORT cannot carry', async () => {
    const kind = await expectCode(
      () => toOrtTensor({ type: 'float16', dims: [1], data: new Float32Array(1) }, 'h'),
      ExecutorCodes.INPUT_TYPE,
    );
    expect(kind.message).toBe("input 'h': float16 data must be a Uint16Array, got Float32Array");
    expect(kind.location?.value).toBe('h');
    await expectCode(
      () => toOrtTensor({ type: 'string', dims: [1], data: new Uint8Array(1) }),
      ExecutorCodes.INPUT_TYPE,
    );
    await expectCode(() => toOrtTensor({ type: 'bool', dims: [1], data: [true] as never }), ExecutorCodes.INPUT_TYPE);
    const count = await expectCode(
      () => toOrtTensor({ type: 'int64', dims: [2, 2], data: new BigInt64Array(3) }),
      ExecutorCodes.INPUT_SHAPE,
    );
    expect(count.message).toBe('tensor: dims [2, 2] hold 4 elements, the data has 3');
    await expectCode(() => toOrtTensor({ type: 'string', dims: [3], data: ['a'] }), ExecutorCodes.INPUT_SHAPE);
    await expectCode(
      () => toOrtTensor({ type: 'uint8', dims: [-1], data: new Uint8Array(0) }),
      ExecutorCodes.INPUT_SHAPE,
    );
    const unsupported = await expectCode(
      () => toOrtTensor({ type: 'bfloat16', dims: [1], data: new Uint16Array(1) }),
      ExecutorCodes.UNSUPPORTED_TYPE,
    );
    expect(unsupported.hint).toContain('float16');
  });
});
