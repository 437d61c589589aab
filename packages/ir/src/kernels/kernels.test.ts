import { describe, expect, it } from 'vitest';
import { type AttributeShorthand, toAttribute } from '../builder.js';
import { decodeFloat16, encodeFloat16 } from '../codecs/float16.js';
import { DataType } from '../data-type.js';
import { Node } from '../node.js';
import { Tensor } from '../tensor.js';
import { Value } from '../value.js';
import {
  bigintToFloat32,
  broadcastDims,
  constantNodeValue,
  evaluateNode,
  hasKernel,
  kernelOperators,
  MATMUL_WORK_LIMIT,
} from './index.js';

const f32 = (dims: number[], values: number[]) => Tensor.fromArray('', DataType.FLOAT, dims, Float32Array.from(values));
const f64 = (dims: number[], values: number[]) =>
  Tensor.fromArray('', DataType.DOUBLE, dims, Float64Array.from(values));
const f16 = (dims: number[], values: number[]) => Tensor.fromArray('', DataType.FLOAT16, dims, encodeFloat16(values));
const i32 = (dims: number[], values: number[]) => Tensor.fromArray('', DataType.INT32, dims, Int32Array.from(values));
const i8 = (dims: number[], values: number[]) => Tensor.fromArray('', DataType.INT8, dims, Int8Array.from(values));
const u8 = (dims: number[], values: number[]) => Tensor.fromArray('', DataType.UINT8, dims, Uint8Array.from(values));
const bool = (dims: number[], values: boolean[]) =>
  Tensor.fromArray(
    '',
    DataType.BOOL,
    dims,
    Uint8Array.from(values, (value) => (value ? 1 : 0)),
  );
const i64 = (dims: number[], values: (number | bigint)[]) =>
  Tensor.fromArray(
    '',
    DataType.INT64,
    dims,
    BigInt64Array.from(values, (value) => BigInt(value)),
  );
const strings = (dims: number[], values: string[]) => Tensor.fromStrings('', dims, values);

interface Options {
  attributes?: Record<string, AttributeShorthand>;
  opset?: number;
  outputs?: number;
  maxElements?: number;
}

function evaluate(opType: string, inputs: (Tensor | undefined)[], options: Options = {}): Tensor[] | undefined {
  const node = new Node({
    opType,
    inputs: inputs.map((tensor, index) => (tensor ? new Value(`input${index}`) : undefined)),
    outputs: Array.from({ length: options.outputs ?? 1 }, (_, index) => `output${index}`),
    attributes: Object.entries(options.attributes ?? {}).map(([name, value]) => toAttribute(name, value)),
  });
  return evaluateNode(
    node,
    inputs,
    options.opset ?? 17,
    options.maxElements === undefined ? {} : { maxElements: options.maxElements },
  );
}

/** The single output of a node that must evaluate. */
function one(opType: string, inputs: (Tensor | undefined)[], options: Options = {}): Tensor {
  const outputs = evaluate(opType, inputs, options);
  expect(outputs, `${opType} was refused`).toBeDefined();
  return outputs![0]!;
}

const values = (tensor: Tensor) =>
  tensor.dataType === DataType.FLOAT16
    ? Array.from(decodeFloat16(tensor.toArray() as Uint16Array))
    : Array.from(tensor.toArray() as ArrayLike<number | bigint>, (value) =>
        typeof value === 'bigint' ? Number(value) : value,
      );

describe('registry', () => {
  it('lists its operators and refuses everything else', () => {
    const operators = kernelOperators();
    for (const op of ['Shape', 'Gather', 'Reshape', 'Slice', 'Cast', 'Add', 'ReduceSum', 'MatMul', 'Where']) {
      expect(operators).toContain(op);
    }
    expect(evaluate('Conv', [f32([1], [1]), f32([1], [1])])).toBeUndefined();
    expect(evaluate('RandomUniformLike', [f32([1], [1])])).toBeUndefined();
    expect(hasKernel(new Node({ opType: 'Add' }))).toBe(true);
    expect(hasKernel(new Node({ opType: 'Add', domain: 'com.microsoft' }))).toBe(false);
  });

  it('refuses other domains, unknown attributes and missing inputs', () => {
    const node = new Node({
      opType: 'Add',
      domain: 'com.acme',
      inputs: [new Value('a'), new Value('b')],
      outputs: ['y'],
    });
    expect(evaluateNode(node, [f32([1], [1]), f32([1], [2])], 17)).toBeUndefined();
    expect(evaluate('Add', [f32([1], [1]), f32([1], [2])], { attributes: { broadcast: 1 } })).toBeUndefined();
    expect(evaluate('Relu', [f32([1], [1])], { attributes: { consumed_inputs: [0] } })).toBeUndefined();
    const named = new Node({ opType: 'Add', inputs: [new Value('a'), new Value('b')], outputs: ['y'] });
    expect(evaluateNode(named, [f32([1], [1]), undefined], 17)).toBeUndefined();
  });

  it('refuses nodes with more outputs than the operator has', () => {
    expect(evaluate('Add', [f32([1], [1]), f32([1], [2])], { outputs: 2 })).toBeUndefined();
  });
});

