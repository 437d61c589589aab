/**
 * Partial data propagation: the values of small tensors (shapes, indices, axes, scales), each element a number, a
 * symbolic dim name or null (unknown). A `Shape` of `[batch, 3, null]` gives the data `['batch', 3, null]`; Gather,
 * Concat, Slice, Unsqueeze, Cast, arithmetic... carry such data on, so a Reshape target built from `Shape(x)` is
 * known.
 */
import { DataType, type Dimension, dataTypeInfo, type Tensor } from '@whittle/ir';
import { sliceRange } from './dims.js';

export interface PartialTensor {
  readonly dims: readonly number[];
  /** Row-major elements; booleans are 0 and 1. */
  readonly values: readonly Dimension[];
}

/** Tensors with more elements are not tracked. */
export const MAX_DATA_ELEMENTS = 4096;

const READABLE = new Set<DataType>([
  DataType.FLOAT,
  DataType.DOUBLE,
  DataType.INT8,
  DataType.UINT8,
  DataType.INT16,
  DataType.UINT16,
  DataType.INT32,
  DataType.UINT32,
  DataType.INT64,
  DataType.UINT64,
  DataType.BOOL,
]);

export function countOf(dims: readonly number[]): number {
  let count = 1;
  for (const dim of dims) count *= dim;
  return count;
}

export function partial(dims: readonly number[], values: readonly Dimension[]): PartialTensor | undefined {
  if (values.length > MAX_DATA_ELEMENTS || countOf(dims) !== values.length) return undefined;
  return { dims: [...dims], values };
}

export const scalarData = (value: Dimension): PartialTensor => ({ dims: [], values: [value] });
export const vectorData = (values: readonly Dimension[]): PartialTensor => ({ dims: [values.length], values });

/** The data of a constant tensor, when it is small and of a numeric type. */
export function partialFromTensor(tensor: Tensor): PartialTensor | undefined {
  if (!READABLE.has(tensor.dataType)) return undefined;
  if (!tensor.dims.every((dim) => Number.isSafeInteger(dim) && dim >= 0)) return undefined;
  if (countOf(tensor.dims) > MAX_DATA_ELEMENTS) return undefined;
  try {
    const array = tensor.toArray();
    if (array.length !== countOf(tensor.dims)) return undefined;
    const values: number[] = [];
    for (const element of array) values.push(Number(element));
    return { dims: [...tensor.dims], values };
  } catch {
    return undefined;
  }
}

/** All elements as numbers, or undefined when any is symbolic or unknown. */
export function numbersOf(data: PartialTensor | undefined): number[] | undefined {
  if (!data) return undefined;
  const numbers: number[] = [];
  for (const value of data.values) {
    if (typeof value !== 'number') return undefined;
    numbers.push(value);
  }
  return numbers;
}

export function isIntegerType(type: DataType): boolean {
  return type === DataType.BOOL || (type !== DataType.UNDEFINED && isKnownInteger(type));
}

function isKnownInteger(type: DataType): boolean {
  try {
    return dataTypeInfo(type).isInteger;
  } catch {
    return false;
  }
}

/** A value as an element of `type`: integers truncate and wrap like a C cast, float32 rounds, bool is 0 or 1. */
export function castNumber(value: number, type: DataType): number | null {
  switch (type) {
    case DataType.BOOL:
      return Number.isNaN(value) ? 1 : value !== 0 ? 1 : 0;
    case DataType.FLOAT:
      return Math.fround(value);
    case DataType.DOUBLE:
      return value;
    case DataType.INT64:
    case DataType.UINT64:
    case DataType.INT32:
    case DataType.UINT32:
    case DataType.INT16:
    case DataType.UINT16:
    case DataType.INT8:
    case DataType.UINT8: {
      if (!Number.isFinite(value)) return null;
      const truncated = Math.trunc(value);
      const bits = dataTypeInfo(type).bits;
      if (bits === 64) return Number.isSafeInteger(truncated) || Math.abs(truncated) >= 2 ** 62 ? truncated : null;
      const signed = dataTypeInfo(type).isSigned;
      const range = 2 ** bits;
      let wrapped = ((truncated % range) + range) % range;
      if (signed && wrapped >= range / 2) wrapped -= range;
      return wrapped;
    }
    default:
      return null;
  }
}

function stridesOf(dims: readonly number[]): number[] {
  const strides = new Array<number>(dims.length).fill(1);
  for (let axis = dims.length - 2; axis >= 0; axis--) strides[axis] = strides[axis + 1]! * dims[axis + 1]!;
  return strides;
}

/** Numpy-broadcast dims of known shapes, or undefined when they do not broadcast. */
export function broadcastStatic(shapes: readonly (readonly number[])[]): number[] | undefined {
  const rank = Math.max(0, ...shapes.map((shape) => shape.length));
  const result: number[] = [];
  for (let position = 0; position < rank; position++) {
    let dim = 1;
    for (const shape of shapes) {
      const index = shape.length - rank + position;
      if (index < 0) continue;
      const size = shape[index]!;
      if (size === 1) continue;
      if (dim !== 1 && dim !== size) return undefined;
      dim = size;
    }
    result.push(dim);
  }
  return result;
}

