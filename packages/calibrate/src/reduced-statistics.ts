import {
  constantValueOf,
  type Attribute,
  constantNodeValue,
  decodeAttributeString,
  DataType,
  type Model,
  NameGenerator,
  Node,
  Tensor,
  type Value,
} from '@whittle/ir';
import type { ExecutorTensor } from '@whittle/spec';
import { MovingAverageMinMax } from './moving-average.js';
import type { TensorStatistics } from './observer.js';
import { computeRange, type Range, type RangeOptions } from './range-methods.js';

/**
 * Min-max calibration without copying activations out of the runtime. Each tensor gets its statistics one of three
 * ways (see `planReductions`):
 * - measured: ReduceMin, ReduceMax and Size nodes (plus ReduceSum and ReduceSumSquare for moments) are added to the
 *   model, so the runtime returns scalars instead of the tensor;
 * - derived: the output of a data-movement op, of a monotonic element-wise op with constant operands (Relu,
 *   Clip, Add/Sub/Mul/Div by a one-element constant) or of an integer nearest-neighbour upsampling has the op
 *   applied to its input's extremes, and a Concat the extremes of its inputs, exactly;
 * - constant: Constant nodes and initializers are reduced once, in JavaScript.
 * Every reduction makes the runtime read the whole tensor again, which costs more than the model itself on conv
 * nets, so fewer reductions is most of the speed.
 */

/** One tensor's statistics in one sample, or why there are none. */
export type SampleStatistics =
  | { count: number; min: number; max: number; sum?: number; sumOfSquares?: number }
  /** NaN or infinity somewhere in the tensor: the reductions say nothing reliable about its range. */
  | 'non-finite'
  /** Not a float tensor (an integer or boolean one), or not computed: nothing to record. */
  | 'not-float';

/**
 * A tensor whose extremes follow from other tensors': `map` applied to its source's (swapped when decreasing), or
 * for a Concat the extremes of all its sources.
 */
export interface Derivation {
  /** One source, or the inputs of a Concat. */
  sources: string[];
  map: (value: number) => number;
  decreasing: boolean;
  /** The elements of the sources, moved or repeated: sum and sum of squares carry over too. */
  sameElements: boolean;
  /** How many times each source element is repeated (an upsampling Resize); 1 otherwise. */
  repeats: number;
}

export interface ReductionPlan {
  /** Tensors reduced inside the runtime. */
  readonly measured: readonly Value[];
  /** The measured tensors known to be float32, whose reductions can share one output per statistic. */
  readonly float32: ReadonlySet<Value>;
  readonly derived: ReadonlyMap<string, Derivation>;
  /** Constant tensors, reduced once. */
  readonly constants: ReadonlyMap<string, SampleStatistics>;
  /** Measured tensors of the shape of another measured tensor (a Sigmoid's output, say): that tensor's name. */
  readonly sameCount: ReadonlyMap<string, string>;
  /** Every planned tensor, each after the tensor it is derived from. */
  readonly order: readonly string[];
  /** Sums and sums of squares too, for mean and standard deviation. */
  readonly moments: boolean;
}

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

/** Operators whose first output holds exactly the elements of their first input, rearranged. */
const DATA_MOVEMENT = new Set([
  'Identity',
  'Reshape',
  'Flatten',
  'Squeeze',
  'Unsqueeze',
  'Transpose',
  'DepthToSpace',
  'SpaceToDepth',
]);

/** Operators whose first output has the shape of their first input. */
const SAME_SHAPE = new Set([
  'Abs',
  'BatchNormalization',
  'Cast',
  'Ceil',
  'Clip',
  'Dropout',
  'Elu',
  'Erf',
  'Exp',
  'Floor',
  'Gelu',
  'HardSigmoid',
  'HardSwish',
  'Identity',
  'InstanceNormalization',
  'LayerNormalization',
  'LeakyRelu',
  'Log',
  'LogSoftmax',
  'LpNormalization',
  'Neg',
  'Reciprocal',
  'Relu',
  'Round',
  'Selu',
  'Sigmoid',
  'Softmax',
  'Softplus',
  'Sqrt',
  'Tanh',
]);