describe('broadcasting', () => {
  it('follows numpy rules', () => {
    expect(broadcastDims([[2, 3], [3]])).toEqual([2, 3]);
    expect(broadcastDims([[2, 1, 4], [3, 1], []])).toEqual([2, 3, 4]);
    expect(
      broadcastDims([
        [0, 3],
        [1, 3],
      ]),
    ).toEqual([0, 3]);
    expect(() => broadcastDims([[2, 3], [2]])).toThrow();
  });

  it('adds a row to a matrix and a column to a row', () => {
    const sum = one('Add', [f32([2, 3], [1, 2, 3, 4, 5, 6]), f32([3], [10, 20, 30])]);
    expect(sum.dims).toEqual([2, 3]);
    expect(values(sum)).toEqual([11, 22, 33, 14, 25, 36]);
    const outer = one('Mul', [i32([3, 1], [1, 2, 3]), i32([1, 2], [10, 100])]);
    expect(outer.dims).toEqual([3, 2]);
    expect(values(outer)).toEqual([10, 100, 20, 200, 30, 300]);
  });

  it('broadcasts scalars and empty tensors', () => {
    expect(values(one('Sub', [f32([], [5]), f32([2], [1, 2])]))).toEqual([4, 3]);
    const empty = one('Add', [f32([0, 3], []), f32([3], [1, 2, 3])]);
    expect(empty.dims).toEqual([0, 3]);
    expect(empty.elementCount).toBe(0);
  });

  it('refuses shapes that do not broadcast, and implicit broadcasting before opset 7', () => {
    expect(evaluate('Add', [f32([2], [1, 2]), f32([3], [1, 2, 3])])).toBeUndefined();
    expect(evaluate('Add', [f32([2, 2], [1, 2, 3, 4]), f32([2], [1, 2])], { opset: 6 })).toBeUndefined();
    expect(values(one('Add', [f32([2], [1, 2]), f32([2], [3, 4])], { opset: 6 }))).toEqual([4, 6]);
  });

  it('broadcasts Where over all three inputs, strings included', () => {
    const chosen = one('Where', [bool([2, 1], [true, false]), strings([2], ['a', 'b']), strings([], ['z'])]);
    expect(chosen.dims).toEqual([2, 2]);
    expect(chosen.strings()).toEqual(['a', 'b', 'z', 'z']);
  });
});

