import { describe, expect, it } from 'vitest';
import { windowOutputDim, windowSettings } from './conv-pool.js';
import { DataType, infer, zeros } from './test-support.js';

describe('Conv', () => {
  const conv = (
    xShape: (number | string)[],
    wShape: number[],
    attributes: Record<string, number | number[] | string>,
  ) =>
    infer((b) => {
      const x = b.input('x', DataType.FLOAT, xShape);
      b.op('Conv', [x, b.initializer(zeros('w', wShape))], { output: 'y', attributes });
    }).shape('y');

  it('applies pads, strides and dilations', () => {
    expect(conv([1, 3, 32, 32], [8, 3, 3, 3], { pads: [1, 1, 1, 1], strides: [2, 2] })).toEqual([1, 8, 16, 16]);
    expect(conv([1, 3, 32, 32], [8, 3, 3, 3], { dilations: [2, 2] })).toEqual([1, 8, 28, 28]);
    expect(conv([1, 3, 32, 30], [8, 3, 3, 5], { pads: [0, 2, 1, 0], strides: [3, 1] })).toEqual([1, 8, 11, 28]);
    expect(conv([2, 4, 10], [6, 2, 3], { group: 2, strides: [2] })).toEqual([2, 6, 4]);
  });

  it('honours auto_pad SAME_UPPER, SAME_LOWER and VALID', () => {
    expect(conv([1, 3, 33, 33], [8, 3, 3, 3], { auto_pad: 'SAME_UPPER', strides: [2, 2] })).toEqual([1, 8, 17, 17]);
    expect(conv([1, 3, 33, 33], [8, 3, 4, 4], { auto_pad: 'SAME_LOWER', strides: [1, 1] })).toEqual([1, 8, 33, 33]);
    expect(conv([1, 3, 33, 33], [8, 3, 3, 3], { auto_pad: 'VALID', strides: [2, 2] })).toEqual([1, 8, 16, 16]);
  });

  it('keeps the symbolic batch and spatial dims a window leaves unchanged', () => {
    expect(conv(['batch', 3, 'h', 'w'], [8, 3, 3, 3], { pads: [1, 1, 1, 1] })).toEqual(['batch', 8, 'h', 'w']);
    expect(conv(['batch', 3, 'h', 'w'], [8, 3, 3, 3], { strides: [2, 2], pads: [1, 1, 1, 1] })).toEqual([
      'batch',
      8,
      null,
      null,
    ]);
    expect(conv(['batch', 3, 'h', 'w'], [8, 3, 3, 3], { auto_pad: 'SAME_UPPER' })).toEqual(['batch', 8, 'h', 'w']);
  });

  it('reports channels that do not match the weight', () => {
    const result = infer((b) => {
      b.op('Conv', [b.input('x', DataType.FLOAT, [1, 4, 8, 8]), b.initializer(zeros('w', [8, 3, 3, 3]))], {
        output: 'y',
      });
    });
    expect(result.type('y')).toBeUndefined();
    expect(result.diagnostics.map((diagnostic) => diagnostic.code)).toContain('SHAPE_MISMATCH');
  });
});

describe('ConvTranspose', () => {
  it('grows by strides, output padding and groups', () => {
    const result = infer((b) => {
      const x = b.input('x', DataType.FLOAT, [1, 4, 8, 8]);
      const w = b.initializer(zeros('w', [4, 2, 3, 3]));
      b.op('ConvTranspose', [x, w], {
        output: 'y',
        attributes: { strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1], group: 2 },
      });
      b.op('ConvTranspose', [x, w], { output: 'same', attributes: { strides: [2, 2], auto_pad: 'SAME_UPPER' } });
      b.op('ConvTranspose', [x, w], { output: 'explicit', attributes: { strides: [2, 2], output_shape: [20, 21] } });
    });
    expect(result.shape('y')).toEqual([1, 4, 16, 16]);
    expect(result.shape('same')).toEqual([1, 2, 16, 16]);
    expect(result.shape('explicit')).toEqual([1, 2, 20, 21]);
  });
});

describe('pooling', () => {
  it('floors by default and ceils with ceil_mode, MaxPool indices are int64', () => {
    const result = infer((b) => {
      const x = b.input('x', DataType.FLOAT, [1, 2, 7, 7]);
      b.node('MaxPool', [x], { outputs: ['floor', 'indices'], attributes: { kernel_shape: [2, 2], strides: [2, 2] } });
      b.op('MaxPool', [x], { output: 'ceil', attributes: { kernel_shape: [2, 2], strides: [2, 2], ceil_mode: 1 } });
      b.op('AveragePool', [x], { output: 'padded', attributes: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } });
      b.op('GlobalAveragePool', [x], { output: 'global' });
      b.op('LpPool', [b.input('seq', DataType.FLOAT, ['n', 4, 10])], {
        output: 'lp',
        attributes: { kernel_shape: [3], strides: [2] },
      });
    });
    expect(result.shape('floor')).toEqual([1, 2, 3, 3]);
    expect(result.type('indices')).toEqual({ kind: 'tensor', elementType: DataType.INT64, shape: [1, 2, 3, 3] });
    expect(result.shape('ceil')).toEqual([1, 2, 4, 4]);
    expect(result.shape('padded')).toEqual([1, 2, 7, 7]);
    expect(result.shape('global')).toEqual([1, 2, 1, 1]);
    expect(result.shape('lp')).toEqual(['n', 4, 4]);
  });

  it('says nothing when a ceil-mode window would start in the end padding', () => {
    // in 5, kernel 2, stride 2, pad end 1: ceil gives 4 windows, the last starting at 6 (in the padding).
    const settings = windowSettings({ attribute: () => undefined } as never, 1, [2]);
    expect(windowOutputDim(5, 0, 1, { ...settings, strides: [2], pads: [0, 1], ceilMode: true })).toBe(3);
    expect(windowOutputDim(4, 0, 1, { ...settings, strides: [2], pads: [0, 2], ceilMode: true })).toBe(null);
  });
});
