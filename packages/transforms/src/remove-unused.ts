import type { Graph, Model, Value } from '@whittle/ir';
import type { PassDefinition } from '@whittle/spec';

export interface RemoveUnusedOptions {
  /** Remove initializers no node reads (default true). */
  initializers?: boolean;
  /** Remove opset imports of domains no node uses; the default domain always stays (default true). */
  opsetImports?: boolean;
  /** Remove value_info entries of values that no longer exist (default true). */
  valueInfo?: boolean;
}

/** Where the ONNX reader keeps value_info entries that name no value of their graph (format-owned, see @whittle/onnx). */
const ORPHAN_VALUE_INFO_KEY = 'onnx.orphanValueInfo';
/** Where the ONNX reader keeps model-local functions, which may use domains of their own. */
const FUNCTIONS_KEY = 'onnx.functions';

const normalizeDomain = (domain: string) => (domain === 'ai.onnx' ? '' : domain);

/**
 * Removes what nothing refers to:
 * - initializers no node of their graph or of its subgraphs reads and no graph outputs (initializers that are also
 *   graph inputs stay: they are part of the model's interface);
 * - opset imports of domains no node of any graph uses (the default domain always stays; nothing is removed when
 *   the model carries local functions, whose bodies the IR does not look into);
 * - value_info entries of values no graph in scope defines any more.
 */
export const removeUnused: PassDefinition<RemoveUnusedOptions, Model> = {
  name: 'remove-unused',
  description: 'Remove unused initializers, opset imports of unused domains and value_info of values that are gone',
  options: {
    type: 'object',
    properties: {
      initializers: { type: 'boolean', default: true, description: 'remove initializers nothing reads' },
      opsetImports: { type: 'boolean', default: true, description: 'remove opset imports of domains no node uses' },
      valueInfo: { type: 'boolean', default: true, description: 'remove value_info of values that no longer exist' },
    },
    additionalProperties: false,
  },
  create(options) {
    return {
      name: 'remove-unused',
      run(model) {
        const statistics = { initializersRemoved: 0, opsetImportsRemoved: 0, valueInfoRemoved: 0 };
        const graphOutputs = new Set<Value>();
        for (const graph of model.graphs()) for (const output of graph.outputs) graphOutputs.add(output);
        if (options.initializers !== false) {
          for (const graph of model.graphs()) {
            const inputs = new Set(graph.inputs);
            for (const value of [...graph.initializers]) {
              if (inputs.has(value) || value.uses.length > 0 || graphOutputs.has(value)) continue;
              graph.removeInitializer(value);
              const index = graph.valueInfo.indexOf(value);
              if (index >= 0) {
                graph.valueInfo.splice(index, 1);
                statistics.valueInfoRemoved++;
              }
              statistics.initializersRemoved++;
            }
          }
        }
        if (options.opsetImports !== false && model.carried[FUNCTIONS_KEY] === undefined) {
          const used = new Set<string>(['']);
          for (const graph of model.graphs()) for (const node of graph.nodes) used.add(normalizeDomain(node.domain));
          const kept = model.opsetImports.filter((entry) => used.has(normalizeDomain(entry.domain)));
          statistics.opsetImportsRemoved = model.opsetImports.length - kept.length;
          if (statistics.opsetImportsRemoved > 0) model.opsetImports = kept;
        }
        if (options.valueInfo !== false) statistics.valueInfoRemoved += pruneValueInfo(model.graph, new Set());
        const changed = Object.values(statistics).some((count) => count > 0);
        return { model, changed, ...(changed ? {} : { preserved: 'all' as const }), statistics };
      },
    };
  },
};

/** Drop value_info of values neither this graph nor an enclosing one defines; returns how many went. */
function pruneValueInfo(graph: Graph, outer: ReadonlySet<Value>): number {
  const visible = new Set<Value>(outer);
  for (const value of graph.definedValues()) visible.add(value);
  const names = new Set([...visible].map((value) => value.name));
  let removed = 0;
  for (let index = graph.valueInfo.length - 1; index >= 0; index--) {
    if (!visible.has(graph.valueInfo[index]!)) {
      graph.valueInfo.splice(index, 1);
      removed++;
    }
  }
  const orphans = graph.carried[ORPHAN_VALUE_INFO_KEY];
  if (Array.isArray(orphans)) {
    const kept = orphans.filter(
      (entry: { name?: unknown }) => typeof entry?.name === 'string' && names.has(entry.name),
    );
    removed += orphans.length - kept.length;
    if (kept.length === 0) delete graph.carried[ORPHAN_VALUE_INFO_KEY];
    else if (kept.length < orphans.length) graph.carried[ORPHAN_VALUE_INFO_KEY] = kept;
  }
  for (const node of graph.nodes) for (const subgraph of node.subgraphs()) removed += pruneValueInfo(subgraph, visible);
  return removed;
}