describe('arithmetic', () => {
  it('rounds float results to float32', () => {
    const sum = one('Add', [f32([1], [0.1]), f32([1], [0.2])]);
    expect(sum.dataType).toBe(DataType.FLOAT);
    expect(values(sum)[0]).toBe(Math.fround(Math.fround(0.1) + Math.fround(0.2)));
    expect(values(one('Div', [f32([1], [1]), f32([1], [3])]))[0]).toBe(Math.fround(1 / 3));
    expect(values(one('Add', [f64([1], [0.1]), f64([1], [0.2])]))[0]).toBe(0.1 + 0.2);
  });

  it('rounds float16 results to float16', () => {
    const sum = one('Add', [f16([1], [1]), f16([1], [2 ** -11])]);
    expect(sum.dataType).toBe(DataType.FLOAT16);
    expect(values(sum)).toEqual([1]); // the tie rounds to even
  });

  it('divides integers truncating toward zero and refuses division by zero', () => {
    expect(values(one('Div', [i32([4], [7, -7, 7, -7]), i32([4], [2, 2, -2, -2])]))).toEqual([3, -3, -3, 3]);
    expect(values(one('Div', [i64([2], [-7n, 2n ** 62n + 1n]), i64([2], [2, 2])]))).toEqual([-3, 2 ** 61]);
    expect(evaluate('Div', [i32([1], [1]), i32([1], [0])])).toBeUndefined();
    expect(evaluate('Div', [i64([1], [1]), i64([1], [0])])).toBeUndefined();
    expect(evaluate('Div', [i32([1], [-(2 ** 31)]), i32([1], [-1])])).toBeUndefined();
  });

  it('wraps integer overflow like C++', () => {
    expect(values(one('Add', [i8([1], [127]), i8([1], [1])]))).toEqual([-128]);
    expect(values(one('Mul', [i32([1], [65536]), i32([1], [65537])]))).toEqual([65536]);
    const big = one('Mul', [i64([1], [2n ** 62n]), i64([1], [4])]);
    expect((big.toArray() as BigInt64Array)[0]).toBe(0n);
    expect(values(one('Sub', [u8([1], [0]), u8([1], [1])]))).toEqual([255]);
  });

  it('keeps int64 values beyond 2^53 exact', () => {
    const sum = one('Add', [i64([1], [2n ** 60n + 1n]), i64([1], [2])]);
    expect((sum.toArray() as BigInt64Array)[0]).toBe(2n ** 60n + 3n);
  });

  it('refuses mixed element types', () => {
    expect(evaluate('Add', [f32([1], [1]), f64([1], [1])])).toBeUndefined();
  });

  it('computes Mod with the divisor’s sign, or C fmod', () => {
    expect(values(one('Mod', [i32([4], [5, -5, 5, -5]), i32([4], [3, 3, -3, -3])]))).toEqual([2, 1, -1, -2]);
    const fmod = one('Mod', [i32([2], [-5, 5]), i32([2], [3, -3])], { attributes: { fmod: 1 } });
    expect(values(fmod)).toEqual([-2, 2]);
    expect(evaluate('Mod', [f32([1], [1]), f32([1], [1])])).toBeUndefined();
  });

  it('takes Pow like ONNX Runtime', () => {
    expect(values(one('Pow', [f32([2], [3, -2]), f32([], [2])]))).toEqual([9, 4]);
    expect(values(one('Pow', [f32([1], [4]), i64([], [3])]))).toEqual([64]);
    expect(values(one('Pow', [f32([1], [4]), f32([], [0.5])]))).toEqual([2]);
    expect(values(one('Pow', [i32([2], [3, 2]), i32([2], [3, 10])]))).toEqual([27, 1024]);
    expect(values(one('Pow', [i64([1], [3]), f32([1], [2.5])]))).toEqual([15]);
    expect(evaluate('Pow', [i32([1], [2]), i32([1], [40])])).toBeUndefined();
    expect(evaluate('Pow', [i32([1], [-2]), f32([1], [0.5])])).toBeUndefined();
  });

  it('evaluates Sqrt, Reciprocal, Exp, Log, Floor, Ceil, Round, Neg, Abs', () => {
    expect(values(one('Sqrt', [f32([2], [4, 2])]))).toEqual([2, Math.fround(Math.SQRT2)]);
    expect(values(one('Reciprocal', [f32([1], [4])]))).toEqual([0.25]);
    expect(values(one('Exp', [f32([1], [0])]))).toEqual([1]);
    expect(values(one('Log', [f32([1], [1])]))).toEqual([0]);
    expect(values(one('Floor', [f32([2], [-1.5, 1.5])]))).toEqual([-2, 1]);
    expect(values(one('Ceil', [f32([2], [-1.5, 1.5])]))).toEqual([-1, 2]);
    expect(values(one('Round', [f32([4], [0.5, 1.5, 2.5, -0.5])]))).toEqual([0, 2, 2, -0]);
    expect(values(one('Neg', [i64([1], [5])]))).toEqual([-5]);
    expect(evaluate('Neg', [u8([1], [5])])).toBeUndefined();
    expect(values(one('Abs', [i32([2], [-3, 3])]))).toEqual([3, 3]);
    expect(evaluate('Sqrt', [i32([1], [4])])).toBeUndefined();
  });

  it('evaluates the activations', () => {
    expect(values(one('Relu', [f32([2], [-1, 2])]))).toEqual([0, 2]);
    expect(values(one('Relu', [i64([2], [-1, 2])]))).toEqual([0, 2]);
    expect(values(one('Sigmoid', [f32([1], [0])]))).toEqual([0.5]);
    expect(values(one('Tanh', [f32([1], [0])]))).toEqual([0]);
    expect(values(one('LeakyRelu', [f32([2], [-1, 1])], { attributes: { alpha: 0.5 } }))).toEqual([-0.5, 1]);
  });
});

