import { GraphBuilder } from '@whittle/ir';
import { describe, expect, it } from 'vitest';
import { reshapeShape, solveMissingDim } from './shape-ops.js';
import { DataType, floats, infer, int32s, int64s, zeros } from './test-support.js';

const INT64_MAX = 9223372036854775807n;

describe('Reshape', () => {
  it('copies 0 dims, solves -1, honours allowzero', () => {
    const result = infer((b) => {
      const x = b.input('x', DataType.FLOAT, [2, 3, 4]);
      b.op('Reshape', [x, b.initializer(int64s('a', [0, -1]))], { output: 'zeroAndMinus' });
      b.op('Reshape', [x, b.initializer(int64s('b', [-1, 4]))], { output: 'minusFirst' });
      b.op('Reshape', [x, b.initializer(int64s('c', [2, 0, 2, -1]))], { output: 'zeros' });
      const empty = b.input('empty', DataType.FLOAT, [0, 3]);
      b.op('Reshape', [empty, b.initializer(int64s('d', [3, 0]))], {
        output: 'allowZero',
        attributes: { allowzero: 1 },
      });
    });
    expect(result.shape('zeroAndMinus')).toEqual([2, 12]);
    expect(result.shape('minusFirst')).toEqual([6, 4]);
    expect(result.shape('zeros')).toEqual([2, 3, 2, 2]);
    expect(result.shape('allowZero')).toEqual([3, 0]);
  });

  it('keeps symbolic dims, cancelling them when solving -1', () => {
    expect(reshapeShape(['batch', 3, 4], [0, -1], false)).toEqual(['batch', 12]);
    expect(reshapeShape(['batch', 3, 4], ['batch', -1, 2], false)).toEqual(['batch', 6, 2]);
    expect(reshapeShape(['batch', 3, 4], [-1, 12], false)).toEqual([null, 12]);
    expect(reshapeShape([null, 3, 4], [0, -1], false)).toEqual([null, 12]);
    expect(solveMissingDim(['a', 'b', 6], ['b', 2])).toBe(null);
    expect(solveMissingDim(['a', 'b', 6], ['b', 'a', 2])).toBe(3);
  });

  it('follows a target built from Shape -> Gather -> Unsqueeze -> Concat (partial data propagation)', () => {
    const build = (batch: number | string) => (b: GraphBuilder) => {
      const x = b.input('x', DataType.FLOAT, [batch, 3, 4, 5]);
      const shape = b.op('Shape', [x]);
      const first = b.op('Gather', [shape, b.initializer(int64s('zero', [0], []))], { attributes: { axis: 0 } });
      const unsqueezed = b.op('Unsqueeze', [first, b.initializer(int64s('axes', [0]))]);
      const target = b.op('Concat', [unsqueezed, b.initializer(int64s('rest', [-1]))], { attributes: { axis: 0 } });
      b.output(b.op('Reshape', [x, target], { output: 'flat' }));
    };
    expect(infer(build('batch')).shape('flat')).toEqual(['batch', 60]);
    expect(infer(build(7)).shape('flat')).toEqual([7, 60]);
  });

  it('knows the rank from the target length when the target data is not known', () => {
    const result = infer((b) => {
      const x = b.input('x', DataType.FLOAT, [2, 3]);
      b.op('Reshape', [x, b.input('target', DataType.INT64, [3])], { output: 'rank3' });
      b.op('Reshape', [x, b.input('length1', DataType.INT64, [1])], { output: 'flat' });
    });
    expect(result.shape('rank3')).toEqual([null, null, null]);
    expect(result.shape('flat')).toEqual([6]);
  });
});

