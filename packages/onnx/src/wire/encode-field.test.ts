import { Random } from '@whittle/test-fixtures';
import { describe, expect, it } from 'vitest';
import { encodeVarint, lengthDelimitedHeader, varintSize } from './encode-field.js';
import { readVarint } from './reader.js';
import { plain, protobuf, readUint64 } from './test-support.js';

const VALUES = [
  0,
  1,
  127,
  128,
  300,
  16_383,
  16_384,
  2 ** 21 - 1,
  2 ** 21,
  2 ** 28,
  2 ** 31 - 1,
  2 ** 31,
  2 ** 31 + 5,
  2 ** 32 - 1,
  2 ** 32,
  2 ** 35 + 1,
  400_000_000_000,
  2 ** 49 - 1,
  2 ** 49,
  2 ** 52 + 3,
  Number.MAX_SAFE_INTEGER,
];
const random = new Random(7);
for (let i = 0; i < 200; i++) VALUES.push(Math.floor(random.next() * 2 ** random.integer(0, 53)));

describe('encodeVarint / varintSize', () => {
  it.each(VALUES)('encodes %d exactly as protobufjs does', (value) => {
    const expected = plain(protobuf.Writer.create().uint64(value).finish());
    expect(encodeVarint(value)).toEqual(expected);
    expect(varintSize(value)).toBe(expected.length);
    expect(readUint64(protobuf.Reader.create(encodeVarint(value)))).toBe(value);
    const out = { value: -1 };
    expect(readVarint(encodeVarint(value), 0, expected.length, out)).toBe(expected.length);
    expect(out.value).toBe(value);
  });

  it('has the known encodings at the 7-bit boundaries', () => {
    expect([...encodeVarint(300)]).toEqual([0xac, 0x02]);
    expect([...encodeVarint(2 ** 31)]).toEqual([0x80, 0x80, 0x80, 0x80, 0x08]);
    expect([...encodeVarint(2 ** 53 - 1)]).toEqual([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]);
    expect([0, 127, 128, 2 ** 14, 2 ** 28, 2 ** 35, 2 ** 42, 2 ** 49].map(varintSize)).toEqual([
      1, 1, 2, 3, 5, 6, 7, 8,
    ]);
  });

  it('rejects values it cannot encode exactly', () => {
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
      expect(() => encodeVarint(bad)).toThrow(RangeError);
      expect(() => varintSize(bad)).toThrow(RangeError);
    }
  });
});

describe('lengthDelimitedHeader', () => {
  it.each([
    [1, 0],
    [7, 5],
    [15, 127],
    [16, 128],
    [25, 2 ** 31 + 5],
    [2 ** 29 - 1, 2 ** 32],
    [9, Number.MAX_SAFE_INTEGER],
  ])('field %d, length %d is the tag and length protobufjs writes', (field, length) => {
    const expected = plain(
      protobuf.Writer.create()
        .uint32(field * 8 + 2)
        .uint64(length)
        .finish(),
    );
    expect(lengthDelimitedHeader(field, length)).toEqual(expected);
  });

  it('produces a header protobufjs reads back with the payload', () => {
    const payload = new Uint8Array([1, 2, 3]);
    const field = new Uint8Array([...lengthDelimitedHeader(20, payload.length), ...payload]);
    const reader = protobuf.Reader.create(field);
    expect(reader.uint32()).toBe(20 * 8 + 2);
    expect(reader.uint32()).toBe(3);
  });

  it('rejects invalid field numbers and lengths', () => {
    expect(() => lengthDelimitedHeader(0, 1)).toThrow(RangeError);
    expect(() => lengthDelimitedHeader(2 ** 29, 1)).toThrow(RangeError);
    expect(() => lengthDelimitedHeader(1.5, 1)).toThrow(RangeError);
    expect(() => lengthDelimitedHeader(1, -1)).toThrow(RangeError);
    expect(() => lengthDelimitedHeader(1, 2 ** 53)).toThrow(RangeError);
  });
});
