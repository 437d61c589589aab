import { describe, expect, it } from 'vitest';
import {
  bfloat16BitsToFloat32,
  decodeBfloat16,
  encodeBfloat16,
  float32BitsToBfloat16Bits,
  float32ToBfloat16Bits,
} from './bfloat16.js';
import { bitsToFloat32 } from './float-bits.js';

const isNaNBits = (bits: number) => (bits & 0x7f80) === 0x7f80 && (bits & 0x7f) !== 0;

describe('bfloat16 known bit patterns', () => {
  it.each([
    [1, 0x3f80],
    [-1, 0xbf80],
    [0, 0x0000],
    [-0, 0x8000],
    [2, 0x4000],
    [1.5, 0x3fc0],
    [Number.POSITIVE_INFINITY, 0x7f80],
    [Number.NEGATIVE_INFINITY, 0xff80],
    [bitsToFloat32(0x7f7f0000), 0x7f7f], // largest finite
    [2 ** -133, 0x0001], // smallest subnormal
  ])('encodes %d as pattern %i and decodes it back', (value, bits) => {
    expect(float32ToBfloat16Bits(value)).toBe(bits);
    expect(Object.is(bfloat16BitsToFloat32(bits), value)).toBe(true);
  });

  it('rounds ties to even', () => {
    // 1.00390625 = 1 + 2^-8 sits exactly between 0x3f80 and 0x3f81.
    expect(float32ToBfloat16Bits(1.00390625)).toBe(0x3f80);
    // 1 + 3 * 2^-8 sits between 0x3f81 and 0x3f82.
    expect(float32ToBfloat16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82);
    expect(float32BitsToBfloat16Bits(0x3f808001)).toBe(0x3f81);
    expect(float32BitsToBfloat16Bits(0x3f807fff)).toBe(0x3f80);
    // Subnormal tie and a carry from the largest subnormal into the smallest normal.
    expect(float32BitsToBfloat16Bits(0x00008000)).toBe(0x0000);
    expect(float32BitsToBfloat16Bits(0x00018000)).toBe(0x0002);
    expect(float32BitsToBfloat16Bits(0x007fffff)).toBe(0x0080);
  });

  it('overflows to infinity only past the last midpoint', () => {
    expect(float32BitsToBfloat16Bits(0x7f7f7fff)).toBe(0x7f7f);
    expect(float32BitsToBfloat16Bits(0x7f7f8000)).toBe(0x7f80);
    expect(float32BitsToBfloat16Bits(0x7f7fffff)).toBe(0x7f80);
    expect(float32BitsToBfloat16Bits(0xff7fffff)).toBe(0xff80);
  });

  it('keeps NaN a quiet NaN and never rounds it into infinity', () => {
    expect(isNaNBits(float32ToBfloat16Bits(Number.NaN))).toBe(true);
    expect(float32BitsToBfloat16Bits(0x7fc00000)).toBe(0x7fc0);
    expect(float32BitsToBfloat16Bits(0xffc00000)).toBe(0xffc0);
    // Payload only in the dropped half: plain truncation would give infinity.
    expect(float32BitsToBfloat16Bits(0x7f800001)).toBe(0x7fc0);
    // All-ones payload: plain rounding would carry into the sign.
    expect(float32BitsToBfloat16Bits(0x7fffffff)).toBe(0x7fff);
    expect(Number.isNaN(bfloat16BitsToFloat32(0x7f81))).toBe(true);
  });

  it('rounds from the float32 value, not the float64 one', () => {
    // Float64 above the tie, but its float32 is exactly the tie 1 + 2^-8.
    expect(float32ToBfloat16Bits(1 + 2 ** -8 + 2 ** -40)).toBe(0x3f80);
  });
});

describe('bfloat16 exhaustive checks', () => {
  it('round-trips every pattern (NaNs stay NaNs of the same sign)', () => {
    const patterns = Uint16Array.from({ length: 65536 }, (_, index) => index);
    const decoded = decodeBfloat16(patterns);
    const encoded = encodeBfloat16(decoded);
    let mismatches = 0;
    for (let bits = 0; bits < 65536; bits++) {
      if (isNaNBits(bits)) {
        if (!isNaNBits(encoded[bits]!) || (encoded[bits]! ^ bits) & 0x8000) mismatches++;
        if (!Number.isNaN(decoded[bits]!)) mismatches++;
      } else {
        if (encoded[bits] !== bits) mismatches++;
        if (!Object.is(bfloat16BitsToFloat32(bits), decoded[bits])) mismatches++;
        if (float32ToBfloat16Bits(bfloat16BitsToFloat32(bits)) !== bits) mismatches++;
      }
    }
    expect(mismatches).toBe(0);
  });

  it('agrees between bulk and scalar conversion', () => {
    const values = [0.1, -0.2, 3.3e38, -1e-39, 123.456, Number.NaN, -0];
    expect(Array.from(encodeBfloat16(values))).toEqual(values.map(float32ToBfloat16Bits));
  });
});
