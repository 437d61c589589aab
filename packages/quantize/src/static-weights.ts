/**
 * Weights of `quantize-static`: which axis carries the output channels of each op's weight, and the quantization of
 * float constants into integers with one scale per tensor or per channel.
 */
import { DataType, type Node } from '@whittle/ir';
import {
  computeQuantizationParameters,
  INFINITY_BITS,
  integerRange,
  maximumMagnitudeBits,
  smallInteger,
} from './quantization-parameters.js';

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
  const channels = smallInteger(axis === undefined ? 1 : (dims[axis] ?? 1));
  // Elements are [outer, channels, inner] row-major: each channel owns runs of `inner` consecutive elements.
  const inner = smallInteger(
    axis === undefined ? values.length : dims.slice(axis + 1).reduce((product, dim) => product * dim, 1),
  );
  // A symmetric range depends on the largest magnitude alone, which is quicker to find.
  const ranges =
    symmetric && settings.range === undefined
      ? magnitudeRanges(values, channels, inner)
      : channelRanges(values, channels, inner);
  const { minima, maxima } = ranges;
  const scales = new Float32Array(channels);
  const zeroPoints = new Int32Array(channels);
  // Quantizing is monotonic: when every channel's extremes land inside the type's range, so does every value, and
  // the loops can skip saturating (as costly as the rest of the arithmetic). Infinite values always saturate.
  let saturate = ranges.infinite;
  for (let channel = 0; channel < channels; channel++) {
    const low = settings.range?.min ?? (Number.isFinite(minima[channel]!) ? minima[channel]! : 0);
    const high = settings.range?.max ?? (Number.isFinite(maxima[channel]!) ? maxima[channel]! : 0);
    const parameters = computeQuantizationParameters(Math.min(low, high), Math.max(low, high), type, {
      symmetric,
      narrow,
    });
    const minimum = settings.minimumScales?.[settings.minimumScales.length === 1 ? 0 : channel] ?? 0;
    // A larger scale with the same zero point still covers the channel's range.
    const scale = minimum > parameters.scale ? Math.fround(minimum) : parameters.scale;
    scales[channel] = scale;
    zeroPoints[channel] = parameters.zeroPoint;
    // (A channel without finite values has extremes +Infinity and -Infinity: nothing to saturate but infinities.)
    if (
      quantizeUnsaturated(minima[channel]!, scale, parameters.zeroPoint) < integers.min ||
      quantizeUnsaturated(maxima[channel]!, scale, parameters.zeroPoint) > integers.max
    ) {
      saturate = true;
    }
  }
  const data = typedArrayFor(type, values.length);
  const aroundZero = zeroPoints.every((zeroPoint) => zeroPoint === 0);
  if (inner === 1 && aroundZero) quantizeInterleavedAroundZero(values, data, scales, integers, saturate);
  else if (inner === 1) quantizeInterleaved(values, data, scales, zeroPoints, integers, saturate);
  else quantizeRuns(values, data, scales, zeroPoints, inner, integers, saturate);
  return { type, dims: [...dims], data, scales, zeroPoints, axis };
}

interface ChannelRanges {
  /** Per channel, the smallest finite value; +Infinity when the channel has none. */
  minima: Float64Array;
  /** Per channel, the largest finite value; -Infinity when the channel has none. */
  maxima: Float64Array;
  /** Whether any value is infinite (left out of the ranges: such values saturate). */
  infinite: boolean;
}

/**
 * The range of the finite values of each channel (NaN has no value). One sequential pass whatever the axis: a
 * pass per channel would read strided data.
 */
function channelRanges(values: Float32Array, channels: number, inner: number): ChannelRanges {
  const minima = new Float64Array(channels).fill(Number.POSITIVE_INFINITY);
  const maxima = new Float64Array(channels).fill(Number.NEGATIVE_INFINITY);
  let infinite = false;
  const length = values.length;
  if (inner === 1) {
    // The channel axis is the last one (MatMul weights): each row holds one element of every channel.
    for (let start = 0; start < length; start += channels) {
      for (let channel = 0; channel < channels; channel++) {
        const value = values[start + channel]!;
        // NaN fails both comparisons; the infinity tests run only for a new extreme.
        if (value < minima[channel]!) {
          if (value === Number.NEGATIVE_INFINITY) infinite = true;
          else minima[channel] = value;
        }
        if (value > maxima[channel]!) {
          if (value === Number.POSITIVE_INFINITY) infinite = true;
          else maxima[channel] = value;
        }
      }
    }
    return { minima, maxima, infinite };
  }
  for (let start = 0, channel = 0; start < length; start += inner) {
    let low = minima[channel]!;
    let high = maxima[channel]!;
    const end = Math.min(length, start + inner);
    for (let index = start; index < end; index++) {
      const value = values[index]!;
      if (value < low) {
        if (value === Number.NEGATIVE_INFINITY) infinite = true;
        else low = value;
      }
      if (value > high) {
        if (value === Number.POSITIVE_INFINITY) infinite = true;
        else high = value;
      }
    }
    minima[channel] = low;
    maxima[channel] = high;
    if (++channel === channels) channel = 0;
  }
  return { minima, maxima, infinite };
}

/**
 * [-m, m] per channel, m the largest finite magnitude (0 when there is none): all that symmetric parameters
 * depend on (max(|min|, |max|)), found with one comparison per element instead of two.
 */
