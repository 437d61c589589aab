/**
 * What every kernel family shares: the refusal sentinel, the kernel context (inputs, attributes, size limits), element
 * access for the supported types, index maps for broadcasting and strided copies, and axis helpers.
 */
import { decodeBfloat16, encodeBfloat16, float32ToBfloat16Bits, bfloat16BitsToFloat32 } from '../codecs/bfloat16.js';
import { decodeFloat16, encodeFloat16, float16BitsToFloat32, float32ToFloat16Bits } from '../codecs/float16.js';
import { DataType } from '../data-type.js';
import type { Node } from '../node.js';
import { type NumericArray, StringData, Tensor, typedArrayConstructorOf } from '../tensor.js';

/** Thrown inside a kernel to say "not evaluated": an unsupported type, attribute, shape or value. */
export class KernelRefusal extends Error {
  override readonly name = 'KernelRefusal';
}

export function refuse(reason: string): never {
  throw new KernelRefusal(reason);
}

/** Elements of any byte-aligned tensor as stored: raw typed array (float16 as bits, bool as 0/1) or strings. */
export type Elements = NumericArray | Uint8Array[];

/** Numbers or bigints: what arithmetic reads and writes. */
export type NumberValues = ArrayLike<number> & { [index: number]: number; readonly length: number };
export type BigIntValues = BigInt64Array | BigUint64Array;

/** Float element types computed as JavaScript numbers and rounded to their own precision after each operation. */
export const FLOAT_TYPES: ReadonlySet<DataType> = new Set([
  DataType.FLOAT,
  DataType.DOUBLE,
  DataType.FLOAT16,
  DataType.BFLOAT16,
]);
/** Integer types of at most 32 bits: exact as JavaScript numbers, wrapped by their typed arrays on store. */
export const SMALL_INT_TYPES: ReadonlySet<DataType> = new Set([
  DataType.INT8,
  DataType.INT16,
  DataType.INT32,
  DataType.UINT8,
  DataType.UINT16,
  DataType.UINT32,
]);
/** 64-bit integers: computed as bigints, wrapped by BigInt64Array / BigUint64Array on store. */
export const BIG_INT_TYPES: ReadonlySet<DataType> = new Set([DataType.INT64, DataType.UINT64]);

export const isFloatType = (type: DataType): boolean => FLOAT_TYPES.has(type);
export const isSmallIntType = (type: DataType): boolean => SMALL_INT_TYPES.has(type);
export const isBigIntType = (type: DataType): boolean => BIG_INT_TYPES.has(type);
export const isIntegerType = (type: DataType): boolean => isSmallIntType(type) || isBigIntType(type);
export const isNumericType = (type: DataType): boolean => isFloatType(type) || isIntegerType(type);

/** Element types whose values can be moved around as stored (no arithmetic): everything byte-aligned but complex. */
const MOVABLE_TYPES: ReadonlySet<DataType> = new Set([
  ...FLOAT_TYPES,
  ...SMALL_INT_TYPES,
  ...BIG_INT_TYPES,
  DataType.BOOL,
  DataType.STRING,
  DataType.FLOAT8E4M3FN,
  DataType.FLOAT8E4M3FNUZ,
  DataType.FLOAT8E5M2,
  DataType.FLOAT8E5M2FNUZ,
  DataType.FLOAT8E8M0,
]);

/** Largest element count whose flat indices an Int32Array holds. */
const MAX_INDEXABLE = 2 ** 31 - 1;

/** Rounds a number to the precision of a float type (identity for double). */
export function rounderOf(type: DataType): (value: number) => number {
  switch (type) {
    case DataType.FLOAT:
      return Math.fround;
    case DataType.DOUBLE:
      return (value) => value;
    case DataType.FLOAT16:
      return (value) => float16BitsToFloat32(float32ToFloat16Bits(value));
    case DataType.BFLOAT16:
      return (value) => bfloat16BitsToFloat32(float32ToBfloat16Bits(value));
    default:
      return refuse(`no float rounding for type ${type}`);
  }
}

export function productOf(dims: readonly number[]): number {
  let product = 1;
  for (const dim of dims) product *= dim;
  return product;
}

export function sameDims(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((dim, index) => dim === b[index]);
}

/** Row-major strides of `dims`. */
export function stridesOf(dims: readonly number[]): number[] {
  const strides = new Array<number>(dims.length);
  let stride = 1;
  for (let axis = dims.length - 1; axis >= 0; axis--) {
    strides[axis] = stride;
    stride *= dims[axis]!;
  }
  return strides;
}