describe('comparisons and logic', () => {
  it('compares numbers and bigints into bool', () => {
    const less = one('Less', [f32([3], [1, 2, Number.NaN]), f32([], [2])]);
    expect(less.dataType).toBe(DataType.BOOL);
    expect(values(less)).toEqual([1, 0, 0]);
    expect(values(one('Equal', [i64([2], [2n ** 60n, 1]), i64([2], [2n ** 60n, 2])]))).toEqual([1, 0]);
    expect(values(one('Greater', [i32([2], [1, 3]), i32([2], [2, 2])]))).toEqual([0, 1]);
    expect(values(one('Equal', [bool([2], [true, false]), bool([2], [true, true])]))).toEqual([1, 0]);
    expect(evaluate('Less', [bool([1], [true]), bool([1], [false])])).toBeUndefined();
  });

  it('evaluates Not, And, Or, Xor on bool only', () => {
    expect(values(one('Not', [bool([2], [true, false])]))).toEqual([0, 1]);
    expect(values(one('And', [bool([2], [true, false]), bool([], [true])]))).toEqual([1, 0]);
    expect(values(one('Or', [bool([2], [true, false]), bool([], [false])]))).toEqual([1, 0]);
    expect(values(one('Xor', [bool([2], [true, false]), bool([], [true])]))).toEqual([0, 1]);
    expect(evaluate('And', [u8([1], [1]), u8([1], [1])])).toBeUndefined();
  });

  it('clips with attribute bounds before opset 11 and input bounds after', () => {
    const attributes = { min: -1.5, max: 1.5 };
    expect(values(one('Clip', [f32([3], [-3, 0, 3])], { attributes, opset: 6 }))).toEqual([-1.5, 0, 1.5]);
    expect(evaluate('Clip', [f32([3], [-3, 0, 3])], { attributes, opset: 11 })).toBeUndefined();
    expect(values(one('Clip', [f32([3], [-3, 0, 3]), f32([], [-1]), undefined]))).toEqual([-1, 0, 3]);
    expect(values(one('Clip', [i64([3], [-3, 0, 3]), undefined, i64([], [1])]))).toEqual([-3, 0, 1]);
    expect(values(one('Clip', [f32([1], [5]), f32([], [2]), f32([], [1])]))).toEqual([1]);
  });

  it('takes Min, Max, Sum and Mean over any number of broadcast inputs', () => {
    expect(values(one('Max', [f32([2], [1, 5]), f32([], [3]), f32([2, 1], [0, 9])]))).toEqual([3, 5, 9, 9]);
    expect(values(one('Min', [i64([2], [1, 5]), i64([], [3])]))).toEqual([1, 3]);
    expect(values(one('Max', [f32([2], [1, Number.NaN]), f32([2], [2, 0])]))).toEqual([2, Number.NaN]);
    expect(values(one('Sum', [f32([1], [1]), f32([1], [2]), f32([1], [3])]))).toEqual([6]);
    expect(values(one('Mean', [f32([1], [1]), f32([1], [2])]))).toEqual([1.5]);
  });
});

describe('shape operators', () => {
  const x = f32(
    [2, 3, 4],
    Array.from({ length: 24 }, (_, index) => index),
  );

  it('reads shapes with start and end', () => {
    expect(values(one('Shape', [x]))).toEqual([2, 3, 4]);
    expect(one('Shape', [x]).dataType).toBe(DataType.INT64);
    expect(values(one('Shape', [x], { attributes: { start: 1 } }))).toEqual([3, 4]);
    expect(values(one('Shape', [x], { attributes: { start: -1 } }))).toEqual([4]);
    expect(values(one('Shape', [x], { attributes: { end: -1 } }))).toEqual([2, 3]);
    expect(values(one('Shape', [x], { attributes: { start: 5, end: 10 } }))).toEqual([]);
    expect(values(one('Size', [x]))).toEqual([24]);
    expect(one('Size', [x]).dims).toEqual([]);
  });

  it('reshapes with 0, -1 and allowzero, sharing the data', () => {
    const reshaped = one('Reshape', [x, i64([3], [0, -1, 2])]);
    expect(reshaped.dims).toEqual([2, 6, 2]);
    expect(reshaped.data).toBe(x.data);
    expect(one('Reshape', [x, i64([2], [-1, 4])]).dims).toEqual([6, 4]);
    const empty = f32([0, 3], []);
    expect(one('Reshape', [empty, i64([2], [3, 0])], { attributes: { allowzero: 1 } }).dims).toEqual([3, 0]);
    expect(one('Reshape', [empty, i64([2], [0, 3])]).dims).toEqual([0, 3]);
    expect(evaluate('Reshape', [x, i64([2], [5, -1])])).toBeUndefined();
    expect(evaluate('Reshape', [x, i64([2], [-1, -1])])).toBeUndefined();
    expect(evaluate('Reshape', [x, i64([1], [25])])).toBeUndefined();
  });

  it('flattens, squeezes and unsqueezes by attribute or input depending on the opset', () => {
    expect(one('Flatten', [x], { attributes: { axis: 2 } }).dims).toEqual([6, 4]);
    expect(one('Flatten', [x], { attributes: { axis: 0 } }).dims).toEqual([1, 24]);
    expect(one('Flatten', [x], { attributes: { axis: -1 } }).dims).toEqual([6, 4]);
    const ones = f32([1, 2, 1], [1, 2]);
    expect(one('Squeeze', [ones]).dims).toEqual([2]);
    expect(one('Squeeze', [ones, i64([1], [-1])]).dims).toEqual([1, 2]);
    expect(one('Squeeze', [ones], { attributes: { axes: [0] }, opset: 11 }).dims).toEqual([2, 1]);
    expect(evaluate('Squeeze', [ones], { attributes: { axes: [0] }, opset: 13 })).toBeUndefined();
    expect(evaluate('Squeeze', [ones, i64([1], [1])])).toBeUndefined();
    expect(evaluate('Squeeze', [ones, i64([0], [])])).toBeUndefined();
    expect(one('Unsqueeze', [f32([2], [1, 2]), i64([2], [0, -1])]).dims).toEqual([1, 2, 1]);
    expect(one('Unsqueeze', [f32([], [1]), i64([1], [0])]).dims).toEqual([1]);
    expect(one('Unsqueeze', [f32([2], [1, 2])], { attributes: { axes: [1] }, opset: 11 }).dims).toEqual([2, 1]);
    expect(evaluate('Unsqueeze', [f32([2], [1, 2]), i64([2], [0, 0])])).toBeUndefined();
  });
});

