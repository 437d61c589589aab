import { nodeCount, operatorCounts } from './model-counts.js';
import { type DataType, dataTypeName, formatValueType, type Graph, type Model, type Tensor } from '@whittle/ir';

export interface ValueSummary {
  name: string;
  type: string;
}

export interface WeightSummary {
  elementType: string;
  tensors: number;
  parameters: number;
  bytes: number;
}

export interface ModelSummary {
  file?: string;
  fileBytes?: number;
  irVersion: number;
  opsets: { domain: string; version: number }[];
  producer: string;
  graphName: string;
  inputs: ValueSummary[];
  outputs: ValueSummary[];
  nodes: number;
  subgraphs: number;
  operators: { opType: string; count: number }[];
  parameters: number;
  weightBytes: number;
  weights: WeightSummary[];
}

/**
 * Constant tensors of a model wherever they live: initializers, `Constant` nodes and subgraphs. Initializers that
 * are also graph inputs are included (they are weights with a default).
 */
export function* constantTensors(model: Model): Generator<Tensor> {
  for (const graph of model.graphs()) {
    for (const value of graph.initializers) if (value.initializer) yield value.initializer;
    for (const node of graph.nodes) {
      if (node.opType !== 'Constant' || (node.domain !== '' && node.domain !== 'ai.onnx')) continue;
      const attribute = node.attribute('value');
      if (attribute?.type === 'tensor') yield attribute.value;
    }
  }
}

function countSubgraphs(graph: Graph): number {
  let count = 0;
  for (const _ of graph.allGraphs()) count++;
  return count - 1;
}

export function summarizeModel(model: Model, file?: { path: string; bytes: number }): ModelSummary {
  const operators = operatorCounts(model);
  const weights = new Map<DataType, WeightSummary>();
  for (const tensor of constantTensors(model)) {
    const entry = weights.get(tensor.dataType) ?? {
      elementType: dataTypeName(tensor.dataType),
      tensors: 0,
      parameters: 0,
      bytes: 0,
    };
    entry.tensors++;
    entry.parameters += tensor.elementCount;
    entry.bytes += tensor.byteLength;
    weights.set(tensor.dataType, entry);
  }
  const weightList = [...weights.values()].sort((a, b) => b.bytes - a.bytes);
  const describe = (value: { name: string; type: Parameters<typeof formatValueType>[0] }) => ({
    name: value.name,
    type: formatValueType(value.type),
  });
  return {
    ...(file ? { file: file.path, fileBytes: file.bytes } : {}),
    irVersion: model.irVersion,
    opsets: model.opsetImports.map((entry) => ({ domain: entry.domain || 'ai.onnx', version: entry.version })),
    producer: [model.producerName, model.producerVersion].filter(Boolean).join(' '),
    graphName: model.graph.name,
    inputs: model.graph.inputs.filter((value) => !value.initializer).map(describe),
    outputs: model.graph.outputs.map(describe),
    nodes: nodeCount(model),
    subgraphs: countSubgraphs(model.graph),
    operators: Object.entries(operators).map(([opType, count]) => ({ opType, count })),
    parameters: weightList.reduce((sum, entry) => sum + entry.parameters, 0),
    weightBytes: weightList.reduce((sum, entry) => sum + entry.bytes, 0),
    weights: weightList,
  };
}
