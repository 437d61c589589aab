/**
 * Per-channel means of the data inputs of Conv, Gemm and MatMul, for quantize-static's bias correction: rounding a
 * weight shifts each output by Σ (Wq − W) · E[x], which needs E[x] per input channel. Like the min-max statistics,
 * they are ReduceMean nodes inside the runtime's session (one vector per tensor and sample, never the activation).
 */
import { DataType, type Model, NameGenerator, Node, Tensor, tensorType, Value } from '@whittle/ir';
import type { Executor, ExecutorFactory, ExecutorOptions, ExecutorTensor } from '@whittle/spec';
import type { CalibrationDataset } from './dataset.js';

/** The mean of each channel along one axis. */
export interface ChannelMeans {
  axis: number;
  values: number[];
}

export interface ChannelMeanTarget {
  value: Value;
  /**
   * The channel axis: 1 for Conv and Gemm inputs (of rank `rank`); for a MatMul input the last axis, whatever the
   * rank (axis -1: the input is seen as rows of `channels`).
   */
  axis: number;
  rank: number;
  channels: number;
}

/** The dims of a constant: an initializer's, or those of a Constant node's `value` (weights often live there). */
function constantDims(value: Value | undefined): readonly number[] | undefined {
  if (value?.constant) return value.constant.dims;
  const producer = value?.producer;
  const attribute = producer?.is('Constant') ? producer.attribute('value') : undefined;
  return attribute?.type === 'tensor' ? attribute.value.dims : undefined;
}

function isFloatOrUntyped(value: Value): boolean {
  return value.type === undefined || (value.type.kind === 'tensor' && value.type.elementType === DataType.FLOAT);
}

/**
 * The main-graph values whose channel means bias correction reads: input 0 of every Conv (axis 1; its rank is the
 * weight's), of Gemm without transA (axis 1) and of MatMul with a constant 2-D weight (the last axis). The ranks and
 * channel counts come from the constant weights, so no shape inference is needed.
 */