describe('data movement', () => {
  const matrix = f32([2, 3], [1, 2, 3, 4, 5, 6]);

  it('transposes', () => {
    const transposed = one('Transpose', [matrix]);
    expect(transposed.dims).toEqual([3, 2]);
    expect(values(transposed)).toEqual([1, 4, 2, 5, 3, 6]);
    const cube = i64([2, 1, 3], [1, 2, 3, 4, 5, 6]);
    expect(values(one('Transpose', [cube], { attributes: { perm: [2, 0, 1] } }))).toEqual([1, 4, 2, 5, 3, 6]);
    expect(evaluate('Transpose', [cube], { attributes: { perm: [0, 0, 1] } })).toBeUndefined();
  });

  it('concatenates along any axis, strings included', () => {
    const joined = one('Concat', [matrix, f32([2, 1], [7, 8])], { attributes: { axis: -1 } });
    expect(joined.dims).toEqual([2, 4]);
    expect(values(joined)).toEqual([1, 2, 3, 7, 4, 5, 6, 8]);
    expect(values(one('Concat', [i64([0], []), i64([2], [1, 2])], { attributes: { axis: 0 } }))).toEqual([1, 2]);
    const words = one('Concat', [strings([1], ['a']), strings([2], ['b', 'c'])], { attributes: { axis: 0 } });
    expect(words.strings()).toEqual(['a', 'b', 'c']);
    expect(evaluate('Concat', [matrix, f32([3, 1], [7, 8, 9])], { attributes: { axis: 1 } })).toBeUndefined();
  });

  it('slices with negative, clamped and stepped ranges in both forms', () => {
    const row = i64([6], [0, 1, 2, 3, 4, 5]);
    const slice = (starts: number[], ends: (number | bigint)[], axes?: number[], steps?: number[]) =>
      values(
        one('Slice', [
          row,
          i64([starts.length], starts),
          i64([ends.length], ends),
          ...(axes ? [i64([axes.length], axes)] : []),
          ...(steps ? [i64([steps.length], steps)] : []),
        ]),
      );
    expect(slice([1], [4])).toEqual([1, 2, 3]);
    expect(slice([-2], [2n ** 63n - 1n])).toEqual([4, 5]);
    expect(slice([-100], [100])).toEqual([0, 1, 2, 3, 4, 5]);
    expect(slice([0], [6], [0], [2])).toEqual([0, 2, 4]);
    expect(slice([-1], [-(2n ** 63n)], [0], [-1])).toEqual([5, 4, 3, 2, 1, 0]);
    expect(slice([4], [1], [-1], [-2])).toEqual([4, 2]);
    expect(slice([3], [1])).toEqual([]);
    const sliced = one('Slice', [matrix, i64([1], [1]), i64([1], [3]), i64([1], [1])]);
    expect(sliced.dims).toEqual([2, 2]);
    expect(values(sliced)).toEqual([2, 3, 5, 6]);
    const old = one('Slice', [matrix], { attributes: { starts: [0, 1], ends: [1, 1000] }, opset: 9 });
    expect(values(old)).toEqual([2, 3]);
    expect(evaluate('Slice', [row, i64([1], [0]), i64([1], [6]), i64([1], [0]), i64([1], [0])])).toBeUndefined();
  });

  it('gathers with negative indices and refuses out-of-range ones', () => {
    const picked = one('Gather', [matrix, i64([2, 2], [0, -1, 1, 0])], { attributes: { axis: 1 } });
    expect(picked.dims).toEqual([2, 2, 2]);
    expect(values(picked)).toEqual([1, 3, 2, 1, 4, 6, 5, 4]);
    const scalar = one('Gather', [i64([3], [7, 8, 9]), i64([], [1])]);
    expect(scalar.dims).toEqual([]);
    expect(values(scalar)).toEqual([8]);
    expect(evaluate('Gather', [matrix, i64([1], [2])])).toBeUndefined();
    const elements = one('GatherElements', [matrix, i64([2, 2], [2, 0, -1, 1])], { attributes: { axis: 1 } });
    expect(values(elements)).toEqual([3, 1, 6, 5]);
  });

  it('splits evenly, by sizes, and into num_outputs parts', () => {
    const parts = evaluate('Split', [i64([5], [1, 2, 3, 4, 5]), i64([2], [2, 3])], { outputs: 2 })!;
    expect(parts.map(values)).toEqual([
      [1, 2],
      [3, 4, 5],
    ]);
    const halves = evaluate('Split', [matrix], { attributes: { axis: 1 }, outputs: 3 })!;
    expect(halves.map(values)).toEqual([
      [1, 4],
      [2, 5],
      [3, 6],
    ]);
    const uneven = evaluate('Split', [i64([5], [1, 2, 3, 4, 5])], {
      attributes: { num_outputs: 2 },
      outputs: 2,
      opset: 18,
    })!;
    expect(uneven.map(values)).toEqual([
      [1, 2, 3],
      [4, 5],
    ]);
    expect(evaluate('Split', [i64([5], [1, 2, 3, 4, 5])], { outputs: 2 })).toBeUndefined();
  });

  it('tiles and expands', () => {
    const tiled = one('Tile', [f32([2], [1, 2]), i64([1], [3])]);
    expect(values(tiled)).toEqual([1, 2, 1, 2, 1, 2]);
    const expanded = one('Expand', [f32([2, 1], [1, 2]), i64([3], [2, 1, 3])]);
    expect(expanded.dims).toEqual([2, 2, 3]);
    expect(values(expanded)).toEqual([1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2]);
    expect(one('Expand', [f32([3], [1, 2, 3]), i64([1], [1])]).dims).toEqual([3]);
    expect(evaluate('Expand', [f32([2], [1, 2]), i64([1], [3])])).toBeUndefined();
  });
});

