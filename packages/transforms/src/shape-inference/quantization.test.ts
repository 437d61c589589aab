import { Tensor } from '@whittle/ir';
import { describe, expect, it } from 'vitest';
import { DataType, floats, infer, zeros } from './test-support.js';

const int8 = (name: string, dims: number[] = []) =>
  Tensor.fromArray(name, DataType.INT8, dims, new Int8Array(dims.reduce((a, b) => a * b, 1)));
const uint8 = (name: string, dims: number[] = []) =>
  Tensor.fromArray(name, DataType.UINT8, dims, new Uint8Array(dims.reduce((a, b) => a * b, 1)));

describe('quantization ops', () => {
  it('QuantizeLinear gives the zero point type (uint8 without one), DequantizeLinear the scale type', () => {
    const result = infer((b) => {
      const x = b.input('x', DataType.FLOAT, ['n', 4]);
      const scale = b.initializer(floats('scale', [0.1], []));
      b.op('QuantizeLinear', [x, scale, b.initializer(int8('zp'))], { output: 'q8' });
      const q = b.op('QuantizeLinear', [x, scale], { output: 'qu8' });
      b.op('DequantizeLinear', [q, scale], { output: 'dq' });
      b.node('DynamicQuantizeLinear', [x], { outputs: ['y', 'yScale', 'yZero'] });
    }, 13);
    expect(result.type('q8')).toEqual({ kind: 'tensor', elementType: DataType.INT8, shape: ['n', 4] });
    expect(result.type('qu8')).toEqual({ kind: 'tensor', elementType: DataType.UINT8, shape: ['n', 4] });
    expect(result.type('dq')).toEqual({ kind: 'tensor', elementType: DataType.FLOAT, shape: ['n', 4] });
    expect(result.type('y')).toEqual({ kind: 'tensor', elementType: DataType.UINT8, shape: ['n', 4] });
    expect(result.type('yScale')).toEqual({ kind: 'tensor', elementType: DataType.FLOAT, shape: [] });
    expect(result.type('yZero')).toEqual({ kind: 'tensor', elementType: DataType.UINT8, shape: [] });
  });

  it('QLinear ops give the output zero point type; integer ops int32', () => {
    const result = infer((b) => {
      const x = b.input('x', DataType.UINT8, [1, 2, 5, 5]);
      const s = b.initializer(floats('s', [1], []));
      const zx = b.initializer(uint8('zx'));
      const w = b.initializer(int8('w', [4, 2, 3, 3]));
      const zw = b.initializer(int8('zw'));
      const zy = b.initializer(int8('zy'));
      b.op('QLinearConv', [x, s, zx, w, s, zw, s, zy], { output: 'conv', attributes: { pads: [1, 1, 1, 1] } });
      b.op('ConvInteger', [x, w], { output: 'convInt' });
      const a = b.input('a', DataType.UINT8, ['n', 6]);
      const m = b.initializer(uint8('m', [6, 3]));
      b.op('QLinearMatMul', [a, s, zx, m, s, zx, s, zy], { output: 'matmul' });
      b.op('MatMulInteger', [a, m], { output: 'matmulInt' });
      b.initializer(zeros('unused', [1]));
    });
    expect(result.type('conv')).toEqual({ kind: 'tensor', elementType: DataType.INT8, shape: [1, 4, 5, 5] });
    expect(result.type('convInt')).toEqual({ kind: 'tensor', elementType: DataType.INT32, shape: [1, 4, 3, 3] });
    expect(result.type('matmul')).toEqual({ kind: 'tensor', elementType: DataType.INT8, shape: ['n', 3] });
    expect(result.type('matmulInt')).toEqual({ kind: 'tensor', elementType: DataType.INT32, shape: ['n', 3] });
  });
});
