import { DataType, Tensor } from '@whittle/ir';
import { computeQuantizationParameters, integerRange, quantizeValue } from './quantization-parameters.js';

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
  const narrow = symmetric && type === DataType.INT8;
  const range = integerRange(type, { narrow });
  const channels = axis === undefined ? 1 : (dims[axis] ?? 1);
  const inner = axis === undefined ? values.length : dims.slice(axis + 1).reduce((product, dim) => product * dim, 1);
  const channelOf = (index: number) => (axis === undefined ? 0 : Math.floor(index / inner) % channels);
  const minima = new Float64Array(channels).fill(Number.POSITIVE_INFINITY);
  const maxima = new Float64Array(channels).fill(Number.NEGATIVE_INFINITY);
  for (let index = 0; index < values.length; index++) {
    const value = values[index]!;
    if (!Number.isFinite(value)) continue;
    const channel = channelOf(index);
    if (value < minima[channel]!) minima[channel] = value;
    if (value > maxima[channel]!) maxima[channel] = value;
  }
  const scales = new Float32Array(channels);
  const zeroPoints = new Int32Array(channels);
  for (let channel = 0; channel < channels; channel++) {
    const low = Number.isFinite(minima[channel]!) ? minima[channel]! : 0;
    const high = Number.isFinite(maxima[channel]!) ? maxima[channel]! : 0;
    const parameters = computeQuantizationParameters(low, high, type, { symmetric, narrow });
    scales[channel] = parameters.scale;
    zeroPoints[channel] = parameters.zeroPoint;
  }
  const data = type === DataType.INT8 ? new Int8Array(values.length) : new Uint8Array(values.length);
  for (let index = 0; index < values.length; index++) {
    const channel = channelOf(index);
    const value = values[index]!;
    // NaN weights have no integer; ±Infinity saturate.
    data[index] = Number.isNaN(value)
      ? zeroPoints[channel]!
      : quantizeValue(value, scales[channel]!, zeroPoints[channel]!, range);
  }
  return { type, dims: [...dims], data, scales, zeroPoints, axis };
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
