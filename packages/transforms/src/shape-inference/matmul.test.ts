import { describe, expect, it } from 'vitest';
import { einsumShape } from './matmul.js';
import { DataType, infer, zeros } from './test-support.js';

describe('MatMul, Gemm, Einsum', () => {
  it('follows numpy matmul: 1-D promotion and batch broadcasting, symbolic batch kept', () => {
    const result = infer((b) => {
      const a = b.input('a', DataType.FLOAT, ['batch', 1, 'seq', 64]);
      const w = b.initializer(zeros('w', [8, 64, 32]));
      const v = b.input('v', DataType.FLOAT, [32]);
      const m = b.op('MatMul', [a, w], { output: 'batched' });
      b.op('MatMul', [m, v], { output: 'vector' });
      b.op('MatMul', [v, b.initializer(zeros('w2', [32, 5]))], { output: 'row' });
    });
    expect(result.type('batched')).toEqual({
      kind: 'tensor',
      elementType: DataType.FLOAT,
      shape: ['batch', 8, 'seq', 32],
    });
    expect(result.shape('vector')).toEqual(['batch', 8, 'seq']);
    expect(result.shape('row')).toEqual([5]);
  });

  it('transposes Gemm operands', () => {
    const result = infer((b) => {
      const a = b.input('a', DataType.FLOAT, [4, 'n']);
      b.op('Gemm', [a, b.initializer(zeros('b', [7, 4]))], { output: 'y', attributes: { transA: 1, transB: 1 } });
      b.op('Gemm', [b.input('x', DataType.FLOAT, ['n', 16]), b.initializer(zeros('w', [16, 10]))], { output: 'z' });
    });
    expect(result.shape('y')).toEqual(['n', 7]);
    expect(result.shape('z')).toEqual(['n', 10]);
  });

  it('reports inner dims that differ', () => {
    const result = infer((b) => {
      b.op('MatMul', [b.input('a', DataType.FLOAT, [2, 3]), b.input('b', DataType.FLOAT, [4, 5])], { output: 'y' });
    });
    expect(result.diagnostics.map((diagnostic) => diagnostic.code)).toContain('SHAPE_MISMATCH');
  });

  it('reads Einsum equations, explicit and implicit, with ellipses', () => {
    expect(
      einsumShape('ij,jk->ik', [
        [2, 3],
        [3, 4],
      ]),
    ).toEqual([2, 4]);
    expect(
      einsumShape('bij,bjk', [
        ['n', 2, 3],
        ['n', 3, 4],
      ]),
    ).toEqual([2, 4]);
    expect(
      einsumShape('bij,bjk->bik', [
        ['n', 2, 3],
        ['n', 3, 4],
      ]),
    ).toEqual(['n', 2, 4]);
    expect(
      einsumShape('...ij,...jk->...ik', [
        [5, 2, 3],
        [3, 4],
      ]),
    ).toEqual([5, 2, 4]);
    expect(einsumShape('ii->i', [[3, 3]])).toEqual([3]);
    expect(einsumShape('ij->', [[3, 3]])).toEqual([]);
  });
});