/** Apply `combine` elementwise over broadcast operands. */
export function mapBroadcast(
  operands: readonly PartialTensor[],
  combine: (values: Dimension[]) => Dimension,
): PartialTensor | undefined {
  const dims = broadcastStatic(operands.map((operand) => operand.dims));
  if (!dims) return undefined;
  const count = countOf(dims);
  if (count > MAX_DATA_ELEMENTS) return undefined;
  const outStrides = stridesOf(dims);
  const operandStrides = operands.map((operand) => {
    const strides = stridesOf(operand.dims);
    const offset = dims.length - operand.dims.length;
    return dims.map((_, axis) => {
      const own = axis - offset;
      return own < 0 || operand.dims[own] === 1 ? 0 : strides[own]!;
    });
  });
  const values: Dimension[] = [];
  for (let index = 0; index < count; index++) {
    const args: Dimension[] = operands.map((operand, which) => {
      let position = 0;
      let rest = index;
      for (let axis = 0; axis < dims.length; axis++) {
        const coordinate = Math.floor(rest / outStrides[axis]!);
        rest -= coordinate * outStrides[axis]!;
        position += coordinate * operandStrides[which]![axis]!;
      }
      return operand.values[position] ?? null;
    });
    values.push(combine(args));
  }
  return { dims, values };
}

export function mapData(data: PartialTensor, map: (value: Dimension) => Dimension): PartialTensor {
  return { dims: data.dims, values: data.values.map(map) };
}

export function reshapeData(data: PartialTensor, dims: readonly number[]): PartialTensor | undefined {
  return countOf(dims) === data.values.length ? { dims: [...dims], values: data.values } : undefined;
}

export function transposeData(data: PartialTensor, perm: readonly number[]): PartialTensor | undefined {
  const rank = data.dims.length;
  if (perm.length !== rank) return undefined;
  const dims = perm.map((axis) => data.dims[axis]!);
  const inStrides = stridesOf(data.dims);
  const outStrides = stridesOf(dims);
  const values: Dimension[] = new Array(data.values.length);
  for (let index = 0; index < data.values.length; index++) {
    let rest = index;
    let source = 0;
    for (let axis = 0; axis < rank; axis++) {
      const coordinate = Math.floor(rest / outStrides[axis]!);
      rest -= coordinate * outStrides[axis]!;
      source += coordinate * inStrides[perm[axis]!]!;
    }
    values[index] = data.values[source] ?? null;
  }
  return { dims, values };
}

/** Slice with normalized axes; starts/ends/steps as ONNX gives them. */
export function sliceData(
  data: PartialTensor,
  starts: readonly number[],
  ends: readonly number[],
  axes: readonly number[],
  steps: readonly number[],
): PartialTensor | undefined {
  const rank = data.dims.length;
  const first = new Array<number>(rank).fill(0);
  const step = new Array<number>(rank).fill(1);
  const dims = [...data.dims];
  for (let index = 0; index < axes.length; index++) {
    const axis = axes[index]!;
    const range = sliceRange(data.dims[axis]!, starts[index]!, ends[index]!, steps[index]!);
    first[axis] = range.start;
    step[axis] = steps[index]!;
    dims[axis] = range.length;
  }
  const inStrides = stridesOf(data.dims);
  const outStrides = stridesOf(dims);
  const count = countOf(dims);
  const values: Dimension[] = [];
  for (let index = 0; index < count; index++) {
    let rest = index;
    let source = 0;
    for (let axis = 0; axis < rank; axis++) {
      const coordinate = Math.floor(rest / outStrides[axis]!);
      rest -= coordinate * outStrides[axis]!;
      source += (first[axis]! + coordinate * step[axis]!) * inStrides[axis]!;
    }
    values.push(data.values[source] ?? null);
  }
  return { dims, values };
}

/** Gather along `axis` with known indices (negative indices count from the end). */
export function gatherData(data: PartialTensor, indices: PartialTensor, axis: number): PartialTensor | undefined {
  const indexValues = numbersOf(indices);
  if (!indexValues) return undefined;
  const size = data.dims[axis]!;
  const outer = countOf(data.dims.slice(0, axis));
  const inner = countOf(data.dims.slice(axis + 1));
  const dims = [...data.dims.slice(0, axis), ...indices.dims, ...data.dims.slice(axis + 1)];
  if (countOf(dims) > MAX_DATA_ELEMENTS) return undefined;
  const values: Dimension[] = [];
  for (let o = 0; o < outer; o++) {
    for (const raw of indexValues) {
      const position = raw < 0 ? raw + size : raw;
      if (position < 0 || position >= size) return undefined;
      for (let i = 0; i < inner; i++) values.push(data.values[(o * size + position) * inner + i] ?? null);
    }
  }
  return { dims, values };
}

export function concatData(parts: readonly PartialTensor[], axis: number): PartialTensor | undefined {
  const first = parts[0];
  if (!first) return undefined;
  const rank = first.dims.length;
  if (parts.some((part) => part.dims.length !== rank)) return undefined;
  for (let other = 0; other < rank; other++) {
    if (other !== axis && parts.some((part) => part.dims[other] !== first.dims[other])) return undefined;
  }
  const outer = countOf(first.dims.slice(0, axis));
  const dims = [...first.dims];
  dims[axis] = parts.reduce((sum, part) => sum + part.dims[axis]!, 0);
  const values: Dimension[] = [];
  for (let o = 0; o < outer; o++) {
    for (const part of parts) {
      const chunk = countOf(part.dims.slice(axis));
      values.push(...part.values.slice(o * chunk, (o + 1) * chunk));
    }
  }
  return partial(dims, values);
}
