/** ExecutorTensor <-> onnxruntime tensor, without copying data. */
import type { ExecutorTensor } from '@whittle/spec';
import { WhittleError } from '@whittle/spec';
import * as ort from 'onnxruntime-node';
import { ExecutorCodes } from './codes.js';

type ArrayKind = abstract new (...args: never[]) => ArrayBufferView;

/**
 * The data array each element type travels in, as onnxruntime's JS API wants it: float16 as its bit patterns in a
 * Uint16Array, bool as 0/1 in a Uint8Array, int4/uint4 two to a byte in a Uint8Array.
 */
const ARRAY_KINDS: Readonly<Record<string, ArrayKind>> = {
  float32: Float32Array,
  float64: Float64Array,
  float16: Uint16Array,
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int64: BigInt64Array,
  uint64: BigUint64Array,
  bool: Uint8Array,
  int4: Uint8Array,
  uint4: Uint8Array,
};

/** Element type names onnxruntime's JS API can pass in and out (`string` included). */
export const ORT_ELEMENT_TYPES: readonly string[] = [...Object.keys(ARRAY_KINDS), 'string'];

function describe(name: string | undefined): string {
  return name === undefined ? 'tensor' : `input '${name}'`;
}

function location(name: string | undefined) {
  return name === undefined ? {} : { location: { value: name } };
}

function kindOf(data: unknown): string {
  if (Array.isArray(data)) return 'an array';
  if (data === null || typeof data !== 'object') return typeof data;
  return (data as object).constructor?.name ?? 'an object';
}

/** Float16Array where the platform has one (onnxruntime accepts it for float16 as well as Uint16Array). */
function float16ArrayKind(): ArrayKind | undefined {
  return (globalThis as { Float16Array?: ArrayKind }).Float16Array;
}

function elementCount(dims: readonly number[], name: string | undefined): number {
  let count = 1;
  for (const [index, dim] of dims.entries()) {
    if (!Number.isSafeInteger(dim) || dim < 0) {
      throw new WhittleError(
        ExecutorCodes.INPUT_SHAPE,
        `${describe(name)}: dim ${index} is ${String(dim)}, not a non-negative integer (dims [${dims.join(', ')}])`,
        location(name),
      );
    }
    count *= dim;
  }
  return count;
}

/**
 * An ExecutorTensor as an onnxruntime tensor. The data array is handed over as is (no copy); its kind must be the
 * one onnxruntime uses for the element type (see `ARRAY_KINDS`), and it must hold exactly the dims' element count.
 * `name` only makes error messages and locations name the input.
 */
export function toOrtTensor(tensor: ExecutorTensor, name?: string): ort.Tensor {
  const { type, dims, data } = tensor;
  const count = elementCount(dims, name);
  if (type === 'string') {
    if (!Array.isArray(data) || !data.every((item) => typeof item === 'string')) {
      throw new WhittleError(
        ExecutorCodes.INPUT_TYPE,
        `${describe(name)}: a string tensor's data must be an array of strings, got ${kindOf(data)}`,
        location(name),
      );
    }
    if (data.length !== count) {
      throw new WhittleError(
        ExecutorCodes.INPUT_SHAPE,
        `${describe(name)}: dims [${dims.join(', ')}] hold ${count} strings, the data has ${data.length}`,
        location(name),
      );
    }
    return new ort.Tensor('string', data as string[], [...dims]);
  }
  const kind = ARRAY_KINDS[type];
  if (!kind) {
    throw new WhittleError(
      ExecutorCodes.UNSUPPORTED_TYPE,
      `${describe(name)}: onnxruntime's JS API has no ${type} tensors`,
      { ...location(name), hint: `supported element types: ${ORT_ELEMENT_TYPES.join(', ')}` },
    );
  }
  const float16Kind = type === 'float16' ? float16ArrayKind() : undefined;
  if (!(data instanceof kind) && !(float16Kind && data instanceof float16Kind)) {
    throw new WhittleError(
      ExecutorCodes.INPUT_TYPE,
      `${describe(name)}: ${type} data must be a ${kind.name}, got ${kindOf(data)}`,
      location(name),
    );
  }
  const length = (data as unknown as { length: number }).length;
  const packed = type === 'int4' || type === 'uint4';
  const expected = packed ? Math.ceil(count / 2) : count;
  if (length !== expected) {
    throw new WhittleError(
      ExecutorCodes.INPUT_SHAPE,
      `${describe(name)}: dims [${dims.join(', ')}] hold ${count} elements${packed ? ` (${expected} bytes packed)` : ''}, the data has ${length}`,
      location(name),
    );
  }
  // The constructor's overloads are per type; the checks above already match type and data.
  return new ort.Tensor(type as 'float32', data as Float32Array, [...dims]);
}

/** An onnxruntime tensor (on the CPU) as an ExecutorTensor: same type name, dims and data array (no copy). */
export function fromOrtTensor(tensor: ort.Tensor): ExecutorTensor {
  if (tensor.location !== 'cpu' && tensor.location !== 'cpu-pinned') {
    throw new WhittleError(
      ExecutorCodes.UNSUPPORTED_TYPE,
      `a tensor on '${tensor.location}' cannot be read without downloading it first`,
    );
  }
  return { type: tensor.type, dims: tensor.dims, data: tensor.data as ArrayBufferView | readonly string[] };
}
