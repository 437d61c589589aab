import { describe, expect, it } from 'vitest';
import { scaledDim } from './resize.js';
import { DataType, floats, infer, int64s } from './test-support.js';

describe('Resize and Upsample', () => {
  it('scales like onnxruntime (single-precision product, truncated)', () => {
    expect(scaledDim(3, 0.6)).toBe(1);
    expect(scaledDim(10, 0.6)).toBe(6);
    expect(scaledDim(32, 2)).toBe(64);
    expect(scaledDim('h', 1)).toBe('h');
    expect(scaledDim('h', 2)).toBe(null);
  });

  it('uses scales, or sizes when given (opset 11+, roi and scales may be empty)', () => {
    const result = infer((b) => {
      const x = b.input('x', DataType.FLOAT, ['n', 3, 20, 30]);
      const empty = b.initializer(floats('empty', []));
      b.op('Resize', [x, empty, b.initializer(floats('scales', [1, 1, 2, 0.5]))], { output: 'scaled' });
      b.op('Resize', [x, empty, empty, b.initializer(int64s('sizes', [1, 3, 7, 9]))], { output: 'sized' });
      b.op('Resize', [x, empty, b.input('dynamic', DataType.FLOAT, [4])], { output: 'unknown' });
    }, 13);
    expect(result.shape('scaled')).toEqual(['n', 3, 40, 15]);
    expect(result.shape('sized')).toEqual([1, 3, 7, 9]);
    expect(result.shape('unknown')).toEqual([null, null, null, null]);
  });

  it('takes scales from an input (opset 10) and from Upsample', () => {
    const opset10 = infer((b) => {
      const x = b.input('x', DataType.FLOAT, [1, 1, 2, 3]);
      b.op('Resize', [x, b.initializer(floats('scales', [1, 1, 2, 3]))], { output: 'y' });
      b.op('Upsample', [x, b.initializer(floats('s2', [1, 1, 2, 2]))], { output: 'u' });
    }, 10);
    expect(opset10.shape('y')).toEqual([1, 1, 4, 9]);
    expect(opset10.shape('u')).toEqual([1, 1, 4, 6]);
  });
});