export function channelMeanTargets(model: Model): ChannelMeanTarget[] {
  const targets = new Map<Value, ChannelMeanTarget>();
  for (const node of model.graph.nodes) {
    const input = node.input(0);
    const dims = constantDims(node.input(1));
    if (!input || !dims || targets.has(input) || !isFloatOrUntyped(input)) continue;
    if (node.is('Conv') && dims.length >= 3) {
      const groups = node.intAttribute('group', 1) ?? 1;
      targets.set(input, { value: input, axis: 1, rank: dims.length, channels: dims[1]! * groups });
    } else if (node.is('Gemm') && dims.length === 2 && (node.intAttribute('transA', 0) ?? 0) === 0) {
      const channels = (node.intAttribute('transB', 0) ?? 0) !== 0 ? dims[1]! : dims[0]!;
      targets.set(input, { value: input, axis: 1, rank: 2, channels });
    } else if (node.is('MatMul') && dims.length === 2) {
      targets.set(input, { value: input, axis: -1, rank: 2, channels: dims[0]! });
    }
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
  const constant = (base: string, dims: number[], values: number[]): Value => {
    const name = names.fresh(base);
    const added = graph.addInitializer(
      Tensor.fromArray(name, DataType.INT64, dims, BigInt64Array.from(values, BigInt)),
      new Value(name, tensorType(DataType.INT64, dims)),
    );
    addedInitializers.push(added);
    return added;
  };
  for (const target of targets) {
    let value = target.value;
    let axis = target.axis;
    if (axis < 0) {
      // A MatMul input of any rank: as rows of its K channels.
      const rows = new Node({
        opType: 'Reshape',
        inputs: [value, constant(`${value.name}__rows_shape`, [2], [-1, target.channels])],
        outputs: [names.fresh(`${value.name}__rows`)],
      });
      graph.appendNode(rows);
      addedNodes.push(rows);
      value = rows.output(0)!;
      axis = 1;
    }
    const axes = Array.from({ length: target.rank }, (_, index) => index).filter((index) => index !== axis);
    const output = names.fresh(`${target.value.name}__channel_means`);
    let node: Node;
    // ReduceMean takes its axes as an input from opset 18 on, as an attribute before.
    if (opset >= 18) {
      const axesValue = constant(`${value.name}__channel_axes`, [axes.length], axes);
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
    outputs.set(target.value.name, { output, axis: target.axis });
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

/** Channel-mean outputs added to a model for one session, and the means of the runs that return them. */
export interface ChannelMeanRecorder {
  /** Remove the added outputs once the session is created: the model is as it was. */
  restore(): void;
  /** Add the means of one run's outputs. */
  record(outputs: Readonly<Record<string, ExecutorTensor>>): void;
  /** The means over the recorded runs, by tensor name; tensors without a finite sample are left out. */
  means(): Map<string, ChannelMeans>;
}

/** Add channel-mean outputs for the targets (temporarily: call restore() after creating the session). */
export function recordChannelMeans(model: Model, targets: readonly ChannelMeanTarget[]): ChannelMeanRecorder {
  const added = addChannelMeanOutputs(model, targets);
  const accumulators = new Map(targets.map((target) => [target.value.name, new ChannelMeanAccumulator(target.axis)]));
  return {
    restore: () => added.restore(),
    record(outputs) {
      for (const [name, { output }] of added.outputs) accumulators.get(name)!.add(outputs[output]);
    },
    means() {
      const means = new Map<string, ChannelMeans>();
      for (const [name, accumulator] of accumulators) {
        const result = accumulator.result();
        if (result) means.set(name, result);
      }
      return means;
    },
  };
}

/**
 * A session on `model` with channel-mean outputs for `targets`, and with what `alsoAdd` adds to the model after them
 * (added last, removed first); the model is as it was once the session exists.
 */
export async function createChannelMeanSession<Added extends { restore(): void } = { restore(): void }>(
  model: Model,
  targets: readonly ChannelMeanTarget[],
  executors: ExecutorFactory<Model>,
  settings: ExecutorOptions,
  alsoAdd?: (model: Model) => Added,
): Promise<{ executor: Executor; recorder: ChannelMeanRecorder; added: Added | undefined }> {
  const recorder = recordChannelMeans(model, targets);
  let added: Added | undefined;
  try {
    added = alsoAdd?.(model);
    return { executor: await executors.create(model, settings), recorder, added };
  } finally {
    added?.restore();
    recorder.restore();
  }
}

/**
 * The channel means of every target of `model` over a data set, by tensor name: one more pass of the runtime, with
 * a ReduceMean per tensor and nothing else returned. The model is left as it was. (`calibrate` with `channelMeans`
 * records them in its own pass instead.)
 */
export async function measureChannelMeans(
  model: Model,
  dataset: CalibrationDataset,
  options: { executors: ExecutorFactory<Model>; threads?: number; signal?: AbortSignal },
): Promise<Map<string, ChannelMeans>> {
  const targets = channelMeanTargets(model);
  if (targets.length === 0) return new Map();
  const { executor, recorder } = await createChannelMeanSession(
    model,
    targets,
    options.executors,
    options.threads ? { threads: options.threads } : {},
  );
  try {
    for await (const sample of dataset.samples()) {
      options.signal?.throwIfAborted();
      recorder.record(await executor.run(sample));
    }
  } finally {
    await executor.dispose();
  }
  return recorder.means();
}

/**
 * A copy of a table whose tensors carry their channel means (`statistics.channelMeans`), as quantize-static's bias
 * correction reads them. Tensors without means are copied as they are.
 */
export function withChannelMeans<Table extends { tensors: Record<string, { statistics: object }> }>(
  table: Table,
  means: ReadonlyMap<string, ChannelMeans>,
): Table {
  const tensors = Object.fromEntries(
    Object.entries(table.tensors).map(([name, entry]) => {
      const found = means.get(name);
      return [name, found ? { ...entry, statistics: { ...entry.statistics, channelMeans: found } } : entry];
    }),
  );
  return { ...table, tensors };
}
