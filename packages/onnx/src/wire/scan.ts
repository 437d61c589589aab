/**
 * Finds the fields of a serialized ModelProto that onnx-proto does not know (and would silently drop), walking every
 * known sub-message field. Bytes that are not sub-messages (raw tensor data included) are skipped by length without
 * being read, so scanning cost depends on the number of fields, not on the size of the model.
 */
import { ONNX_SCHEMA, type OnnxMessageType, ROOT_MESSAGE_TYPE } from './onnx-schema.js';
import { childPath, parsePath } from './path.js';
import { newFieldHeader, readField, WIRE_LENGTH_DELIMITED } from './reader.js';

export { pathOf } from './path.js';

export interface UnknownFields {
  /** The message type (as named in `ONNX_SCHEMA`) of the message that holds the fields. */
  messageType: OnnxMessageType;
  /** Each unknown field, complete (tag varint + payload), as a view into the scanned buffer, in file order. */
  fields: Uint8Array[];
}

/** Unknown fields keyed by the path (see `pathOf`) of the message that contains them. */
export type UnknownFieldScan = Map<string, UnknownFields>;

const UNKNOWN = 0;
const SCALAR = 1;
/** Kinds at or above this are sub-messages of type `TYPES[kind - MESSAGE]`. */
const MESSAGE = 2;

interface CompiledType {
  name: OnnxMessageType;
  /** Indexed by field number; numbers past the end are unknown. */
  kinds: Uint8Array;
}

const TYPE_NAMES = Object.keys(ONNX_SCHEMA) as OnnxMessageType[];
const TYPES: CompiledType[] = TYPE_NAMES.map((name) => {
  const schema = ONNX_SCHEMA[name];
  const numbers = [...schema.scalars, ...Object.keys(schema.messages).map(Number)];
  const kinds = new Uint8Array(Math.max(0, ...numbers) + 1);
  for (const n of schema.scalars) kinds[n] = SCALAR;
  for (const [n, child] of Object.entries(schema.messages)) kinds[Number(n)] = MESSAGE + TYPE_NAMES.indexOf(child);
  return { name, kinds };
});
const ROOT = TYPES[TYPE_NAMES.indexOf(ROOT_MESSAGE_TYPE)]!;

interface Frame {
  type: CompiledType;
  /** Offset just past this message's payload. */
  end: number;
  parent: Frame | undefined;
  field: number;
  index: number;
  /** Occurrences so far of each sub-message field number, created on the first one. */
  counts: Uint32Array | undefined;
  /** Computed on first use (only messages with unknown fields need it). */
  path: string | undefined;
}

function pathOfFrame(frame: Frame): string {
  if (frame.path !== undefined) return frame.path;
  // Iterative: nesting depth is bounded only by the input size.
  const pending: Frame[] = [];
  let ancestor: Frame = frame;
  while (ancestor.path === undefined) {
    pending.push(ancestor);
    ancestor = ancestor.parent!; // the root's path is preset
  }
  let path = ancestor.path;
  for (let i = pending.length - 1; i >= 0; i--) {
    const f = pending[i]!;
    path = childPath(path, f.field, f.index);
    f.path = path;
  }
  return path;
}

/**
 * Scans a serialized ModelProto and returns every field onnx-proto does not know, grouped by containing message.
 * An empty map means onnx-proto decodes the model losslessly. Throws `WireFormatError` on malformed input.
 *
 * Occurrence indexes in paths count every occurrence of the field number in the parent, whatever its wire type; only
 * length-delimited occurrences of known sub-message fields are descended into.
 */
export function scanUnknownFields(bytes: Uint8Array): UnknownFieldScan {
  const result: UnknownFieldScan = new Map();
  const field = newFieldHeader();
  let frame: Frame = {
    type: ROOT,
    end: bytes.length,
    parent: undefined,
    field: 0,
    index: 0,
    counts: undefined,
    path: '',
  };
  let pos = 0;
  for (;;) {
    if (pos >= frame.end) {
      if (frame.parent === undefined) break;
      frame = frame.parent;
      continue;
    }
    readField(bytes, pos, frame.end, field);
    const number = field.fieldNumber;
    const kinds = frame.type.kinds;
    const kind = number < kinds.length ? kinds[number]! : UNKNOWN;
    if (kind >= MESSAGE) {
      frame.counts ??= new Uint32Array(kinds.length);
      const index = frame.counts[number]!;
      frame.counts[number] = index + 1;
      if (field.wireType === WIRE_LENGTH_DELIMITED) {
        frame = {
          type: TYPES[kind - MESSAGE]!,
          end: field.end,
          parent: frame,
          field: number,
          index,
          counts: undefined,
          path: undefined,
        };
        pos = field.payloadStart;
        continue;
      }
    } else if (kind === UNKNOWN) {
      const path = pathOfFrame(frame);
      let entry = result.get(path);
      if (entry === undefined) {
        entry = { messageType: frame.type.name, fields: [] };
        result.set(path, entry);
      }
      entry.fields.push(bytes.subarray(field.start, field.end));
    }
    pos = field.end;
  }
  return result;
}

/**
 * Every occurrence of `fieldNumber` at the top level of `message`, each as a view of the complete field (tag, length
 * and payload for length-delimited fields), in file order. The rest of the message is validated as it is walked.
 */
export function fieldSlices(message: Uint8Array, fieldNumber: number): Uint8Array[] {
  const slices: Uint8Array[] = [];
  const field = newFieldHeader();
  const end = message.length;
  let pos = 0;
  while (pos < end) {
    readField(message, pos, end, field);
    if (field.fieldNumber === fieldNumber) slices.push(message.subarray(field.start, field.end));
    pos = field.end;
  }
  return slices;
}

/**
 * The payload view of the sub-message at `path` (see `pathOf`) inside `model`, or `undefined` when there is no such
 * occurrence or it is not length-delimited. The empty path is the model itself. Paths are followed by field number
 * and occurrence only, so they also reach into messages onnx-proto does not know.
 */
export function messageAt(model: Uint8Array, path: string): Uint8Array | undefined {
  const field = newFieldHeader();
  let start = 0;
  let end = model.length;
  for (const [fieldNumber, index] of parsePath(path)) {
    let seen = 0;
    let found = false;
    let pos = start;
    while (pos < end) {
      readField(model, pos, end, field);
      if (field.fieldNumber === fieldNumber && seen++ === index) {
        if (field.wireType !== WIRE_LENGTH_DELIMITED) return undefined;
        found = true;
        break;
      }
      pos = field.end;
    }
    if (!found) return undefined;
    start = field.payloadStart;
    end = field.end;
  }
  return model.subarray(start, end);
}
