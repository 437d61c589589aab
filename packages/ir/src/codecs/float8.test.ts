import { describe, expect, it } from 'vitest';
import { DataType } from '../data-type.js';
import { float32ToBits } from './float-bits.js';
import {
  decodeFloat8,
  encodeFloat8,
  type Float8DataType,
  float8BitsToFloat32,
  float32ToFloat8Bits,
  isFloat8DataType,
} from './float8.js';

const { FLOAT8E4M3FN, FLOAT8E4M3FNUZ, FLOAT8E5M2, FLOAT8E5M2FNUZ } = DataType;
const TYPES: Float8DataType[] = [FLOAT8E4M3FN, FLOAT8E4M3FNUZ, FLOAT8E5M2, FLOAT8E5M2FNUZ];
const NAMES: Record<Float8DataType, string> = {
  [FLOAT8E4M3FN]: 'E4M3FN',
  [FLOAT8E4M3FNUZ]: 'E4M3FNUZ',
  [FLOAT8E5M2]: 'E5M2',
  [FLOAT8E5M2FNUZ]: 'E5M2FNUZ',
};
/** Largest finite magnitude pattern of each type. */
const MAX_CODE: Record<Float8DataType, number> = {
  [FLOAT8E4M3FN]: 0x7e,
  [FLOAT8E4M3FNUZ]: 0x7f,
  [FLOAT8E5M2]: 0x7b,
  [FLOAT8E5M2FNUZ]: 0x7f,
};
const isUnsignedZeroType = (type: Float8DataType) => type === FLOAT8E4M3FNUZ || type === FLOAT8E5M2FNUZ;
const allPatterns = () => Uint8Array.from({ length: 256 }, (_, index) => index);
const encode = (value: number, type: Float8DataType, saturate = true) => float32ToFloat8Bits(value, type, { saturate });