describe('Slice', () => {
  const sliced = (
    dims: (number | string)[],
    starts: number[],
    ends: (number | bigint)[],
    axes?: number[],
    steps?: number[],
  ) =>
    infer((b) => {
      const x = b.input('x', DataType.FLOAT, dims);
      const inputs = [x, b.initializer(int64s('starts', starts)), b.initializer(int64s('ends', ends))];
      if (axes) inputs.push(b.initializer(int64s('axes', axes)));
      if (steps) inputs.push(b.initializer(int64s('steps', steps)));
      b.op('Slice', inputs, { output: 'y' });
    }).shape('y');

  it('counts negative indices from the end and clamps out-of-range ones', () => {
    expect(sliced([20, 10, 5], [0, 0], [3, 10], [0, 1])).toEqual([3, 10, 5]);
    expect(sliced([20, 10, 5], [0, 0, 3], [-1, -1, -1])).toEqual([19, 9, 1]);
    expect(sliced([20, 10, 5], [1], [1000], [1])).toEqual([20, 9, 5]);
    expect(sliced([20, 10, 5], [1000], [1001], [1])).toEqual([20, 0, 5]);
    expect(sliced([20, 10, 5], [-100], [3], [-1])).toEqual([20, 10, 3]);
    expect(sliced([20, 10, 5], [0], [INT64_MAX], [-2])).toEqual([20, 10, 5]);
  });

  it('walks backwards with negative steps', () => {
    expect(sliced([20, 10, 5], [20, 10, 4], [0, 0, 1], [0, 1, 2], [-1, -3, -2])).toEqual([19, 3, 2]);
    expect(sliced([8], [-1], [-INT64_MAX], [0], [-1])).toEqual([8]);
    expect(sliced([8], [-1], [-INT64_MAX], [0], [-3])).toEqual([3]);
  });

  it('keeps a symbolic dim only when the slice takes all of it', () => {
    expect(sliced(['n', 4], [0], [INT64_MAX], [0])).toEqual(['n', 4]);
    expect(sliced(['n', 4], [1], [INT64_MAX], [0])).toEqual([null, 4]);
    expect(sliced(['n', 4], [-1], [-INT64_MAX], [0], [-1])).toEqual(['n', 4]);
  });

  it('reads starts and ends from attributes before opset 10', () => {
    const result = infer((b) => {
      const x = b.input('x', DataType.FLOAT, [4, 6]);
      b.op('Slice', [x], { output: 'y', attributes: { starts: [1, -2], ends: [3, 100], axes: [0, 1] } });
    }, 9);
    expect(result.shape('y')).toEqual([2, 2]);
  });

  it('slices shape data', () => {
    const result = infer((b) => {
      const x = b.input('x', DataType.FLOAT, ['batch', 3, 4, 5]);
      const tail = b.op('Slice', [
        b.op('Shape', [x]),
        b.initializer(int64s('s', [2])),
        b.initializer(int64s('e', [4])),
      ]);
      const target = b.op('Concat', [b.initializer(int64s('head', [-1])), tail], { attributes: { axis: 0 } });
      b.op('Reshape', [x, target], { output: 'y' });
    });
    expect(result.shape('y')).toEqual([null, 4, 5]);
  });
});

describe('Squeeze, Unsqueeze, Flatten, Transpose', () => {
  it('takes axes from an input from opset 13 and from an attribute before', () => {
    const opset13 = infer((b) => {
      const x = b.input('x', DataType.FLOAT, [1, 'n', 1, 4]);
      b.op('Squeeze', [x, b.initializer(int64s('axes', [0, -2]))], { output: 'squeezed' });
      b.op('Unsqueeze', [x, b.initializer(int64s('more', [0, -1]))], { output: 'unsqueezed' });
    }, 13);
    expect(opset13.shape('squeezed')).toEqual(['n', 4]);
    expect(opset13.shape('unsqueezed')).toEqual([1, 1, 'n', 1, 4, 1]);
    const opset11 = infer((b) => {
      const x = b.input('x', DataType.FLOAT, [1, 3, 1]);
      b.op('Squeeze', [x], { output: 'all' });
      b.op('Unsqueeze', [x], { output: 'unsqueezed', attributes: { axes: [1] } });
    }, 11);
    expect(opset11.shape('all')).toEqual([3]);
    expect(opset11.shape('unsqueezed')).toEqual([1, 1, 3, 1]);
  });

  it('does not squeeze dims it does not know to be 1 without axes', () => {
    const result = infer((b) => {
      b.op('Squeeze', [b.input('x', DataType.FLOAT, [1, 'n', 3])], { output: 'y' });
    });
    expect(result.type('y')).toEqual({ kind: 'tensor', elementType: DataType.FLOAT });
  });

  it('flattens around the axis and transposes (default: reversed)', () => {
    const result = infer((b) => {
      const x = b.input('x', DataType.FLOAT, ['n', 3, 4, 5]);
      b.op('Flatten', [x], { output: 'flat' });
      b.op('Flatten', [x], { output: 'flat2', attributes: { axis: 2 } });
      b.op('Flatten', [x], { output: 'flat0', attributes: { axis: 0 } });
      b.op('Transpose', [x], { output: 'reversed' });
      b.op('Transpose', [x], { output: 'nhwc', attributes: { perm: [0, 2, 3, 1] } });
    });
    expect(result.shape('flat')).toEqual(['n', 60]);
    expect(result.shape('flat2')).toEqual([null, 20]);
    expect(result.shape('flat0')).toEqual([1, null]);
    expect(result.shape('reversed')).toEqual([5, 4, 3, 'n']);
    expect(result.shape('nhwc')).toEqual(['n', 4, 5, 3]);
  });
});