/**
 * Operators whose outputs have the element type of their first input: data movement, the same-shape operators but
 * Cast, and these.
 */
const SAME_TYPE = new Set([
  ...DATA_MOVEMENT,
  ...[...SAME_SHAPE].filter((opType) => opType !== 'Cast'),
  'Add',
  'AveragePool',
  'Concat',
  'Conv',
  'ConvTranspose',
  'Div',
  'Expand',
  'Gather',
  'Gemm',
  'GlobalAveragePool',
  'GlobalMaxPool',
  'MatMul',
  'Max',
  'MaxPool',
  'Mean',
  'Min',
  'Mul',
  'Pad',
  'Pow',
  'PRelu',
  'ReduceL2',
  'ReduceMax',
  'ReduceMean',
  'ReduceMin',
  'ReduceSum',
  'Resize',
  'Slice',
  'Split',
  'Sub',
  'Sum',
  'Tile',
  'Upsample',
]);

/**
 * Element types the model implies without shape inference: declared types, constants, Cast, and ops whose output
 * type is their first input's (per the ONNX schemas). Values left out are of unknown type.
 */
function knownElementTypes(model: Model, order: readonly Node[]): Map<Value, DataType> {
  const types = new Map<Value, DataType>();
  const declared = (value: Value) => {
    const type = value.type;
    if (type?.kind === 'tensor' && type.elementType !== DataType.UNDEFINED) types.set(value, type.elementType);
    else if (value.initializer) types.set(value, value.initializer.dataType);
  };
  for (const value of model.graph.inputs) declared(value);
  for (const value of model.graph.initializers) declared(value);
  for (const node of order) {
    for (const [index, value] of node.outputs.entries()) {
      if (!value) continue;
      declared(value);
      if (types.has(value) || !isDefaultDomain(node)) continue;
      let type: DataType | undefined;
      if (node.opType === 'Constant') type = constantNodeValue(node)?.dataType;
      else if (node.opType === 'Cast') type = node.intAttribute('to');
      else if (SAME_TYPE.has(node.opType) && (index === 0 || node.opType === 'Split')) {
        const input = node.input(0);
        type = input ? types.get(input) : undefined;
      }
      if (type !== undefined) types.set(value, type);
    }
  }
  return types;
}

