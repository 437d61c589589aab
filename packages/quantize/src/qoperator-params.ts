/**
 * Reading the QDQ form: QuantizeLinear / DequantizeLinear nodes (ONNX, or ONNX Runtime's com.microsoft versions,
 * which quantize-static writes below opset 13) with constant scales and zero points, and the groups they make
 * around a float op.
 */
import { constantValueOf, DataType, type Graph, type Node, type Value } from '@whittle/ir';
import { elementTypeOf } from './dynamic-support.js';
import { integerRange, quantizeValue } from './quantization-parameters.js';

export const CONTRIB_DOMAIN = 'com.microsoft';

/** One Q or DQ node's parameters. */
export interface QuantParams {
  node: Node;
  /** DQ: the integer input; Q: the integer output. */
  integer: Value;
  scale: Value;
  scales: Float32Array;
  /** Absent: zero. */
  zeroPoint: Value | undefined;
  zeroPoints: number[];
  type: DataType;
  /** The per-channel axis (normalized to be non-negative when the rank is known); undefined: per tensor. */
  axis: number | undefined;
}

export const isQuantize = (node: Node | undefined): boolean =>
  node !== undefined && (node.is('QuantizeLinear') || node.is('QuantizeLinear', CONTRIB_DOMAIN));
export const isDequantize = (node: Node | undefined): boolean =>
  node !== undefined && (node.is('DequantizeLinear') || node.is('DequantizeLinear', CONTRIB_DOMAIN));

const INTEGER_TYPES = new Set<DataType>([
  DataType.INT8,
  DataType.UINT8,
  DataType.INT16,
  DataType.UINT16,
  DataType.INT32,
]);

function numbersOf(value: Value | undefined): number[] | undefined {
  const tensor = constantValueOf(value);
  if (!tensor) return undefined;
  if (tensor.dataType === DataType.INT64) return Array.from(tensor.toArray() as BigInt64Array, Number);
  return Array.from(tensor.toArray() as ArrayLike<number>);
}

/** The parameters of a Q (`integer` = its output) or DQ (`integer` = its input) node, when they are constants. */
function paramsOf(node: Node, integer: Value | undefined, isQ: boolean): QuantParams | undefined {
  const scale = node.input(1);
  const zeroPoint = node.input(2);
  const scaleTensor = constantValueOf(scale);
  if (!integer || !scale || !scaleTensor || scaleTensor.dataType !== DataType.FLOAT) return undefined;
  if ((node.intAttribute('block_size', 0) ?? 0) !== 0) return undefined;
  const scales = Float32Array.from(scaleTensor.toArray() as Float32Array);
  if (scales.length === 0 || !scales.every((value) => value > 0 && Number.isFinite(value))) return undefined;
  let type: DataType | undefined;
  let zeroPoints: number[];
  if (zeroPoint) {
    const tensor = constantValueOf(zeroPoint);
    const values = numbersOf(zeroPoint);
    if (!tensor || !values || values.length !== scales.length) return undefined;
    type = tensor.dataType;
    zeroPoints = values;
  } else {
    zeroPoints = Array.from(scales, () => 0);
    const declared = isQ ? node.intAttribute('output_dtype', 0) : 0;
    type = declared ? (declared as DataType) : isQ ? DataType.UINT8 : elementTypeOf(integer);
  }
  if (type === undefined || !INTEGER_TYPES.has(type)) return undefined;
  let axis: number | undefined;
  if (scales.length > 1) {
    axis = node.intAttribute('axis', 1) ?? 1;
    if (axis < 0) {
      const rank = rankOf(isQ ? node.input(0) : integer);
      if (rank === undefined) return undefined;
      axis += rank;
    }
  }
  return { node, integer, scale, scales, zeroPoint, zeroPoints, type, axis };
}

function rankOf(value: Value | undefined): number | undefined {
  const constant = constantValueOf(value);
  if (constant) return constant.dims.length;
  const type = value?.type;
  return type?.kind === 'tensor' ? type.shape?.length : undefined;
}

/** The parameters of the DQ node producing `value`, if it is one. */
export function dequantizeOf(value: Value | undefined): QuantParams | undefined {
  const producer = value?.producer;
  if (!producer || !isDequantize(producer) || producer.output(0) !== value) return undefined;
  return paramsOf(producer, producer.input(0), false);
}

export function quantizeParams(node: Node): QuantParams | undefined {
  return isQuantize(node) ? paramsOf(node, node.output(0), true) : undefined;
}

export const isPerTensor = (params: QuantParams) => params.scales.length === 1 && params.zeroPoints.length === 1;
export const isEightBit = (type: DataType) => type === DataType.INT8 || type === DataType.UINT8;

