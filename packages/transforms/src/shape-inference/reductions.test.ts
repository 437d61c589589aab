import { describe, expect, it } from 'vitest';
import { DataType, infer, int64s } from './test-support.js';

describe('reductions', () => {
  it('reduces attribute axes (before opset 18), keeping dims or not', () => {
    const result = infer((b) => {
      const x = b.input('x', DataType.FLOAT, ['n', 3, 4]);
      b.op('ReduceMean', [x], { output: 'kept', attributes: { axes: [-1] } });
      b.op('ReduceMax', [x], { output: 'dropped', attributes: { axes: [1], keepdims: 0 } });
      b.op('ReduceL2', [x], { output: 'all', attributes: { keepdims: 0 } });
      b.op('ReduceSum', [x, b.initializer(int64s('axes', [0, 2]))], { output: 'sum' });
    }, 13);
    expect(result.type('kept')).toEqual({ kind: 'tensor', elementType: DataType.FLOAT, shape: ['n', 3, 1] });
    expect(result.shape('dropped')).toEqual(['n', 4]);
    expect(result.shape('all')).toEqual([]);
    expect(result.shape('sum')).toEqual([1, 3, 1]);
  });

  it('reads axes from an input from opset 18; noop_with_empty_axes keeps the shape', () => {
    const result = infer((b) => {
      const x = b.input('x', DataType.FLOAT, [2, 3]);
      b.op('ReduceProd', [x, b.initializer(int64s('axes', [1]))], { output: 'prod', attributes: { keepdims: 0 } });
      b.op('ReduceMin', [x], { output: 'all' });
      b.op('ReduceMin', [x, b.initializer(int64s('none', []))], {
        output: 'noop',
        attributes: { noop_with_empty_axes: 1 },
      });
      b.op('ReduceMin', [x, b.input('dynamic', DataType.INT64, [1])], { output: 'unknownAxes' });
    }, 18);
    expect(result.shape('prod')).toEqual([2]);
    expect(result.shape('all')).toEqual([1, 1]);
    expect(result.shape('noop')).toEqual([2, 3]);
    expect(result.shape('unknownAxes')).toEqual([null, null]);
  });

  it('ArgMax and ArgMin give int64', () => {
    const result = infer((b) => {
      const x = b.input('x', DataType.FLOAT, [2, 3, 4]);
      b.op('ArgMax', [x], { output: 'max', attributes: { axis: 1 } });
      b.op('ArgMin', [x], { output: 'min', attributes: { axis: -1, keepdims: 0 } });
    });
    expect(result.type('max')).toEqual({ kind: 'tensor', elementType: DataType.INT64, shape: [2, 1, 4] });
    expect(result.type('min')).toEqual({ kind: 'tensor', elementType: DataType.INT64, shape: [2, 3] });
  });
});
