import { WhittleError } from '@whittle/spec';
import { byteLengthOf, DataType, dataTypeInfo, dataTypeName } from './data-type.js';

/**
 * Where a tensor's bytes come from. Data is lazy: a view into a loaded file, a slice of an external file read on
 * demand, or computed; it is copied only when a caller must own it.
 */
export interface TensorData {
  /** A short label for reports: `view`, `external`, `computed`, `strings`, or a format's own. */
  readonly kind: string;
  /** Size of the packed little-endian raw data in bytes (strings: 0). */
  readonly byteLength: number;
  /** Packed little-endian raw bytes. The result may be a view into shared memory: callers must not modify it. */
  bytes(): Uint8Array;
}

/** Bytes already in memory (often a zero-copy view into the file the model was read from). */
export class BytesData implements TensorData {
  readonly kind: string = 'view';
  constructor(private readonly data: Uint8Array) {}
  get byteLength(): number {
    return this.data.byteLength;
  }
  bytes(): Uint8Array {
    return this.data;
  }
}

/** Bytes produced on first use by a function (external data, decoded fields, results of a pass). */
export class LazyData implements TensorData {
  private cached: Uint8Array | undefined;
  constructor(
    readonly kind: string,
    readonly byteLength: number,
    private readonly load: () => Uint8Array,
    /** Keep the loaded bytes; external data is not cached so that a streaming writer keeps memory flat. */
    private readonly cache = true,
  ) {}
  bytes(): Uint8Array {
    if (this.cached) return this.cached;
    const loaded = this.load();
    if (loaded.byteLength !== this.byteLength) {
      throw new WhittleError(
        'TENSOR_DATA_SIZE_MISMATCH',
        `tensor data (${this.kind}) has ${loaded.byteLength} bytes, ${this.byteLength} were declared`,
      );
    }
    if (this.cache) this.cached = loaded;
    return loaded;
  }
}

/** Elements of a STRING tensor: each one a byte string (ONNX strings are bytes, usually UTF-8). */
export class StringData implements TensorData {
  readonly kind = 'strings';
  readonly byteLength = 0;
  constructor(readonly strings: readonly Uint8Array[]) {}
  bytes(): Uint8Array {
    throw new WhittleError('TENSOR_STRING_BYTES', 'a string tensor has no packed raw data; read its strings');
  }
}

export type NumericArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

export interface TensorInit {
  name?: string;
  dataType: DataType;
  dims: readonly number[];
  data: TensorData;
  docString?: string;
}

/** Product of the dims; throws on a negative or non-integer dim. */
export function elementCountOf(dims: readonly number[]): number {
  let count = 1;
  for (const dim of dims) {
    if (!Number.isSafeInteger(dim) || dim < 0) {
      throw new WhittleError('TENSOR_INVALID_DIMS', `invalid tensor dimension ${dim} in [${dims.join(', ')}]`);
    }
    count *= dim;
  }
  return count;
}

const textDecoder = new TextDecoder();
const textEncoder = new TextEncoder();

export class Tensor {
  name: string;
  dataType: DataType;
  dims: readonly number[];
  data: TensorData;
  docString: string;
  /** Format-owned facts the IR carries without interpreting (the ONNX writer keeps the original layout here). */
  readonly carried: Record<string, unknown> = {};

  constructor(init: TensorInit) {
    this.name = init.name ?? '';
    this.dataType = init.dataType;
    this.dims = [...init.dims];
    this.data = init.data;
    this.docString = init.docString ?? '';
  }

  get elementCount(): number {
    return elementCountOf(this.dims);
  }

  /** Bytes the packed raw data should have for the declared type and dims. */
  get expectedByteLength(): number {
    return this.dataType === DataType.STRING ? 0 : byteLengthOf(this.dataType, this.elementCount);
  }

  get byteLength(): number {
    return this.data.byteLength;
  }

  /** Packed little-endian raw bytes; may be a view: do not modify. */
  bytes(): Uint8Array {
    return this.data.bytes();
  }

  /**
   * The elements as a typed array of the natural JavaScript type (float16/bfloat16/float8 as their raw bit
   * patterns: use the codecs to decode them). Copies when the bytes are not aligned for the array type.
   */
  toArray(): NumericArray {
    const bytes = this.bytes();
    const arrayType = typedArrayConstructorOf(this.dataType);
    const size = arrayType.BYTES_PER_ELEMENT;
    // A copy, not `slice()`: on a Node Buffer `slice` returns a view with the same misalignment.
    const aligned = bytes.byteOffset % size === 0 ? bytes : new Uint8Array(bytes);
    return new arrayType(aligned.buffer, aligned.byteOffset, aligned.byteLength / size);
  }

  /** Elements of a STRING tensor decoded as UTF-8. */
  strings(): string[] {
    if (!(this.data instanceof StringData)) {
      throw new WhittleError(
        'TENSOR_NOT_STRINGS',
        `tensor '${this.name}' of type ${dataTypeName(this.dataType)} has no strings`,
      );
    }
    return this.data.strings.map((bytes) => textDecoder.decode(bytes));
  }

  static fromArray(name: string, dataType: DataType, dims: readonly number[], values: NumericArray): Tensor {
    const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    const tensor = new Tensor({ name, dataType, dims, data: new BytesData(bytes) });
    if (bytes.byteLength !== tensor.expectedByteLength) {
      throw new WhittleError(
        'TENSOR_DATA_SIZE_MISMATCH',
        `tensor '${name}': ${bytes.byteLength} bytes given, ${tensor.expectedByteLength} expected for ${dataTypeName(dataType)}[${dims.join(', ')}]`,
      );
    }
    return tensor;
  }

  static fromStrings(name: string, dims: readonly number[], values: readonly string[]): Tensor {
    return new Tensor({
      name,
      dataType: DataType.STRING,
      dims,
      data: new StringData(values.map((value) => textEncoder.encode(value))),
    });
  }
}

type TypedArrayConstructor = {
  readonly BYTES_PER_ELEMENT: number;
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): NumericArray;
};

export function typedArrayConstructorOf(type: DataType): TypedArrayConstructor {
  switch (type) {
    case DataType.FLOAT:
      return Float32Array;
    case DataType.DOUBLE:
      return Float64Array;
    case DataType.INT8:
      return Int8Array;
    case DataType.UINT8:
    case DataType.BOOL:
    case DataType.FLOAT8E4M3FN:
    case DataType.FLOAT8E4M3FNUZ:
    case DataType.FLOAT8E5M2:
    case DataType.FLOAT8E5M2FNUZ:
    case DataType.FLOAT8E8M0:
    case DataType.UINT4:
    case DataType.INT4:
    case DataType.FLOAT4E2M1:
    case DataType.UINT2:
    case DataType.INT2:
      return Uint8Array;
    case DataType.INT16:
      return Int16Array;
    case DataType.UINT16:
    case DataType.FLOAT16:
    case DataType.BFLOAT16:
      return Uint16Array;
    case DataType.INT32:
      return Int32Array;
    case DataType.UINT32:
      return Uint32Array;
    case DataType.INT64:
      return BigInt64Array;
    case DataType.UINT64:
      return BigUint64Array;
    case DataType.COMPLEX64:
      return Float32Array;
    case DataType.COMPLEX128:
      return Float64Array;
    default:
      throw new WhittleError('TENSOR_UNSUPPORTED_TYPE', `no typed array for element type ${dataTypeName(type)}`);
  }
}

/** Bits per element, re-exported for callers that size buffers. */
export function bitsOf(type: DataType): number {
  return dataTypeInfo(type).bits;
}
