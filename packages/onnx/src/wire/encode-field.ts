/**
 * Encoding helpers for writing protobuf fields by hand. Values are handled with arithmetic rather than 32-bit bit
 * operators so that everything up to Number.MAX_SAFE_INTEGER (2^53 - 1) encodes exactly.
 */
import { WIRE_LENGTH_DELIMITED } from './reader.js';

const MAX_FIELD_NUMBER = 2 ** 29 - 1;

function checkUnsigned(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${what} must be a non-negative safe integer, got ${value}`);
  }
}

/** Number of bytes of the unsigned varint encoding of `value`. */
export function varintSize(value: number): number {
  checkUnsigned(value, 'varint value');
  let size = 1;
  while (value >= 128) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

function writeVarint(target: Uint8Array, offset: number, value: number): number {
  while (value >= 128) {
    target[offset++] = (value % 128) + 128;
    value = Math.floor(value / 128);
  }
  target[offset++] = value;
  return offset;
}

/** The unsigned varint encoding of `value` (0 ≤ value ≤ 2^53 - 1). */
export function encodeVarint(value: number): Uint8Array {
  const out = new Uint8Array(varintSize(value));
  writeVarint(out, 0, value);
  return out;
}

/** Tag (wire type 2) followed by the length varint: everything of a length-delimited field before its payload. */
export function lengthDelimitedHeader(fieldNumber: number, length: number): Uint8Array {
  if (!Number.isInteger(fieldNumber) || fieldNumber < 1 || fieldNumber > MAX_FIELD_NUMBER) {
    throw new RangeError(`field number must be an integer in [1, ${MAX_FIELD_NUMBER}], got ${fieldNumber}`);
  }
  checkUnsigned(length, 'length');
  const tag = fieldNumber * 8 + WIRE_LENGTH_DELIMITED;
  const out = new Uint8Array(varintSize(tag) + varintSize(length));
  writeVarint(out, writeVarint(out, 0, tag), length);
  return out;
}
