/**
 * Sub-byte element types as ONNX stores them in raw data: element 0 in the lowest bits of byte 0, the next element
 * in the next bits up, and the unused high bits of a final partial byte set to zero.
 *
 * INT4 / UINT4 and FLOAT4E2M1 take 4 bits (two per byte); INT2 / UINT2 take 2 bits (four per byte).
 */
import { float32BitsOf, float32ToBits, roundFloat32Magnitude } from './float-bits.js';

function pack(values: ArrayLike<number>, bitWidth: number, signed: boolean): Uint8Array {
  const minimum = signed ? -(1 << (bitWidth - 1)) : 0;
  const maximum = signed ? (1 << (bitWidth - 1)) - 1 : (1 << bitWidth) - 1;
  const mask = (1 << bitWidth) - 1;
  const perByte = 8 / bitWidth;
  const output = new Uint8Array(Math.ceil(values.length / perByte));
  for (let index = 0; index < values.length; index++) {
    const value = values[index]!;
    // Packing is storage, not quantization: silently wrapping or clamping would corrupt weights.
    if (!Number.isInteger(value) || value < minimum || value > maximum) {
      const kind = `${signed ? 'int' : 'uint'}${bitWidth}`;
      throw new RangeError(`${kind} value ${value} at index ${index} is outside ${minimum}..${maximum}`);
    }
    output[Math.floor(index / perByte)]! |= (value & mask) << ((index % perByte) * bitWidth);
  }
  return output;
}

function checkCount(bytes: Uint8Array, count: number, bitWidth: number): void {
  const capacity = (bytes.length * 8) / bitWidth;
  if (!Number.isInteger(count) || count < 0 || count > capacity) {
    throw new RangeError(`cannot read ${count} ${bitWidth}-bit elements from ${bytes.length} bytes`);
  }
}

function unpack(bytes: Uint8Array, count: number, bitWidth: number, signed: boolean): Int8Array {
  checkCount(bytes, count, bitWidth);
  const mask = (1 << bitWidth) - 1;
  const perByte = 8 / bitWidth;
  // Shifting the field to the top of a 32-bit integer and back sign-extends it.
  const extendShift = 32 - bitWidth;
  const output = new Int8Array(count);
  for (let index = 0; index < count; index++) {
    const field = (bytes[Math.floor(index / perByte)]! >>> ((index % perByte) * bitWidth)) & mask;
    output[index] = signed ? (field << extendShift) >> extendShift : field;
  }
  return output;
}

/** Packs INT4 (signed, -8..7) or UINT4 (0..15) values two per byte, low nibble first. Throws RangeError if out of range. */
export function packInt4(values: ArrayLike<number>, signed: boolean): Uint8Array {
  return pack(values, 4, signed);
}

/** Reads `count` INT4 or UINT4 values packed two per byte, low nibble first. */
export function unpackInt4(bytes: Uint8Array, count: number, signed: boolean): Int8Array {
  return unpack(bytes, count, 4, signed);
}

/** Packs INT2 (signed, -2..1) or UINT2 (0..3) values four per byte, lowest bits first. Throws RangeError if out of range. */
export function packInt2(values: ArrayLike<number>, signed: boolean): Uint8Array {
  return pack(values, 2, signed);
}

/** Reads `count` INT2 or UINT2 values packed four per byte, lowest bits first. */
export function unpackInt2(bytes: Uint8Array, count: number, signed: boolean): Int8Array {
  return unpack(bytes, count, 2, signed);
}

// FLOAT4E2M1: 1 sign bit, 2 exponent bits (bias 1), 1 fraction bit; values ±{0, 0.5, 1, 1.5, 2, 3, 4, 6}.
const FLOAT4_MAX_CODE = 0x7;
const FLOAT4_VALUES = new Float32Array([0, 0.5, 1, 1.5, 2, 3, 4, 6, -0, -0.5, -1, -1.5, -2, -3, -4, -6]);

function float32BitsToFloat4E2M1Bits(bits: number): number {
  const magnitude = bits & 0x7fffffff;
  // The type has no NaN; ONNX Cast maps NaN to +6.
  if (magnitude > 0x7f800000) return FLOAT4_MAX_CODE;
  const sign = (bits >>> 28) & 0x8;
  // No infinities either: overflow and infinity saturate to ±6.
  return sign | Math.min(roundFloat32Magnitude(magnitude, 1, 1), FLOAT4_MAX_CODE);
}

/** FLOAT4E2M1 bits (0..15) of `value`: rounded to float32, then to nearest even, saturating to ±6; NaN gives +6. */
export function float32ToFloat4E2M1Bits(value: number): number {
  return float32BitsToFloat4E2M1Bits(float32ToBits(value));
}

/** The value of the FLOAT4E2M1 whose bits are the low 4 bits of `bits`. */
export function float4E2M1BitsToFloat32(bits: number): number {
  return FLOAT4_VALUES[bits & 0xf]!;
}

/** Encodes values as FLOAT4E2M1 packed two per byte, low nibble first. */
export function encodeFloat4E2M1(values: Float32Array | ArrayLike<number>): Uint8Array {
  const input = float32BitsOf(values);
  const output = new Uint8Array(Math.ceil(input.length / 2));
  for (let index = 0; index < input.length; index++) {
    output[index >>> 1]! |= float32BitsToFloat4E2M1Bits(input[index]!) << ((index & 1) * 4);
  }
  return output;
}

/** Decodes `count` FLOAT4E2M1 values packed two per byte, low nibble first. */
export function decodeFloat4E2M1(bytes: Uint8Array, count: number): Float32Array {
  checkCount(bytes, count, 4);
  const output = new Float32Array(count);
  for (let index = 0; index < count; index++) {
    output[index] = FLOAT4_VALUES[(bytes[index >>> 1]! >>> ((index & 1) * 4)) & 0xf]!;
  }
  return output;
}
