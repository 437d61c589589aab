import type { Diagnostic, Location } from '@whittle/spec';
import { DataType, dataTypeName } from './data-type.js';
import type { Graph } from './graph.js';
import type { Model } from './model.js';
import type { Node } from './node.js';
import { isTopologicallySorted, topologicalOrder } from './traversal.js';
import type { Value } from './value.js';

/** Codes the verifier reports, sorted. */
export const VerifierCodes = {
  BROKEN_USE_LIST: 'IR_BROKEN_USE_LIST',
  DANGLING_VALUE: 'IR_DANGLING_VALUE',
  DUPLICATE_VALUE_NAME: 'IR_DUPLICATE_VALUE_NAME',
  GRAPH_CYCLE: 'IR_GRAPH_CYCLE',
  MISSING_OPSET: 'IR_MISSING_OPSET',
  MULTIPLE_PRODUCERS: 'IR_MULTIPLE_PRODUCERS',
  NOT_TOPOLOGICAL: 'IR_NOT_TOPOLOGICAL',
  TENSOR_SIZE_MISMATCH: 'IR_TENSOR_SIZE_MISMATCH',
  TYPE_MISMATCH: 'IR_TYPE_MISMATCH',
  UNDEFINED_OUTPUT: 'IR_UNDEFINED_OUTPUT',
} as const;

export interface VerifyOptions {
  /** Report graphs that are not topologically sorted (acyclic ones are reported as warnings). Default true. */
  checkOrder?: boolean;
}

/**
 * Check a model's structure: single producers, no dangling references, topological order (and no cycles),
 * consistent use lists, initializer types and sizes, imported opsets. Returns diagnostics; none of severity
 * `error` means the model is structurally sound.
 */
export function verifyModel(model: Model, options: VerifyOptions = {}): Diagnostic[] {
  const diagnostics: Diagnostic[] = [];
  const domains = new Set(model.opsetImports.map((entry) => (entry.domain === 'ai.onnx' ? '' : entry.domain)));
  const missingDomains = new Set<string>();
  verifyGraph(model.graph, new Set(), diagnostics, options);
  for (const graph of model.graphs()) {
    for (const node of graph.nodes) {
      const domain = node.domain === 'ai.onnx' ? '' : node.domain;
      if (!domains.has(domain) && !missingDomains.has(domain)) {
        missingDomains.add(domain);
        diagnostics.push({
          code: VerifierCodes.MISSING_OPSET,
          severity: 'error',
          message: `${node.describe()} uses domain '${domain || 'ai.onnx'}', which the model does not import`,
          location: nodeLocation(graph, node),
        });
      }
    }
  }
  return diagnostics;
}

function nodeLocation(graph: Graph, node: Node): Location {
  return { graph: graph.name, node: node.name || `#${graph.nodes.indexOf(node)}` };
}

function verifyGraph(graph: Graph, outerScope: ReadonlySet<Value>, diagnostics: Diagnostic[], options: VerifyOptions) {
  const error = (code: string, message: string, location: Location) =>
    diagnostics.push({ code, severity: 'error', message, location });
  const names = new Map<string, Value>();
  const local = new Set<Value>();
  const declare = (value: Value, location: Location) => {
    const existing = names.get(value.name);
    if (existing && existing !== value && value.name !== '') {
      error(VerifierCodes.DUPLICATE_VALUE_NAME, `value name '${value.name}' is defined more than once`, location);
    }
    names.set(value.name, value);
    local.add(value);
  };
  for (const value of graph.inputs) declare(value, { graph: graph.name, value: value.name });
  for (const value of graph.initializers) {
    if (!graph.inputs.includes(value)) declare(value, { graph: graph.name, value: value.name });
    verifyInitializer(graph, value, error);
  }
  const producers = new Map<Value, Node>();
  for (const node of graph.nodes) {
    for (const output of node.outputs) {
      if (!output) continue;
      const location = { ...nodeLocation(graph, node), value: output.name };
      const previous = producers.get(output);
      if (previous || output.producer !== node || local.has(output)) {
        error(VerifierCodes.MULTIPLE_PRODUCERS, `value '${output.name}' has more than one producer`, location);
      }
      producers.set(output, node);
      declare(output, location);
    }
  }
  const visible = new Set<Value>([...outerScope, ...local]);
  for (const node of graph.nodes) {
    node.inputs.forEach((input, index) => {
      if (!input) return;
      const location = { ...nodeLocation(graph, node), value: input.name };
      if (!visible.has(input)) {
        error(
          VerifierCodes.DANGLING_VALUE,
          `${node.describe()} reads '${input.name}', which no graph in scope defines`,
          location,
        );
      }
      if (!input.uses.some((use) => use.node === node && use.index === index)) {
        error(VerifierCodes.BROKEN_USE_LIST, `use of '${input.name}' by ${node.describe()} is not recorded`, location);
      }
    });
    for (const subgraph of node.subgraphs()) verifyGraph(subgraph, visible, diagnostics, options);
  }
  for (const output of graph.outputs) {
    if (!visible.has(output)) {
      error(VerifierCodes.UNDEFINED_OUTPUT, `graph output '${output.name}' is not defined`, {
        graph: graph.name,
        value: output.name,
      });
    }
  }
  if (options.checkOrder !== false && !isTopologicallySorted(graph)) {
    const acyclic = topologicalOrder(graph) !== undefined;
    diagnostics.push({
      code: acyclic ? VerifierCodes.NOT_TOPOLOGICAL : VerifierCodes.GRAPH_CYCLE,
      severity: acyclic ? 'warning' : 'error',
      message: acyclic
        ? `graph '${graph.name}' is not in topological order`
        : `graph '${graph.name}' has a cycle: no order runs every node after its inputs`,
      location: { graph: graph.name },
    });
  }
}

function verifyInitializer(
  graph: Graph,
  value: Value,
  error: (code: string, message: string, location: Location) => void,
): void {
  const tensor = value.initializer;
  if (!tensor) return;
  const location = { graph: graph.name, value: value.name };
  const type = value.type;
  if (type?.kind === 'tensor' && type.elementType !== tensor.dataType && type.elementType !== DataType.UNDEFINED) {
    error(
      VerifierCodes.TYPE_MISMATCH,
      `initializer '${value.name}' holds ${dataTypeName(tensor.dataType)} but is declared ${dataTypeName(type.elementType)}`,
      location,
    );
  }
  if (tensor.dataType !== DataType.STRING && tensor.byteLength !== tensor.expectedByteLength) {
    error(
      VerifierCodes.TENSOR_SIZE_MISMATCH,
      `initializer '${value.name}' has ${tensor.byteLength} bytes of data; ${dataTypeName(tensor.dataType)}[${tensor.dims.join(',')}] needs ${tensor.expectedByteLength}`,
      location,
    );
  }
}
