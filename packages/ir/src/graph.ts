import { WhittleError } from '@whittle/spec';
import type { Node } from './node.js';
import type { Tensor } from './tensor.js';
import { Value } from './value.js';

export class Graph {
  name: string;
  docString: string;
  readonly inputs: Value[] = [];
  readonly outputs: Value[] = [];
  /** Values that carry constant data, in their original order (some may also be listed as inputs). */
  readonly initializers: Value[] = [];
  /** Values that had (or should get) a value_info entry, in order. */
  readonly valueInfo: Value[] = [];
  /** Format-owned facts carried without interpretation (sparse initializers, annotations, unknown fields). */
  readonly carried: Record<string, unknown> = {};
  /** The node whose attribute holds this graph; undefined for the main graph. */
  parentNode: Node | undefined;
  private readonly nodeList: Node[] = [];

  constructor(name = '') {
    this.name = name;
    this.docString = '';
  }

  /** The nodes in order. The array is a snapshot, so nodes can be removed or inserted while iterating it. */
  get nodes(): readonly Node[] {
    return [...this.nodeList];
  }

  get nodeCount(): number {
    return this.nodeList.length;
  }

  /** The graph that contains this one, if it is a subgraph. */
  get parentGraph(): Graph | undefined {
    return this.parentNode?.graph;
  }

  addInput(value: Value): Value {
    value.ownerGraph = this;
    this.inputs.push(value);
    return value;
  }

  addInitializer(tensor: Tensor, value = new Value(tensor.name)): Value {
    value.ownerGraph = this;
    value.initializer = tensor;
    tensor.name = value.name;
    this.initializers.push(value);
    return value;
  }

  removeInitializer(value: Value): void {
    const index = this.initializers.indexOf(value);
    if (index >= 0) this.initializers.splice(index, 1);
    value.initializer = undefined;
  }

  appendNode(node: Node): Node {
    return this.insertNodeAt(this.nodeList.length, node);
  }

  insertBefore(anchor: Node, node: Node): Node {
    return this.insertNodeAt(this.indexOfNode(anchor), node);
  }

  insertAfter(anchor: Node, node: Node): Node {
    return this.insertNodeAt(this.indexOfNode(anchor) + 1, node);
  }

  /**
   * Remove a node. Its outputs must be unused unless `force` is set; either way, its input uses are detached so
   * use lists stay true.
   */
  removeNode(node: Node, options: { force?: boolean } = {}): void {
    const index = this.indexOfNode(node);
    if (!options.force) {
      for (const output of node.outputs) {
        if (output?.isUsed) {
          throw new WhittleError(
            'IR_VALUE_STILL_USED',
            `cannot remove ${node.describe()}: output '${output.name}' is still used`,
          );
        }
      }
    }
    node.detachInputs();
    // Reads of outer values by the node's subgraphs go with it.
    for (const subgraph of node.subgraphs()) for (const inner of subgraph.allNodes()) inner.detachInputs();
    this.nodeList.splice(index, 1);
    node.ownerGraph = undefined;
  }

  /** Reorder nodes (used by topological sort); `order` must hold exactly this graph's nodes. */
  setNodeOrder(order: readonly Node[]): void {
    if (order.length !== this.nodeList.length || order.some((node) => node.ownerGraph !== this)) {
      throw new WhittleError('IR_BAD_NODE_ORDER', 'a new node order must hold exactly the graph’s nodes');
    }
    this.nodeList.splice(0, this.nodeList.length, ...order);
  }

  indexOfNode(node: Node): number {
    const index = this.nodeList.indexOf(node);
    if (index < 0) throw new WhittleError('IR_NODE_NOT_IN_GRAPH', `${node.describe()} is not in graph '${this.name}'`);
    return index;
  }

  /** Every value defined in this graph: inputs, initializers and node outputs. */
  *definedValues(): Generator<Value> {
    const seen = new Set<Value>();
    for (const value of [...this.inputs, ...this.initializers]) {
      if (!seen.has(value)) {
        seen.add(value);
        yield value;
      }
    }
    for (const node of this.nodeList) {
      for (const output of node.outputs) if (output) yield output;
    }
  }

  /** Find a value defined in this graph by name (not in enclosing graphs). */
  findValue(name: string): Value | undefined {
    for (const value of this.definedValues()) if (value.name === name) return value;
    return undefined;
  }

  /** This graph's nodes and, depth first, the nodes of every subgraph, each after the node that holds it. */
  *allNodes(): Generator<Node> {
    for (const node of this.nodeList) {
      yield node;
      for (const subgraph of node.subgraphs()) yield* subgraph.allNodes();
    }
  }

  /** Every graph nested in this one (not this one). */
  *nestedGraphs(): Generator<Graph> {
    for (const node of this.nodeList) {
      for (const subgraph of node.subgraphs()) yield* subgraph.allGraphs();
    }
  }

  /** This graph and every graph nested in it. */
  *allGraphs(): Generator<Graph> {
    yield this;
    for (const node of this.nodeList) {
      for (const subgraph of node.subgraphs()) yield* subgraph.allGraphs();
    }
  }

  private insertNodeAt(index: number, node: Node): Node {
    if (node.ownerGraph) throw new WhittleError('IR_NODE_IN_GRAPH', `${node.describe()} already belongs to a graph`);
    node.ownerGraph = this;
    for (const output of node.outputs) if (output) output.ownerGraph = this;
    node.adoptSubgraphs();
    this.nodeList.splice(index, 0, node);
    return node;
  }
}
