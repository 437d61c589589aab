import { describe, expect, it } from 'vitest';
import { DataType, infer, int64s } from './test-support.js';

describe('TopK, NonZero, Unique, NonMaxSuppression, sequences, optionals', () => {
  it('types data-dependent outputs with unknown dims', () => {
    const result = infer((b) => {
      const x = b.input('x', DataType.FLOAT, [3, 'n']);
      b.node('TopK', [x, b.initializer(int64s('k', [2]))], { outputs: ['values', 'indices'] });
      b.op('NonZero', [x], { output: 'nonzero' });
      b.node('Unique', [x], { outputs: ['unique', 'first', 'inverse', 'counts'] });
      b.op(
        'NonMaxSuppression',
        [b.input('boxes', DataType.FLOAT, [1, 6, 4]), b.input('scores', DataType.FLOAT, [1, 1, 6])],
        {
          output: 'selected',
        },
      );
    });
    expect(result.type('values')).toEqual({ kind: 'tensor', elementType: DataType.FLOAT, shape: [3, 2] });
    expect(result.type('indices')).toEqual({ kind: 'tensor', elementType: DataType.INT64, shape: [3, 2] });
    expect(result.type('nonzero')).toEqual({ kind: 'tensor', elementType: DataType.INT64, shape: [2, null] });
    expect(result.type('unique')).toEqual({ kind: 'tensor', elementType: DataType.FLOAT, shape: [null] });
    expect(result.shape('inverse')).toEqual([null]);
    expect(result.type('selected')).toEqual({ kind: 'tensor', elementType: DataType.INT64, shape: [null, 3] });
  });

  it('types sequences and optionals', () => {
    const result = infer((b) => {
      const x = b.input('x', DataType.FLOAT, [2, 3]);
      const sequence = b.op('SequenceConstruct', [x, x], { output: 'sequence' });
      b.op('SequenceAt', [sequence, b.initializer(int64s('at', [0], []))], { output: 'item' });
      b.op('SequenceLength', [sequence], { output: 'length' });
      b.op('ConcatFromSequence', [sequence], { output: 'stacked', attributes: { axis: 0, new_axis: 1 } });
      const optional = b.op('Optional', [x], { output: 'optional' });
      b.op('OptionalHasElement', [optional], { output: 'has' });
      b.op('OptionalGetElement', [optional], { output: 'element' });
    }, 18);
    const tensor = { kind: 'tensor', elementType: DataType.FLOAT, shape: [2, 3] };
    expect(result.type('sequence')).toEqual({ kind: 'sequence', elementType: tensor });
    expect(result.type('item')).toEqual(tensor);
    expect(result.type('length')).toEqual({ kind: 'tensor', elementType: DataType.INT64, shape: [] });
    expect(result.shape('stacked')).toEqual([null, 2, 3]);
    expect(result.type('optional')).toEqual({ kind: 'optional', elementType: tensor });
    expect(result.type('has')).toEqual({ kind: 'tensor', elementType: DataType.BOOL, shape: [] });
    expect(result.type('element')).toEqual(tensor);
  });
});
