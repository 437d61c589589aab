/**
 * Test-only helpers (imported by the *.test.ts files beside it, never by the library): an independent protobuf
 * oracle (protobufjs's own Reader/Writer, reached through onnx-proto's dependency) and byte-building utilities.
 */
import { createRequire } from 'node:module';

interface PbLong {
  toNumber(): number;
}
export interface PbWriter {
  uint32(value: number): PbWriter;
  uint64(value: number): PbWriter;
  bytes(value: Uint8Array): PbWriter;
  finish(): Uint8Array;
}
export interface PbReader {
  pos: number;
  len: number;
  uint32(): number;
  uint64(): PbLong | number;
  skipType(wireType: number): PbReader;
}
interface Protobuf {
  Writer: { create(): PbWriter };
  Reader: { create(buffer: Uint8Array): PbReader };
}

const requireHere = createRequire(import.meta.url);
export const onnxProtoEntry: string = requireHere.resolve('onnx-proto');
export const protobuf = createRequire(onnxProtoEntry)('protobufjs/minimal') as Protobuf;

export function readUint64(reader: PbReader): number {
  const value = reader.uint64();
  return typeof value === 'number' ? value : value.toNumber();
}

/** Plain Uint8Array copy (protobufjs hands out Node Buffers). */
export function plain(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** A length-delimited field, encoded by protobufjs. */
export function ldField(fieldNumber: number, payload: Uint8Array): Uint8Array {
  return plain(
    protobuf.Writer.create()
      .uint32(fieldNumber * 8 + 2)
      .bytes(payload)
      .finish(),
  );
}

/** A tag varint, encoded by protobufjs. */
export function tag(fieldNumber: number, wireType: number): Uint8Array {
  return plain(
    protobuf.Writer.create()
      .uint32(fieldNumber * 8 + wireType)
      .finish(),
  );
}

/** A varint field, encoded by protobufjs. */
export function varintField(fieldNumber: number, value: number): Uint8Array {
  return plain(
    protobuf.Writer.create()
      .uint32(fieldNumber * 8)
      .uint64(value)
      .finish(),
  );
}

interface TopField {
  fieldNumber: number;
  wireType: number;
  start: number;
  payloadStart: number;
  end: number;
}

/** Top-level fields of a message, parsed by protobufjs's Reader. */
export function topFields(message: Uint8Array): TopField[] {
  const reader = protobuf.Reader.create(message);
  const fields: TopField[] = [];
  while (reader.pos < reader.len) {
    const start = reader.pos;
    const tag = reader.uint32();
    const wireType = tag & 7;
    let payloadStart = reader.pos;
    if (wireType === 2) {
      const length = reader.uint32();
      payloadStart = reader.pos;
      reader.pos += length;
    } else {
      reader.skipType(wireType);
    }
    fields.push({ fieldNumber: tag >>> 3, wireType, start, payloadStart, end: reader.pos });
  }
  return fields;
}

/**
 * Returns a copy of `model` where the payload of the sub-message at `path` (format of `pathOf`) is replaced by
 * `edit(payload)`, rewriting every enclosing length prefix. Written on protobufjs's Reader, independently of the
 * scanner.
 */
export function replaceAt(model: Uint8Array, path: string, edit: (payload: Uint8Array) => Uint8Array): Uint8Array {
  if (path === '') return edit(model);
  const [head, ...rest] = path.split('/');
  const [fieldText, indexText] = head!.split(':');
  const fieldNumber = Number(fieldText);
  const index = Number(indexText);
  const occurrence = topFields(model).filter((f) => f.fieldNumber === fieldNumber)[index];
  if (occurrence === undefined || occurrence.wireType !== 2) throw new Error(`replaceAt: no message at ${head}`);
  const payload = replaceAt(model.subarray(occurrence.payloadStart, occurrence.end), rest.join('/'), edit);
  return concat(model.subarray(0, occurrence.start), ldField(fieldNumber, payload), model.subarray(occurrence.end));
}

/** A copy of `model` with `extra` appended to the payload of the sub-message at `path`. */
export function appendAt(model: Uint8Array, path: string, extra: Uint8Array): Uint8Array {
  return replaceAt(model, path, (payload) => concat(payload, extra));
}
