import { describe, expect, it } from 'vitest';
import {
  bitsToFloat32,
  float32BitsOf,
  float32ToBits,
  roundFloat32Magnitude,
  shiftRightRoundingToEven,
} from './float-bits.js';

describe('float32 bit access', () => {
  it('reads and writes IEEE 754 single precision bits', () => {
    expect(float32ToBits(1)).toBe(0x3f800000);
    expect(float32ToBits(-2)).toBe(0xc0000000);
    expect(float32ToBits(-0)).toBe(0x80000000);
    expect(bitsToFloat32(0x3f800000)).toBe(1);
    expect(bitsToFloat32(0x7f800000)).toBe(Number.POSITIVE_INFINITY);
    expect(Number.isNaN(bitsToFloat32(0x7fc00000))).toBe(true);
  });

  it('rounds a float64 to float32 before taking its bits', () => {
    // 1 + 2^-30 is not a float32; it rounds down to 1.
    expect(float32ToBits(1 + 2 ** -30)).toBe(0x3f800000);
  });

  it('views a Float32Array without copying and copies other inputs', () => {
    const floats = new Float32Array([1, 2, 3, 4]).subarray(1, 3);
    const view = float32BitsOf(floats);
    expect(view.buffer).toBe(floats.buffer);
    expect(Array.from(view)).toEqual([0x40000000, 0x40400000]);
    expect(Array.from(float32BitsOf([1, -0]))).toEqual([0x3f800000, 0x80000000]);
  });
});

describe('rounding helpers', () => {
  it('shifts right rounding half to even', () => {
    expect(shiftRightRoundingToEven(0b0101, 1)).toBe(0b010); // 2.5 -> 2
    expect(shiftRightRoundingToEven(0b0111, 1)).toBe(0b100); // 3.5 -> 4
    expect(shiftRightRoundingToEven(0b01101, 2)).toBe(0b011); // 3.25 -> 3
    expect(shiftRightRoundingToEven(0b01111, 2)).toBe(0b100); // 3.75 -> 4
  });

  it('handles float32 subnormal inputs for a format with the float32 exponent range', () => {
    // Smallest float32 subnormal against a 7-bit fraction, bias 127 format: far below half a step.
    expect(roundFloat32Magnitude(0x00000001, 7, 127)).toBe(0);
    // Largest float32 subnormal is just under 2^-126, which rounds up to the smallest normal code.
    expect(roundFloat32Magnitude(0x007fffff, 7, 127)).toBe(0x0080);
  });
});