describe('Concat, Split, Gather, Expand, Tile, Pad', () => {
  it('concatenates along the axis', () => {
    const result = infer((b) => {
      const x = b.input('x', DataType.FLOAT, ['n', 3]);
      const y = b.input('y', DataType.FLOAT, [null, 5]);
      b.op('Concat', [x, y], { output: 'wide', attributes: { axis: -1 } });
      b.op('Concat', [x, x], { output: 'tall', attributes: { axis: 0 } });
    });
    expect(result.shape('wide')).toEqual(['n', 8]);
    expect(result.shape('tall')).toEqual([null, 3]);
  });

  it('splits equally, by sizes, and (opset 18) into num_outputs uneven parts', () => {
    const equal = infer((b) => {
      b.node('Split', [b.input('x', DataType.FLOAT, [6, 'n'])], { outputs: ['a', 'b', 'c'] });
    });
    expect([equal.shape('a'), equal.shape('c')]).toEqual([
      [2, 'n'],
      [2, 'n'],
    ]);
    const sized = infer((b) => {
      const x = b.input('x', DataType.FLOAT, [2, 6]);
      b.node('Split', [x, b.initializer(int64s('split', [2, 4]))], { outputs: ['a', 'b'], attributes: { axis: 1 } });
    });
    expect([sized.shape('a'), sized.shape('b')]).toEqual([
      [2, 2],
      [2, 4],
    ]);
    const uneven = infer((b) => {
      b.node('Split', [b.input('x', DataType.FLOAT, [7])], {
        outputs: ['a', 'b', 'c'],
        attributes: { num_outputs: 3 },
      });
    }, 18);
    expect([uneven.shape('a'), uneven.shape('b'), uneven.shape('c')]).toEqual([[3], [3], [1]]);
  });

  it('gathers: data dims around the indices dims', () => {
    const result = infer((b) => {
      const x = b.input('x', DataType.FLOAT, [5, 'n', 4]);
      b.op('Gather', [x, b.input('i', DataType.INT64, [2, 3])], { output: 'g', attributes: { axis: 1 } });
      b.op('Gather', [x, b.initializer(int64s('scalar', [-1], []))], { output: 'row' });
    });
    expect(result.shape('g')).toEqual([5, 2, 3, 4]);
    expect(result.shape('row')).toEqual(['n', 4]);
  });

  it('expands, tiles and pads with constant parameters', () => {
    const result = infer((b) => {
      const x = b.input('x', DataType.FLOAT, [3, 1]);
      b.op('Expand', [x, b.initializer(int64s('shape', [2, 1, 6]))], { output: 'expanded' });
      b.op('Tile', [x, b.initializer(int64s('repeats', [2, 3]))], { output: 'tiled' });
      b.op('Pad', [x, b.initializer(int64s('pads', [1, 0, 2, 4]))], { output: 'padded' });
      const symbolic = b.input('s', DataType.FLOAT, ['n', 2]);
      b.op('Pad', [symbolic, b.initializer(int64s('pads2', [0, 1, 0, 1]))], { output: 'paddedSymbolic' });
    });
    expect(result.shape('expanded')).toEqual([2, 3, 6]);
    expect(result.shape('tiled')).toEqual([6, 3]);
    expect(result.shape('padded')).toEqual([6, 5]);
    expect(result.shape('paddedSymbolic')).toEqual(['n', 4]);
  });
});

