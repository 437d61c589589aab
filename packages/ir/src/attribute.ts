import type { Graph } from './graph.js';
import type { Tensor } from './tensor.js';
import type { ValueType } from './value-type.js';

/** ONNX INT attributes are int64: values beyond 2^53 stay exact as bigint. */
export type Int64 = number | bigint;

export type AttributeValue =
  | { type: 'float'; value: number }
  | { type: 'int'; value: Int64 }
  | { type: 'string'; value: Uint8Array }
  | { type: 'tensor'; value: Tensor }
  | { type: 'graph'; value: Graph }
  | { type: 'sparse-tensor'; value: unknown }
  | { type: 'type'; value: ValueType }
  | { type: 'floats'; value: number[] }
  | { type: 'ints'; value: Int64[] }
  | { type: 'strings'; value: Uint8Array[] }
  | { type: 'tensors'; value: Tensor[] }
  | { type: 'graphs'; value: Graph[] }
  | { type: 'sparse-tensors'; value: unknown[] }
  | { type: 'types'; value: ValueType[] }
  /** An attribute that only refers to an attribute of the enclosing function. */
  | { type: 'reference'; value: undefined };

export type AttributeType = AttributeValue['type'];

export type Attribute = AttributeValue & {
  name: string;
  docString?: string;
  /** Name of the enclosing function's attribute this one refers to (functions only). */
  referenceName?: string;
  /** Format-owned facts carried without interpretation. */
  carried?: Record<string, unknown>;
};

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

export function stringAttribute(name: string, value: string): Attribute {
  return { name, type: 'string', value: textEncoder.encode(value) };
}

export function decodeAttributeString(bytes: Uint8Array): string {
  return textDecoder.decode(bytes);
}

/** Convert an int64 attribute to a JavaScript number, saturating at ±Infinity beyond the safe range. */
export function int64ToNumber(value: Int64): number {
  return typeof value === 'bigint' ? Number(value) : value;
}
