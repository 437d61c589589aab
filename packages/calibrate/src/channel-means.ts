/**
 * Per-channel means of the data inputs of Conv, Gemm and MatMul, for quantize-static's bias correction: rounding a
 * weight shifts each output by Σ (Wq − W) · E[x], which needs E[x] per input channel. Like the min-max statistics,
 * they are ReduceMean nodes inside the runtime's session (one vector per tensor and sample, never the activation).
 */
import { DataType, type Model, NameGenerator, Node, Tensor, tensorType, Value } from '@whittle/ir';
import type { ExecutorTensor } from '@whittle/spec';

/** The mean of each channel along one axis. */
export interface ChannelMeans {
  axis: number;
  values: number[];
}

export interface ChannelMeanTarget {
  value: Value;
  /** The channel axis (non-negative). */
  axis: number;
  rank: number;
}

function rankOf(value: Value): number | undefined {
  const type = value.type;
  return type?.kind === 'tensor' && type.elementType === DataType.FLOAT ? type.shape?.length : undefined;
}

/**
 * The main-graph values whose channel means bias correction reads: input 0 of every Conv (axis 1), of Gemm without
 * transA (axis 1) and of MatMul with a constant 2-D weight (the last axis). Values of unknown rank are skipped.
 */
export function channelMeanTargets(model: Model): ChannelMeanTarget[] {
  const targets = new Map<Value, ChannelMeanTarget>();
  for (const node of model.graph.nodes) {
    const input = node.input(0);
    if (!input || targets.has(input)) continue;
    const rank = rankOf(input);
    if (rank === undefined) continue;
    if (node.is('Conv') && rank >= 3) targets.set(input, { value: input, axis: 1, rank });
    else if (node.is('Gemm') && rank === 2 && (node.intAttribute('transA', 0) ?? 0) === 0)
      targets.set(input, { value: input, axis: 1, rank });
    else if (node.is('MatMul') && rank >= 2 && node.input(1)?.constant?.dims.length === 2)
      targets.set(input, { value: input, axis: rank - 1, rank });
  }
  return [...targets.values()];
}

export interface ChannelMeanOutputs {
  /** Tensor name → the output holding its per-channel means for one sample. */
  readonly outputs: ReadonlyMap<string, { output: string; axis: number }>;
  /** Remove the added nodes, initializers and outputs: the model is as it was. */
  restore(): void;
}

/** Add a ReduceMean over every axis but the channel's for each target (temporarily: call restore()). */
export function addChannelMeanOutputs(model: Model, targets: readonly ChannelMeanTarget[]): ChannelMeanOutputs {
  const graph = model.graph;
  const names = new NameGenerator(model);
  const opset = model.opsetImports.find((entry) => entry.domain === '' || entry.domain === 'ai.onnx')?.version ?? 1;
  const outputCount = graph.outputs.length;
  const addedNodes: Node[] = [];
  const addedInitializers: Value[] = [];
  const outputs = new Map<string, { output: string; axis: number }>();
  for (const { value, axis, rank } of targets) {
    const axes = Array.from({ length: rank }, (_, index) => index).filter((index) => index !== axis);
    const output = names.fresh(`${value.name}__channel_means`);
    let node: Node;
    // ReduceMean takes its axes as an input from opset 18 on, as an attribute before.
    if (opset >= 18) {
      const axesName = names.fresh(`${value.name}__channel_axes`);
      const axesValue = graph.addInitializer(
        Tensor.fromArray(axesName, DataType.INT64, [axes.length], BigInt64Array.from(axes, BigInt)),
        new Value(axesName, tensorType(DataType.INT64, [axes.length])),
      );
      addedInitializers.push(axesValue);
      node = new Node({
        opType: 'ReduceMean',
        inputs: [value, axesValue],
        outputs: [output],
        attributes: [{ name: 'keepdims', type: 'int', value: 0 }],
      });
    } else {
      node = new Node({
        opType: 'ReduceMean',
        inputs: [value],
        outputs: [output],
        attributes: [
          { name: 'axes', type: 'ints', value: axes },
          { name: 'keepdims', type: 'int', value: 0 },
        ],
      });
    }
    graph.appendNode(node);
    addedNodes.push(node);
    graph.outputs.push(node.output(0)!);
    outputs.set(value.name, { output, axis });
  }
  return {
    outputs,
    restore() {
      graph.outputs.length = outputCount;
      for (const node of addedNodes.reverse()) graph.removeNode(node, { force: true });
      for (const value of addedInitializers) graph.removeInitializer(value);
    },
  };
}

/** The mean over samples of each sample's per-channel means (every sample weighs the same). */
export class ChannelMeanAccumulator {
  private sums: Float64Array | undefined;
  private samples = 0;

  constructor(readonly axis: number) {}

  add(tensor: ExecutorTensor | undefined): void {
    const data = tensor?.data;
    if (!data || !(data instanceof Float32Array || data instanceof Float64Array)) return;
    if (!this.sums) this.sums = new Float64Array(data.length);
    if (data.length !== this.sums.length) return;
    for (let index = 0; index < data.length; index++) {
      // A sample with NaN or infinity in a channel says nothing about its mean.
      if (!Number.isFinite(data[index]!)) return;
    }
    for (let index = 0; index < data.length; index++) this.sums[index]! += data[index]!;
    this.samples++;
  }

  /** Undefined before any sample. */
  result(): ChannelMeans | undefined {
    if (!this.sums || this.samples === 0) return undefined;
    return { axis: this.axis, values: Array.from(this.sums, (sum) => sum / this.samples) };
  }
}
