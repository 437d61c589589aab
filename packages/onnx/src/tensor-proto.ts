import {
  BytesData,
  byteLengthOf,
  DataType,
  dataTypeInfo,
  dataTypeName,
  elementCountOf,
  isKnownDataType,
  LazyData,
  StringData,
  Tensor,
  type TensorData,
} from '@whittle/ir';
import { type Location, WhittleError } from '@whittle/spec';
import { OnnxCodes } from './codes.js';
import { type LongLike, longToInt64, longToNumber } from './int64.js';
import type { OnnxTypes } from './proto.js';

/** Beyond this a tensor is treated as corrupt rather than allocated (ONNX tensors past 1 TiB do not exist). */
export const MAX_TENSOR_BYTES = 2 ** 40;

type NumericField = 'floatData' | 'int32Data' | 'int64Data' | 'doubleData' | 'uint64Data';

/**
 * Data that arrived in a typed repeated field (float_data, int32_data, ...). It converts to raw bytes on demand
 * and remembers the original field so that an unchanged tensor is written back the way it came.
 */
export class FieldData extends LazyData {
  constructor(
    readonly field: NumericField,
    readonly values: readonly (number | LongLike)[],
    dataType: DataType,
    byteLength: number,
  ) {
    super('fields', byteLength, () => fieldToBytes(field, values, dataType));
  }
}

/** A tensor stored in an external file. The entries are kept so an unchanged tensor can point at the same data. */
export interface ExternalReference {
  location: string;
  offset: number;
  length: number;
  /** Every key/value entry as written, in order (location, offset, length, checksum, ...). */
  entries: { key: string; value: string }[];
}

/** Reads external data: implemented on the file system by `@whittle/onnx/node`, or by the caller. */
export interface ExternalDataSource {
  /** Size of the file in bytes; throws a WhittleError when missing or unsafe. */
  size(location: string): number;
  read(location: string, offset: number, length: number): Uint8Array;
}

export const EXTERNAL_KEY = 'onnx.external';
export const SEGMENT_KEY = 'onnx.segment';
export const UNKNOWN_FIELDS_KEY = 'onnx.unknownFields';

export interface TensorContext {
  location: Location;
  external?: ExternalDataSource;
}

function invalid(code: string, message: string, location: Location): WhittleError {
  return new WhittleError(code, message, { location });
}

/** Convert a decoded TensorProto into an IR tensor without copying raw data. */
export function tensorFromProto(proto: OnnxTypes.ITensorProto, context: TensorContext): Tensor {
  const name = proto.name ?? '';
  const location = { ...context.location, value: name || context.location.value };
  const dataType = proto.dataType ?? 0;
  if (!isKnownDataType(dataType) || dataType === DataType.UNDEFINED) {
    throw invalid(OnnxCodes.INVALID_TENSOR, `tensor '${name}' has an unknown element type ${dataType}`, location);
  }
  const dims = (proto.dims ?? []).map((dim) => longToNumber(dim as LongLike));
  let count: number;
  try {
    count = elementCountOf(dims);
  } catch {
    throw invalid(OnnxCodes.INVALID_TENSOR, `tensor '${name}' has invalid dims [${dims.join(', ')}]`, location);
  }
  const expected = dataType === DataType.STRING ? 0 : byteLengthOf(dataType, count);
  if (!Number.isSafeInteger(count) || expected > MAX_TENSOR_BYTES) {
    throw invalid(
      OnnxCodes.TENSOR_TOO_LARGE,
      `tensor '${name}' declares ${dataTypeName(dataType)}[${dims.join(', ')}], ${expected} bytes: absurdly large`,
      location,
    );
  }
  const tensor = new Tensor({
    name,
    dataType,
    dims,
    data: new BytesData(new Uint8Array(0)),
    docString: proto.docString ?? '',
  });
  if (proto.segment) tensor.carried[SEGMENT_KEY] = proto.segment;
  tensor.data = tensorDataOf(proto, dataType, count, expected, name, location, context, tensor);
  return tensor;
}

function tensorDataOf(
  proto: OnnxTypes.ITensorProto,
  dataType: DataType,
  count: number,
  expected: number,
  name: string,
  location: Location,
  context: TensorContext,
  tensor: Tensor,
): TensorData {
  const mismatch = (actual: number, unit: string) =>
    invalid(
      OnnxCodes.TENSOR_SIZE_MISMATCH,
      `tensor '${name}' declares ${dataTypeName(dataType)}[${tensor.dims.join(', ')}] but holds ${actual} ${unit}`,
      location,
    );
  if (proto.dataLocation === 1) return externalData(proto, expected, name, location, context, tensor);
  if (dataType === DataType.STRING) {
    const strings = proto.stringData ?? [];
    if (strings.length !== count) throw mismatch(strings.length, 'strings');
    return new StringData(strings);
  }
  const raw = proto.rawData;
  if (raw && raw.byteLength > 0) {
    if (raw.byteLength !== expected) throw mismatch(raw.byteLength, 'bytes');
    return new BytesData(raw);
  }
  const field = fieldFor(dataType);
  const values = (field ? (proto[field] as (number | LongLike)[] | null | undefined) : undefined) ?? [];
  if (values.length === 0) {
    if (count !== 0) throw mismatch(0, 'elements');
    return new BytesData(new Uint8Array(0));
  }
  const expectedValues = fieldElementCount(dataType, count);
  if (values.length !== expectedValues) throw mismatch(values.length, `${field} values`);
  return new FieldData(field!, values, dataType, expected);
}

