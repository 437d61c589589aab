import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '@whittle/ir';
import { DataType, infer, int64s } from './test-support.js';

describe('cast, comparison and logical shape inference', () => {
  it('Cast gives `to`, CastLike the type of its second input', () => {
    const result = infer((b) => {
      const x = b.input('x', DataType.FLOAT, ['n', 3]);
      const like = b.input('like', DataType.FLOAT16, [1]);
      b.op('Cast', [x], { output: 'ints', attributes: { to: DataType.INT32 } });
      b.op('CastLike', [x, like], { output: 'halves' });
    });
    expect(result.type('ints')).toEqual({ kind: 'tensor', elementType: DataType.INT32, shape: ['n', 3] });
    expect(result.type('halves')).toEqual({ kind: 'tensor', elementType: DataType.FLOAT16, shape: ['n', 3] });
  });

  it('comparisons and logical ops give bool, broadcasting', () => {
    const result = infer((b) => {
      const x = b.input('x', DataType.INT64, [2, 1]);
      const y = b.input('y', DataType.INT64, [3]);
      const p = b.input('p', DataType.BOOL, [3]);
      for (const op of ['Equal', 'Less', 'LessOrEqual', 'Greater', 'GreaterOrEqual']) b.op(op, [x, y], { output: op });
      b.op('And', [b.op('Equal', [x, y]), p], { output: 'and' });
      b.op('Not', [p], { output: 'not' });
      b.op('IsNaN', [b.input('f', DataType.FLOAT, [5])], { output: 'nan' });
    });
    for (const name of ['Equal', 'Less', 'LessOrEqual', 'Greater', 'GreaterOrEqual', 'and']) {
      expect(result.type(name)).toEqual({ kind: 'tensor', elementType: DataType.BOOL, shape: [2, 3] });
    }
    expect(result.type('not')).toEqual({ kind: 'tensor', elementType: DataType.BOOL, shape: [3] });
    expect(result.type('nan')).toEqual({ kind: 'tensor', elementType: DataType.BOOL, shape: [5] });
  });

  it('carries shape data through Cast (symbols included) and evaluates comparisons on it', () => {
    const result = infer((b) => {
      const x = b.input('x', DataType.FLOAT, ['batch', 4]);
      const shape = b.op('Cast', [b.op('Shape', [x])], { attributes: { to: DataType.INT32 } });
      const back = b.op('Cast', [shape], { attributes: { to: DataType.INT64 } });
      b.op('Reshape', [x, back], { output: 'same' });
      const last = b.op('Gather', [back, b.initializer(int64s('last', [-1], []))]);
      const isFour = b.op('Equal', [last, b.initializer(int64s('four', [4], []))]);
      const thenBranch = new GraphBuilder('then');
      thenBranch.output(thenBranch.op('Identity', [x], { output: 'picked' }));
      const elseBranch = new GraphBuilder('else');
      elseBranch.output(elseBranch.op('Transpose', [x], { output: 'flipped' }));
      b.op('If', [isFour], {
        output: 'chosen',
        attributes: { then_branch: thenBranch.graph, else_branch: elseBranch.graph },
      });
    });
    expect(result.shape('same')).toEqual(['batch', 4]);
    // The condition is known (4 == 4): the If takes the then branch.
    expect(result.shape('chosen')).toEqual(['batch', 4]);
  });
});
