/**
 * Weights of `quantize-static`: which axis carries the output channels of each op's weight, and the quantization of
 * float constants into integers with one scale per tensor or per channel.
 */
import { DataType, type Node } from '@whittle/ir';
import { computeQuantizationParameters, integerRange } from './quantization-parameters.js';

/** Integers with the parameters that dequantize them: x = (q - zeroPoint[c]) * scale[c]. */
export interface StaticQuantizedTensor {
  type: DataType;
  dims: readonly number[];
  data: Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array;
  /** One scale per tensor (length 1, written as a scalar) or one per slice along `axis`. */
  scales: Float32Array;
  zeroPoints: Int32Array;
  axis: number | undefined;
}

export interface StaticWeightSettings {
  type: DataType;
  symmetric: boolean;
  /** Symmetric signed values on [-max, max] (weights); default: the type's full range (activation constants). */
  narrow?: boolean;
  /** Quantize each slice along this axis with its own scale; undefined: one scale. */
  axis?: number | undefined;
  /** Per channel (or one), the smallest scale to use: a bias quantized at input × weight scale must fit int32. */
  minimumScales?: Float32Array | undefined;
  /** A range to use instead of the data's (one range for the whole tensor). */
  range?: { min?: number | undefined; max?: number | undefined } | undefined;
}

/**
 * The axis of a weight that holds the op's output channels, so per-channel scales follow the outputs:
 * Conv W[M, C/g, k...] axis 0; ConvTranspose W[C, M/g, k...] axis 1 (with groups the scale of output channel
 * o is that of o mod M/g); Gemm B axis 0 with transB=1 ([N, K]), else 1 ([K, N]); MatMul B the last axis (its
 * columns). Undefined: one scale for the tensor.
 */
export function weightChannelAxis(node: Node, inputIndex: number, rank: number): number | undefined {
  if (inputIndex !== 1) return undefined;
  switch (node.opType) {
    case 'Conv':
      return rank >= 1 ? 0 : undefined;
    case 'ConvTranspose':
      return rank >= 2 ? 1 : undefined;
    case 'Gemm':
      if (rank !== 2) return undefined;
      return (node.intAttribute('transB', 0) ?? 0) !== 0 ? 0 : 1;
    case 'MatMul':
      return rank >= 2 ? rank - 1 : undefined;
    default:
      return undefined;
  }
}

function typedArrayFor(type: DataType, length: number): StaticQuantizedTensor['data'] {
  switch (type) {
    case DataType.INT8:
      return new Int8Array(length);
    case DataType.UINT8:
      return new Uint8Array(length);
    case DataType.INT16:
      return new Int16Array(length);
    case DataType.UINT16:
      return new Uint16Array(length);
    default:
      return new Int32Array(length);
  }
}

/**
 * Quantize float values the way ONNX Runtime's quantizer does: each channel's range widened to include 0,
 * symmetric signed types on the narrow range (int8 [-127, 127]) with zero point 0, symmetric unsigned types with
 * the middle as zero point, asymmetric ones over the full range of the type. NaN becomes the zero point.
 */
export function quantizeStaticTensor(
  values: Float32Array,
  dims: readonly number[],
  settings: StaticWeightSettings,
): StaticQuantizedTensor {
  const { type, symmetric } = settings;
  const axis = settings.axis !== undefined && settings.range === undefined ? settings.axis : undefined;
  const narrow = symmetric && (settings.narrow ?? false);
  const integers = integerRange(type, { narrow });
  const channels = axis === undefined ? 1 : (dims[axis] ?? 1);
  // The channel of each element is tracked with two counters: no division per element, and as fast when the
  // channel axis is the last one (MatMul weights, one element per channel in a row) as when it is the first.
  const inner = axis === undefined ? values.length : dims.slice(axis + 1).reduce((product, dim) => product * dim, 1);
  const minima = new Float64Array(channels).fill(Number.POSITIVE_INFINITY);
  const maxima = new Float64Array(channels).fill(Number.NEGATIVE_INFINITY);
  for (let index = 0, channel = 0, position = 0; index < values.length; index++) {
    const value = values[index]!;
    // NaN fails both comparisons; infinities are left out of the range (they saturate).
    if (value < minima[channel]! && value !== Number.NEGATIVE_INFINITY) minima[channel] = value;
    if (value > maxima[channel]! && value !== Number.POSITIVE_INFINITY) maxima[channel] = value;
    if (++position === inner) {
      position = 0;
      if (++channel === channels) channel = 0;
    }
  }
  const scales = new Float32Array(channels);
  const zeroPoints = new Int32Array(channels);
  for (let channel = 0; channel < channels; channel++) {
    const low = settings.range?.min ?? (Number.isFinite(minima[channel]!) ? minima[channel]! : 0);
    const high = settings.range?.max ?? (Number.isFinite(maxima[channel]!) ? maxima[channel]! : 0);
    const parameters = computeQuantizationParameters(Math.min(low, high), Math.max(low, high), type, {
      symmetric,
      narrow,
    });
    const minimum = settings.minimumScales?.[settings.minimumScales.length === 1 ? 0 : channel] ?? 0;
    // A larger scale with the same zero point still covers the channel's range.
    scales[channel] = minimum > parameters.scale ? Math.fround(minimum) : parameters.scale;
    zeroPoints[channel] = parameters.zeroPoint;
  }
  const data = typedArrayFor(type, values.length);
  const lowest = integers.min;
  const highest = integers.max;
  for (let index = 0, channel = 0, position = 0; index < values.length; index++) {
    const value = values[index]!;
    const zeroPoint = zeroPoints[channel]!;
    // QuantizeLinear's arithmetic, inlined for speed (see quantizeValue): float32 division, round half to even,
    // add the zero point, saturate. NaN becomes the zero point.
    const scaled = Math.fround(value / scales[channel]!);
    let rounded = Math.round(scaled);
    if (rounded - scaled === 0.5 && (rounded & 1) !== 0) rounded -= 1;
    const quantized = rounded + zeroPoint;
    data[index] = Number.isNaN(value)
      ? zeroPoint
      : quantized < lowest
        ? lowest
        : quantized > highest
          ? highest
          : quantized;
    if (++position === inner) {
      position = 0;
      if (++channel === channels) channel = 0;
    }
  }
  return { type, dims: [...dims], data, scales, zeroPoints, axis };
}

/** The float values a quantized tensor stands for. */
export function dequantizeStaticTensor(tensor: StaticQuantizedTensor): Float32Array {
  const { dims, axis, data, scales, zeroPoints } = tensor;
  const channels = scales.length;
  const inner = axis === undefined ? 1 : dims.slice(axis + 1).reduce((product, dim) => product * dim, 1);
  const out = new Float32Array(data.length);
  for (let index = 0; index < data.length; index++) {
    const channel = axis === undefined ? 0 : Math.floor(index / inner) % channels;
    out[index] = (data[index]! - zeroPoints[channel]!) * scales[channel]!;
  }
  return out;
}
