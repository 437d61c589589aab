/**
 * Models that already hold QuantizeLinear/DequantizeLinear (quantization-aware training, or an earlier run of the
 * pass): find the pairs and read their parameters so that what is quantized stays as it is.
 */
import { DataType, type Model, type Node, type Value } from '@whittle/ir';

export const CONTRIB_DOMAIN = 'com.microsoft';

function isQdqOp(node: Node, opType: string): boolean {
  return node.is(opType) || node.is(opType, CONTRIB_DOMAIN);
}

/** A QuantizeLinear of ONNX or of ONNX Runtime's contrib domain. */
export function isQuantizeLinear(node: Node | undefined): boolean {
  return node !== undefined && isQdqOp(node, 'QuantizeLinear');
}

/** A DequantizeLinear of ONNX or of ONNX Runtime's contrib domain. */
export function isDequantizeLinear(node: Node | undefined): boolean {
  return node !== undefined && isQdqOp(node, 'DequantizeLinear');
}

/** Parameters read off a Q or DQ node whose scale (and zero point, when present) are constants. */
export interface ExistingParameters {
  /** The node's scale and zero point values, reused by new nodes that must agree with it. */
  scaleValue: Value;
  zeroPointValue: Value | undefined;
  scales: Float32Array;
  zeroPoints: Int32Array;
  type: DataType;
  /** The per-channel axis; undefined when one scale covers the tensor. */
  axis: number | undefined;
}

function numbersOf(value: Value | undefined): number[] | undefined {
  const tensor = value?.constant;
  if (!tensor) return undefined;
  const array = tensor.toArray();
  if (array instanceof BigInt64Array || array instanceof BigUint64Array) return Array.from(array, Number);
  return Array.from(array);
}

/** The parameters of a Q or DQ node, or undefined when its scale or zero point is computed at run time. */
export function readQdqParameters(node: Node): ExistingParameters | undefined {
  const scaleValue = node.input(1);
  const zeroPointValue = node.input(2);
  const scales = numbersOf(scaleValue);
  if (!scaleValue || !scales || scaleValue.constant?.dataType !== DataType.FLOAT) return undefined;
  const zeroPoints = zeroPointValue ? numbersOf(zeroPointValue) : scales.map(() => 0);
  if (!zeroPoints) return undefined;
  let type: DataType;
  if (zeroPointValue?.constant) type = zeroPointValue.constant.dataType;
  else if (isDequantizeLinear(node)) {
    const input = node.input(0);
    type = input?.constant?.dataType ?? (input?.type?.kind === 'tensor' ? input.type.elementType : DataType.UINT8);
  } else type = DataType.UINT8;
  const rank = scaleValue.constant?.dims.length ?? 0;
  const axis = rank === 0 || scales.length === 1 ? undefined : (node.intAttribute('axis', 1) ?? 1);
  return {
    scaleValue,
    zeroPointValue,
    scales: Float32Array.from(scales),
    zeroPoints: Int32Array.from(zeroPoints),
    type,
    axis,
  };
}

export interface ExistingQdq {
  quantizeNodes: number;
  dequantizeNodes: number;
  /** DequantizeLinear nodes whose input is a constant integer tensor: weights stored as integers. */
  integerWeights: number;
}

/** Count the Q/DQ already in a model (every graph). */
export function scanExistingQdq(model: Model): ExistingQdq {
  const found: ExistingQdq = { quantizeNodes: 0, dequantizeNodes: 0, integerWeights: 0 };
  for (const graph of model.graphs()) {
    for (const node of graph.nodes) {
      if (isQuantizeLinear(node)) found.quantizeNodes++;
      else if (isDequantizeLinear(node)) {
        found.dequantizeNodes++;
        if (node.input(0)?.constant) found.integerWeights++;
      }
    }
  }
  return found;
}

/** The QuantizeLinear that reads a value, if any (the first one). */
export function quantizeReading(value: Value): Node | undefined {
  return value.uses.find((use) => use.index === 0 && isQuantizeLinear(use.node))?.node;
}

/** A DequantizeLinear that reads a QuantizeLinear's output in the same graph, if any. */
export function dequantizeAfter(quantize: Node): Node | undefined {
  const output = quantize.output(0);
  return output?.uses.find((use) => use.index === 0 && isDequantizeLinear(use.node))?.node;
}
