import type { Attribute, AttributeValue } from './attribute.js';
import type { DataType } from './data-type.js';
import { Graph } from './graph.js';
import { Model, type OpsetImport } from './model.js';
import { Node } from './node.js';
import { Tensor } from './tensor.js';
import { Value } from './value.js';
import { type Dimension, tensorType } from './value-type.js';

/** Attribute values a builder accepts: plain numbers (integers become INT), strings, arrays, tensors, graphs. */
export type AttributeShorthand = number | string | number[] | string[] | Tensor | Graph | AttributeValue;

const textEncoder = new TextEncoder();

export function toAttribute(name: string, value: AttributeShorthand): Attribute {
  if (value instanceof Tensor) return { name, type: 'tensor', value };
  if (value instanceof Graph) return { name, type: 'graph', value };
  if (typeof value === 'number')
    return Number.isInteger(value) ? { name, type: 'int', value } : { name, type: 'float', value };
  if (typeof value === 'string') return { name, type: 'string', value: textEncoder.encode(value) };
  if (Array.isArray(value)) {
    if (value.every((item) => typeof item === 'string')) {
      return { name, type: 'strings', value: (value as string[]).map((item) => textEncoder.encode(item)) };
    }
    const numbers = value as number[];
    return numbers.every(Number.isInteger)
      ? { name, type: 'ints', value: numbers }
      : { name, type: 'floats', value: numbers };
  }
  return { name, ...(value as AttributeValue) } as Attribute;
}

export interface BuilderNodeOptions {
  name?: string;
  domain?: string;
  attributes?: Record<string, AttributeShorthand>;
  /** Output names (default: generated), or a count of outputs. */
  outputs?: string[] | number;
}

/** A small fluent builder for graphs and models, mostly for tests. */
export class GraphBuilder {
  readonly graph: Graph;
  private counter = 0;

  constructor(name = 'main') {
    this.graph = new Graph(name);
  }

  input(name: string, elementType: DataType, shape?: Dimension[]): Value {
    return this.graph.addInput(new Value(name, tensorType(elementType, shape)));
  }

  initializer(tensor: Tensor): Value {
    return this.graph.addInitializer(tensor, new Value(tensor.name, tensorType(tensor.dataType, [...tensor.dims])));
  }

  /** Add a node and return its outputs. */
  node(opType: string, inputs: (Value | undefined)[], options: BuilderNodeOptions = {}): Value[] {
    const outputNames =
      typeof options.outputs === 'number' || options.outputs === undefined
        ? Array.from({ length: (options.outputs as number | undefined) ?? 1 }, () => this.freshName(opType))
        : options.outputs;
    const node = new Node({
      opType,
      domain: options.domain ?? '',
      name: options.name ?? this.freshName(`${opType}_node`),
      inputs,
      outputs: outputNames,
      attributes: Object.entries(options.attributes ?? {}).map(([key, value]) => toAttribute(key, value)),
    });
    this.graph.appendNode(node);
    return node.outputs.filter((value): value is Value => value !== undefined);
  }

  /** Add a node with one output and return it. */
  op(
    opType: string,
    inputs: (Value | undefined)[],
    options: Omit<BuilderNodeOptions, 'outputs'> & { output?: string } = {},
  ): Value {
    const { output, ...rest } = options;
    return this.node(opType, inputs, { ...rest, ...(output ? { outputs: [output] } : {}) })[0]!;
  }

  output(value: Value, type?: Value['type']): Value {
    if (type) value.type = type;
    this.graph.outputs.push(value);
    return value;
  }

  model(options: { opsetImports?: OpsetImport[]; irVersion?: number; producerName?: string } = {}): Model {
    return new Model({
      graph: this.graph,
      opsetImports: options.opsetImports ?? [{ domain: '', version: 17 }],
      irVersion: options.irVersion ?? 8,
      producerName: options.producerName ?? 'whittle-builder',
    });
  }

  private freshName(prefix: string): string {
    this.counter += 1;
    return `${prefix}_${this.counter}`;
  }
}
