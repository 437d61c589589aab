/**
 * bfloat16 (ONNX BFLOAT16): the top 16 bits of a float32, so 8 exponent bits and 7 fraction bits.
 */
import { bitsToFloat32, float32BitsOf, float32ToBits, shiftRightRoundingToEven } from './float-bits.js';

/** Float32 bits to bfloat16 bits: round to nearest even, overflow to infinity, NaN stays a quiet NaN. */
export function float32BitsToBfloat16Bits(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const magnitude = bits & 0x7fffffff;
  // Rounding a NaN would carry its payload into the exponent or drop it, turning it into infinity.
  if (magnitude > 0x7f800000) return sign | (magnitude >>> 16) | 0x0040;
  // Same exponent range as float32, so plain rounding of the dropped half covers subnormals and overflow alike.
  return sign | shiftRightRoundingToEven(magnitude, 16);
}

/** Float32 bits of the bfloat16 whose bits are `half` (exact). */
export function bfloat16BitsToFloat32Bits(half: number): number {
  return ((half & 0xffff) << 16) >>> 0;
}

/** Bfloat16 bits of `value` after first rounding it to float32. */
export function float32ToBfloat16Bits(value: number): number {
  return float32BitsToBfloat16Bits(float32ToBits(value));
}

/** The value of the bfloat16 whose bits are `bits` (only the low 16 bits are read). */
export function bfloat16BitsToFloat32(bits: number): number {
  return bitsToFloat32(bfloat16BitsToFloat32Bits(bits));
}

/** Bfloat16 bits of every element (non-float32 inputs are rounded to float32 first). */
export function encodeBfloat16(values: Float32Array | ArrayLike<number>): Uint16Array {
  const input = float32BitsOf(values);
  const output = new Uint16Array(input.length);
  for (let index = 0; index < input.length; index++) {
    output[index] = float32BitsToBfloat16Bits(input[index]!);
  }
  return output;
}

/** Float32 values of bfloat16 bit patterns. */
export function decodeBfloat16(bits: Uint16Array): Float32Array {
  const output = new Float32Array(bits.length);
  // Written through an integer view so NaN payloads survive.
  const outputBits = new Uint32Array(output.buffer);
  for (let index = 0; index < bits.length; index++) {
    outputBits[index] = bits[index]! << 16;
  }
  return output;
}
