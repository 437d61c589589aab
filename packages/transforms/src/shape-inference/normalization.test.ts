import { describe, expect, it } from 'vitest';
import { DataType, infer, zeros } from './test-support.js';

describe('normalization and softmax', () => {
  it('keeps the input type; statistics are per channel or over the normalized axes', () => {
    const result = infer((b) => {
      const x = b.input('x', DataType.FLOAT, ['n', 8, 5, 5]);
      const c = (name: string) => b.initializer(zeros(name, [8]));
      b.op('BatchNormalization', [x, c('scale'), c('bias'), c('mean'), c('var')], { output: 'bn' });
      b.node('BatchNormalization', [x, c('s2'), c('b2'), c('m2'), c('v2')], {
        outputs: ['train', 'runningMean', 'runningVar'],
        attributes: { training_mode: 1 },
      });
      b.op('InstanceNormalization', [x, c('s3'), c('b3')], { output: 'in' });
      b.node('LayerNormalization', [x, b.initializer(zeros('ls', [5, 5]))], {
        outputs: ['ln', 'lnMean', 'lnInvStd'],
        attributes: { axis: -2 },
      });
      b.op('Softmax', [x], { output: 'softmax', attributes: { axis: 1 } });
      b.op('LogSoftmax', [x], { output: 'logSoftmax' });
    });
    for (const name of ['bn', 'train', 'in', 'ln', 'softmax', 'logSoftmax']) {
      expect(result.type(name)).toEqual({ kind: 'tensor', elementType: DataType.FLOAT, shape: ['n', 8, 5, 5] });
    }
    expect(result.shape('runningMean')).toEqual([8]);
    expect(result.shape('runningVar')).toEqual([8]);
    expect(result.type('lnMean')).toEqual({ kind: 'tensor', elementType: DataType.FLOAT, shape: ['n', 8, 1, 1] });
    expect(result.shape('lnInvStd')).toEqual(['n', 8, 1, 1]);
  });
});
