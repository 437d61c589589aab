import { DataType, dataTypeName } from '@whittle/ir';
import { WhittleError } from '@whittle/spec';

/** Integer types a quantized tensor can have, with their value ranges. */
export const INTEGER_RANGES: Readonly<Partial<Record<DataType, { min: number; max: number }>>> = {
  [DataType.INT8]: { min: -128, max: 127 },
  [DataType.UINT8]: { min: 0, max: 255 },
  [DataType.INT16]: { min: -32768, max: 32767 },
  [DataType.UINT16]: { min: 0, max: 65535 },
  [DataType.INT4]: { min: -8, max: 7 },
  [DataType.UINT4]: { min: 0, max: 15 },
  [DataType.INT32]: { min: -2147483648, max: 2147483647 },
};

export interface IntegerRangeOptions {
  /**
   * Symmetric signed weights use [-127, 127] rather than [-128, 127] (TFLite's and ONNX Runtime's choice), so
   * +x and -x quantize to opposite values.
   */
  narrow?: boolean;
}

export function integerRange(type: DataType, options: IntegerRangeOptions = {}): { min: number; max: number } {
  const range = INTEGER_RANGES[type];
  if (!range)
    throw new WhittleError('QUANTIZE_UNSUPPORTED_TYPE', `${dataTypeName(type)} is not a quantized integer type`);
  return options.narrow && range.min < 0 ? { min: range.min + 1, max: range.max } : range;
}

/** Round to the nearest integer, ties to even: what QuantizeLinear does. */
export function roundHalfToEven(value: number): number {
  const floor = Math.floor(value);
  const difference = value - floor;
  if (difference > 0.5) return floor + 1;
  if (difference < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

export interface QuantizationParameters {
  scale: number;
  zeroPoint: number;
  type: DataType;
}

export interface ParameterOptions extends IntegerRangeOptions {
  symmetric: boolean;
}

/** The smallest scale written: a constant-zero tensor still gets a valid, positive scale. */
const MINIMUM_SCALE = Number.EPSILON * 1024;

/**
 * The scale of a symmetric signed type: the largest magnitude onto the largest integer. What
 * computeQuantizationParameters returns for [-absoluteMax, absoluteMax], without the object, for per-block loops.
 */
export function symmetricSignedScale(absoluteMax: number, integerMax: number): number {
  return Math.fround(Math.max(absoluteMax / integerMax, MINIMUM_SCALE));
}

/**
 * Scale and zero point mapping [rangeMin, rangeMax] onto the integer type. The range is widened to include 0 so
 * that zero is exactly representable (padding and ReLU outputs depend on it). Symmetric: zero point 0 for signed
 * types, the middle (128, 32768, 8) for unsigned ones.
 */
export function computeQuantizationParameters(
  rangeMin: number,
  rangeMax: number,
  type: DataType,
  options: ParameterOptions,
): QuantizationParameters {
  if (!Number.isFinite(rangeMin) || !Number.isFinite(rangeMax) || rangeMin > rangeMax) {
    throw new WhittleError('QUANTIZE_INVALID_RANGE', `cannot quantize the range [${rangeMin}, ${rangeMax}]`);
  }
  const low = Math.min(rangeMin, 0);
  const high = Math.max(rangeMax, 0);
  const integers = integerRange(type, options);
  if (options.symmetric) {
    const absoluteMax = Math.max(Math.abs(low), Math.abs(high));
    if (integers.min < 0) return { scale: symmetricSignedScale(absoluteMax, integers.max), zeroPoint: 0, type };
    const middle = Math.ceil((integers.min + integers.max) / 2);
    const scale = Math.max((2 * absoluteMax) / (integers.max - integers.min), MINIMUM_SCALE);
    return { scale: Math.fround(scale), zeroPoint: middle, type };
  }
  const scale = Math.fround(Math.max((high - low) / (integers.max - integers.min), MINIMUM_SCALE));
  const zeroPoint = Math.min(integers.max, Math.max(integers.min, roundHalfToEven(integers.min - low / scale)));
  return { scale, zeroPoint, type };
}

/** QuantizeLinear's arithmetic: saturate(round_half_even(x / scale) + zero point), in float32 like runtimes do. */
export function quantizeValue(
  value: number,
  scale: number,
  zeroPoint: number,
  range: { min: number; max: number },
): number {
  const quantized = roundHalfToEven(Math.fround(Math.fround(value) / scale)) + zeroPoint;
  return Math.min(range.max, Math.max(range.min, quantized));
}

export function dequantizeValue(quantized: number, scale: number, zeroPoint: number): number {
  return Math.fround((quantized - zeroPoint) * scale);
}

/**
 * A size as a small integer when it is one. Dims read from ONNX files arrive as doubles (they are converted from
 * int64 fields), and loops whose bounds or strides are doubles index with float arithmetic, markedly slower.
 */
export function smallInteger(size: number): number {
  return size <= 0x7fffffff ? size | 0 : size;
}

/** The float32 bit pattern of infinity with the sign cleared; larger patterns are NaN. */
export const INFINITY_BITS = 0x7f800000;