describe('float8 known values', () => {
  // [type, value, bits]: exact values that encode and decode both ways.
  it.each([
    [FLOAT8E4M3FN, 1, 0x38],
    [FLOAT8E4M3FN, -1, 0xb8],
    [FLOAT8E4M3FN, 0.5, 0x30],
    [FLOAT8E4M3FN, 448, 0x7e],
    [FLOAT8E4M3FN, -448, 0xfe],
    [FLOAT8E4M3FN, 2 ** -6, 0x08],
    [FLOAT8E4M3FN, 2 ** -9, 0x01],
    [FLOAT8E4M3FN, 7 * 2 ** -9, 0x07],
    [FLOAT8E4M3FN, -0, 0x80],
    [FLOAT8E4M3FNUZ, 1, 0x40],
    [FLOAT8E4M3FNUZ, 240, 0x7f],
    [FLOAT8E4M3FNUZ, -240, 0xff],
    [FLOAT8E4M3FNUZ, 2 ** -7, 0x08],
    [FLOAT8E4M3FNUZ, 2 ** -10, 0x01],
    [FLOAT8E5M2, 1, 0x3c],
    [FLOAT8E5M2, -2, 0xc0],
    [FLOAT8E5M2, 57344, 0x7b],
    [FLOAT8E5M2, 2 ** -14, 0x04],
    [FLOAT8E5M2, 2 ** -16, 0x01],
    [FLOAT8E5M2, -0, 0x80],
    [FLOAT8E5M2, Number.POSITIVE_INFINITY, 0x7c],
    [FLOAT8E5M2, Number.NEGATIVE_INFINITY, 0xfc],
    [FLOAT8E5M2FNUZ, 1, 0x40],
    [FLOAT8E5M2FNUZ, 57344, 0x7f],
    [FLOAT8E5M2FNUZ, -57344, 0xff],
    [FLOAT8E5M2FNUZ, 2 ** -15, 0x04],
    [FLOAT8E5M2FNUZ, 2 ** -17, 0x01],
  ] as [Float8DataType, number, number][])('type %i: %d <-> pattern %i', (type, value, bits) => {
    // Infinities only encode to themselves without saturation.
    expect(encode(value, type, Number.isFinite(value))).toBe(bits);
    expect(Object.is(float8BitsToFloat32(bits, type), value)).toBe(true);
  });

  it('has exactly the NaN patterns of each type', () => {
    const nanPatterns = (type: Float8DataType) =>
      Array.from(decodeFloat8(allPatterns(), type).entries())
        .filter(([, value]) => Number.isNaN(value))
        .map(([bits]) => bits);
    expect(nanPatterns(FLOAT8E4M3FN)).toEqual([0x7f, 0xff]);
    expect(nanPatterns(FLOAT8E4M3FNUZ)).toEqual([0x80]);
    expect(nanPatterns(FLOAT8E5M2)).toEqual([0x7d, 0x7e, 0x7f, 0xfd, 0xfe, 0xff]);
    expect(nanPatterns(FLOAT8E5M2FNUZ)).toEqual([0x80]);
  });

  it('matches the float16 top byte for E5M2', () => {
    // E5M2 is float16 with the low 8 fraction bits dropped: 0x3c is 1, 0x3d is 1.25, 0x44 is 4.
    expect(float8BitsToFloat32(0x3d, FLOAT8E5M2)).toBe(1.25);
    expect(float8BitsToFloat32(0x44, FLOAT8E5M2)).toBe(4);
  });

  it('encodes NaN as the NaN pattern of each type', () => {
    expect(encode(Number.NaN, FLOAT8E4M3FN) & 0x7f).toBe(0x7f);
    expect(Number.isNaN(float8BitsToFloat32(encode(Number.NaN, FLOAT8E5M2), FLOAT8E5M2))).toBe(true);
    expect(encode(Number.NaN, FLOAT8E4M3FNUZ)).toBe(0x80);
    expect(encode(Number.NaN, FLOAT8E5M2FNUZ)).toBe(0x80);
    // Saturation never applies to NaN.
    for (const type of TYPES) {
      expect(Number.isNaN(float8BitsToFloat32(encode(Number.NaN, type, true), type))).toBe(true);
    }
  });

  it('has no negative zero in FNUZ types', () => {
    for (const type of [FLOAT8E4M3FNUZ, FLOAT8E5M2FNUZ] as const) {
      expect(encode(-0, type)).toBe(0x00);
      // Negative values that round to zero must not produce 0x80, which is NaN.
      expect(encode(-1e-30, type)).toBe(0x00);
      expect(encode(-1e-30, type, false)).toBe(0x00);
    }
    expect(encode(-1e-30, FLOAT8E4M3FN)).toBe(0x80);
    expect(encode(-1e-30, FLOAT8E5M2)).toBe(0x80);
  });
});

