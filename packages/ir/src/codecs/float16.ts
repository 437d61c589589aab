/**
 * IEEE 754 binary16 (ONNX FLOAT16): 1 sign bit, 5 exponent bits (bias 15), 10 fraction bits.
 */
import { bitsToFloat32, float32BitsOf, float32ToBits, roundFloat32Magnitude } from './float-bits.js';

const INFINITY_BITS = 0x7c00;
const QUIET_BIT = 0x0200;

/** Float32 bits to float16 bits: round to nearest even, overflow to infinity, NaN stays a (quiet) NaN. */
export function float32BitsToFloat16Bits(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const magnitude = bits & 0x7fffffff;
  if (magnitude > 0x7f800000) {
    // Keep the top of the payload; the quiet bit guarantees a non-zero fraction so the NaN cannot become infinity.
    return sign | INFINITY_BITS | QUIET_BIT | ((magnitude >>> 13) & 0x3ff);
  }
  // Infinity itself lands above the largest finite code too, so one clamp covers overflow and infinity.
  return sign | Math.min(roundFloat32Magnitude(magnitude, 10, 15), INFINITY_BITS);
}

/** Float16 bits to the float32 bits of the same value (exact; NaN payloads kept). */
export function float16BitsToFloat32Bits(half: number): number {
  const sign = (half & 0x8000) << 16;
  const exponent = (half >>> 10) & 0x1f;
  const fraction = half & 0x3ff;
  if (exponent === 0x1f) return (sign | 0x7f800000 | (fraction << 13)) >>> 0;
  if (exponent !== 0) return (sign | ((exponent + 112) << 23) | (fraction << 13)) >>> 0;
  if (fraction === 0) return sign >>> 0;
  // Subnormal: float32 reaches further down, so normalise the leading one into the implicit bit.
  const leadingBit = 31 - Math.clz32(fraction);
  return (sign | ((leadingBit + 103) << 23) | ((fraction << (23 - leadingBit)) & 0x7fffff)) >>> 0;
}

/** Float16 bits of `value` after first rounding it to float32. */
export function float32ToFloat16Bits(value: number): number {
  return float32BitsToFloat16Bits(float32ToBits(value));
}

/** The value of the float16 whose bits are `bits` (only the low 16 bits are read). */
export function float16BitsToFloat32(bits: number): number {
  return bitsToFloat32(float16BitsToFloat32Bits(bits & 0xffff));
}

/** Float16 bits of every element (non-float32 inputs are rounded to float32 first). */
export function encodeFloat16(values: Float32Array | ArrayLike<number>): Uint16Array {
  const input = float32BitsOf(values);
  const output = new Uint16Array(input.length);
  for (let index = 0; index < input.length; index++) {
    output[index] = float32BitsToFloat16Bits(input[index]!);
  }
  return output;
}

/** Float32 values of float16 bit patterns. */
export function decodeFloat16(bits: Uint16Array): Float32Array {
  const output = new Float32Array(bits.length);
  // Written through an integer view so NaN payloads survive.
  const outputBits = new Uint32Array(output.buffer);
  for (let index = 0; index < bits.length; index++) {
    outputBits[index] = float16BitsToFloat32Bits(bits[index]!);
  }
  return output;
}
