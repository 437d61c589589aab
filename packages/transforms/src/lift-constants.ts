import { constantNodeValue, type Graph, type Model, type Node, tensorType } from '@whittle/ir';
import type { PassContext, PassDefinition } from '@whittle/spec';

/** Diagnostic codes of lift-constants, sorted. */
export const LiftConstantsCodes = {
  /** The model's IR version is below 4: every initializer would also have to be a graph input. */
  OLD_IR_VERSION: 'LIFT_CONSTANTS_OLD_IR_VERSION',
} as const;

/** lift-constants takes no options. */
export type LiftConstantsOptions = Record<string, never>;

/**
 * Turn a `Constant` node into an initializer of its own graph carrying the same value object, so the name, the uses
 * and the data (bytes untouched) stay as they were. Returns false, leaving the node, when its output is an output of
 * its graph (an initializer cannot always stand in for a graph output: subgraph outputs in particular) or when
 * its value is not a dense tensor (`sparse_value`, attribute references).
 */
export function liftConstantNode(graph: Graph, node: Node): boolean {
  const output = node.output(0);
  if (!output || node.outputs.length !== 1 || graph.outputs.includes(output)) return false;
  const tensor = constantNodeValue(node);
  if (!tensor) return false;
  node.setOutput(0, undefined);
  graph.removeNode(node);
  graph.addInitializer(tensor, output);
  if (output.type?.kind !== 'tensor') output.type = tensorType(tensor.dataType, [...tensor.dims]);
  return true;
}

/**
 * IR versions before 4 require every initializer to be listed as a graph input too, which would make lifted or folded
 * constants overridable at run time; such models are left alone with a note under `code`.
 */
export function supportsPlainInitializers(
  model: Model,
  context: PassContext<Model>,
  pass: string,
  code: string,
): boolean {
  if (model.irVersion >= 4) return true;
  context.report({
    code,
    severity: 'info',
    message: `IR version ${model.irVersion} lists every initializer as a graph input; ${pass} leaves the model as it is`,
  });
  return false;
}

/**
 * Every `Constant` node (value, value_float(s), value_int(s), value_string(s); sparse values stay) becomes an
 * initializer of the graph that holds it, subgraphs included. Graph outputs keep their producing Constant node.
 */
export const liftConstants: PassDefinition<LiftConstantsOptions, Model> = {
  name: 'lift-constants',
  description: 'Turn Constant nodes into initializers of their graphs (subgraphs included); data stays bit-identical',
  create() {
    return {
      name: 'lift-constants',
      run(model, context) {
        if (!supportsPlainInitializers(model, context, 'lift-constants', LiftConstantsCodes.OLD_IR_VERSION)) {
          return { model, changed: false, preserved: 'all', statistics: { constantsLifted: 0 } };
        }
        let lifted = 0;
        for (const graph of [...model.graphs()]) {
          for (const node of graph.nodes) {
            if (node.is('Constant') && liftConstantNode(graph, node)) lifted++;
          }
        }
        return lifted > 0
          ? { model, changed: true, statistics: { constantsLifted: lifted } }
          : { model, changed: false, preserved: 'all', statistics: { constantsLifted: 0 } };
      },
    };
  },
};