/** An axis in [-rank, rank) made non-negative; refuses anything else. */
export function normalizeAxis(axis: number, rank: number): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) refuse(`axis ${axis} out of range for rank ${rank}`);
  return axis < 0 ? axis + rank : axis;
}

/** Distinct normalized axes, refusing duplicates. */
export function normalizeAxes(axes: readonly number[], rank: number): number[] {
  const normalized = axes.map((axis) => normalizeAxis(axis, rank));
  if (new Set(normalized).size !== normalized.length) refuse(`repeated axes [${axes.join(', ')}]`);
  return normalized;
}

/** Numpy (multidirectional) broadcast of several shapes; refuses incompatible shapes. */
export function broadcastDims(shapes: readonly (readonly number[])[]): number[] {
  const rank = Math.max(0, ...shapes.map((dims) => dims.length));
  const result = new Array<number>(rank).fill(1);
  for (const dims of shapes) {
    const shift = rank - dims.length;
    dims.forEach((dim, index) => {
      const current = result[shift + index]!;
      if (dim === current || dim === 1) return;
      if (current === 1) result[shift + index] = dim;
      else refuse(`shapes [${shapes.map((shape) => shape.join('x')).join('], [')}] do not broadcast`);
    });
  }
  return result;
}

/**
 * For each flat index of a tensor of shape `dims`, the sum over axes of `offsets[axis][coordinate]`. It is the
 * single tool behind broadcasting, transposition, slicing, tiling and gathering: each gives the input offset an
 * output coordinate contributes along each axis.
 */
export function indexMap(dims: readonly number[], offsets: readonly ArrayLike<number>[]): Int32Array {
  const count = productOf(dims);
  const map = new Int32Array(count);
  const rank = dims.length;
  if (count === 0) return map;
  if (rank === 0) return map;
  const counter = new Array<number>(rank).fill(0);
  let base = 0;
  for (let axis = 0; axis < rank - 1; axis++) base += offsets[axis]![0]!;
  const last = offsets[rank - 1]!;
  const lastDim = dims[rank - 1]!;
  let out = 0;
  for (;;) {
    for (let index = 0; index < lastDim; index++) map[out++] = base + last[index]!;
    let axis = rank - 2;
    for (; axis >= 0; axis--) {
      const along = offsets[axis]!;
      base -= along[counter[axis]!]!;
      counter[axis]!++;
      if (counter[axis]! < dims[axis]!) {
        base += along[counter[axis]!]!;
        break;
      }
      counter[axis] = 0;
      base += along[0]!;
    }
    if (axis < 0) return map;
  }
}

/** Offsets that read `inputDims` (right-aligned, size-1 axes repeated) at each coordinate of `outputDims`. */
export function broadcastMap(inputDims: readonly number[], outputDims: readonly number[]): Int32Array {
  const shift = outputDims.length - inputDims.length;
  const strides = stridesOf(inputDims);
  const offsets = outputDims.map((dim, axis) => {
    const inputAxis = axis - shift;
    const along = new Int32Array(dim);
    if (inputAxis < 0 || inputDims[inputAxis] === 1) return along;
    const stride = strides[inputAxis]!;
    for (let index = 0; index < dim; index++) along[index] = index * stride;
    return along;
  });
  return indexMap(outputDims, offsets);
}

/** Offsets that walk every axis of `dims` in order (coordinate × stride). */
export function axisOffsets(dims: readonly number[]): Int32Array[] {
  const strides = stridesOf(dims);
  return dims.map((dim, axis) => {
    const along = new Int32Array(dim);
    for (let index = 0; index < dim; index++) along[index] = index * strides[axis]!;
    return along;
  });
}

/** A fresh, empty array of the same kind as `like` with `count` elements. */
export function emptyLike(like: Elements, count: number): Elements {
  if (Array.isArray(like)) return new Array<Uint8Array>(count);
  const arrayType = like.constructor as new (length: number) => NumericArray;
  return new arrayType(count);
}

/** out[i] = source[map[i]] */
export function takeElements(source: Elements, map: Int32Array): Elements {
  const result = emptyLike(source, map.length) as unknown[];
  const from = source as unknown as ArrayLike<unknown>;
  for (let index = 0; index < map.length; index++) result[index] = from[map[index]!];
  return result as unknown as Elements;
}

export interface EvaluateNodeOptions {
  /**
   * Largest element count a kernel reads from one input or writes to one output; bigger tensors are not evaluated
   * (the result is undefined). Default 16,777,216.
   */
  maxElements?: number;
}

export const DEFAULT_KERNEL_MAX_ELEMENTS = 16_777_216;