function magnitudeRanges(values: Float32Array, channels: number, inner: number): ChannelRanges {
  const maxima = new Float64Array(channels);
  let infinite = false;
  const length = values.length;
  if (inner === 1) {
    const bits = new Int32Array(values.buffer, values.byteOffset, length);
    const maximumBits = new Int32Array(channels);
    if (channels > 0) maximumMagnitudeBits(bits, smallInteger(length / channels), channels, maximumBits);
    const magnitudes = new Float32Array(maximumBits.buffer);
    for (let channel = 0; channel < channels; channel++) {
      if (maximumBits[channel]! < INFINITY_BITS) {
        maxima[channel] = magnitudes[channel]!;
        continue;
      }
      // An infinity or a NaN in the channel: its finite magnitudes again, with float comparisons.
      let high = 0;
      for (let index = channel; index < length; index += channels) {
        const magnitude = Math.abs(values[index]!);
        if (magnitude > high) {
          if (magnitude === Number.POSITIVE_INFINITY) infinite = true;
          else high = magnitude;
        }
      }
      maxima[channel] = high;
    }
  } else {
    for (let start = 0, channel = 0; start < length; start += inner) {
      let high = maxima[channel]!;
      const end = Math.min(length, start + inner);
      for (let index = start; index < end; index++) {
        const magnitude = Math.abs(values[index]!);
        if (magnitude > high) {
          if (magnitude === Number.POSITIVE_INFINITY) infinite = true;
          else high = magnitude;
        }
      }
      maxima[channel] = high;
      if (++channel === channels) channel = 0;
    }
  }
  return { minima: maxima.map((magnitude) => -magnitude), maxima, infinite };
}

/**
 * Adding and subtracting 1.5 * 2^52 rounds a double to an integer, ties to even, as QuantizeLinear does. Exact for
 * |x| < 2^51; larger values keep their sign and lie far outside every integer type, so they saturate the same.
 */
const ROUNDING_CONSTANT = 6755399441055744;

/** QuantizeLinear before saturation: round_half_even(float32(value / scale)) + zero point; NaN stays NaN. */
function quantizeUnsaturated(value: number, scale: number, zeroPoint: number): number {
  return Math.fround(value / scale) + ROUNDING_CONSTANT - ROUNDING_CONSTANT + zeroPoint;
}

/*
 * The loops below write QuantizeLinear's arithmetic (quantizeUnsaturated, then saturation) out in place, with
 * locals rather than properties (which would be loaded again for every element), which V8 compiles measurably
 * better than the same calls inlined. Storing NaN in a typed array stores 0.
 */

/** Channel axis last, every zero point 0: NaN passes Math.min and Math.max, and is stored as 0, the zero point. */
function quantizeInterleavedAroundZero(
  values: Float32Array,
  data: StaticQuantizedTensor['data'],
  scales: Float32Array,
  integers: { min: number; max: number },
  saturate: boolean,
): void {
  const channels = scales.length;
  const length = values.length;
  const lowest = integers.min;
  const highest = integers.max;
  for (let start = 0; start < length; start += channels) {
    for (let channel = 0; channel < channels; channel++) {
      const index = start + channel;
      const quantized = Math.fround(values[index]! / scales[channel]!) + ROUNDING_CONSTANT - ROUNDING_CONSTANT;
      data[index] = saturate ? Math.min(highest, Math.max(lowest, quantized)) : quantized;
    }
  }
}

/** Channel axis last: element `index` belongs to channel `index % channels`. */
function quantizeInterleaved(
  values: Float32Array,
  data: StaticQuantizedTensor['data'],
  scales: Float32Array,
  zeroPoints: Int32Array,
  integers: { min: number; max: number },
  saturate: boolean,
): void {
  const channels = scales.length;
  const length = values.length;
  const lowest = integers.min;
  const highest = integers.max;
  for (let start = 0; start < length; start += channels) {
    for (let channel = 0; channel < channels; channel++) {
      const index = start + channel;
      const zeroPoint = zeroPoints[channel]!;
      const quantized =
        Math.fround(values[index]! / scales[channel]!) + ROUNDING_CONSTANT - ROUNDING_CONSTANT + zeroPoint;
      if (Number.isNaN(quantized)) data[index] = zeroPoint;
      else data[index] = saturate ? Math.min(highest, Math.max(lowest, quantized)) : quantized;
    }
  }
}

/** Runs of `inner` consecutive elements, the runs cycling through the channels. */
function quantizeRuns(
  values: Float32Array,
  data: StaticQuantizedTensor['data'],
  scales: Float32Array,
  zeroPoints: Int32Array,
  inner: number,
  integers: { min: number; max: number },
  saturate: boolean,
): void {
  const channels = scales.length;
  const length = values.length;
  const lowest = integers.min;
  const highest = integers.max;
  for (let start = 0, channel = 0; start < length; start += inner) {
    const scale = scales[channel]!;
    const zeroPoint = zeroPoints[channel]!;
    const end = Math.min(length, start + inner);
    for (let index = start; index < end; index++) {
      const quantized = Math.fround(values[index]! / scale) + ROUNDING_CONSTANT - ROUNDING_CONSTANT + zeroPoint;
      if (Number.isNaN(quantized)) data[index] = zeroPoint;
      else data[index] = saturate ? Math.min(highest, Math.max(lowest, quantized)) : quantized;
    }
    if (++channel === channels) channel = 0;
  }
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
