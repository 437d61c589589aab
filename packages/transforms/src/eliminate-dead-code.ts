import type { Graph, Model, Node, Value } from '@whittle/ir';
import type { PassDefinition } from '@whittle/spec';
import { removeValueInfo } from './graph-edits.js';

export interface EliminateDeadCodeOptions {
  /**
   * Domains besides the default ONNX domain and `ai.onnx.ml` whose operators are known to have no side effects, so
   * that their nodes may be removed when nothing reads their outputs (for example `com.microsoft`).
   */
  pureDomains?: string[];
}

/** Domains whose operators are pure functions of their inputs: ONNX itself and ONNX-ML. */
const ALWAYS_PURE = new Set(['', 'ai.onnx', 'ai.onnx.ml']);

/**
 * Removes nodes none of whose outputs reach a graph output, in every graph (subgraphs included).
 *
 * Liveness starts at the main graph's outputs and flows backwards through node inputs. A live node that holds
 * subgraphs makes their outputs live, and values a subgraph reads from enclosing graphs count as uses, so an
 * outer node feeding a live If branch stays. Dead nodes go with their whole subgraphs.
 *
 * Side effects: operators of the default domain and ai.onnx.ml are pure, so they go when unused. Nodes of any other
 * domain (custom operators, model-local functions) may do anything (write files, keep state, print), so they are
 * kept, together with whatever they read, unless their domain is listed in `pureDomains`; so is a node (If, Loop,
 * Scan) whose subgraphs hold such a node.
 */
export const eliminateDeadCode: PassDefinition<EliminateDeadCodeOptions, Model> = {
  name: 'eliminate-dead-code',
  description: 'Remove nodes whose outputs reach no graph output, in subgraphs too (custom-domain nodes are kept)',
  options: {
    type: 'object',
    properties: {
      pureDomains: {
        type: 'array',
        items: { type: 'string' },
        default: [],
        description:
          'domains besides ai.onnx and ai.onnx.ml whose operators have no side effects (unused nodes of other domains are kept)',
      },
    },
    additionalProperties: false,
  },
  create(options) {
    const pure = new Set([...ALWAYS_PURE, ...(options.pureDomains ?? [])]);
    // A node holding a subgraph with a side-effecting node has that side effect too.
    const mayHaveSideEffects = (node: Node): boolean =>
      !pure.has(node.domain) ||
      node.subgraphs().some((subgraph) => subgraph.nodes.some((inner) => mayHaveSideEffects(inner)));
    return {
      name: 'eliminate-dead-code',
      run(model) {
        const live = liveNodes(model.graph, mayHaveSideEffects);
        let nodesRemoved = 0;
        let nodesInRemovedSubgraphs = 0;
        // Graphs held by live nodes only: a dead node's subgraphs leave with it.
        const visit = (graph: Graph) => {
          const nodes = graph.nodes;
          for (let index = nodes.length - 1; index >= 0; index--) {
            const node = nodes[index]!;
            if (live.has(node)) continue;
            // Nodes inside the dead node's subgraphs read outer values: empty those subgraphs first, so that the
            // uses they made go too (Graph.removeNode forgets only the removed node's own inputs).
            nodesInRemovedSubgraphs += emptySubgraphs(node);
            graph.removeNode(node, { force: true });
            for (const output of node.outputs) if (output) removeValueInfo(output);
            nodesRemoved++;
          }
          for (const node of graph.nodes) for (const subgraph of node.subgraphs()) visit(subgraph);
        };
        visit(model.graph);
        const changed = nodesRemoved > 0;
        return {
          model,
          changed,
          ...(changed ? {} : { preserved: 'all' as const }),
          statistics: { nodesRemoved, nodesInRemovedSubgraphs },
        };
      },
    };
  },
};

/** Remove every node of the node's subgraphs, innermost first; returns how many. */
function emptySubgraphs(node: Node): number {
  let removed = 0;
  for (const subgraph of node.subgraphs()) {
    const nodes = subgraph.nodes;
    for (let index = nodes.length - 1; index >= 0; index--) {
      const inner = nodes[index]!;
      removed += emptySubgraphs(inner);
      subgraph.removeNode(inner, { force: true });
      removed++;
    }
  }
  return removed;
}

/** Every node whose result reaches an output of `root` (or that must stay for its side effects). */
function liveNodes(root: Graph, mustKeep: (node: Node) => boolean): Set<Node> {
  const live = new Set<Node>();
  const seenValues = new Set<Value>();
  const pending: Node[] = [];
  const markValue = (value: Value | undefined) => {
    if (!value || seenValues.has(value)) return;
    seenValues.add(value);
    const producer = value.producer;
    if (producer && !live.has(producer)) {
      live.add(producer);
      pending.push(producer);
    }
  };
  const markNode = (node: Node) => {
    if (live.has(node)) return;
    live.add(node);
    pending.push(node);
  };
  const enterGraph = (graph: Graph) => {
    for (const output of graph.outputs) markValue(output);
    for (const node of graph.nodes) if (mustKeep(node)) markNode(node);
  };
  enterGraph(root);
  while (pending.length > 0) {
    const node = pending.pop()!;
    for (const input of node.inputs) markValue(input);
    for (const subgraph of node.subgraphs()) enterGraph(subgraph);
  }
  return live;
}
