import { describe, expect, it } from 'vitest';
import { DataType, infer, zeros } from './test-support.js';

describe('LSTM, GRU, RNN', () => {
  it('shapes Y and the states for one or two directions', () => {
    const result = infer((b) => {
      const x = b.input('x', DataType.FLOAT, ['seq', 'batch', 10]);
      b.node('LSTM', [x, b.initializer(zeros('w', [1, 80, 10])), b.initializer(zeros('r', [1, 80, 20]))], {
        outputs: ['y', 'yh', 'yc'],
        attributes: { hidden_size: 20 },
      });
      b.node('GRU', [x, b.initializer(zeros('gw', [2, 45, 10])), b.initializer(zeros('gr', [2, 45, 15]))], {
        outputs: ['gy', 'gyh'],
        attributes: { direction: 'bidirectional' },
      });
    });
    expect(result.type('y')).toEqual({ kind: 'tensor', elementType: DataType.FLOAT, shape: ['seq', 1, 'batch', 20] });
    expect(result.shape('yh')).toEqual([1, 'batch', 20]);
    expect(result.shape('yc')).toEqual([1, 'batch', 20]);
    expect(result.shape('gy')).toEqual(['seq', 2, 'batch', 15]);
    expect(result.shape('gyh')).toEqual([2, 'batch', 15]);
  });

  it('puts the batch first with layout 1', () => {
    const result = infer((b) => {
      const x = b.input('x', DataType.FLOAT, [4, 7, 3]);
      b.node('RNN', [x, b.initializer(zeros('w', [1, 5, 3])), b.initializer(zeros('r', [1, 5, 5]))], {
        outputs: ['y', 'yh'],
        attributes: { hidden_size: 5, layout: 1 },
      });
    });
    expect(result.shape('y')).toEqual([4, 7, 1, 5]);
    expect(result.shape('yh')).toEqual([4, 1, 5]);
  });
});
