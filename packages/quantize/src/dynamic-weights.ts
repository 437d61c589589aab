import { DataType, Tensor } from '@whittle/ir';
import { quantizeStaticTensor } from './static-weights.js';

/** A float weight quantized per tensor or per channel, with what a dequantization needs. */
export interface QuantizedWeight {
  type: DataType.INT8 | DataType.UINT8;
  dims: readonly number[];
  data: Int8Array | Uint8Array;
  /** One scale per tensor, or one per slice along `axis`. */
  scales: Float32Array;
  zeroPoints: Int32Array;
  /** The channel axis; undefined for one scale over the whole tensor. */
  axis: number | undefined;
}

export interface WeightQuantizationSettings {
  type: DataType.INT8 | DataType.UINT8;
  /** Zero point 0 (int8, range [-127, 127]) or 128 (uint8); otherwise the range [min, max] maps onto the type. */
  symmetric: boolean;
  /** Quantize each slice along this axis with its own scale. */
  axis?: number;
}

/**
 * Quantize float weights the way ONNX Runtime's quantizer does: the range is widened to include 0, symmetric int8
 * uses the narrow range [-127, 127] with zero point 0, symmetric uint8 the zero point 128, asymmetric weights the
 * full range of the type.
 */
export function quantizeWeight(
  values: Float32Array,
  dims: readonly number[],
  settings: WeightQuantizationSettings,
): QuantizedWeight {
  const { type, symmetric, axis } = settings;
  // The same arithmetic as static weights: symmetric int8 on the narrow range.
  const quantized = quantizeStaticTensor(values, dims, {
    type,
    symmetric,
    narrow: symmetric && type === DataType.INT8,
    axis,
  });
  return { ...quantized, type, data: quantized.data as Int8Array | Uint8Array };
}

/** The float values a quantized weight stands for (for tests and error estimates). */
export function dequantizeWeight(weight: QuantizedWeight): Float32Array {
  const { dims, axis, data, scales, zeroPoints } = weight;
  const channels = scales.length;
  const inner = axis === undefined ? data.length : dims.slice(axis + 1).reduce((product, dim) => product * dim, 1);
  const out = new Float32Array(data.length);
  for (let index = 0; index < data.length; index++) {
    const channel = axis === undefined ? 0 : Math.floor(index / inner) % channels;
    out[index] = (data[index]! - zeroPoints[channel]!) * scales[channel]!;
  }
  return out;
}

/** A row-major 2-D matrix [rows, columns] transposed. */
export function transpose2d(values: Float32Array, rows: number, columns: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let row = 0; row < rows; row++) {
    for (let column = 0; column < columns; column++) out[column * rows + row] = values[row * columns + column]!;
  }
  return out;
}

/** The weight's integers as a tensor. */
export function weightTensor(name: string, weight: QuantizedWeight): Tensor {
  return Tensor.fromArray(name, weight.type, weight.dims, weight.data);
}

/** Zero points as a scalar (all equal, or per tensor) or a 1-D tensor of the weight's type. */
export function zeroPointTensor(name: string, weight: QuantizedWeight, perChannel: boolean): Tensor {
  const values = perChannel ? Array.from(weight.zeroPoints) : [weight.zeroPoints[0] ?? 0];
  const data = weight.type === DataType.INT8 ? Int8Array.from(values) : Uint8Array.from(values);
  return Tensor.fromArray(name, weight.type, perChannel ? [values.length] : [], data);
}

/** True when every channel has the same zero point (a scalar zero point then serves all channels). */
export function uniformZeroPoint(weight: QuantizedWeight): boolean {
  return weight.zeroPoints.every((zeroPoint) => zeroPoint === weight.zeroPoints[0]);
}
