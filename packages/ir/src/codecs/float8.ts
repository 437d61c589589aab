/**
 * The four ONNX 8-bit float types, with the casting rules of the ONNX Cast operator:
 *
 * - E4M3FN: bias 7, max 448 (0x7e), NaN 0x7f / 0xff, no infinities.
 * - E4M3FNUZ: bias 8, max 240 (0x7f), NaN 0x80 only, no infinities, no negative zero.
 * - E5M2: bias 15 (the top byte of a float16), max 57344 (0x7b), infinities 0x7c / 0xfc.
 * - E5M2FNUZ: bias 16, max 57344 (0x7f), NaN 0x80 only, no infinities, no negative zero.
 *
 * Rounding is to nearest, ties to even. With `saturate` (the default) values beyond the largest finite number and
 * infinities become ±max; without it they become infinity (E5M2) or NaN (the others). For infinities into FNUZ
 * types the Cast table reads NaN, but the onnx reference helpers and onnxruntime saturate them, which we follow.
 */
import { DataType } from '../data-type.js';
import { float32BitsOf, float32ToBits, roundFloat32Magnitude } from './float-bits.js';

export type Float8DataType =
  | DataType.FLOAT8E4M3FN
  | DataType.FLOAT8E4M3FNUZ
  | DataType.FLOAT8E5M2
  | DataType.FLOAT8E5M2FNUZ;

export interface Float8Options {
  /** Clamp finite overflow and infinities to ±max instead of producing infinity or NaN (default true). */
  readonly saturate?: boolean;
}

interface Float8Format {
  readonly mantissaBits: number;
  readonly bias: number;
  /** Largest finite magnitude code (sign bit excluded). */
  readonly maxCode: number;
  /** E5M2 only: 0x7c / 0xfc are infinities. */
  readonly hasInfinity: boolean;
  /** FNUZ types: a single NaN at 0x80, and zero is always positive. */
  readonly unsignedZero: boolean;
  /** Decoded values of all 256 patterns, built on first use. */
  decodeTable: Float32Array | undefined;
}

const FORMATS: Readonly<Record<Float8DataType, Float8Format>> = {
  [DataType.FLOAT8E4M3FN]: {
    mantissaBits: 3,
    bias: 7,
    maxCode: 0x7e,
    hasInfinity: false,
    unsignedZero: false,
    decodeTable: undefined,
  },
  [DataType.FLOAT8E4M3FNUZ]: {
    mantissaBits: 3,
    bias: 8,
    maxCode: 0x7f,
    hasInfinity: false,
    unsignedZero: true,
    decodeTable: undefined,
  },
  [DataType.FLOAT8E5M2]: {
    mantissaBits: 2,
    bias: 15,
    maxCode: 0x7b,
    hasInfinity: true,
    unsignedZero: false,
    decodeTable: undefined,
  },
  [DataType.FLOAT8E5M2FNUZ]: {
    mantissaBits: 2,
    bias: 16,
    maxCode: 0x7f,
    hasInfinity: false,
    unsignedZero: true,
    decodeTable: undefined,
  },
};

export function isFloat8DataType(type: DataType): type is Float8DataType {
  return (
    type === DataType.FLOAT8E4M3FN ||
    type === DataType.FLOAT8E4M3FNUZ ||
    type === DataType.FLOAT8E5M2 ||
    type === DataType.FLOAT8E5M2FNUZ
  );
}

function formatOf(type: Float8DataType): Float8Format {
  // Checked at run time too: callers from plain JavaScript or with casted enums get an error, not garbage.
  if (!isFloat8DataType(type)) throw new RangeError(`element type ${type} is not a float8 type`);
  return FORMATS[type];
}

function nanBits(sign: number, format: Float8Format): number {
  return format.unsignedZero ? 0x80 : sign | 0x7f;
}

function encodeBits(bits: number, format: Float8Format, saturate: boolean): number {
  const sign = (bits >>> 24) & 0x80;
  const magnitude = bits & 0x7fffffff;
  if (magnitude > 0x7f800000) return nanBits(sign, format);
  const code = roundFloat32Magnitude(magnitude, format.mantissaBits, format.bias);
  // Infinity rounds above every finite code, so it takes the overflow path, which the Cast rules treat the same.
  if (code > format.maxCode) {
    if (saturate) return sign | format.maxCode;
    return format.hasInfinity ? sign | 0x7c : nanBits(sign, format);
  }
  // FNUZ has no negative zero: 0x80 would read back as NaN.
  if (code === 0 && format.unsignedZero) return 0;
  return sign | code;
}

function decodeValue(byte: number, format: Float8Format): number {
  const magnitudeCode = byte & 0x7f;
  const sign = byte & 0x80 ? -1 : 1;
  if (format.unsignedZero) {
    if (byte === 0x80) return Number.NaN;
  } else if (magnitudeCode > format.maxCode) {
    // Codes above max: only 0x7f for E4M3FN (NaN); 0x7c (infinity) and 0x7d..0x7f (NaN) for E5M2.
    return format.hasInfinity && magnitudeCode === 0x7c ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  }
  const exponentField = magnitudeCode >>> format.mantissaBits;
  const fraction = magnitudeCode & ((1 << format.mantissaBits) - 1);
  const fractionScale = 2 ** format.mantissaBits;
  if (exponentField === 0) return sign * fraction * 2 ** (1 - format.bias - format.mantissaBits);
  return sign * (1 + fraction / fractionScale) * 2 ** (exponentField - format.bias);
}

function decodeTableOf(format: Float8Format): Float32Array {
  let table = format.decodeTable;
  if (table === undefined) {
    table = new Float32Array(256);
    for (let byte = 0; byte < 256; byte++) table[byte] = decodeValue(byte, format);
    format.decodeTable = table;
  }
  return table;
}

/** Float8 bits of `value` (rounded to float32 first, as ONNX casts from float32). */
export function float32ToFloat8Bits(value: number, type: Float8DataType, options: Float8Options = {}): number {
  return encodeBits(float32ToBits(value), formatOf(type), options.saturate ?? true);
}

/** The value of the float8 whose bits are `bits` (only the low 8 bits are read). */
export function float8BitsToFloat32(bits: number, type: Float8DataType): number {
  return decodeTableOf(formatOf(type))[bits & 0xff]!;
}

/** Float8 bits of every element (non-float32 inputs are rounded to float32 first). */
export function encodeFloat8(
  values: Float32Array | ArrayLike<number>,
  type: Float8DataType,
  options: Float8Options = {},
): Uint8Array {
  const format = formatOf(type);
  const saturate = options.saturate ?? true;
  const input = float32BitsOf(values);
  const output = new Uint8Array(input.length);
  for (let index = 0; index < input.length; index++) {
    output[index] = encodeBits(input[index]!, format, saturate);
  }
  return output;
}

/** Float32 values of float8 bit patterns. */
export function decodeFloat8(bytes: Uint8Array, type: Float8DataType): Float32Array {
  const table = decodeTableOf(formatOf(type));
  const output = new Float32Array(bytes.length);
  for (let index = 0; index < bytes.length; index++) {
    output[index] = table[bytes[index]!]!;
  }
  return output;
}
