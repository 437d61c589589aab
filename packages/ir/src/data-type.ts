/**
 * Element types, numbered exactly as ONNX's TensorProto.DataType so that no table is needed to translate them.
 */
export enum DataType {
  UNDEFINED = 0,
  FLOAT = 1,
  UINT8 = 2,
  INT8 = 3,
  UINT16 = 4,
  INT16 = 5,
  INT32 = 6,
  INT64 = 7,
  STRING = 8,
  BOOL = 9,
  FLOAT16 = 10,
  DOUBLE = 11,
  UINT32 = 12,
  UINT64 = 13,
  COMPLEX64 = 14,
  COMPLEX128 = 15,
  BFLOAT16 = 16,
  FLOAT8E4M3FN = 17,
  FLOAT8E4M3FNUZ = 18,
  FLOAT8E5M2 = 19,
  FLOAT8E5M2FNUZ = 20,
  UINT4 = 21,
  INT4 = 22,
  FLOAT4E2M1 = 23,
  FLOAT8E8M0 = 24,
  UINT2 = 25,
  INT2 = 26,
}

export interface DataTypeInfo {
  readonly type: DataType;
  /** Lower-case name as onnxruntime and numpy spell it (`float32`, `float16`, `int4`, ...). */
  readonly name: string;
  /** Bits one element occupies in packed little-endian raw data (strings: 0). */
  readonly bits: number;
  readonly isFloat: boolean;
  readonly isInteger: boolean;
  readonly isSigned: boolean;
}

const info = (type: DataType, name: string, bits: number, kind: 'float' | 'int' | 'uint' | 'other'): DataTypeInfo => ({
  type,
  name,
  bits,
  isFloat: kind === 'float',
  isInteger: kind === 'int' || kind === 'uint',
  isSigned: kind === 'int' || kind === 'float',
});

const TABLE: Readonly<Record<DataType, DataTypeInfo>> = {
  [DataType.UNDEFINED]: info(DataType.UNDEFINED, 'undefined', 0, 'other'),
  [DataType.FLOAT]: info(DataType.FLOAT, 'float32', 32, 'float'),
  [DataType.UINT8]: info(DataType.UINT8, 'uint8', 8, 'uint'),
  [DataType.INT8]: info(DataType.INT8, 'int8', 8, 'int'),
  [DataType.UINT16]: info(DataType.UINT16, 'uint16', 16, 'uint'),
  [DataType.INT16]: info(DataType.INT16, 'int16', 16, 'int'),
  [DataType.INT32]: info(DataType.INT32, 'int32', 32, 'int'),
  [DataType.INT64]: info(DataType.INT64, 'int64', 64, 'int'),
  [DataType.STRING]: info(DataType.STRING, 'string', 0, 'other'),
  [DataType.BOOL]: info(DataType.BOOL, 'bool', 8, 'other'),
  [DataType.FLOAT16]: info(DataType.FLOAT16, 'float16', 16, 'float'),
  [DataType.DOUBLE]: info(DataType.DOUBLE, 'float64', 64, 'float'),
  [DataType.UINT32]: info(DataType.UINT32, 'uint32', 32, 'uint'),
  [DataType.UINT64]: info(DataType.UINT64, 'uint64', 64, 'uint'),
  [DataType.COMPLEX64]: info(DataType.COMPLEX64, 'complex64', 64, 'other'),
  [DataType.COMPLEX128]: info(DataType.COMPLEX128, 'complex128', 128, 'other'),
  [DataType.BFLOAT16]: info(DataType.BFLOAT16, 'bfloat16', 16, 'float'),
  [DataType.FLOAT8E4M3FN]: info(DataType.FLOAT8E4M3FN, 'float8e4m3fn', 8, 'float'),
  [DataType.FLOAT8E4M3FNUZ]: info(DataType.FLOAT8E4M3FNUZ, 'float8e4m3fnuz', 8, 'float'),
  [DataType.FLOAT8E5M2]: info(DataType.FLOAT8E5M2, 'float8e5m2', 8, 'float'),
  [DataType.FLOAT8E5M2FNUZ]: info(DataType.FLOAT8E5M2FNUZ, 'float8e5m2fnuz', 8, 'float'),
  [DataType.UINT4]: info(DataType.UINT4, 'uint4', 4, 'uint'),
  [DataType.INT4]: info(DataType.INT4, 'int4', 4, 'int'),
  [DataType.FLOAT4E2M1]: info(DataType.FLOAT4E2M1, 'float4e2m1', 4, 'float'),
  [DataType.FLOAT8E8M0]: info(DataType.FLOAT8E8M0, 'float8e8m0', 8, 'float'),
  [DataType.UINT2]: info(DataType.UINT2, 'uint2', 2, 'uint'),
  [DataType.INT2]: info(DataType.INT2, 'int2', 2, 'int'),
};

export function isKnownDataType(value: number): value is DataType {
  return Number.isInteger(value) && value in TABLE;
}

export function dataTypeInfo(type: DataType): DataTypeInfo {
  const found = TABLE[type];
  if (found === undefined) throw new RangeError(`unknown element type ${type}`);
  return found;
}

export function dataTypeName(type: DataType): string {
  return TABLE[type]?.name ?? `type(${type})`;
}

/** Bytes that `count` elements take in packed raw data (sub-byte types round up to whole bytes). */
export function byteLengthOf(type: DataType, count: number): number {
  return Math.ceil((count * dataTypeInfo(type).bits) / 8);
}
