import { describe, expect, it } from 'vitest';
import { bitsToFloat32, float32ToBits } from './float-bits.js';
import {
  decodeFloat16,
  encodeFloat16,
  float16BitsToFloat32,
  float16BitsToFloat32Bits,
  float32BitsToFloat16Bits,
  float32ToFloat16Bits,
} from './float16.js';

/** Independent reference: the binary16 value by its definition. */
function referenceValue(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0x1f) return fraction === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

const isNaNBits = (bits: number) => (bits & 0x7c00) === 0x7c00 && (bits & 0x3ff) !== 0;
const allPatterns = () => Uint16Array.from({ length: 65536 }, (_, index) => index);

describe('float16 known bit patterns', () => {
  it.each([
    [1, 0x3c00],
    [-1, 0xbc00],
    [0, 0x0000],
    [-0, 0x8000],
    [0.5, 0x3800],
    [2, 0x4000],
    [65504, 0x7bff],
    [-65504, 0xfbff],
    [2 ** -24, 0x0001],
    [2 ** -14, 0x0400],
    [2 ** -14 - 2 ** -24, 0x03ff],
    [Number.POSITIVE_INFINITY, 0x7c00],
    [Number.NEGATIVE_INFINITY, 0xfc00],
  ])('encodes %d as pattern %i and decodes it back', (value, bits) => {
    expect(float32ToFloat16Bits(value)).toBe(bits);
    expect(Object.is(float16BitsToFloat32(bits), value)).toBe(true);
  });

  it('rounds inexact values to the nearest pattern', () => {
    expect(float32ToFloat16Bits(1 / 3)).toBe(0x3555);
    expect(float32ToFloat16Bits(Math.PI)).toBe(0x4248);
    expect(float32ToFloat16Bits(0.1)).toBe(0x2e66);
  });

  it('overflows to infinity at 65520 and not below', () => {
    expect(float32ToFloat16Bits(65520)).toBe(0x7c00);
    expect(float32ToFloat16Bits(-65520)).toBe(0xfc00);
    expect(float32ToFloat16Bits(65519.99)).toBe(0x7bff);
    expect(float32ToFloat16Bits(1e10)).toBe(0x7c00);
    expect(float32ToFloat16Bits(3.4e38)).toBe(0x7c00);
  });

  it('rounds ties to even', () => {
    // Between 1 (0x3c00) and 1 + 2^-10 (0x3c01): tie goes down to the even pattern.
    expect(float32ToFloat16Bits(1 + 2 ** -11)).toBe(0x3c00);
    // Between 0x3c01 and 0x3c02: tie goes up to the even pattern.
    expect(float32ToFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
    // Just above a tie rounds up.
    expect(float32ToFloat16Bits(1 + 2 ** -11 + 2 ** -23)).toBe(0x3c01);
    // Subnormal ties: half the smallest subnormal goes to zero, one and a half goes to two.
    expect(float32ToFloat16Bits(2 ** -25)).toBe(0x0000);
    expect(float32ToFloat16Bits(-(2 ** -25))).toBe(0x8000);
    expect(float32ToFloat16Bits(3 * 2 ** -25)).toBe(0x0002);
    expect(float32ToFloat16Bits(2 ** -25 * (1 + 2 ** -23))).toBe(0x0001);
    // Largest subnormal rounding up into the smallest normal.
    expect(float32ToFloat16Bits(2 ** -14 - 2 ** -26)).toBe(0x0400);
  });

  it('flushes values below half the smallest subnormal to signed zero', () => {
    expect(float32ToFloat16Bits(1e-10)).toBe(0x0000);
    expect(float32ToFloat16Bits(-1e-10)).toBe(0x8000);
    expect(float32ToFloat16Bits(1e-45)).toBe(0x0000); // a float32 subnormal
  });

  it('rounds from the float32 value, not the float64 one', () => {
    // As a float64 this is just above a tie (-> 0x3c01), but its float32 is exactly the tie (-> 0x3c00).
    const value = 1 + 2 ** -11 + 2 ** -40;
    expect(float32ToFloat16Bits(value)).toBe(0x3c00);
    expect(Array.from(encodeFloat16([value]))).toEqual([0x3c00]);
  });

  it('keeps NaN a NaN with its sign', () => {
    expect(isNaNBits(float32ToFloat16Bits(Number.NaN))).toBe(true);
    expect(float32BitsToFloat16Bits(0x7fc00000)).toBe(0x7e00);
    expect(float32BitsToFloat16Bits(0xffc00000)).toBe(0xfe00);
    // A signalling NaN whose payload lies only in bits float16 drops must not become infinity.
    expect(isNaNBits(float32BitsToFloat16Bits(0x7f800001))).toBe(true);
    expect(float32BitsToFloat16Bits(0xff800001) & 0x8000).toBe(0x8000);
    expect(Number.isNaN(float16BitsToFloat32(0x7e00))).toBe(true);
    expect(Number.isNaN(float16BitsToFloat32(0xfc01))).toBe(true);
  });
});

describe('float16 exhaustive checks', () => {
  it('decodes every pattern to its defined value', () => {
    const decoded = decodeFloat16(allPatterns());
    for (let bits = 0; bits < 65536; bits++) {
      const expected = referenceValue(bits);
      const actual = decoded[bits]!;
      if (Number.isNaN(expected)) {
        if (!Number.isNaN(actual)) throw new Error(`0x${bits.toString(16)} should decode to NaN`);
      } else if (!Object.is(actual, expected) || !Object.is(float16BitsToFloat32(bits), expected)) {
        throw new Error(`0x${bits.toString(16)} decoded to ${actual}, expected ${expected}`);
      }
    }
  });

  it('round-trips every pattern through float32 (NaNs stay NaNs of the same sign)', () => {
    const patterns = allPatterns();
    const bulk = encodeFloat16(decodeFloat16(patterns));
    let mismatches = 0;
    for (let bits = 0; bits < 65536; bits++) {
      const scalar = float32ToFloat16Bits(float16BitsToFloat32(bits));
      if (isNaNBits(bits)) {
        const sameSign = ((bulk[bits]! ^ bits) & 0x8000) === 0;
        if (!isNaNBits(bulk[bits]!) || !sameSign || !isNaNBits(scalar)) mismatches++;
      } else if (bulk[bits] !== bits || scalar !== bits) {
        mismatches++;
      }
    }
    expect(mismatches).toBe(0);
  });

  it('keeps NaN payloads through the bulk decode and encode', () => {
    const quietWithPayload = new Uint16Array([0x7e01, 0xfe55, 0x7fff]);
    expect(Array.from(encodeFloat16(decodeFloat16(quietWithPayload)))).toEqual(Array.from(quietWithPayload));
  });

  it('rounds every midpoint between neighbours to the even one, and its float32 neighbours to the nearer one', () => {
    let failures = 0;
    for (let low = 0; low < 0x7bff; low++) {
      const middle = (referenceValue(low) + referenceValue(low + 1)) / 2;
      const middleBits = float32ToBits(middle);
      const tie = low % 2 === 0 ? low : low + 1;
      const above = float32BitsToFloat16Bits(middleBits + 1);
      const below = float32BitsToFloat16Bits(middleBits - 1);
      if (float32ToFloat16Bits(middle) !== tie || above !== low + 1 || below !== low) failures++;
      if (float32ToFloat16Bits(-middle) !== (tie | 0x8000)) failures++;
      if (bitsToFloat32(middleBits) !== middle) failures++;
    }
    expect(failures).toBe(0);
  });
});

describe('float16 bulk conversion', () => {
  it('agrees with the scalar conversion on plain arrays and Float32Array views', () => {
    const values = [0, -0, 1.5, -3.25, 65504, 70000, 1e-6, -1e-8, Math.PI, Number.NaN];
    const encoded = encodeFloat16(values);
    expect(Array.from(encoded)).toEqual(values.map(float32ToFloat16Bits));
    const offsetView = new Float32Array([9, ...values]).subarray(1);
    expect(Array.from(encodeFloat16(offsetView))).toEqual(Array.from(encoded));
  });

  it('decodes subnormals through the bit path exactly', () => {
    const decoded = decodeFloat16(new Uint16Array([0x0001, 0x0200, 0x03ff, 0x8001]));
    expect(Array.from(decoded)).toEqual([2 ** -24, 2 ** -15, 1023 * 2 ** -24, -(2 ** -24)]);
    expect(float16BitsToFloat32Bits(0x0001)).toBe(0x33800000);
  });

  it('handles empty input', () => {
    expect(encodeFloat16([]).length).toBe(0);
    expect(decodeFloat16(new Uint16Array(0)).length).toBe(0);
  });
});
