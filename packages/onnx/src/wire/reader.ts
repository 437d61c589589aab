/**
 * Low-level protobuf wire-format reading: varints and field skipping over a Uint8Array, with bounds checks against an
 * explicit `end` so that a field inside a sub-message can never run past that sub-message. Nothing here allocates
 * per call except the small result objects the callers keep. Values are read with arithmetic, never 32-bit bit
 * operators, so lengths up to 2^53 are exact.
 */
import { WireFormatError } from './errors.js';

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LENGTH_DELIMITED = 2;
export const WIRE_START_GROUP = 3;
export const WIRE_END_GROUP = 4;
export const WIRE_FIXED32 = 5;

/** A varint never has more than 10 bytes (64 bits / 7). */
const MAX_VARINT_BYTES = 10;
/** A tag is a uint32, so at most 5 bytes. */
const MAX_TAG_BYTES = 5;
const MAX_TAG = 0xffff_ffff;

/** Position just past the varint starting at `pos`; throws when it is truncated by `end` or longer than 10 bytes. */
export function skipVarint(bytes: Uint8Array, pos: number, end: number): number {
  const start = pos;
  const limit = Math.min(end, pos + MAX_VARINT_BYTES);
  while (pos < limit) {
    if (bytes[pos++]! < 0x80) return pos;
  }
  if (limit < start + MAX_VARINT_BYTES) {
    throw new WireFormatError(`truncated varint (message ends at byte ${end})`, start);
  }
  throw new WireFormatError('varint longer than 10 bytes', start);
}

/**
 * Reads an unsigned varint starting at `pos` into `out.value` and returns the position after it. Values above 2^53 lose
 * precision (they can never be a valid length or tag anyway, and callers reject them by range).
 */
export function readVarint(bytes: Uint8Array, pos: number, end: number, out: { value: number }): number {
  const start = pos;
  let value = 0;
  let scale = 1;
  const limit = Math.min(end, pos + MAX_VARINT_BYTES);
  while (pos < limit) {
    const b = bytes[pos++]!;
    value += (b & 0x7f) * scale;
    if (b < 0x80) {
      out.value = value;
      return pos;
    }
    scale *= 128;
  }
  if (limit < start + MAX_VARINT_BYTES) {
    throw new WireFormatError(`truncated varint (message ends at byte ${end})`, start);
  }
  throw new WireFormatError('varint longer than 10 bytes', start);
}

/** The decoded tag of one field. */
export interface FieldHeader {
  /** Offset of the first byte of the tag. */
  start: number;
  fieldNumber: number;
  wireType: number;
  /** For length-delimited fields: first payload byte; otherwise the first byte after the tag. */
  payloadStart: number;
  /** Offset just past the whole field. */
  end: number;
}

const scratch = { value: 0 };

/**
 * Reads the field starting at `pos` (which must be < `end`) into `out` and validates that it fits before `end`.
 * Groups (wire types 3 and 4) and wire types 6 and 7 are rejected.
 */
export function readField(bytes: Uint8Array, pos: number, end: number, out: FieldHeader): void {
  const start = pos;
  const tagEnd = readVarint(bytes, pos, end, scratch);
  const tag = scratch.value;
  if (tagEnd - start > MAX_TAG_BYTES || tag > MAX_TAG) {
    throw new WireFormatError('field tag does not fit in 32 bits', start);
  }
  const wireType = tag % 8;
  const fieldNumber = (tag - wireType) / 8;
  if (fieldNumber === 0) throw new WireFormatError('field number 0 is invalid', start);
  pos = tagEnd;
  let payloadStart = pos;
  switch (wireType) {
    case WIRE_VARINT:
      pos = skipVarint(bytes, pos, end);
      break;
    case WIRE_FIXED64:
      if (end - pos < 8) throw truncated(fieldNumber, 'fixed64', start, end);
      pos += 8;
      break;
    case WIRE_FIXED32:
      if (end - pos < 4) throw truncated(fieldNumber, 'fixed32', start, end);
      pos += 4;
      break;
    case WIRE_LENGTH_DELIMITED: {
      payloadStart = readVarint(bytes, pos, end, scratch);
      const length = scratch.value;
      if (length > end - payloadStart) {
        throw new WireFormatError(
          `field ${fieldNumber} declares ${length} bytes but only ${end - payloadStart} remain before byte ${end}`,
          start,
        );
      }
      pos = payloadStart + length;
      break;
    }
    case WIRE_START_GROUP:
    case WIRE_END_GROUP:
      throw new WireFormatError(`field ${fieldNumber} uses group wire type ${wireType}, which is not supported`, start);
    default:
      throw new WireFormatError(`field ${fieldNumber} has invalid wire type ${wireType}`, start);
  }
  out.start = start;
  out.fieldNumber = fieldNumber;
  out.wireType = wireType;
  out.payloadStart = payloadStart;
  out.end = pos;
}

function truncated(fieldNumber: number, kind: string, start: number, end: number): WireFormatError {
  return new WireFormatError(`${kind} field ${fieldNumber} is truncated (message ends at byte ${end})`, start);
}

export function newFieldHeader(): FieldHeader {
  return { start: 0, fieldNumber: 0, wireType: 0, payloadStart: 0, end: 0 };
}
