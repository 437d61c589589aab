import { type Model, topologicalOrder } from '@whittle/ir';
import { type PassDefinition, WhittleError } from '@whittle/spec';

export type TopologicalSortOptions = Record<string, never>;

/** Error code of a graph whose nodes cannot be ordered (some node depends on its own output). */
export const GRAPH_CYCLE = 'GRAPH_CYCLE';

/**
 * Sorts the nodes of every graph (subgraphs included) so that each runs after the producers of its inputs, values
 * its subgraphs read from outside included. Stable: nodes already in order keep their places. A cycle throws a
 * WhittleError with code `GRAPH_CYCLE`.
 */
export const topologicalSort: PassDefinition<TopologicalSortOptions, Model> = {
  name: 'topological-sort',
  description: 'Order the nodes of every graph so that each runs after its inputs are produced (stable)',
  options: { type: 'object', properties: {}, additionalProperties: false },
  create() {
    return {
      name: 'topological-sort',
      run(model) {
        let graphsReordered = 0;
        let nodesMoved = 0;
        for (const graph of [...model.graphs()]) {
          const order = topologicalOrder(graph);
          if (!order) {
            throw new WhittleError(
              GRAPH_CYCLE,
              `graph '${graph.name}' has a cycle: some node depends, directly or not, on its own output`,
              { location: { graph: graph.name }, hint: 'a model with a cycle is invalid ONNX; it cannot be sorted' },
            );
          }
          const current = graph.nodes;
          const moved = order.filter((node, index) => current[index] !== node).length;
          if (moved > 0) {
            graph.setNodeOrder(order);
            graphsReordered++;
            nodesMoved += moved;
          }
        }
        const changed = graphsReordered > 0;
        // Analyses may index nodes by position: a reordered model keeps none of them.
        return {
          model,
          changed,
          ...(changed ? {} : { preserved: 'all' as const }),
          statistics: { graphsReordered, nodesMoved },
        };
      },
    };
  },
};