/** What a kernel sees: the node, its input tensors, the opset, and limits. */
export class KernelContext {
  readonly maxElements: number;

  constructor(
    readonly node: Node,
    readonly inputs: readonly (Tensor | undefined)[],
    readonly opset: number,
    options: EvaluateNodeOptions = {},
  ) {
    this.maxElements = Math.min(options.maxElements ?? DEFAULT_KERNEL_MAX_ELEMENTS, MAX_INDEXABLE);
  }

  /** Number of inputs the node lists (omitted optional ones included). */
  get inputCount(): number {
    return this.node.inputs.length;
  }

  get outputCount(): number {
    return this.node.outputs.length;
  }

  /** A required input; refuses when it is missing. */
  input(index: number): Tensor {
    const tensor = this.optionalInput(index);
    if (!tensor) refuse(`input ${index} is missing`);
    return tensor;
  }

  /** An optional input: undefined when the node omits it. Refuses when the node names it but no tensor was given. */
  optionalInput(index: number): Tensor | undefined {
    if (index >= this.node.inputs.length || this.node.inputs[index] === undefined) return undefined;
    const tensor = this.inputs[index];
    if (!tensor) refuse(`input ${index} has no value`);
    return tensor;
  }

  /** Refuse when a tensor (input or output) is beyond the element limit. */
  checkSize(count: number): void {
    if (count > this.maxElements) refuse(`${count} elements exceed the limit of ${this.maxElements}`);
  }

  /** The dims of an output about to be made, after checking them against the limit. */
  outputDims(dims: readonly number[]): number[] {
    for (const dim of dims) if (!Number.isSafeInteger(dim) || dim < 0) refuse(`invalid output dimension ${dim}`);
    this.checkSize(productOf(dims));
    return [...dims];
  }

  int(name: string, fallback: number): number {
    return this.node.intAttribute(name, fallback)!;
  }

  optionalInt(name: string): number | undefined {
    return this.node.intAttribute(name);
  }

  float(name: string, fallback: number): number {
    return this.node.floatAttribute(name, fallback)!;
  }

  optionalFloat(name: string): number | undefined {
    return this.node.floatAttribute(name);
  }

  ints(name: string): number[] | undefined {
    return this.node.intsAttribute(name);
  }

  string(name: string, fallback: string): string {
    return this.node.stringAttribute(name, fallback)!;
  }

  /** Stored elements of a tensor (for data movement); refuses sub-byte, complex and oversized tensors. */
  elements(tensor: Tensor): Elements {
    if (!MOVABLE_TYPES.has(tensor.dataType)) refuse(`element type ${tensor.dataType} is not supported`);
    this.checkSize(tensor.elementCount);
    if (tensor.dataType === DataType.STRING) {
      if (!(tensor.data instanceof StringData)) refuse('string tensor without strings');
      if (tensor.data.strings.length !== tensor.elementCount) refuse('string count does not match the dims');
      return [...tensor.data.strings];
    }
    if (tensor.byteLength !== tensor.expectedByteLength) refuse('tensor data size does not match its dims');
    return storedArray(tensor);
  }

  /** Values as numbers for float, small-integer and bool tensors (float16/bfloat16 decoded). */
  numbers(tensor: Tensor): NumberValues {
    const type = tensor.dataType;
    if (!(isFloatType(type) || isSmallIntType(type) || type === DataType.BOOL)) refuse(`type ${type} is not numbers`);
    const stored = this.elements(tensor);
    if (type === DataType.FLOAT16) return decodeFloat16(stored as Uint16Array);
    if (type === DataType.BFLOAT16) return decodeBfloat16(stored as Uint16Array);
    return stored as NumberValues;
  }

  /** Values of an INT64 / UINT64 tensor. */
  bigints(tensor: Tensor): BigIntValues {
    if (!isBigIntType(tensor.dataType)) refuse(`type ${tensor.dataType} is not a 64-bit integer`);
    return this.elements(tensor) as BigIntValues;
  }

  /**
   * An integer tensor (INT32 or INT64, as shapes, axes and indices are) as plain numbers. Values beyond the safe
   * integer range keep their sign and stay huge (Slice's INT64_MAX ends), so callers clamp them.
   */
  integers(tensor: Tensor): number[] {
    if (tensor.dataType === DataType.INT64) return Array.from(this.bigints(tensor), Number);
    if (tensor.dataType === DataType.INT32) return Array.from(this.elements(tensor) as Int32Array);
    return refuse(`expected an int32 or int64 tensor, got type ${tensor.dataType}`);
  }