describe('float8 rounding and saturation', () => {
  it('rounds ties to even', () => {
    // E4M3FN near 1: step 1/8. 1 + 1/16 is a tie between 0x38 (even) and 0x39.
    expect(encode(1 + 1 / 16, FLOAT8E4M3FN)).toBe(0x38);
    expect(encode(1 + 3 / 16, FLOAT8E4M3FN)).toBe(0x3a);
    expect(encode(1 + 1 / 16 + 2 ** -20, FLOAT8E4M3FN)).toBe(0x39);
    // E5M2 near 1: step 1/4.
    expect(encode(1.125, FLOAT8E5M2)).toBe(0x3c);
    expect(encode(1.375, FLOAT8E5M2)).toBe(0x3e);
    // Subnormal ties: half the smallest subnormal rounds to zero, three halves to two.
    expect(encode(2 ** -10, FLOAT8E4M3FN)).toBe(0x00);
    expect(encode(3 * 2 ** -10, FLOAT8E4M3FN)).toBe(0x02);
    expect(encode(2 ** -17, FLOAT8E5M2)).toBe(0x00);
    expect(encode(2 ** -17 * (1 + 2 ** -20), FLOAT8E5M2)).toBe(0x01);
  });

  it('saturates or overflows E4M3FN to NaN (no infinity)', () => {
    // 464 is the midpoint above 448; 448 has an even fraction so the tie stays at 448.
    expect(encode(464, FLOAT8E4M3FN, false)).toBe(0x7e);
    expect(encode(465, FLOAT8E4M3FN, true)).toBe(0x7e);
    expect(encode(465, FLOAT8E4M3FN, false)).toBe(0x7f);
    expect(encode(-1000, FLOAT8E4M3FN, true)).toBe(0xfe);
    expect(encode(-1000, FLOAT8E4M3FN, false)).toBe(0xff);
    expect(encode(Number.POSITIVE_INFINITY, FLOAT8E4M3FN, true)).toBe(0x7e);
    expect(encode(Number.NEGATIVE_INFINITY, FLOAT8E4M3FN, true)).toBe(0xfe);
    expect(encode(Number.POSITIVE_INFINITY, FLOAT8E4M3FN, false)).toBe(0x7f);
    expect(encode(Number.NEGATIVE_INFINITY, FLOAT8E4M3FN, false)).toBe(0xff);
  });

  it('saturates or overflows E5M2 to infinity', () => {
    // 61440 is the midpoint above 57344, whose fraction is odd, so the tie rounds up out of range.
    expect(encode(61439, FLOAT8E5M2, false)).toBe(0x7b);
    expect(encode(61440, FLOAT8E5M2, false)).toBe(0x7c);
    expect(encode(61440, FLOAT8E5M2, true)).toBe(0x7b);
    expect(encode(-1e6, FLOAT8E5M2, false)).toBe(0xfc);
    expect(encode(-1e6, FLOAT8E5M2, true)).toBe(0xfb);
    expect(encode(Number.POSITIVE_INFINITY, FLOAT8E5M2, true)).toBe(0x7b);
    expect(encode(Number.NEGATIVE_INFINITY, FLOAT8E5M2, true)).toBe(0xfb);
  });

  it('saturates FNUZ types or overflows them to the single NaN', () => {
    // E4M3FNUZ: 248 is the midpoint above 240 (odd fraction), so it rounds out of range.
    expect(encode(247, FLOAT8E4M3FNUZ, false)).toBe(0x7f);
    expect(encode(248, FLOAT8E4M3FNUZ, false)).toBe(0x80);
    expect(encode(248, FLOAT8E4M3FNUZ, true)).toBe(0x7f);
    expect(encode(-248, FLOAT8E4M3FNUZ, true)).toBe(0xff);
    expect(encode(-248, FLOAT8E4M3FNUZ, false)).toBe(0x80);
    expect(encode(61440, FLOAT8E5M2FNUZ, false)).toBe(0x80);
    expect(encode(61440, FLOAT8E5M2FNUZ, true)).toBe(0x7f);
    for (const type of [FLOAT8E4M3FNUZ, FLOAT8E5M2FNUZ] as const) {
      expect(encode(Number.POSITIVE_INFINITY, type, true)).toBe(0x7f);
      expect(encode(Number.NEGATIVE_INFINITY, type, true)).toBe(0xff);
      expect(encode(Number.POSITIVE_INFINITY, type, false)).toBe(0x80);
      expect(encode(Number.NEGATIVE_INFINITY, type, false)).toBe(0x80);
    }
  });

  it('saturates by default', () => {
    expect(float32ToFloat8Bits(1e9, FLOAT8E4M3FN)).toBe(0x7e);
    expect(Array.from(encodeFloat8([1e9, -1e9], FLOAT8E5M2))).toEqual([0x7b, 0xfb]);
    expect(Array.from(encodeFloat8([1e9, -1e9], FLOAT8E5M2, { saturate: false }))).toEqual([0x7c, 0xfc]);
  });
});

