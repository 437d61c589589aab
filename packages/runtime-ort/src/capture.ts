/** Captured values: which main-graph values to return, and adding them as graph outputs for one serialization. */
import { DataType, type Graph, type Model, type Value } from '@whittle/ir';
import { WhittleError } from '@whittle/spec';
import { ExecutorCodes } from './codes.js';

/** The main graph's values by name: inputs, initializers and node outputs. */
function mainGraphValues(graph: Graph): Map<string, Value> {
  const values = new Map<string, Value>();
  for (const value of graph.definedValues()) if (value.name && !values.has(value.name)) values.set(value.name, value);
  return values;
}

/** For a name that is not a main-graph value: the subgraph that defines it, if any. */
function subgraphDefining(model: Model, name: string): Graph | undefined {
  for (const graph of model.graph.nestedGraphs()) if (graph.findValue(name)) return graph;
  return undefined;
}

/**
 * The values to add as graph outputs for `capture`: main-graph values in the order asked, without duplicates and
 * without the model's own outputs (those are returned anyway). Names that are not main-graph values (unknown, or
 * defined inside a subgraph) are one EXECUTOR_UNKNOWN_VALUE error naming all of them.
 */
export function resolveCaptures(model: Model, capture: readonly string[]): Value[] {
  const values = mainGraphValues(model.graph);
  const outputs = new Set(model.graph.outputs);
  const chosen = new Set<Value>();
  const unknown: string[] = [];
  for (const name of capture) {
    const value = values.get(name);
    if (!value) {
      if (!unknown.includes(name)) unknown.push(name);
      continue;
    }
    if (!outputs.has(value)) chosen.add(value);
  }
  if (unknown.length > 0) {
    const reasons = unknown.map((name) => {
      const graph = subgraphDefining(model, name);
      return graph
        ? `'${name}' (a value of subgraph '${graph.name}' of node '${graph.parentNode?.name ?? '?'}')`
        : `'${name}'`;
    });
    throw new WhittleError(
      ExecutorCodes.UNKNOWN_VALUE,
      `cannot capture ${reasons.join(', ')}: not ${unknown.length === 1 ? 'a value' : 'values'} of the main graph`,
      {
        location: { graph: model.graph.name, value: unknown[0]! },
        hint: 'capture takes names of main-graph inputs, initializers and node outputs; values inside If/Loop/Scan bodies cannot be captured',
      },
    );
  }
  return [...chosen];
}

/**
 * True when a value's declared type can be written as a graph output type. A value without one is written as an
 * output without a type: onnxruntime 1.30 infers output types itself, so it needs none (an element type of 0 it
 * would refuse).
 */
export function hasUsableType(value: Value): boolean {
  const type = value.type;
  if (type === undefined) return false;
  if (type.kind === 'tensor' || type.kind === 'sparse-tensor') return type.elementType !== DataType.UNDEFINED;
  return true;
}

/**
 * Run `use` (synchronous: a serialization) while `extra` are appended to the main graph's outputs, then restore
 * the graph exactly, whatever happens. Values whose type is unusable (`hasUsableType`) are written without a type
 * for the duration. Nothing else can observe the model in between: JavaScript runs `use` to completion.
 */
export function withExtraOutputs<T>(model: Model, extra: readonly Value[], use: () => T): T {
  const outputs = model.graph.outputs;
  const length = outputs.length;
  const clearedTypes = extra.filter((value) => value.type !== undefined && !hasUsableType(value));
  const savedTypes = clearedTypes.map((value) => value.type);
  try {
    for (const value of clearedTypes) value.type = undefined;
    outputs.push(...extra);
    return use();
  } finally {
    outputs.splice(length);
    clearedTypes.forEach((value, index) => {
      value.type = savedTypes[index];
    });
  }
}