describe('generators', () => {
  it('reads every Constant value form but sparse ones', () => {
    const constant = (attributes: Record<string, AttributeShorthand>) =>
      new Node({
        opType: 'Constant',
        outputs: ['c'],
        attributes: Object.entries(attributes).map(([name, value]) => toAttribute(name, value)),
      });
    const tensor = f32([2], [1, 2]);
    expect(constantNodeValue(constant({ value: tensor }))).toBe(tensor);
    expect(values(constantNodeValue(constant({ value_float: 1.5 }))!)).toEqual([1.5]);
    expect(constantNodeValue(constant({ value_floats: [1.5, 2.5] }))!.dims).toEqual([2]);
    const int = constantNodeValue(constant({ value_int: 7 }))!;
    expect([int.dataType, int.dims, values(int)]).toEqual([DataType.INT64, [], [7]]);
    expect(values(constantNodeValue(constant({ value_ints: [1, 2, 3] }))!)).toEqual([1, 2, 3]);
    expect(constantNodeValue(constant({ value_string: 'hi' }))!.strings()).toEqual(['hi']);
    expect(constantNodeValue(constant({ value_strings: ['a', 'b'] }))!.strings()).toEqual(['a', 'b']);
    expect(
      constantNodeValue(constant({ sparse_value: { type: 'sparse-tensor', value: {} } as AttributeShorthand })),
    ).toBeUndefined();
    const copy = one('Constant', [], { attributes: { value: tensor } });
    expect(copy).not.toBe(tensor);
    expect(copy.data).toBe(tensor.data);
  });

  it('fills ConstantOfShape with the value’s type, float zeros by default', () => {
    const zeros = one('ConstantOfShape', [i64([2], [2, 3])]);
    expect([zeros.dataType, zeros.dims, values(zeros)]).toEqual([DataType.FLOAT, [2, 3], [0, 0, 0, 0, 0, 0]]);
    const sevens = one('ConstantOfShape', [i64([1], [2])], { attributes: { value: i64([1], [7]) } });
    expect([sevens.dataType, values(sevens)]).toEqual([DataType.INT64, [7, 7]]);
    expect(one('ConstantOfShape', [i64([1], [0])]).elementCount).toBe(0);
  });

  it('counts Range like ONNX Runtime and accumulates float steps in float32', () => {
    expect(values(one('Range', [i32([], [10]), i32([], [4]), i32([], [-3])]))).toEqual([10, 7]);
    expect(values(one('Range', [i64([], [0]), i64([], [5]), i64([], [2])]))).toEqual([0, 2, 4]);
    const floats = one('Range', [f32([], [0]), f32([], [1]), f32([], [0.1])]);
    let value = 0;
    const expected: number[] = [];
    for (let index = 0; index < 10; index++) {
      expected.push(value);
      value = Math.fround(value + Math.fround(0.1));
    }
    expect(values(floats)).toEqual(expected);
    expect(evaluate('Range', [i32([], [0]), i32([], [4]), i32([], [0])])).toBeUndefined();
  });

  it('refuses results beyond the element limit before allocating them', () => {
    expect(evaluate('ConstantOfShape', [i64([2], [100000, 100000])])).toBeUndefined();
    expect(evaluate('ConstantOfShape', [i64([1], [101])], { maxElements: 100 })).toBeUndefined();
    expect(evaluate('Expand', [f32([1], [1]), i64([1], [101])], { maxElements: 100 })).toBeUndefined();
    expect(evaluate('Tile', [f32([1], [1]), i64([1], [101])], { maxElements: 100 })).toBeUndefined();
    expect(evaluate('Add', [f32([101], new Array(101).fill(1)), f32([], [1])], { maxElements: 100 })).toBeUndefined();
    expect(evaluate('Range', [i64([], [0]), i64([], [2n ** 40n]), i64([], [1])])).toBeUndefined();
    // Shape reads no data, so a big input is fine.
    expect(values(one('Shape', [f32([101], new Array(101).fill(1))], { maxElements: 100 }))).toEqual([101]);
  });
});