describe.each(TYPES)('float8 type %i exhaustive checks', (type) => {
  const name = NAMES[type];
  const decoded = decodeFloat8(allPatterns(), type);

  it(`${name}: decodes finite patterns in increasing order, mirrored by the sign bit`, () => {
    for (let code = 1; code <= MAX_CODE[type]; code++) {
      expect(decoded[code]!, `pattern ${code}`).toBeGreaterThan(decoded[code - 1]!);
      expect(decoded[code | 0x80], `pattern ${code | 0x80}`).toBe(-decoded[code]!);
    }
    expect(Object.is(decoded[0], 0)).toBe(true);
    if (!isUnsignedZeroType(type)) expect(Object.is(decoded[0x80], -0)).toBe(true);
  });

  it(`${name}: round-trips all 256 patterns (NaNs as NaN)`, () => {
    const withoutSaturation = encodeFloat8(decoded, type, { saturate: false });
    const withSaturation = encodeFloat8(decoded, type, { saturate: true });
    for (let bits = 0; bits < 256; bits++) {
      const value = decoded[bits]!;
      if (Number.isNaN(value)) {
        expect(Number.isNaN(float8BitsToFloat32(withoutSaturation[bits]!, type)), `pattern ${bits}`).toBe(true);
        expect(Number.isNaN(float8BitsToFloat32(withSaturation[bits]!, type)), `pattern ${bits}`).toBe(true);
        continue;
      }
      expect(withoutSaturation[bits], `pattern ${bits}`).toBe(bits);
      expect(float32ToFloat8Bits(float8BitsToFloat32(bits, type), type, { saturate: false })).toBe(bits);
      // Saturation changes only infinities (E5M2), which it clamps to the largest finite value.
      const saturated = Number.isFinite(value) ? bits : (bits & 0x80) | MAX_CODE[type];
      expect(withSaturation[bits], `pattern ${bits}`).toBe(saturated);
    }
  });

  it(`${name}: rounds every midpoint to the even neighbour and its float32 neighbours to the nearer one`, () => {
    for (let low = 0; low < MAX_CODE[type]; low++) {
      const middle = (decoded[low]! + decoded[low + 1]!) / 2;
      const middleBits = float32ToBits(middle);
      const tie = low % 2 === 0 ? low : low + 1;
      expect(encode(middle, type), `midpoint above ${low}`).toBe(tie);
      expect(float32ToFloat8Bits(decodeOfBits(middleBits + 1), type), `above midpoint ${low}`).toBe(low + 1);
      expect(float32ToFloat8Bits(decodeOfBits(middleBits - 1), type), `below midpoint ${low}`).toBe(low);
      const negativeTie = tie === 0 && isUnsignedZeroType(type) ? 0 : tie | 0x80;
      expect(encode(-middle, type), `negative midpoint above ${low}`).toBe(negativeTie);
    }
  });
});

/** Float32 value of raw bits, built without the code under test. */
function decodeOfBits(bits: number): number {
  return new Float32Array(new Uint32Array([bits]).buffer)[0]!;
}

describe('float8 argument checks', () => {
  it('recognises float8 element types', () => {
    expect(TYPES.every(isFloat8DataType)).toBe(true);
    expect(isFloat8DataType(DataType.FLOAT16)).toBe(false);
    expect(isFloat8DataType(DataType.FLOAT8E8M0)).toBe(false);
  });

  it('rejects other element types', () => {
    const notFloat8 = DataType.FLOAT16 as unknown as Float8DataType;
    expect(() => float32ToFloat8Bits(1, notFloat8)).toThrow(RangeError);
    expect(() => float8BitsToFloat32(0, notFloat8)).toThrow(RangeError);
    expect(() => encodeFloat8([1], notFloat8)).toThrow(RangeError);
    expect(() => decodeFloat8(new Uint8Array(1), notFloat8)).toThrow(RangeError);
  });

  it('agrees between bulk and scalar conversion and reads Float32Array views', () => {
    const values = new Float32Array([7, 0.3, -0.3, 1e-3, -500, 20000, Number.NaN, -0]).subarray(1);
    for (const type of TYPES) {
      for (const saturate of [true, false]) {
        const scalar = Array.from(values, (value) => float32ToFloat8Bits(value, type, { saturate }));
        expect(Array.from(encodeFloat8(values, type, { saturate }))).toEqual(scalar);
      }
    }
  });
});