function externalData(
  proto: OnnxTypes.ITensorProto,
  expected: number,
  name: string,
  location: Location,
  context: TensorContext,
  tensor: Tensor,
): TensorData {
  const entries = (proto.externalData ?? []).map((entry) => ({ key: entry.key ?? '', value: entry.value ?? '' }));
  const find = (key: string) => entries.find((entry) => entry.key === key)?.value;
  const file = find('location');
  if (!file)
    throw invalid(OnnxCodes.EXTERNAL_DATA_INVALID, `tensor '${name}' is external but names no location`, location);
  const parse = (key: string, fallback: number): number => {
    const text = find(key);
    if (text === undefined) return fallback;
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
      throw invalid(
        OnnxCodes.EXTERNAL_DATA_INVALID,
        `tensor '${name}' has an invalid external ${key} '${text}'`,
        location,
      );
    }
    return Number(text);
  };
  const offset = parse('offset', 0);
  const length = parse('length', expected);
  if (length !== expected) {
    throw invalid(
      OnnxCodes.TENSOR_SIZE_MISMATCH,
      `tensor '${name}' declares ${expected} bytes but its external data is ${length} bytes long`,
      location,
    );
  }
  const reference: ExternalReference = { location: file, offset, length, entries };
  tensor.carried[EXTERNAL_KEY] = reference;
  const source = context.external;
  if (!source) {
    throw invalid(
      OnnxCodes.EXTERNAL_DATA_UNAVAILABLE,
      `tensor '${name}' keeps its data in '${file}', and no external data source was given`,
      location,
    );
  }
  const size = source.size(file);
  if (offset + length > size) {
    throw invalid(
      OnnxCodes.EXTERNAL_DATA_TOO_SHORT,
      `tensor '${name}' needs bytes ${offset}..${offset + length} of '${file}', which has ${size}`,
      { ...location, file },
    );
  }
  // Not cached: a streaming writer reads each tensor once, so memory stays flat for large models.
  return new LazyData('external', expected, () => source.read(file, offset, length), false);
}

function fieldFor(dataType: DataType): NumericField | undefined {
  switch (dataType) {
    case DataType.FLOAT:
    case DataType.COMPLEX64:
      return 'floatData';
    case DataType.DOUBLE:
    case DataType.COMPLEX128:
      return 'doubleData';
    case DataType.INT64:
      return 'int64Data';
    case DataType.UINT32:
    case DataType.UINT64:
      return 'uint64Data';
    default:
      return 'int32Data';
  }
}

/** How many entries the typed field holds: complex numbers take two, sub-byte types one per packed byte. */
function fieldElementCount(dataType: DataType, count: number): number {
  if (dataType === DataType.COMPLEX64 || dataType === DataType.COMPLEX128) return count * 2;
  const bits = dataTypeInfo(dataType).bits;
  return bits < 8 ? Math.ceil((count * bits) / 8) : count;
}

function fieldToBytes(field: NumericField, values: readonly (number | LongLike)[], dataType: DataType): Uint8Array {
  const view = (array: ArrayBufferView) => new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
  switch (field) {
    case 'floatData':
      return view(Float32Array.from(values as number[]));
    case 'doubleData':
      return view(Float64Array.from(values as number[]));
    case 'int64Data':
      return view(BigInt64Array.from(values, (value) => BigInt(longToInt64(value))));
    case 'uint64Data':
      if (dataType === DataType.UINT32) return view(Uint32Array.from(values, (value) => longToNumber(value)));
      return view(BigUint64Array.from(values, (value) => BigInt.asUintN(64, BigInt(longToInt64(value)))));
    case 'int32Data': {
      const numbers = values as number[];
      switch (dataTypeInfo(dataType).bits) {
        case 32:
          return view(Int32Array.from(numbers));
        case 16:
          return view(dataType === DataType.INT16 ? Int16Array.from(numbers) : Uint16Array.from(numbers));
        default:
          return view(dataType === DataType.INT8 ? Int8Array.from(numbers) : Uint8Array.from(numbers));
      }
    }
  }
}

/** The typed-field form of raw bytes (for writers that must not use raw_data, such as STRING). */
export function stringDataOf(tensor: Tensor): Uint8Array[] {
  return tensor.data instanceof StringData ? [...tensor.data.strings] : [];
}

/** Build the TensorProto of an IR tensor. Raw data is left out: the encoder streams it separately. */
export function tensorToProto(tensor: Tensor): OnnxTypes.ITensorProto {
  const proto: OnnxTypes.ITensorProto = {};
  if (tensor.dims.length > 0) proto.dims = [...tensor.dims];
  proto.dataType = tensor.dataType;
  const segment = tensor.carried[SEGMENT_KEY] as OnnxTypes.TensorProto.ISegment | undefined;
  if (segment) proto.segment = segment;
  if (tensor.name) proto.name = tensor.name;
  if (tensor.docString) proto.docString = tensor.docString;
  if (tensor.data instanceof StringData) proto.stringData = [...tensor.data.strings];
  else if (tensor.data instanceof FieldData) {
    // Decoded Long values encode back as they are.
    (proto as Record<string, unknown>)[tensor.data.field] = tensor.data.values;
  }
  return proto;
}

/** True when the tensor's bytes go in raw_data (or an external file) rather than a typed field. */
export function usesRawData(tensor: Tensor): boolean {
  return !(tensor.data instanceof StringData) && !(tensor.data instanceof FieldData) && tensor.byteLength > 0;
}
