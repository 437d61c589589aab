import type { Graph } from './graph.js';
import type { Node } from './node.js';
import type { Tensor } from './tensor.js';
import type { ValueType } from './value-type.js';

export interface Use {
  readonly node: Node;
  readonly index: number;
}

/**
 * A named value: produced by one node, or a graph input, or an initializer (constant). It knows its producer and
 * every use, so passes can walk the graph both ways.
 */
export class Value {
  name: string;
  type: ValueType | undefined;
  docString: string;
  /** Constant data when this value is an initializer of its graph. */
  initializer: Tensor | undefined;
  /** Format-owned facts carried without interpretation. */
  readonly carried: Record<string, unknown> = {};
  /** @internal set by Node and Graph */
  producerNode: Node | undefined;
  /** @internal set by Graph when the value is an input, an initializer or produced by one of its nodes */
  ownerGraph: Graph | undefined;
  private readonly useList: Use[] = [];

  constructor(name: string, type?: ValueType, docString = '') {
    this.name = name;
    this.type = type;
    this.docString = docString;
  }

  get producer(): Node | undefined {
    return this.producerNode;
  }

  get graph(): Graph | undefined {
    return this.ownerGraph;
  }

  get uses(): readonly Use[] {
    return this.useList;
  }

  /**
   * The value's data when it is fixed before the model runs: an initializer that is not also a graph input (an
   * input with a default can be overridden at run time).
   */
  get constant(): Tensor | undefined {
    if (!this.initializer) return undefined;
    return this.ownerGraph?.inputs.includes(this) ? undefined : this.initializer;
  }

  /**
   * True when a node reads this value or a graph returns it: its own graph, or a subgraph that passes an outer
   * value straight out (an `If` branch returning it, say).
   */
  get isUsed(): boolean {
    if (this.useList.length > 0) return true;
    const graph = this.ownerGraph;
    if (!graph) return false;
    if (graph.outputs.includes(this)) return true;
    for (const nested of graph.nestedGraphs()) if (nested.outputs.includes(this)) return true;
    return false;
  }

  /** @internal */
  addUse(node: Node, index: number): void {
    this.useList.push({ node, index });
  }

  /** @internal */
  removeUse(node: Node, index: number): void {
    const position = this.useList.findIndex((use) => use.node === node && use.index === index);
    if (position >= 0) this.useList.splice(position, 1);
  }

  /** Point every use (node inputs and graph outputs of the owning graph) at another value. */
  replaceAllUsesWith(replacement: Value): void {
    if (replacement === this) return;
    for (const use of [...this.useList]) use.node.setInput(use.index, replacement);
    const graph = this.ownerGraph;
    if (!graph) return;
    for (const returning of [graph, ...graph.nestedGraphs()]) {
      returning.outputs.forEach((output, index) => {
        if (output === this) returning.outputs[index] = replacement;
      });
    }
  }
}
