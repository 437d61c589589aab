import { DataType, type Model, NameGenerator, Node, type Value } from '@whittle/ir';
import type { ExecutorTensor } from '@whittle/spec';
import { MovingAverageMinMax } from './moving-average.js';
import type { TensorStatistics } from './observer.js';
import { computeRange, type Range, type RangeOptions } from './range-methods.js';

/**
 * Min-max calibration without copying activations out of the runtime: for each tensor the model gets ReduceMin,
 * ReduceMax, ReduceSum, ReduceSumSquare and Size nodes, so the runtime returns five scalars instead of the tensor.
 * Returning every activation costs more than the model itself on conv nets (it is a copy of all of them).
 */
export interface StatisticsOutputs {
  /** Tensor name → the output names of its five statistics. */
  readonly outputs: ReadonlyMap<string, Record<StatisticKind, string>>;
  /** Remove the added nodes and outputs: the model is as it was. */
  restore(): void;
}

export type StatisticKind = 'min' | 'max' | 'sum' | 'sumOfSquares' | 'count';

const REDUCTIONS: readonly [StatisticKind, string][] = [
  ['min', 'ReduceMin'],
  ['max', 'ReduceMax'],
  ['sum', 'ReduceSum'],
  ['sumOfSquares', 'ReduceSumSquare'],
  ['count', 'Size'],
];

/** Operators whose outputs cannot be reduced (bool or string results). */
const NOT_REDUCIBLE = new Set([
  'Equal',
  'Less',
  'LessOrEqual',
  'Greater',
  'GreaterOrEqual',
  'Not',
  'And',
  'Or',
  'Xor',
  'IsNaN',
  'IsInf',
]);

/** True when a value can get reduction nodes: a float tensor, or untyped and not produced by a bool/string op. */
export function reducible(value: Value): boolean {
  const type = value.type;
  if (type?.kind === 'tensor') return type.elementType === DataType.FLOAT || type.elementType === DataType.DOUBLE;
  if (type !== undefined) return false;
  const producer = value.producer;
  if (!producer) return true;
  if (NOT_REDUCIBLE.has(producer.opType)) return false;
  if (producer.opType === 'Cast') {
    const to = producer.intAttribute('to');
    return to === DataType.FLOAT || to === DataType.DOUBLE;
  }
  return true;
}

/** Add statistics outputs for the named main-graph values (temporarily: call restore()). */
export function addStatisticsOutputs(model: Model, values: readonly Value[]): StatisticsOutputs {
  const graph = model.graph;
  const names = new NameGenerator(model);
  const added: Node[] = [];
  const outputCount = graph.outputs.length;
  const outputs = new Map<string, Record<StatisticKind, string>>();
  for (const value of values) {
    const entry = {} as Record<StatisticKind, string>;
    for (const [kind, opType] of REDUCTIONS) {
      const node = new Node({
        opType,
        inputs: [value],
        outputs: [names.fresh(`${value.name}__${kind}`)],
        attributes: opType === 'Size' ? [] : [{ name: 'keepdims', type: 'int', value: 0 }],
      });
      graph.appendNode(node);
      added.push(node);
      graph.outputs.push(node.output(0)!);
      entry[kind] = node.output(0)!.name;
    }
    outputs.set(value.name, entry);
  }
  return {
    outputs,
    restore() {
      graph.outputs.length = outputCount;
      for (const node of added.reverse()) graph.removeNode(node, { force: true });
    },
  };
}

function scalar(tensor: ExecutorTensor | undefined): number | undefined {
  const data = tensor?.data;
  if (!data || !ArrayBuffer.isView(data)) return undefined;
  const first = (data as unknown as ArrayLike<number | bigint>)[0];
  return first === undefined ? undefined : Number(first);
}

/** Statistics of one tensor built from per-sample reductions; no histogram, so min-max ranges only. */
export class ReducedObserver {
  readonly movingAverage = new MovingAverageMinMax();
  private count = 0;
  private sum = 0;
  private sumOfSquares = 0;
  private minimum = Number.POSITIVE_INFINITY;
  private maximum = Number.NEGATIVE_INFINITY;
  private batchCount = 0;
  private nonFinite = 0;

  constructor(readonly name: string) {}

  get batches(): number {
    return this.batchCount;
  }

  /** Add one sample's reductions; false when the tensor was not a float tensor (nothing recorded). */
  add(outputs: Readonly<Record<string, ExecutorTensor>>, names: Record<StatisticKind, string>): boolean {
    const min = outputs[names.min];
    if (!min?.type.startsWith('float')) return false;
    const values = {
      min: scalar(min)!,
      max: scalar(outputs[names.max])!,
      sum: scalar(outputs[names.sum])!,
      sumOfSquares: scalar(outputs[names.sumOfSquares])!,
      count: scalar(outputs[names.count])!,
    };
    if (values.count === 0) return true;
    if (!Number.isFinite(values.min) || !Number.isFinite(values.max)) {
      // NaN or infinity somewhere in the tensor: the sample's reductions say nothing reliable about the range.
      this.nonFinite += 1;
      return true;
    }
    this.batchCount++;
    this.count += values.count;
    this.sum += values.sum;
    this.sumOfSquares += values.sumOfSquares;
    this.minimum = Math.min(this.minimum, values.min);
    this.maximum = Math.max(this.maximum, values.max);
    this.movingAverage.update(values.min, values.max);
    return true;
  }

  range(options: RangeOptions): Range {
    return computeRange(
      {
        min: this.minimum,
        max: this.maximum,
        movingAverage: { min: this.movingAverage.averageMin, max: this.movingAverage.averageMax },
      },
      options,
    );
  }

  summary(): TensorStatistics {
    const mean = this.count === 0 ? 0 : this.sum / this.count;
    const variance = this.count === 0 ? 0 : Math.max(this.sumOfSquares / this.count - mean * mean, 0);
    return {
      count: this.count,
      min: this.count === 0 ? 0 : this.minimum,
      max: this.count === 0 ? 0 : this.maximum,
      mean,
      std: Math.sqrt(variance),
      nanCount: 0,
      infinityCount: this.nonFinite,
      ...(this.movingAverage.batches > 0
        ? { movingAverage: { min: this.movingAverage.averageMin, max: this.movingAverage.averageMax } }
        : {}),
    };
  }
}
