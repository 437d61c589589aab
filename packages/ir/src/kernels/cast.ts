/**
 * Cast and CastLike between numeric types, bool, float16, bfloat16 and (from opset 19) the float8 types, with
 * C++ static_cast semantics as ONNX Runtime applies them: floats to integers truncate toward zero (values that do
 * not fit, NaN and infinities are undefined behaviour there, so they are refused), integers to narrower integers
 * wrap, anything to bool is "not zero", int64 to float rounds once to nearest even. Strings are refused.
 */
import { isFloat8DataType, decodeFloat8, encodeFloat8 } from '../codecs/float8.js';
import { DataType } from '../data-type.js';
import { Tensor } from '../tensor.js';
import type { KernelDefinition, KernelTable } from './registry.js';
import {
  type BigIntValues,
  computeStorage,
  isBigIntType,
  isFloatType,
  isSmallIntType,
  type KernelContext,
  type NumberValues,
  refuse,
  tensorOfValues,
} from './support.js';

const RANGES: Partial<Record<DataType, readonly [bigint, bigint]>> = {
  [DataType.INT8]: [-128n, 127n],
  [DataType.INT16]: [-32768n, 32767n],
  [DataType.INT32]: [-(2n ** 31n), 2n ** 31n - 1n],
  [DataType.INT64]: [-(2n ** 63n), 2n ** 63n - 1n],
  [DataType.UINT8]: [0n, 255n],
  [DataType.UINT16]: [0n, 65535n],
  [DataType.UINT32]: [0n, 2n ** 32n - 1n],
  [DataType.UINT64]: [0n, 2n ** 64n - 1n],
};

const BITS: Partial<Record<DataType, number>> = {
  [DataType.INT8]: 8,
  [DataType.INT16]: 16,
  [DataType.INT32]: 32,
  [DataType.INT64]: 64,
  [DataType.UINT8]: 8,
  [DataType.UINT16]: 16,
  [DataType.UINT32]: 32,
  [DataType.UINT64]: 64,
};

const isSigned = (type: DataType): boolean =>
  type === DataType.INT8 || type === DataType.INT16 || type === DataType.INT32 || type === DataType.INT64;

/**
 * A bigint rounded to the nearest float32 (ties to even) in one rounding: beyond 2^53 a plain Number() would round
 * to float64 first, and rounding twice can differ.
 */
export function bigintToFloat32(value: bigint): number {
  const negative = value < 0n;
  const magnitude = negative ? -value : value;
  if (magnitude <= 2n ** 53n) return Math.fround(Number(value));
  const bits = magnitude.toString(2).length;
  const shift = BigInt(bits - 26);
  // Keep 26 significant bits and fold everything below into a sticky bit, so no false tie can appear.
  let kept = magnitude >> shift;
  if ((magnitude & ((1n << shift) - 1n)) !== 0n) kept |= 1n;
  const result = Math.fround(Number(kept) * 2 ** Number(shift));
  return negative ? -result : result;
}

/** Source values as numbers (floats, small integers, bool) or bigints (64-bit integers). */
function sourceValues(context: KernelContext, input: Tensor): NumberValues | BigIntValues {
  const type = input.dataType;
  if (isBigIntType(type)) return context.bigints(input);
  if (isFloat8DataType(type)) return decodeFloat8(context.elements(input) as Uint8Array, type);
  return context.numbers(input);
}

function isSourceFloat(type: DataType): boolean {
  return isFloatType(type) || isFloat8DataType(type);
}

function castTensor(context: KernelContext, input: Tensor, to: DataType, saturate: boolean): Tensor {
  const from = input.dataType;
  const supported = (type: DataType) =>
    isFloatType(type) || isSmallIntType(type) || isBigIntType(type) || type === DataType.BOOL || isFloat8DataType(type);
  if (!supported(from) || !supported(to)) refuse(`Cast from ${from} to ${to}`);
  if ((isFloat8DataType(from) || isFloat8DataType(to)) && context.opset < 19) refuse('float8 needs opset 19');
  const dims = context.outputDims(input.dims);
  const values = sourceValues(context, input);
  const count = values.length;
  const bigSource = isBigIntType(from);

  if (to === DataType.BOOL) {
    const out = new Uint8Array(count);
    for (let index = 0; index < count; index++) {
      const value = values[index]!;
      out[index] = bigSource ? (value !== 0n ? 1 : 0) : value !== 0 ? 1 : 0;
    }
    return tensorOfValues(DataType.BOOL, dims, out);
  }

  if (isFloatType(to) || isFloat8DataType(to)) {
    // Every float target is reached through float32 (or float64 for DOUBLE), as ONNX Runtime converts.
    const floats = new Float64Array(count);
    for (let index = 0; index < count; index++) {
      const value = values[index]!;
      if (typeof value === 'bigint') floats[index] = to === DataType.DOUBLE ? Number(value) : bigintToFloat32(value);
      else floats[index] = to === DataType.DOUBLE ? value : Math.fround(value);
    }
    if (isFloat8DataType(to)) {
      return Tensor.fromArray('', to, dims, encodeFloat8(Float32Array.from(floats), to, { saturate }));
    }
    return tensorOfValues(to, dims, floats);
  }

  // Integer targets.
  const range = RANGES[to]!;
  const bits = BITS[to]!;
  const out = computeStorage(to, count);
  const big = isBigIntType(to);
  for (let index = 0; index < count; index++) {
    const value = values[index]!;
    let integer: bigint;
    if (typeof value === 'bigint') integer = value;
    else if (isSourceFloat(from)) {
      const truncated = Math.trunc(value);
      if (!Number.isFinite(truncated)) refuse('cannot cast NaN or infinity to an integer');
      integer = BigInt(truncated);
      if (integer < range[0] || integer > range[1]) refuse('float value out of the integer range');
    } else integer = BigInt(value);
    const wrapped = isSigned(to) ? BigInt.asIntN(bits, integer) : BigInt.asUintN(bits, integer);
    if (big) (out as BigIntValues)[index] = wrapped;
    else (out as NumberValues)[index] = Number(wrapped);
  }
  return tensorOfValues(to, dims, out);
}

const cast: KernelDefinition = {
  attributes: ['to', 'saturate'],
  evaluate(context) {
    const to = context.optionalInt('to') ?? refuse('Cast without `to`');
    if (context.opset < 6) refuse('Cast before opset 6 names its type as a string');
    return [castTensor(context, context.input(0), to as DataType, context.int('saturate', 1) !== 0)];
  },
};

const castLike: KernelDefinition = {
  attributes: ['saturate'],
  evaluate(context) {
    const target = context.input(1);
    return [castTensor(context, context.input(0), target.dataType, context.int('saturate', 1) !== 0)];
  },
};

export const castKernels: KernelTable = { Cast: cast, CastLike: castLike };