  /** A 1-D integer input (shape, axes, repeats...) whose values are all safe integers. */
  safeIntegers(tensor: Tensor): number[] {
    const values = this.integers(tensor);
    if (tensor.dims.length > 1) refuse('expected a 1-D integer tensor');
    for (const value of values) if (!Number.isSafeInteger(value)) refuse(`integer ${value} out of range`);
    return values;
  }

  /** A single integer (scalar or 1-element tensor) as a number. */
  scalarInteger(tensor: Tensor): number {
    const values = this.integers(tensor);
    if (values.length !== 1) refuse('expected one integer');
    return values[0]!;
  }
}

/** A tensor of `type` holding stored elements (raw arrays as `elements` returns them, or strings). */
export function tensorOfElements(type: DataType, dims: readonly number[], elements: Elements): Tensor {
  if (Array.isArray(elements)) return new Tensor({ dataType: type, dims, data: new StringData(elements) });
  return Tensor.fromArray('', type, dims, elements);
}

/** Storage for computed values of `type`: float types as Float64Array (rounded later), integers native, bool bytes. */
export function computeStorage(type: DataType, count: number): NumberValues | BigIntValues {
  switch (type) {
    case DataType.FLOAT:
    case DataType.DOUBLE:
    case DataType.FLOAT16:
    case DataType.BFLOAT16:
      return new Float64Array(count);
    case DataType.INT8:
      return new Int8Array(count);
    case DataType.INT16:
      return new Int16Array(count);
    case DataType.INT32:
      return new Int32Array(count);
    case DataType.UINT8:
    case DataType.BOOL:
      return new Uint8Array(count);
    case DataType.UINT16:
      return new Uint16Array(count);
    case DataType.UINT32:
      return new Uint32Array(count);
    case DataType.INT64:
      return new BigInt64Array(count);
    case DataType.UINT64:
      return new BigUint64Array(count);
    default:
      return refuse(`no storage for type ${type}`);
  }
}

/**
 * A tensor from computed values: float types are rounded to their precision (float32, float16 via float32, bfloat16
 * via float32, as ONNX Runtime converts), integer arrays are taken as they are.
 */
export function tensorOfValues(
  type: DataType,
  dims: readonly number[],
  values: NumberValues | BigIntValues | NumericArray,
): Tensor {
  switch (type) {
    case DataType.FLOAT:
      return Tensor.fromArray(
        '',
        type,
        dims,
        values instanceof Float32Array ? values : Float32Array.from(values as ArrayLike<number>),
      );
    case DataType.DOUBLE:
      return Tensor.fromArray(
        '',
        type,
        dims,
        values instanceof Float64Array ? values : Float64Array.from(values as ArrayLike<number>),
      );
    case DataType.FLOAT16:
      return Tensor.fromArray('', type, dims, encodeFloat16(values as ArrayLike<number>));
    case DataType.BFLOAT16:
      return Tensor.fromArray('', type, dims, encodeBfloat16(values as ArrayLike<number>));
    default: {
      const storage = computeStorage(type, values.length);
      if (storage.constructor !== values.constructor) {
        if (isBigIntType(type)) refuse('bigint storage expected');
        (storage as Float64Array).set(values as ArrayLike<number>);
        return Tensor.fromArray('', type, dims, storage as NumericArray);
      }
      return Tensor.fromArray('', type, dims, values as NumericArray);
    }
  }
}

/** A tensor with the same data but other dims (reshapes share bytes; nothing is copied). */
export function withDims(tensor: Tensor, dims: readonly number[]): Tensor {
  return new Tensor({ dataType: tensor.dataType, dims, data: tensor.data });
}

/** An INT64 tensor of plain numbers. */
export function int64Tensor(dims: readonly number[], values: readonly number[]): Tensor {
  return Tensor.fromArray(
    '',
    DataType.INT64,
    dims,
    BigInt64Array.from(values, (value) => BigInt(value)),
  );
}

/**
 * The stored elements as a typed array: a view when the bytes are aligned, else an aligned copy. (Copied with
 * `new Uint8Array`, because a Node Buffer's `slice` is a view and would stay misaligned.)
 */
function storedArray(tensor: Tensor): NumericArray {
  const bytes = tensor.bytes();
  const arrayType = typedArrayConstructorOf(tensor.dataType);
  const size = arrayType.BYTES_PER_ELEMENT;
  const aligned = bytes.byteOffset % size === 0 ? bytes : new Uint8Array(bytes);
  return new arrayType(aligned.buffer, aligned.byteOffset, aligned.byteLength / size);
}
