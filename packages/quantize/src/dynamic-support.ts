import {
  constantValueOf,
  type Attribute,
  constantNodeValue,
  DataType,
  type Dimension,
  type Graph,
  type Model,
  type NameGenerator,
  Node,
  type Tensor,
  tensorType,
  type Value,
} from '@whittle/ir';
import { removeValueInfo } from '@whittle/transforms';

/** A fresh copy of a FLOAT tensor's elements. */
export function floatValues(tensor: Tensor): Float32Array {
  return Float32Array.from(tensor.toArray() as Float32Array);
}

/** The element type a value is declared with (or a constant's), if known. */
export function elementTypeOf(value: Value | undefined): DataType | undefined {
  const constant = constantValueOf(value);
  if (constant) return constant.dataType;
  const type = value?.type;
  return type?.kind === 'tensor' && type.elementType !== DataType.UNDEFINED ? type.elementType : undefined;
}

/** The declared shape of a value, if any. */
export function shapeOf(value: Value | undefined): Dimension[] | undefined {
  const constant = constantValueOf(value);
  if (constant) return [...constant.dims];
  const type = value?.type;
  return type?.kind === 'tensor' ? type.shape : undefined;
}

/** `*` matches any run of characters, `?` one character; anything else matches itself. */
export function globMatcher(patterns: readonly string[]): (name: string) => boolean {
  const expressions = patterns.map((pattern) => {
    const source = pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.');
    return new RegExp(`^${source}$`);
  });
  return (name) => name !== '' && expressions.some((expression) => expression.test(name));
}

/** True when a node is excluded by name or by the name of one of its outputs. */
export function isExcluded(node: Node, matches: (name: string) => boolean): boolean {
  return matches(node.name) || node.outputs.some((output) => output !== undefined && matches(output.name));
}

/** Bytes of every constant of the model: initializers and `Constant` nodes, subgraphs included. */
export function constantBytes(model: Model): number {
  let bytes = 0;
  for (const graph of model.graphs()) {
    for (const value of graph.initializers) bytes += value.initializer?.byteLength ?? 0;
    for (const node of graph.nodes) {
      if (node.is('Constant')) bytes += constantNodeValue(node)?.byteLength ?? 0;
    }
  }
  return bytes;
}

/** Adds constants and nodes to a graph under names no other value or node of the model has. */
export class GraphEditor {
  constructor(private readonly names: NameGenerator) {}

  constant(graph: Graph, base: string, tensor: Tensor): Value {
    tensor.name = this.names.fresh(base);
    const value = graph.addInitializer(tensor);
    value.type = tensorType(tensor.dataType, [...tensor.dims]);
    return value;
  }

  /**
   * A node inserted before `anchor` producing fresh values named after `base` and typed as `types` says, or the
   * values given.
   */
  insert(
    graph: Graph,
    anchor: Node,
    init: {
      opType: string;
      domain?: string;
      base: string;
      inputs: (Value | undefined)[];
      outputs?: (Value | undefined)[];
      outputCount?: number;
      types?: ({ elementType: DataType; shape?: Dimension[] } | undefined)[];
      attributes?: Attribute[];
    },
  ): Node {
    const count = init.outputs?.length ?? init.outputCount ?? 1;
    const suffixes = count === 1 ? [''] : Array.from({ length: count }, (_, index) => `_${index}`);
    const outputs = init.outputs ?? suffixes.map((suffix) => this.names.fresh(`${init.base}${suffix}`));
    const node = new Node({
      opType: init.opType,
      domain: init.domain ?? '',
      name: this.names.fresh(`${init.base}_${init.opType}`),
      inputs: init.inputs,
      outputs,
      attributes: init.attributes ?? [],
    });
    // Values handed in keep their own types.
    if (!init.outputs) {
      init.types?.forEach((type, index) => {
        const output = node.output(index);
        if (type && output) output.type = tensorType(type.elementType, type.shape);
      });
    }
    graph.insertBefore(anchor, node);
    return node;
  }
}

/**
 * Remove constants nothing reads any more: initializers (not graph inputs) and `Constant` nodes, in the graphs
 * given.
 */
export function removeUnusedConstants(values: Iterable<Value>): number {
  let removed = 0;
  for (const value of new Set(values)) {
    const graph = value.graph;
    if (!graph || value.isUsed || graph.inputs.includes(value)) continue;
    if (value.initializer && graph.initializers.includes(value)) {
      graph.removeInitializer(value);
      removeValueInfo(value);
      removed++;
      continue;
    }
    const producer = value.producer;
    if (producer?.is('Constant') && producer.graph === graph && producer.outputs.length === 1) {
      graph.removeNode(producer);
      removeValueInfo(value);
      removed++;
    }
  }
  return removed;
}

export const floatAttribute = (name: string, value: number): Attribute => ({ name, type: 'float', value });
export const intAttribute = (name: string, value: number): Attribute => ({ name, type: 'int', value });
