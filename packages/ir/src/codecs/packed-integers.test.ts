import { describe, expect, it } from 'vitest';
import {
  decodeFloat4E2M1,
  encodeFloat4E2M1,
  float4E2M1BitsToFloat32,
  float32ToFloat4E2M1Bits,
  packInt2,
  packInt4,
  unpackInt2,
  unpackInt4,
} from './packed-integers.js';

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, index) => from + index);

describe('4-bit integers', () => {
  it('packs element 0 into the low nibble and pads odd counts with zero', () => {
    expect(Array.from(packInt4([1, -2, 3], true))).toEqual([0xe1, 0x03]);
    expect(Array.from(packInt4([0xf, 0x0, 0x5, 0xa], false))).toEqual([0x0f, 0xa5]);
    expect(Array.from(packInt4([-8, 7], true))).toEqual([0x78]);
    expect(packInt4([], true).length).toBe(0);
  });

  it('unpacks low nibble first with sign extension for INT4', () => {
    expect(Array.from(unpackInt4(new Uint8Array([0xe1, 0x03]), 3, true))).toEqual([1, -2, 3]);
    expect(Array.from(unpackInt4(new Uint8Array([0xe1, 0x03]), 3, false))).toEqual([1, 14, 3]);
    expect(Array.from(unpackInt4(new Uint8Array([0x78]), 2, true))).toEqual([-8, 7]);
  });

  it('round-trips every value in both positions', () => {
    for (const signed of [true, false]) {
      const values = signed ? range(-8, 7) : range(0, 15);
      const pairs = values.flatMap((first) => values.flatMap((second) => [first, second]));
      expect(Array.from(unpackInt4(packInt4(pairs, signed), pairs.length, signed))).toEqual(pairs);
      const odd = [...values, values[0]!];
      expect(Array.from(unpackInt4(packInt4(odd, signed), odd.length, signed))).toEqual(odd);
    }
  });

  it('rejects values out of range or not integers', () => {
    expect(() => packInt4([8], true)).toThrow(RangeError);
    expect(() => packInt4([-9], true)).toThrow(RangeError);
    expect(() => packInt4([0, 16], false)).toThrow(/index 1/);
    expect(() => packInt4([-1], false)).toThrow(RangeError);
    expect(() => packInt4([1.5], true)).toThrow(RangeError);
    expect(() => packInt4([Number.NaN], false)).toThrow(RangeError);
  });

  it('rejects counts the bytes cannot hold', () => {
    expect(() => unpackInt4(new Uint8Array(1), 3, true)).toThrow(RangeError);
    expect(() => unpackInt4(new Uint8Array(1), -1, true)).toThrow(RangeError);
    expect(() => unpackInt4(new Uint8Array(1), 1.5, true)).toThrow(RangeError);
    expect(unpackInt4(new Uint8Array(1), 0, true).length).toBe(0);
  });
});

describe('2-bit integers', () => {
  it('packs four per byte, element 0 in the lowest bits', () => {
    // 1 -> 01, -2 -> 10, 0 -> 00, -1 -> 11; the fifth element starts a new byte.
    expect(Array.from(packInt2([1, -2, 0, -1, 1], true))).toEqual([0b11_00_10_01, 0b01]);
    expect(Array.from(packInt2([3, 0, 2], false))).toEqual([0b10_00_11]);
  });

  it('unpacks with sign extension for INT2', () => {
    const bytes = new Uint8Array([0b11_00_10_01, 0b01]);
    expect(Array.from(unpackInt2(bytes, 5, true))).toEqual([1, -2, 0, -1, 1]);
    expect(Array.from(unpackInt2(bytes, 5, false))).toEqual([1, 2, 0, 3, 1]);
  });

  it('round-trips every value in every position', () => {
    for (const signed of [true, false]) {
      const values = signed ? range(-2, 1) : range(0, 3);
      const all = values.flatMap((a) => values.flatMap((b) => values.flatMap((c) => values.map((d) => [a, b, c, d]))));
      const flat = all.flat();
      expect(Array.from(unpackInt2(packInt2(flat, signed), flat.length, signed))).toEqual(flat);
      const partial = flat.slice(0, 7);
      expect(Array.from(unpackInt2(packInt2(partial, signed), 7, signed))).toEqual(partial);
    }
  });

  it('rejects values out of range and oversized counts', () => {
    expect(() => packInt2([2], true)).toThrow(RangeError);
    expect(() => packInt2([-3], true)).toThrow(RangeError);
    expect(() => packInt2([4], false)).toThrow(RangeError);
    expect(() => packInt2([-1], false)).toThrow(RangeError);
    expect(() => unpackInt2(new Uint8Array(1), 5, false)).toThrow(RangeError);
  });
});