/** True when a value can get reduction nodes: a float tensor, or untyped and not produced by a bool/string op. */
function reducible(value: Value): boolean {
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

/** A float constant's statistics, the same in every sample. */
function constantStatistics(tensor: Tensor, moments: boolean): SampleStatistics {
  if (tensor.dataType !== DataType.FLOAT && tensor.dataType !== DataType.DOUBLE) return 'not-float';
  const values = tensor.toArray() as Float32Array | Float64Array;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  let sum = 0;
  let sumOfSquares = 0;
  for (let index = 0; index < values.length; index++) {
    const value = values[index]!;
    if (value < min) min = value;
    if (value > max) max = value;
    sum += value;
    sumOfSquares += value * value;
  }
  if (values.length > 0 && !(Number.isFinite(min) && Number.isFinite(max) && Number.isFinite(sum))) {
    return 'non-finite';
  }
  return moments ? { count: values.length, min, max, sum, sumOfSquares } : { count: values.length, min, max };
}

/** A one-element float constant's value and whether its arithmetic is float32, or undefined. */
function scalarConstant(value: Value | undefined): { value: number; float32: boolean } | undefined {
  const tensor = constantValueOf(value);
  if (tensor?.elementCount !== 1) return undefined;
  if (tensor.dataType !== DataType.FLOAT && tensor.dataType !== DataType.DOUBLE) return undefined;
  const number = Number(tensor.toArray()[0]);
  return Number.isNaN(number) ? undefined : { value: number, float32: tensor.dataType === DataType.FLOAT };
}

const identity = (value: number) => value;

function text(node: Node, name: string): string | undefined {
  const attribute = node.attribute(name);
  return attribute?.type === 'string' ? decodeAttributeString(attribute.value) : undefined;
}

/** An op of the default ONNX domain (written '' or 'ai.onnx'). */
const isDefaultDomain = (node: Node | undefined) => node?.domain === '' || node?.domain === 'ai.onnx';

/**
 * For a nearest-neighbour Resize or Upsample by constant integer scales that copies input element i to outputs
 * i·s … i·s + s − 1 (asymmetric coordinates, rounding down): how many times each element is repeated. Then the
 * output holds exactly the input's values, each the same number of times. Undefined for any other resize.
 */
function nearestRepeats(node: Node, opset: number): number | undefined {
  const recent = node.opType === 'Resize' && opset >= 11;
  if ((text(node, 'mode') ?? 'nearest') !== 'nearest') return undefined;
  // Resize from opset 11 defaults to half_pixel and round_prefer_floor, which repeat elements unevenly.
  if (recent) {
    if (text(node, 'coordinate_transformation_mode') !== 'asymmetric') return undefined;
    if (text(node, 'nearest_mode') !== 'floor') return undefined;
    if (node.input(3) || node.attribute('axes')) return undefined;
  }
  // Scales: input 2 from opset 11 on, input 1 before (Resize 10, Upsample 9), an attribute for Upsample 7.
  let scales: number[] | undefined;
  const operand = node.input(recent ? 2 : 1);
  if (operand) {
    const tensor = constantValueOf(operand);
    if (tensor?.dataType !== DataType.FLOAT) return undefined;
    scales = Array.from(tensor.toArray() as Float32Array);
  } else if (node.opType === 'Upsample') {
    scales = node.floatsAttribute('scales');
  }
  if (!scales || scales.length === 0 || !scales.every((scale) => Number.isInteger(scale) && scale >= 1)) {
    return undefined;
  }
  return scales.reduce((product, scale) => product * scale, 1);
}

/**
 * How `value` follows from its producer's input, when that is exact: the extremes of a monotonic function's output
 * are the function of the input's extremes. Float32 arithmetic is reproduced by rounding the double result, which
 * is exact for one add, subtract, multiply or divide of float32 operands.
 */
function derivationOf(value: Value, options: { moments: boolean; opset: number }): Derivation | undefined {
  const node = value.producer;
  if (!node || !isDefaultDomain(node) || node.output(0) !== value) return undefined;
  const input = node.input(0);
  if (!input) return undefined;
  const moved = (sources: readonly Value[], repeats = 1): Derivation => ({
    sources: sources.map((source) => source.name),
    map: identity,
    decreasing: false,
    sameElements: true,
    repeats,
  });
  if (DATA_MOVEMENT.has(node.opType)) return moved([input]);
  if (node.opType === 'Concat') {
    const inputs = node.inputs.filter((operand): operand is Value => operand !== undefined);
    return inputs.length === node.inputs.length ? moved(inputs) : undefined;
  }
  if (node.opType === 'Resize' || node.opType === 'Upsample') {
    const repeats = nearestRepeats(node, options.opset);
    return repeats === undefined ? undefined : moved([input], repeats);
  }
  // The other derivations change the elements, so mean and standard deviation would be lost.
  if (options.moments) return undefined;
  const derived = (map: (value: number) => number, decreasing = false, source = input): Derivation => ({
    sources: [source.name],
    map,
    decreasing,
    sameElements: false,
    repeats: 1,
  });
  switch (node.opType) {
    case 'Relu':
      return derived((x) => Math.max(x, 0));
    case 'Clip': {
      // Bounds from inputs (opset 11 on) or attributes (before); a bound computed at run time stops derivation.
      const bound = (index: number, attribute: string, fallback: number) => {
        const operand = node.input(index);
        if (operand) return scalarConstant(operand)?.value;
        return node.floatAttribute(attribute, fallback);
      };
      const low = bound(1, 'min', Number.NEGATIVE_INFINITY);
      const high = bound(2, 'max', Number.POSITIVE_INFINITY);
      if (low === undefined || high === undefined) return undefined;
      return derived((x) => Math.min(Math.max(x, low), high));
    }
    case 'Add':
    case 'Sub':
    case 'Mul':
    case 'Div': {
      const right = scalarConstant(node.input(1));
      const left = right ? undefined : scalarConstant(input);
      const constant = right ?? left;
      const variable = right ? input : node.input(1);
      if (!constant || !variable) return undefined;
      const round = constant.float32 ? Math.fround : identity;
      const c = constant.value;
      if (node.opType === 'Add') return derived((x) => round(x + c), false, variable);
      if (node.opType === 'Sub') {
        return right ? derived((x) => round(x - c), false, variable) : derived((x) => round(c - x), true, variable);
      }
      if (node.opType === 'Mul') return derived((x) => round(x * c), c < 0, variable);
      // Division: only by the constant, and not by zero (c / x is not monotonic).
      if (!right || c === 0) return undefined;
      return derived((x) => round(x / c), c < 0, variable);
    }
    default:
      return undefined;
  }
}

/**
 * Decide how each named main-graph value gets its statistics. Names that are not main-graph values are left out.
 * Derivation only starts from a tensor that is itself planned, so its statistics are there when needed.
 */
export function planReductions(model: Model, names: readonly string[], options: { moments: boolean }): ReductionPlan {
  const graph = model.graph;
  // Graph order, sorted in any model read from a file: if it is not, a derivation or a type may be missed, which
  // costs a reduction, not a wrong result.
  const nodes = graph.nodes;
  const types = knownElementTypes(model, nodes);
  const opset = model.opsetVersion('') ?? 1;
  const wanted = new Set(names);
  const measured: Value[] = [];
  const derived = new Map<string, Derivation>();
  const constants = new Map<string, SampleStatistics>();
  const sameCount = new Map<string, string>();
  const measuredNames = new Set<string>();
  const order: string[] = [];
  const planned = new Set<string>();
  const plan = (value: Value) => {
    if (!wanted.has(value.name) || planned.has(value.name)) return;
    const constant = constantValueOf(value);
    const derivation = constant ? undefined : derivationOf(value, { moments: options.moments, opset });
    if (constant) constants.set(value.name, constantStatistics(constant, options.moments));
    else if (derivation?.sources.every((source) => planned.has(source))) derived.set(value.name, derivation);
    else if (reducible(value)) {
      measured.push(value);
      // From a measured input only: its count is known in every run, whatever its values.
      const producer = value.producer;
      const input = producer?.input(0);
      if (isDefaultDomain(producer) && SAME_SHAPE.has(producer!.opType) && input && measuredNames.has(input.name)) {
        sameCount.set(value.name, input.name);
      }
      measuredNames.add(value.name);
    } else return;
    planned.add(value.name);
    order.push(value.name);
  };
  for (const value of graph.inputs) plan(value);
  for (const value of graph.initializers) plan(value);
  for (const node of nodes) {
    for (const value of node.outputs) if (value) plan(value);
  }
  const float32 = new Set(measured.filter((value) => types.get(value) === DataType.FLOAT));
  return { measured, float32, derived, constants, sameCount, order, moments: options.moments };
}

/**
 * Where a measured tensor's reductions are in a run's outputs: outputs of their own, or one row of the shared
 * outputs of float32 tensors.
 */
export type ReductionOutputs =
  | { min: string; max: string; count?: string; sum?: string; sumOfSquares?: string }
  | SharedRow;

/** A tensor's place in the shared outputs. */
export interface SharedRow {
  /** Where its min is in the values; max follows. */
  offset: number;
  /** Where its count is in the counts; undefined when it has the count of another tensor (`sameCount`). */
  count: number | undefined;
  /** With moments: where its sum is in the values; sum of squares follows. */
  sum: number | undefined;
}

/** The shared outputs of the float32 tensors, one row each. */
export interface SharedOutputs {
  /**
   * float32: per row min, max, the element count as a float (there to join the row, see `addStatisticsOutputs`;
   * it is inexact past 2^24), then with moments sum and sum of squares.
   */
  values: string;
  /** int64: the exact element counts of the rows that have one; undefined when none has (all take another's). */
  counts: string | undefined;
}

export interface StatisticsOutputs {
  /** Tensor name → where its reductions are. */
  readonly outputs: ReadonlyMap<string, ReductionOutputs>;
  readonly shared: SharedOutputs | undefined;
  /** Remove the added nodes and outputs: the model is as it was. */
  restore(): void;
}

/**
 * Add reduction outputs for the measured tensors of a plan (temporarily: call restore()).
 *
 * Tensors known to be float32 share two outputs: each is reshaped to [count] and reduced with keepdims into [1]s
 * that Concats join. Every output costs the runtime's JavaScript binding a tensor object per run, which on a
 * small model costs more than the reductions. The order matters too: onnxruntime runs nodes in the order of a
 * depth-first search from the graph's leaves, the leaf of highest index first and, below a node, its inputs of
 * highest index first. So each tensor's nodes are added in reverse order of the tensors, all of them reach the
 * float Concats (the count through a Cast, as a Concat takes one element type), and their root is added last:
 * then every tensor is reduced right after it is computed, and freed when inference would free it. Otherwise all
 * of them stay alive to the end of the run (about 100 MB more on the OCR detector, and slower). A tensor of the
 * shape of another measured tensor (`sameCount`) gets no count of its own: fewer nodes, faster session creation.
 *
 * Other tensors (float64, or of unknown type) get ReduceMin, ReduceMax and Size outputs of their own.
 */
export function addStatisticsOutputs(
  model: Model,
  plan: Pick<ReductionPlan, 'measured' | 'float32' | 'sameCount' | 'moments'>,
): StatisticsOutputs {
  const graph = model.graph;
  const names = new NameGenerator(model);
  const added: Node[] = [];
  const outputCount = graph.outputs.length;
  const add = (opType: string, inputs: Value[], name: string, attributes: Attribute[] = []): Value => {
    const node = new Node({ opType, inputs, outputs: [names.fresh(name)], attributes });
    graph.appendNode(node);
    added.push(node);
    return node.output(0)!;
  };
  const keepdims = (value: number): Attribute[] => [{ name: 'keepdims', type: 'int', value }];
  const reductions: [string, string][] = [
    ['min', 'ReduceMin'],
    ['max', 'ReduceMax'],
  ];
  if (plan.moments) reductions.push(['sum', 'ReduceSum'], ['sumOfSquares', 'ReduceSumSquare']);

  // Reshape takes its shape as an input from opset 5 on; older models get outputs of their own for every tensor.
  const shareable = (model.opsetVersion('') ?? 1) >= 5;
  const shared = shareable ? plan.measured.filter((value) => plan.float32.has(value)) : [];
  const outputs = new Map<string, ReductionOutputs>();
  let offset = 0;
  let counted = 0;
  for (const value of shared) {
    // The row's values: min, max, the count as a float if the tensor has its own, then sum and sum of squares.
    const own = !plan.sameCount.has(value.name);
    const sum = plan.moments ? offset + (own ? 3 : 2) : undefined;
    outputs.set(value.name, { offset, count: own ? counted++ : undefined, sum });
    offset += reductions.length + (own ? 1 : 0);
  }

  const rows: { values: Value[]; count: Value | undefined }[] = [];
  // A Constant node rather than an initializer: models of IR version 3 need initializers to be graph inputs.
  const flatShape =
    shared.length > 0
      ? add('Constant', [], 'calibration__flat_shape', [
          { name: 'value', type: 'tensor', value: Tensor.fromArray('', DataType.INT64, [1], BigInt64Array.of(-1n)) },
        ])
      : undefined;
  for (const value of [...shared].reverse()) {
    const flat = add('Reshape', [value, flatShape!], `${value.name}__flat`);
    const count = plan.sameCount.has(value.name) ? undefined : add('Shape', [flat], `${value.name}__count`);
    const values = [
      add(reductions[0]![1], [flat], `${value.name}__${reductions[0]![0]}`, keepdims(1)),
      add(reductions[1]![1], [flat], `${value.name}__${reductions[1]![0]}`, keepdims(1)),
    ];
    if (count) {
      const to: Attribute = { name: 'to', type: 'int', value: DataType.FLOAT };
      values.push(add('Cast', [count], `${value.name}__count_float`, [to]));
    }
    for (const [kind, opType] of reductions.slice(2)) {
      values.push(add(opType, [flat], `${value.name}__${kind}`, keepdims(1)));
    }
    rows.unshift({ values, count });
  }

  const separate: Value[] = [];
  for (const value of [...plan.measured].reverse()) {
    if (outputs.has(value.name)) continue;
    const entry: Record<string, string> = {};
    for (const [kind, opType] of reductions) {
      const output = add(opType, [value], `${value.name}__${kind}`, keepdims(0));
      separate.unshift(output);
      entry[kind] = output.name;
    }
    if (!plan.sameCount.has(value.name)) {
      const count = add('Size', [value], `${value.name}__count`);
      separate.unshift(count);
      entry.count = count.name;
    }
    outputs.set(value.name, entry as ReductionOutputs);
  }

  let sharedOutputs: SharedOutputs | undefined;
  if (rows.length > 0) {
    // Every row may take its count from another tensor (a float32 Cast of a measured float64 input): no Concat of
    // counts then, as a Concat needs an input.
    const ownCounts = rows.flatMap((row) => (row.count ? [row.count] : []));
    const counts = ownCounts.length > 0 ? concatenate(add, ownCounts, 'calibration__counts') : undefined;
    const values = concatenate(
      add,
      rows.flatMap((row) => row.values),
      'calibration__values',
    );
    graph.outputs.push(values, ...(counts ? [counts] : []));
    sharedOutputs = { values: values.name, counts: counts?.name };
  }
  graph.outputs.push(...separate);
  return {
    outputs,
    shared: sharedOutputs,
    restore() {
      graph.outputs.length = outputCount;
      for (const node of added.reverse()) graph.removeNode(node, { force: true });
    },
  };
}

/** Inputs per Concat: one Concat of hundreds of inputs slows onnxruntime's session creation more than a tree. */
const CONCAT_WIDTH = 32;

/**
 * One value of all `items` along axis 0, by a tree of Concats. The nodes of earlier items get higher indices, so
 * that onnxruntime still reaches them first (see `addStatisticsOutputs`); the root is added last.
 */
function concatenate(
  add: (opType: string, inputs: Value[], name: string, attributes: Attribute[]) => Value,
  items: readonly Value[],
  name: string,
): Value {
  const axis: Attribute[] = [{ name: 'axis', type: 'int', value: 0 }];
  if (items.length <= CONCAT_WIDTH) return add('Concat', [...items], name, axis);
  const parts: Value[] = [];
  const last = Math.floor((items.length - 1) / CONCAT_WIDTH) * CONCAT_WIDTH;
  for (let start = last; start >= 0; start -= CONCAT_WIDTH) {
    parts.unshift(add('Concat', items.slice(start, start + CONCAT_WIDTH), `${name}_part`, axis));
  }
  return concatenate(add, parts, name);
}

function scalar(tensor: ExecutorTensor | undefined): number | undefined {
  const data = tensor?.data;
  if (!data || !ArrayBuffer.isView(data)) return undefined;
  const first = (data as unknown as ArrayLike<number | bigint>)[0];
  return first === undefined ? undefined : Number(first);
}

/** The shared outputs of one run. */
interface SharedRows {
  values: Float32Array;
  counts: BigInt64Array;
}

function sharedRows(
  outputs: Readonly<Record<string, ExecutorTensor>>,
  shared: SharedOutputs | undefined,
): SharedRows | undefined {
  if (!shared) return undefined;
  return {
    values: outputs[shared.values]!.data as Float32Array,
    counts: shared.counts ? (outputs[shared.counts]!.data as BigInt64Array) : new BigInt64Array(0),
  };
}

/** A measured tensor's element count in one run's outputs; undefined when it has another tensor's (`sameCount`). */
function measuredCount(
  outputs: Readonly<Record<string, ExecutorTensor>>,
  names: ReductionOutputs,
  rows?: SharedRows,
): number | undefined {
  if ('offset' in names) return names.count === undefined ? undefined : Number(rows!.counts[names.count]);
  return names.count === undefined ? undefined : scalar(outputs[names.count]);
}

/** A measured tensor's statistics in one run's outputs, given its element count. */
function measuredStatistics(
  outputs: Readonly<Record<string, ExecutorTensor>>,
  names: ReductionOutputs,
  count: number,
  rows?: SharedRows,
): SampleStatistics {
  let statistics: { count: number; min: number; max: number; sum?: number; sumOfSquares?: number };
  if ('offset' in names) {
    const values = rows!.values;
    const start = names.offset;
    statistics = { count, min: values[start]!, max: values[start + 1]! };
    if (names.sum !== undefined) {
      statistics.sum = values[names.sum]!;
      statistics.sumOfSquares = values[names.sum + 1]!;
    }
  } else {
    const minimum = outputs[names.min];
    if (!minimum?.type.startsWith('float')) return 'not-float';
    statistics = { count, min: scalar(minimum)!, max: scalar(outputs[names.max])! };
    if (names.sum !== undefined && names.sumOfSquares !== undefined) {
      statistics.sum = scalar(outputs[names.sum])!;
      statistics.sumOfSquares = scalar(outputs[names.sumOfSquares])!;
    }
  }
  if (statistics.count > 0 && !(Number.isFinite(statistics.min) && Number.isFinite(statistics.max))) {
    return 'non-finite';
  }
  return statistics;
}

/** A derived tensor's statistics from its sources'. */
export function derivedStatistics(sources: readonly SampleStatistics[], derivation: Derivation): SampleStatistics {
  // A Concat: the extremes of the non-empty inputs, every element counted.
  let count = 0;
  let low = Number.POSITIVE_INFINITY;
  let high = Number.NEGATIVE_INFINITY;
  let sum = 0;
  let sumOfSquares: number | undefined = 0;
  for (const source of sources) {
    if (typeof source === 'string') return source;
    if (source.count === 0) continue;
    count += source.count;
    low = Math.min(low, source.min);
    high = Math.max(high, source.max);
    sum += source.sum ?? 0;
    sumOfSquares = source.sumOfSquares === undefined ? undefined : (sumOfSquares ?? 0) + source.sumOfSquares;
  }
  if (count === 0) return { count: 0, min: 0, max: 0 };
  low = derivation.map(low);
  high = derivation.map(high);
  // Overflow to infinity in the op itself: the tensor holds an infinity, as a measurement would have found.
  if (!(Number.isFinite(low) && Number.isFinite(high))) return 'non-finite';
  const [min, max] = derivation.decreasing ? [high, low] : [low, high];
  const repeats = derivation.repeats;
  if (derivation.sameElements && sumOfSquares !== undefined) {
    return { count: count * repeats, min, max, sum: sum * repeats, sumOfSquares: sumOfSquares * repeats };
  }
  return { count: count * repeats, min, max };
}

/**
 * Feeds each run's statistics to one observer per planned tensor: measured tensors from the outputs, derived ones
 * from their sources' statistics of the same run. Constants are the same in every run, so `finish` adds them once
 * per sample at the end.
 */
export class ReductionRecorder {
  readonly observers = new Map<string, ReducedObserver>();
  /** Per planned tensor, in plan order: its observer and how its statistics are found. */
  private readonly steps: {
    observer: ReducedObserver;
    measured?: ReductionOutputs;
    /** Positions of the tensors this one is derived from, or takes its count from. */
    sources: number[];
    derivation?: Derivation;
    constant?: SampleStatistics;
  }[] = [];
  /** The statistics of the current run, by step. */
  private readonly current: SampleStatistics[] = [];
  /** The element counts of the current run, by step: known even when the values are not finite. */
  private readonly counts: number[] = [];

  constructor(
    plan: ReductionPlan,
    private readonly reductions: Pick<StatisticsOutputs, 'outputs' | 'shared'>,
  ) {
    const positions = new Map<string, number>();
    for (const name of plan.order) {
      const observer = new ReducedObserver(name, plan.moments);
      this.observers.set(name, observer);
      const derivation = plan.derived.get(name);
      const constant = plan.constants.get(name);
      const countSource = plan.sameCount.get(name);
      positions.set(name, this.steps.length);
      this.current.push(constant ?? 'not-float');
      this.counts.push(typeof constant === 'object' ? constant.count : 0);
      const sources = derivation?.sources ?? (countSource ? [countSource] : []);
      this.steps.push({
        observer,
        sources: sources.map((source) => positions.get(source)!),
        ...(constant ? { constant } : {}),
        ...(derivation ? { derivation } : {}),
        ...(!constant && !derivation ? { measured: reductions.outputs.get(name)! } : {}),
      });
    }
  }

  /** Add one run's statistics. */
  record(outputs: Readonly<Record<string, ExecutorTensor>>): void {
    const rows = sharedRows(outputs, this.reductions.shared);
    for (let index = 0; index < this.steps.length; index++) {
      const step = this.steps[index]!;
      if (step.constant) continue;
      let statistics: SampleStatistics;
      if (step.measured) {
        const count = measuredCount(outputs, step.measured, rows) ?? this.counts[step.sources[0]!]!;
        this.counts[index] = count;
        statistics = measuredStatistics(outputs, step.measured, count, rows);
      } else {
        let count = 0;
        for (const source of step.sources) count += this.counts[source]!;
        this.counts[index] = count * step.derivation!.repeats;
        statistics = derivedStatistics(
          step.sources.map((source) => this.current[source]!),
          step.derivation!,
        );
      }
      this.current[index] = statistics;
      step.observer.add(statistics);
    }
  }

  /** Add the constants, once per sample. */
  finish(samples: number): void {
    for (const step of this.steps) if (step.constant) step.observer.add(step.constant, samples);
  }
}

/**
 * Statistics of one tensor built from per-sample reductions; no histogram, so min-max ranges only. Mean and
 * standard deviation are kept only with `moments` (they need two more reductions per tensor).
 */
export class ReducedObserver {
  readonly movingAverage = new MovingAverageMinMax();
  private count = 0;
  private sum = 0;
  private sumOfSquares = 0;
  private minimum = Number.POSITIVE_INFINITY;
  private maximum = Number.NEGATIVE_INFINITY;
  private batchCount = 0;
  private nonFinite = 0;

  constructor(
    readonly name: string,
    private readonly moments = false,
  ) {}

  get batches(): number {
    return this.batchCount;
  }

  /** Add one sample's statistics, or `times` samples' that are all the same (a constant's). */
  add(sample: SampleStatistics, times = 1): void {
    if (sample === 'not-float' || times === 0) return;
    if (sample === 'non-finite') {
      this.nonFinite += times;
      return;
    }
    if (sample.count === 0) return;
    this.batchCount += times;
    this.count += sample.count * times;
    this.sum += (sample.sum ?? 0) * times;
    this.sumOfSquares += (sample.sumOfSquares ?? 0) * times;
    this.minimum = Math.min(this.minimum, sample.min);
    this.maximum = Math.max(this.maximum, sample.max);
    // `times` above 1 comes from constants alone, whose observers see nothing else: on a fresh average, averaging a
    // value with itself leaves it as it is, so one update stands for all of them.
    this.movingAverage.update(sample.min, sample.max);
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
    const empty = this.count === 0;
    const mean = empty ? 0 : this.sum / this.count;
    const variance = empty ? 0 : Math.max(this.sumOfSquares / this.count - mean * mean, 0);
    const summary: TensorStatistics = {
      count: this.count,
      min: empty ? 0 : this.minimum,
      max: empty ? 0 : this.maximum,
      ...(this.moments ? { mean, std: Math.sqrt(variance) } : {}),
      nanCount: 0,
      infinityCount: this.nonFinite,
    };
    if (this.movingAverage.batches > 0) {
      summary.movingAverage = { min: this.movingAverage.averageMin, max: this.movingAverage.averageMax };
    }
    return summary;
  }
}