describe('Cast', () => {
  const cast = (input: Tensor, to: DataType, opset = 17) => one('Cast', [input], { attributes: { to }, opset });

  it('converts floats to integers by truncation and refuses what does not fit', () => {
    expect(values(cast(f32([4], [1.9, -1.9, 0.5, -0.5]), DataType.INT32))).toEqual([1, -1, 0, 0]);
    expect(evaluate('Cast', [f32([1], [300])], { attributes: { to: DataType.UINT8 } })).toBeUndefined();
    expect(evaluate('Cast', [f32([1], [Number.NaN])], { attributes: { to: DataType.INT64 } })).toBeUndefined();
    expect(values(cast(f32([1], [2 ** 40]), DataType.INT64))).toEqual([2 ** 40]);
  });

  it('wraps integers to narrower integers', () => {
    expect(values(cast(i32([3], [300, -1, 128]), DataType.UINT8))).toEqual([44, 255, 128]);
    expect(values(cast(i64([1], [2n ** 32n + 5n]), DataType.INT32))).toEqual([5]);
    expect(values(cast(i32([1], [-1]), DataType.INT64))).toEqual([-1]);
  });

  it('converts to and from bool', () => {
    expect(values(cast(f32([3], [0, -0.5, Number.NaN]), DataType.BOOL))).toEqual([0, 1, 1]);
    expect(values(cast(bool([2], [true, false]), DataType.FLOAT))).toEqual([1, 0]);
    expect(values(cast(i64([2], [0, 5]), DataType.BOOL))).toEqual([0, 1]);
  });

  it('converts through float16 and rounds int64 to float32 once', () => {
    const half = cast(f32([2], [1 / 3, 70000]), DataType.FLOAT16);
    expect(half.dataType).toBe(DataType.FLOAT16);
    expect(values(half)).toEqual([0.333251953125, Number.POSITIVE_INFINITY]);
    expect(values(cast(half, DataType.FLOAT))).toEqual([0.333251953125, Number.POSITIVE_INFINITY]);
    // 2^60 + 2^36 + 1 lies just above the midpoint between two float32 values: a float64 detour rounds it down.
    const tricky = 2n ** 60n + 2n ** 36n + 1n;
    expect(Math.fround(Number(tricky))).toBe(2 ** 60);
    expect(bigintToFloat32(tricky)).toBe(2 ** 60 + 2 ** 37);
    expect(values(cast(i64([1], [tricky]), DataType.FLOAT))).toEqual([2 ** 60 + 2 ** 37]);
    expect(values(cast(i64([1], [-tricky]), DataType.FLOAT))).toEqual([-(2 ** 60 + 2 ** 37)]);
  });

  it('refuses strings and float8 before opset 19', () => {
    expect(evaluate('Cast', [strings([1], ['1'])], { attributes: { to: DataType.FLOAT } })).toBeUndefined();
    expect(evaluate('Cast', [f32([1], [1])], { attributes: { to: DataType.STRING } })).toBeUndefined();
    expect(evaluate('Cast', [f32([1], [1])], { attributes: { to: DataType.FLOAT8E4M3FN } })).toBeUndefined();
    const e4m3 = cast(f32([2], [1, 1000]), DataType.FLOAT8E4M3FN, 19);
    expect(values(cast(e4m3, DataType.FLOAT, 19))).toEqual([1, 448]);
  });

  it('takes the target type from CastLike’s second input', () => {
    const result = one('CastLike', [f32([1], [2.7]), i64([0], [])]);
    expect([result.dataType, values(result)]).toEqual([DataType.INT64, [2]]);
  });
});

