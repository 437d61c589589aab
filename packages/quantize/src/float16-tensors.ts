/**
 * Float32 tensors to float16 / bfloat16 with convert-float16's range handling: finite values beyond `maxValue`
 * are clamped to ±maxValue (never turned into infinities), non-zero values whose magnitude is below
 * `minPositiveValue` are raised to ±minPositiveValue (never flushed to zero), everything else is rounded to the
 * nearest half value (ties to even). Zeros, infinities and NaNs are kept.
 */
import { DataType, encodeBfloat16, encodeFloat16, Tensor } from '@whittle/ir';
import type { HalfType } from './float16-ops.js';

export interface HalfRange {
  /** Largest magnitude written; finite values beyond it are clamped. */
  maxValue: number;
  /** Smallest non-zero magnitude written; smaller non-zero values are raised to it (0: let them round, maybe to 0). */
  minPositiveValue: number;
}

export interface HalfConversion {
  tensor: Tensor;
  /** Finite values whose magnitude exceeded maxValue. */
  clamped: number;
  /** Non-zero values whose magnitude was below minPositiveValue. */
  raised: number;
}

/** Float32 values limited to the range, with counts of what was changed. */
export function limitToHalfRange(
  values: Float32Array,
  range: HalfRange,
): { values: Float32Array; clamped: number; raised: number } {
  let clamped = 0;
  let raised = 0;
  let output = values;
  const { maxValue, minPositiveValue } = range;
  for (let index = 0; index < values.length; index++) {
    const value = values[index]!;
    const magnitude = Math.abs(value);
    let replacement: number | undefined;
    if (magnitude > maxValue && magnitude !== Number.POSITIVE_INFINITY) {
      replacement = Math.sign(value) * maxValue;
      clamped++;
    } else if (magnitude < minPositiveValue && magnitude > 0) {
      replacement = Math.sign(value) * minPositiveValue;
      raised++;
    }
    if (replacement !== undefined) {
      if (output === values) output = Float32Array.from(values);
      output[index] = replacement;
    }
  }
  return { values: output, clamped, raised };
}

/** Bits of float32 values in a half type (the values must already be limited to its range). */
export function encodeHalf(values: Float32Array, type: HalfType): Uint16Array {
  return type === DataType.FLOAT16 ? encodeFloat16(values) : encodeBfloat16(values);
}

/** The float32 values of a FLOAT tensor (a copy when the bytes are not aligned). */
export function float32Values(tensor: Tensor): Float32Array {
  return tensor.toArray() as Float32Array;
}

/** A FLOAT tensor in half precision, named `name`, with counts of the values clamped or raised. */
export function toHalfTensor(tensor: Tensor, type: HalfType, range: HalfRange, name = tensor.name): HalfConversion {
  const limited = limitToHalfRange(float32Values(tensor), range);
  const converted = Tensor.fromArray(name, type, tensor.dims, encodeHalf(limited.values, type));
  converted.docString = tensor.docString;
  return { tensor: converted, clamped: limited.clamped, raised: limited.raised };
}