describe('FLOAT4E2M1', () => {
  it('decodes all sixteen patterns', () => {
    const values = Array.from({ length: 16 }, (_, bits) => float4E2M1BitsToFloat32(bits));
    expect(values).toEqual([0, 0.5, 1, 1.5, 2, 3, 4, 6, -0, -0.5, -1, -1.5, -2, -3, -4, -6]);
    expect(Object.is(values[8], -0)).toBe(true);
  });

  it('round-trips all sixteen patterns', () => {
    for (let bits = 0; bits < 16; bits++) {
      expect(float32ToFloat4E2M1Bits(float4E2M1BitsToFloat32(bits))).toBe(bits);
    }
  });

  it.each([
    [0.25, 0x0], // tie between 0 and 0.5 -> 0
    [0.2500001, 0x1],
    [0.75, 0x2], // tie between 0.5 and 1 -> 1
    [1.25, 0x2], // tie between 1 and 1.5 -> 1
    [1.75, 0x4], // tie between 1.5 and 2 -> 2
    [2.5, 0x4], // tie between 2 and 3 -> 2
    [3.5, 0x6], // tie between 3 and 4 -> 4
    [5, 0x6], // tie between 4 and 6 -> 4
    [5.01, 0x7],
    [1e-9, 0x0],
    [-1e-9, 0x8],
    [-1.25, 0xa],
  ])('rounds %d to nearest even pattern %i', (value, bits) => {
    expect(float32ToFloat4E2M1Bits(value)).toBe(bits);
  });

  it('saturates to ±6 and maps NaN to +6', () => {
    expect(float32ToFloat4E2M1Bits(7)).toBe(0x7);
    expect(float32ToFloat4E2M1Bits(1e30)).toBe(0x7);
    expect(float32ToFloat4E2M1Bits(-100)).toBe(0xf);
    expect(float32ToFloat4E2M1Bits(Number.POSITIVE_INFINITY)).toBe(0x7);
    expect(float32ToFloat4E2M1Bits(Number.NEGATIVE_INFINITY)).toBe(0xf);
    expect(float32ToFloat4E2M1Bits(Number.NaN)).toBe(0x7);
    // A NaN with the sign bit set still becomes +6.
    const negativeNaN = new Float32Array(new Uint32Array([0xffc00000]).buffer);
    expect(Array.from(encodeFloat4E2M1(negativeNaN))).toEqual([0x07]);
  });

  it('packs two per byte, low nibble first, and pads with zero', () => {
    // 1 -> 0x2, -2 -> 0xc, 6 -> 0x7
    expect(Array.from(encodeFloat4E2M1([1, -2, 6]))).toEqual([0xc2, 0x07]);
    expect(Array.from(decodeFloat4E2M1(new Uint8Array([0xc2, 0x07]), 3))).toEqual([1, -2, 6]);
    expect(Array.from(encodeFloat4E2M1(new Float32Array([0.5, 100])))).toEqual([0x71]);
  });

  it('agrees between bulk and scalar conversion', () => {
    const values = [0.1, 0.3, 0.9, -1.6, 2.4, 2.6, -5.5, 9, Number.NaN];
    const packed = encodeFloat4E2M1(values);
    const expected = values.map(float32ToFloat4E2M1Bits);
    expect(Array.from(decodeFloat4E2M1(packed, values.length))).toEqual(expected.map(float4E2M1BitsToFloat32));
  });

  it('rejects counts the bytes cannot hold', () => {
    expect(() => decodeFloat4E2M1(new Uint8Array(1), 3)).toThrow(RangeError);
  });
});