describe('Shape, Size, ConstantOfShape, Range, Constant', () => {
  it('gives int64 shapes (with start/end from opset 15) and sizes', () => {
    const result = infer((b) => {
      const x = b.input('x', DataType.FLOAT, ['n', 3, 4]);
      b.op('Shape', [x], { output: 'shape' });
      b.op('Shape', [x], { output: 'tail', attributes: { start: -2 } });
      b.op('Size', [x], { output: 'size' });
    }, 15);
    expect(result.type('shape')).toEqual({ kind: 'tensor', elementType: DataType.INT64, shape: [3] });
    expect(result.shape('tail')).toEqual([2]);
    expect(result.type('size')).toEqual({ kind: 'tensor', elementType: DataType.INT64, shape: [] });
  });

  it('fills a constant shape with the value type (float by default)', () => {
    const result = infer((b) => {
      const shape = b.initializer(int64s('shape', [2, 3]));
      b.op('ConstantOfShape', [shape], { output: 'floats' });
      b.op('ConstantOfShape', [shape], { output: 'ints', attributes: { value: int32s('v', [7], [1]) } });
    });
    expect(result.type('floats')).toEqual({ kind: 'tensor', elementType: DataType.FLOAT, shape: [2, 3] });
    expect(result.type('ints')).toEqual({ kind: 'tensor', elementType: DataType.INT32, shape: [2, 3] });
  });

  it('sizes a constant Range like onnxruntime', () => {
    const result = infer((b) => {
      const scalar = (name: string, value: number) => b.initializer(floats(name, [value], []));
      b.op('Range', [scalar('start', 1), scalar('limit', 5), scalar('delta', 1.5)], { output: 'floats' });
      b.op(
        'Range',
        [
          b.initializer(int64s('s', [10], [])),
          b.initializer(int64s('l', [4], [])),
          b.initializer(int64s('d', [-3], [])),
        ],
        { output: 'down' },
      );
      b.op(
        'Range',
        [
          b.input('dynamic', DataType.INT32, []),
          b.initializer(int32s('l32', [4], [])),
          b.initializer(int32s('d32', [1], [])),
        ],
        { output: 'unknown' },
      );
    });
    expect(result.type('floats')).toEqual({ kind: 'tensor', elementType: DataType.FLOAT, shape: [3] });
    expect(result.type('down')).toEqual({ kind: 'tensor', elementType: DataType.INT64, shape: [2] });
    expect(result.type('unknown')).toEqual({ kind: 'tensor', elementType: DataType.INT32, shape: [null] });
  });

  it('types Constant nodes from every value attribute', () => {
    const result = infer((b) => {
      b.op('Constant', [], { output: 'tensor', attributes: { value: zeros('w', [2, 3]) } });
      b.op('Constant', [], { output: 'ints', attributes: { value_ints: [1, 2, 3] } });
      b.op('Constant', [], { output: 'float', attributes: { value_float: { type: 'float', value: 2 } } });
    });
    expect(result.type('tensor')).toEqual({ kind: 'tensor', elementType: DataType.FLOAT, shape: [2, 3] });
    expect(result.type('ints')).toEqual({ kind: 'tensor', elementType: DataType.INT64, shape: [3] });
    expect(result.type('float')).toEqual({ kind: 'tensor', elementType: DataType.FLOAT, shape: [] });
  });

  it('rejects a Reshape whose sizes cannot match', () => {
    const result = infer((b) => {
      b.op('Reshape', [b.input('x', DataType.FLOAT, [2, 3]), b.initializer(int64s('t', [4, -1]))], { output: 'y' });
    });
    expect(result.type('y')).toBeUndefined();
    expect(result.diagnostics.map((diagnostic) => diagnostic.code)).toContain('SHAPE_MISMATCH');
  });

  it('builds graphs with GraphBuilder for these tests', () => {
    expect(new GraphBuilder().graph.nodeCount).toBe(0);
  });
});
