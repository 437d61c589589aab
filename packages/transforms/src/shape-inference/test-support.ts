/** Helpers for the shape inference unit tests: build a tiny graph, infer, read types back by value name. */
import { DataType, type Dimension, GraphBuilder, type Model, Tensor, type Value, type ValueType } from '@whittle/ir';
import type { DiagnosticInput } from '@whittle/spec';
import { runShapeInference } from '../infer-shapes.js';

export { DataType };

export interface Inferred {
  model: Model;
  /** Type of the value of that name (any graph). */
  type(name: string): ValueType | undefined;
  /** Shape of the value of that name; undefined when unknown. */
  shape(name: string): Dimension[] | undefined;
  elementType(name: string): DataType | undefined;
  diagnostics: DiagnosticInput[];
  changed: boolean;
  statistics: Record<string, number>;
}

function findValue(model: Model, name: string): Value | undefined {
  for (const graph of model.graphs()) {
    for (const value of graph.definedValues()) if (value.name === name) return value;
    for (const value of graph.outputs) if (value.name === name) return value;
  }
  return undefined;
}

export function inferModel(model: Model): Inferred {
  const diagnostics: DiagnosticInput[] = [];
  const { changed, statistics } = runShapeInference(model, { report: (diagnostic) => diagnostics.push(diagnostic) });
  const type = (name: string) => {
    const value = findValue(model, name);
    if (!value) throw new Error(`no value '${name}'`);
    return value.type;
  };
  return {
    model,
    type,
    shape: (name) => {
      const found = type(name);
      return found?.kind === 'tensor' ? found.shape : undefined;
    },
    elementType: (name) => {
      const found = type(name);
      return found?.kind === 'tensor' ? found.elementType : undefined;
    },
    diagnostics,
    changed,
    statistics: { ...statistics },
  };
}

/** Build a graph with `build`, infer its shapes at the given opset (default 17). */
export function infer(build: (builder: GraphBuilder) => void, opset = 17): Inferred {
  const builder = new GraphBuilder();
  build(builder);
  return inferModel(builder.model({ opsetImports: [{ domain: '', version: opset }] }));
}

export function int64s(
  name: string,
  values: readonly (number | bigint)[],
  dims: readonly number[] = [values.length],
): Tensor {
  return Tensor.fromArray(
    name,
    DataType.INT64,
    dims,
    BigInt64Array.from(values, (value) => BigInt(value)),
  );
}

export function int32s(name: string, values: readonly number[], dims: readonly number[] = [values.length]): Tensor {
  return Tensor.fromArray(name, DataType.INT32, dims, Int32Array.from(values));
}

export function floats(name: string, values: readonly number[], dims: readonly number[] = [values.length]): Tensor {
  return Tensor.fromArray(name, DataType.FLOAT, dims, Float32Array.from(values));
}

/** A float tensor of the given dims filled with zeros (weights whose values do not matter). */
export function zeros(name: string, dims: readonly number[]): Tensor {
  const count = dims.reduce((product, dim) => product * dim, 1);
  return Tensor.fromArray(name, DataType.FLOAT, dims, new Float32Array(count));
}
