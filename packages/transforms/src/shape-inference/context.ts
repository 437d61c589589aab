/**
 * What an op's shape inference sees: its node, the types and known data of its inputs, and where to put the
 * types and data of its outputs. One inferrer per op type, grouped by op family in this folder.
 */
import { DataType, type Dimension, type Graph, type Node, type ValueType } from '@whittle/ir';
import type { PartialTensor } from './data.js';

/** A tensor type as inference uses it: element type UNDEFINED when unknown, shape undefined when the rank is. */
export interface TensorFacts {
  elementType: DataType;
  shape: Dimension[] | undefined;
}

export interface InferenceContext {
  readonly node: Node;
  /** Opset version of the node's domain. */
  readonly opset: number;
  /** True when input `index` is given (not omitted, not past the end). */
  has(index: number): boolean;
  /** Best-known type of input `index`. */
  type(index: number): ValueType | undefined;
  /** Input `index` as a tensor, or undefined when absent or not known to be a tensor. */
  tensor(index: number): TensorFacts | undefined;
  /** Shape of input `index`, undefined when unknown. */
  shape(index: number): Dimension[] | undefined;
  rank(index: number): number | undefined;
  /** Element type of input `index`, UNDEFINED when unknown. */
  elementType(index: number): DataType;
  /** Known (maybe partly known) data of input `index`: a constant, or propagated from a shape computation. */
  data(index: number): PartialTensor | undefined;
  /** The data of input `index` when every element is a known number. */
  numbers(index: number): number[] | undefined;
  readonly outputCount: number;
  setType(index: number, type: ValueType | undefined, data?: PartialTensor): void;
  setTensor(index: number, elementType: DataType, shape: readonly Dimension[] | undefined, data?: PartialTensor): void;
  /**
   * Infer a subgraph whose inputs take the given types (merged with what the subgraph declares) and return the
   * types of its outputs. Subgraphs may be inferred again (loops, until their carried types settle).
   */
  inferSubgraph(graph: Graph, inputTypes: readonly (ValueType | undefined)[]): (ValueType | undefined)[];
  /** Known data of a subgraph's output after `inferSubgraph`. */
  subgraphOutputData(graph: Graph, index: number): PartialTensor | undefined;
  /** After `inferSubgraph`: why the subgraph cannot run with the shapes it was given, or undefined when it can. */
  subgraphMismatch(graph: Graph): string | undefined;
}

export type Inferrer = (context: InferenceContext) => void;

export function tensorFactsOf(type: ValueType | undefined): TensorFacts | undefined {
  if (type?.kind !== 'tensor') return undefined;
  return { elementType: type.elementType, shape: type.shape ? [...type.shape] : undefined };
}

export function makeTensorType(elementType: DataType, shape: readonly Dimension[] | undefined): ValueType {
  return shape === undefined ? { kind: 'tensor', elementType } : { kind: 'tensor', elementType, shape: [...shape] };
}

/** The graph held by a node attribute, if any. */
export function graphAttribute(node: Node, name: string): Graph | undefined {
  const attribute = node.attribute(name);
  return attribute?.type === 'graph' ? attribute.value : undefined;
}

/** An INT attribute when present with that type, else the fallback (inference never throws on odd attributes). */
export function intAttr(node: Node, name: string, fallback: number): number;
export function intAttr(node: Node, name: string): number | undefined;
export function intAttr(node: Node, name: string, fallback?: number): number | undefined {
  const attribute = node.attribute(name);
  if (attribute?.type === 'int') return Number(attribute.value);
  return fallback;
}

export function intsAttr(node: Node, name: string): number[] | undefined {
  const attribute = node.attribute(name);
  if (attribute?.type === 'ints') return attribute.value.map((value) => Number(value));
  return undefined;
}

export function floatsAttr(node: Node, name: string): number[] | undefined {
  const attribute = node.attribute(name);
  if (attribute?.type === 'floats') return attribute.value;
  return undefined;
}

export function floatAttr(node: Node, name: string): number | undefined {
  const attribute = node.attribute(name);
  return attribute?.type === 'float' ? attribute.value : undefined;
}

export function stringAttr(node: Node, name: string, fallback: string): string {
  const attribute = node.attribute(name);
  return attribute?.type === 'string' ? new TextDecoder().decode(attribute.value) : fallback;
}

/** A `dtype`-style attribute as a DataType, or the fallback. */
export function dataTypeAttr(node: Node, name: string, fallback: DataType): DataType {
  const value = intAttr(node, name);
  return value === undefined ? fallback : (value as DataType);
}

/** First known element type among the given inputs (ops whose inputs share a type). */
export function sharedElementType(context: InferenceContext, indices: readonly number[]): DataType {
  for (const index of indices) {
    const type = context.elementType(index);
    if (type !== DataType.UNDEFINED) return type;
  }
  return DataType.UNDEFINED;
}

/** Same element type and shape as input 0 on every listed output. */
export function sameAsInput(context: InferenceContext, input = 0, outputs: readonly number[] = [0]): void {
  const facts = context.tensor(input);
  if (!facts) return;
  for (const output of outputs) context.setTensor(output, facts.elementType, facts.shape);
}

/**
 * Thrown by an inferrer when its inputs' known sizes make the op fail at run time (a Squeeze of a dim that is not 1,
 * dims that do not broadcast, an LSTM input that is not 3-D...). The graph holding the node cannot run with these
 * shapes: an If takes its other branch.
 */
export class ShapeMismatch extends Error {
  override readonly name = 'ShapeMismatch';
}

export function mismatch(message: string): never {
  throw new ShapeMismatch(message);
}
