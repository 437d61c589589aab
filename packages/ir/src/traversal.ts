import type { Graph } from './graph.js';
import type { Node } from './node.js';
import type { Value } from './value.js';

/**
 * Values a graph's nodes read from enclosing graphs (ONNX subgraphs may refer to outer values by name).
 */
export function outerValuesUsedBy(graph: Graph): Set<Value> {
  const inner = new Set<Value>();
  for (const nested of graph.allGraphs()) for (const value of nested.definedValues()) inner.add(value);
  const outer = new Set<Value>();
  for (const node of graph.allNodes()) {
    for (const input of node.inputs) if (input && !inner.has(input)) outer.add(input);
  }
  return outer;
}

/**
 * A topological order of the graph's nodes (stable: nodes already in order keep it), or undefined when the graph
 * has a cycle. Dependencies through subgraphs count: a node whose subgraph reads a value depends on its producer.
 */
export function topologicalOrder(graph: Graph): Node[] | undefined {
  const nodes = graph.nodes;
  const position = new Map<Node, number>(nodes.map((node, index) => [node, index]));
  const dependencies = nodes.map((node) => {
    const producers = new Set<number>();
    const reads = [...node.inputs];
    for (const subgraph of node.subgraphs()) reads.push(...outerValuesUsedBy(subgraph));
    for (const value of reads) {
      const producer = value?.producer;
      const index = producer ? position.get(producer) : undefined;
      if (index !== undefined) producers.add(index);
    }
    return producers;
  });
  const dependents: number[][] = nodes.map(() => []);
  const waiting = dependencies.map((set) => set.size);
  dependencies.forEach((set, index) => {
    for (const producer of set) dependents[producer]!.push(index);
  });
  // A min-heap would give the exact stable order; a sorted ready list is simple and fast enough at graph sizes.
  const ready: number[] = [];
  waiting.forEach((count, index) => {
    if (count === 0) ready.push(index);
  });
  const order: Node[] = [];
  const done = new Uint8Array(nodes.length);
  let readyStart = 0;
  ready.sort((a, b) => a - b);
  while (readyStart < ready.length) {
    const index = ready[readyStart++]!;
    done[index] = 1;
    order.push(nodes[index]!);
    const unlocked: number[] = [];
    for (const dependent of dependents[index]!) {
      waiting[dependent]!--;
      if (waiting[dependent] === 0) unlocked.push(dependent);
    }
    if (unlocked.length > 0) {
      const rest = ready
        .slice(readyStart)
        .concat(unlocked)
        .sort((a, b) => a - b);
      ready.length = readyStart;
      ready.push(...rest);
    }
  }
  return order.length === nodes.length ? order : undefined;
}

/** True when every node's inputs are defined before it. */
export function isTopologicallySorted(graph: Graph): boolean {
  const defined = new Set<Value>();
  const local = new Set<Value>(graph.definedValues());
  for (const value of [...graph.inputs, ...graph.initializers]) defined.add(value);
  for (const node of graph.nodes) {
    const reads = [...node.inputs];
    for (const subgraph of node.subgraphs()) reads.push(...outerValuesUsedBy(subgraph));
    for (const input of reads) if (input && local.has(input) && !defined.has(input)) return false;
    for (const output of node.outputs) if (output) defined.add(output);
  }
  return true;
}