describe('reductions', () => {
  const x = f32([2, 3], [1, 2, 3, 4, 5, 6]);

  it('reduces over attribute axes before the input form, input axes after', () => {
    expect(values(one('ReduceSum', [x], { attributes: { axes: [1] }, opset: 11 }))).toEqual([6, 15]);
    expect(one('ReduceSum', [x, i64([1], [1])]).dims).toEqual([2, 1]);
    expect(evaluate('ReduceSum', [x], { attributes: { axes: [1] }, opset: 13 })).toBeUndefined();
    expect(values(one('ReduceMean', [x], { attributes: { axes: [0], keepdims: 0 } }))).toEqual([2.5, 3.5, 4.5]);
    expect(values(one('ReduceMean', [x, i64([1], [-1])], { opset: 18 }))).toEqual([2, 5]);
    expect(values(one('ReduceMax', [x]))).toEqual([6]);
    expect(one('ReduceMax', [x]).dims).toEqual([1, 1]);
    expect(values(one('ReduceMin', [x], { attributes: { axes: [1], keepdims: 0 } }))).toEqual([1, 4]);
    expect(values(one('ReduceProd', [x], { attributes: { axes: [0] } }))).toEqual([4, 10, 18]);
  });

  it('honours noop_with_empty_axes and empty reductions', () => {
    expect(values(one('ReduceSum', [x, i64([0], [])], { attributes: { noop_with_empty_axes: 1 } }))).toEqual([
      1, 2, 3, 4, 5, 6,
    ]);
    expect(values(one('ReduceSum', [x, i64([0], [])]))).toEqual([21]);
    const empty = f32([0, 2], []);
    expect(values(one('ReduceSum', [empty], { attributes: { axes: [0] }, opset: 11 }))).toEqual([0, 0]);
    expect(evaluate('ReduceMax', [empty], { attributes: { axes: [0] } })).toBeUndefined();
  });

  it('reduces integers exactly and refuses the integer mean', () => {
    expect(values(one('ReduceSum', [i64([2], [2n ** 60n, 1])]))).toEqual([2 ** 60 + 1]);
    expect(values(one('ReduceMax', [i32([3], [-5, 7, 2])]))).toEqual([7]);
    expect(evaluate('ReduceMean', [i32([2], [1, 2])])).toBeUndefined();
  });
});

describe('MatMul', () => {
  it('multiplies matrices, vectors and broadcast batches', () => {
    const a = f32([2, 3], [1, 2, 3, 4, 5, 6]);
    const b = f32([3, 2], [1, 0, 0, 1, 1, 1]);
    const product = one('MatMul', [a, b]);
    expect(product.dims).toEqual([2, 2]);
    expect(values(product)).toEqual([4, 5, 10, 11]);
    const vector = one('MatMul', [f32([3], [1, 1, 1]), b]);
    expect([vector.dims, values(vector)]).toEqual([[2], [2, 2]]);
    const batched = one('MatMul', [f32([2, 1, 2], [1, 0, 0, 1]), f32([2, 2], [1, 2, 3, 4])]);
    expect([batched.dims, values(batched)]).toEqual([
      [2, 1, 2],
      [1, 2, 3, 4],
    ]);
    expect(values(one('MatMul', [i64([1, 2], [2n ** 40n, 1]), i64([2, 1], [2, 3])]))).toEqual([2 ** 41 + 3]);
    expect(evaluate('MatMul', [a, a])).toBeUndefined();
  });

  it('refuses products beyond the work limit', () => {
    const side = Math.ceil(Math.cbrt(MATMUL_WORK_LIMIT)) + 1;
    const square = f32([side, side], new Array(side * side).fill(0));
    expect(evaluate('MatMul', [square, square])).toBeUndefined();
  });
});
