import { describe, expect, it } from 'vitest';
import { DataType, floats, infer, int64s } from './test-support.js';

describe('elementwise shape inference', () => {
  it('broadcasts static shapes numpy-style', () => {
    const result = infer((b) => {
      const x = b.input('x', DataType.FLOAT, [2, 3, 4]);
      const y = b.input('y', DataType.FLOAT, [3, 1]);
      const z = b.input('z', DataType.FLOAT, [1]);
      b.output(b.op('Add', [x, y], { output: 'sum' }));
      b.output(b.op('Mul', [z, x], { output: 'product' }));
      b.output(b.op('Sum', [x, y, z], { output: 'total' }));
    });
    expect(result.type('sum')).toEqual({ kind: 'tensor', elementType: DataType.FLOAT, shape: [2, 3, 4] });
    expect(result.shape('product')).toEqual([2, 3, 4]);
    expect(result.shape('total')).toEqual([2, 3, 4]);
  });

  it('carries symbolic dims through and never guesses between two symbols', () => {
    const result = infer((b) => {
      const x = b.input('x', DataType.FLOAT, ['batch', 3, 'seq']);
      const y = b.input('y', DataType.FLOAT, [3, 1]);
      const other = b.input('other', DataType.FLOAT, ['other', 3, 'seq']);
      const unknown = b.input('unknown', DataType.FLOAT, [null, 1, 5]);
      b.op('Add', [x, y], { output: 'a' });
      b.op('Sub', [x, other], { output: 'b' });
      b.op('Div', [x, unknown], { output: 'c' });
      b.op('Relu', [x], { output: 'd' });
    });
    expect(result.shape('a')).toEqual(['batch', 3, 'seq']);
    expect(result.shape('b')).toEqual([null, 3, 'seq']);
    // 'seq' against 5: broadcasting leaves 5 (seq is 1 or 5); batch against unknown: unknown.
    expect(result.shape('c')).toEqual([null, 3, 5]);
    expect(result.shape('d')).toEqual(['batch', 3, 'seq']);
  });

  it('keeps the element type without a shape when a rank is unknown', () => {
    const result = infer((b) => {
      const x = b.input('x', DataType.FLOAT16);
      const y = b.input('y', DataType.FLOAT16, [3]);
      b.op('Add', [x, y], { output: 'sum' });
    });
    expect(result.type('sum')).toEqual({ kind: 'tensor', elementType: DataType.FLOAT16 });
  });

  it('gives Pow the base type, Where the branch type, Dropout a bool mask', () => {
    const result = infer((b) => {
      const x = b.input('x', DataType.FLOAT, [4]);
      const e = b.input('e', DataType.INT64, [1]);
      const condition = b.input('condition', DataType.BOOL, [2, 1]);
      const values = b.input('values', DataType.INT64, [4]);
      b.op('Pow', [x, e], { output: 'power' });
      b.op('Where', [condition, values, b.initializer(int64s('zero', [0], []))], { output: 'chosen' });
      b.node('Dropout', [x], { outputs: ['dropped', 'mask'] });
    });
    expect(result.type('power')).toEqual({ kind: 'tensor', elementType: DataType.FLOAT, shape: [4] });
    expect(result.type('chosen')).toEqual({ kind: 'tensor', elementType: DataType.INT64, shape: [2, 4] });
    expect(result.type('mask')).toEqual({ kind: 'tensor', elementType: DataType.BOOL, shape: [4] });
  });

  it('reports shapes that cannot broadcast as SHAPE_MISMATCH and leaves the output untyped', () => {
    const result = infer((b) => {
      const x = b.input('x', DataType.FLOAT, [2, 3]);
      const y = b.input('y', DataType.FLOAT, [4]);
      b.op('Add', [x, y], { output: 'sum' });
    });
    expect(result.type('sum')).toBeUndefined();
    expect(result.diagnostics.map((diagnostic) => diagnostic.code)).toContain('SHAPE_MISMATCH');
  });

  it('computes small integer data: shape arithmetic feeds a Reshape', () => {
    const result = infer((b) => {
      const x = b.input('x', DataType.FLOAT, [2, 3, 4]);
      const shape = b.op('Shape', [x]);
      const at = (index: number) => b.op('Gather', [shape, b.initializer(int64s(`at${index}`, [index]))]);
      const rows = b.op('Div', [b.op('Mul', [at(0), at(1)]), b.initializer(int64s('three', [3]))]);
      const columns = b.op('Mul', [at(1), at(2)]);
      b.op('Reshape', [x, b.op('Concat', [rows, columns], { attributes: { axis: 0 } })], { output: 'reshaped' });
    });
    expect(result.shape('reshaped')).toEqual([2, 12]);
  });

  it('evaluates Add/Sub/Mul on shape data with symbols', () => {
    const result = infer((b) => {
      const x = b.input('x', DataType.FLOAT, ['batch', 6]);
      const shape = b.op('Shape', [x]);
      const scaled = b.op('Mul', [shape, b.initializer(int64s('scale', [1, 2]))]);
      const shifted = b.op('Sub', [scaled, b.initializer(int64s('shift', [0, 4]))]);
      b.op('ConstantOfShape', [shifted], { output: 'filled' });
      b.op('Add', [x, b.initializer(floats('bias', [1, 2, 3, 4, 5, 6]))], { output: 'biased' });
    });
    expect(result.shape('filled')).toEqual(['batch', 8]);
    expect(result.elementType('filled')).toBe(DataType.FLOAT);
    expect(result.shape('biased')).toEqual(['batch', 6]);
  });
});