/** Same type, one scale and zero point each, equal bit for bit. */
export function sameParams(a: QuantParams, b: QuantParams): boolean {
  return (
    isPerTensor(a) &&
    isPerTensor(b) &&
    a.type === b.type &&
    Object.is(a.scales[0], b.scales[0]) &&
    a.zeroPoints[0] === b.zeroPoints[0]
  );
}

/** True when a value is returned by its graph or by a graph nested in it. */
export function isGraphOutput(value: Value): boolean {
  const graph = value.graph;
  if (!graph) return false;
  if (graph.outputs.includes(value)) return true;
  for (const nested of graph.nestedGraphs()) if (nested.outputs.includes(value)) return true;
  return false;
}

/** A Relu or constant-bound Clip between a float op and its Q, with the range it clips to. */
export interface ActivationStep {
  node: Node;
  low: number;
  high: number;
}

/** The Q nodes that read a float op's output (maybe through a Relu/Clip), all with the same parameters. */
export interface OutputGroup {
  /** The Q whose output the lowered op takes over (the one returned by a graph, if any). */
  primary: QuantParams;
  quantizers: Node[];
  activation: ActivationStep | undefined;
}

/** A Relu, or a Clip with constant bounds, and the range it keeps. */
export function activationStep(node: Node, opset: number): ActivationStep | undefined {
  if (node.is('Relu')) return { node, low: 0, high: Number.POSITIVE_INFINITY };
  if (!node.is('Clip')) return undefined;
  if (opset < 11) {
    return {
      node,
      low: node.floatAttribute('min', Number.NEGATIVE_INFINITY)!,
      high: node.floatAttribute('max', Number.POSITIVE_INFINITY)!,
    };
  }
  const bound = (value: Value | undefined, fallback: number) => {
    if (!value) return fallback;
    const numbers = numbersOf(value);
    return numbers?.length === 1 ? numbers[0]! : undefined;
  };
  const low = bound(node.input(1), Number.NEGATIVE_INFINITY);
  const high = bound(node.input(2), Number.POSITIVE_INFINITY);
  return low === undefined || high === undefined ? undefined : { node, low, high };
}

/**
 * How `value` (a float op's output) is quantized: every reader is a Q node with the same per-tensor parameters, or
 * its only reader is a Relu/Clip whose readers are. Undefined otherwise, or when a value on the way is returned by
 * a graph (a lowered op could not keep it).
 */
export function outputGroupOf(
  value: Value,
  graph: Graph,
  opset: number,
  allowActivation: boolean,
): OutputGroup | undefined {
  if (isGraphOutput(value) || value.uses.length === 0) return undefined;
  let quantized = value;
  let activation: ActivationStep | undefined;
  const first = value.uses[0]!.node;
  if (allowActivation && value.uses.length === 1 && !isQuantize(first)) {
    activation = activationStep(first, opset);
    const result = first.output(0);
    if (!activation || value.uses[0]!.index !== 0 || first.graph !== graph || !result || isGraphOutput(result)) {
      return undefined;
    }
    if (first.outputs.length !== 1) return undefined;
    quantized = result;
  }
  if (quantized.uses.length === 0) return undefined;
  const quantizers: Node[] = [];
  let primary: QuantParams | undefined;
  let returned = 0;
  for (const use of quantized.uses) {
    const params = use.index === 0 && use.node.graph === graph ? quantizeParams(use.node) : undefined;
    if (!params || !isPerTensor(params)) return undefined;
    if (primary && !sameParams(primary, params)) return undefined;
    quantizers.push(use.node);
    if (isGraphOutput(params.integer)) {
      returned++;
      primary = params;
    } else primary ??= params;
  }
  if (!primary || returned > 1 || new Set(quantizers).size !== quantizers.length) return undefined;
  return { primary, quantizers, activation };
}

/** The integer range an activation keeps: whole (the Q already clips to it) or narrowed to [low, high]. */
export function activationBounds(
  step: ActivationStep,
  params: QuantParams,
): { redundant: boolean; low: number; high: number } {
  const range = integerRange(params.type);
  const scale = params.scales[0]!;
  const zeroPoint = params.zeroPoints[0]!;
  // Q is monotonic: Q(clip(x, a, b)) = clip(Q(x), Q(a), Q(b)), exactly. The clip does nothing when its quantized
  // bounds are the ends of the integer range (Relu before a Q whose zero point is the minimum; Clip(0, 6) before a Q
  // of scale 6/255, even where 255 × scale lands a rounding error above 6).
  const quantize = (bound: number) => {
    if (bound === Number.NEGATIVE_INFINITY) return range.min;
    if (bound === Number.POSITIVE_INFINITY) return range.max;
    return quantizeValue(bound, scale, zeroPoint, range);
  };
  const low = quantize(step.low);
  const high = quantize(step.high);
  return { redundant: low <= range.min && high >= range.max, low, high };
}
