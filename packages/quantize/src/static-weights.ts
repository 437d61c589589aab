/**
 * Weights of `quantize-static`: which axis carries the output channels of each op's weight, and the quantization of
 * float constants into integers with one scale per tensor or per channel.
 */
import { DataType, elementCountOf, type Node } from '@whittle/ir';
import { WhittleError } from '@whittle/spec';
import {
  computeQuantizationParameters,
  INFINITY_BITS,
  integerRange,
  quantizeValue,
  smallInteger,
} from './quantization-parameters.js';
import { type ChannelParameters, channelMagnitudeBits, floatsOfBytes, quantizeChannels } from './weight-kernels.js';

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
  return quantizeStaticBytes(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), dims, settings);
}

/**
 * quantizeStaticTensor of float32 values given as their little-endian bytes (a tensor's raw data, at any alignment):
 * the WebAssembly kernels copy them in a block at a time, so symmetric weights (the default) are never copied whole
 * first. Asymmetric ranges, and channels holding an infinity or a NaN, read the values as an array: a copy when the
 * bytes are not 4-byte aligned.
 */
export function quantizeStaticBytes(
  bytes: Uint8Array,
  dims: readonly number[],
  settings: StaticWeightSettings,
): StaticQuantizedTensor {
  const { type, symmetric } = settings;
  const axis = settings.axis !== undefined && settings.range === undefined ? settings.axis : undefined;
  const narrow = symmetric && (settings.narrow ?? false);
  const integers = integerRange(type, { narrow });
  const length = bytes.byteLength / 4;
  const elements = elementCountOf(dims);
  if (length !== elements) {
    throw new WhittleError(
      'TENSOR_DATA_SIZE_MISMATCH',
      `a float32 tensor [${dims.join(', ')}] has ${elements * 4} bytes, not ${bytes.byteLength}`,
    );
  }
  const channels = smallInteger(axis === undefined ? 1 : (dims[axis] ?? 1));
  // Elements are [outer, channels, inner] row-major: each channel owns runs of `inner` consecutive elements.
  const inner = smallInteger(
    axis === undefined ? length : dims.slice(axis + 1).reduce((product, dim) => product * dim, 1),
  );
  // The values as an array, for the JavaScript paths only: a copy when the bytes are not 4-byte aligned.
  let floats: Float32Array | undefined;
  const values = () => (floats ??= floatsOfBytes(bytes));
  // A symmetric range depends on the largest magnitude alone, which the kernels find.
  const { minima, maxima } =
    symmetric && settings.range === undefined
      ? magnitudeRanges(bytes, channels, inner)
      : channelRanges(values(), channels, inner);
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
  const data = typedArrayFor(type, length);
  const parameters = { scales, zeroPoints, lowest: integers.min, highest: integers.max };
  if (data instanceof Int32Array) quantizeWithoutKernels(values(), channels, inner, parameters, data);
  else quantizeChannels(bytes, channels, inner, parameters, data);
  return { type, dims: [...dims], data, scales, zeroPoints, axis };
}

interface ChannelRanges {
  /** Per channel, the smallest finite value; +Infinity when the channel has none. */
  minima: Float64Array;
  /** Per channel, the largest finite value; -Infinity when the channel has none. */
  maxima: Float64Array;
}

/**
 * The range of the finite values of each channel (NaN has no value). One sequential pass whatever the axis: a
 * pass per channel would read strided data.
 */
function channelRanges(values: Float32Array, channels: number, inner: number): ChannelRanges {
  const minima = new Float64Array(channels).fill(Number.POSITIVE_INFINITY);
  const maxima = new Float64Array(channels).fill(Number.NEGATIVE_INFINITY);
  const length = values.length;
  for (let start = 0, channel = 0; start < length; start += inner) {
    let low = minima[channel]!;
    let high = maxima[channel]!;
    const end = Math.min(length, start + inner);
    for (let index = start; index < end; index++) {
      const value = values[index]!;
      // NaN fails both comparisons; infinities are left out (they saturate).
      if (value < low && value !== Number.NEGATIVE_INFINITY) low = value;
      if (value > high && value !== Number.POSITIVE_INFINITY) high = value;
    }
    minima[channel] = low;
    maxima[channel] = high;
    if (++channel === channels) channel = 0;
  }
  return { minima, maxima };
}

/**
 * [-m, m] per channel, m the largest finite magnitude (0 when there is none): all that symmetric parameters
 * depend on (max(|min|, |max|)). The kernels find each channel's largest magnitude; a channel holding an infinity
 * or a NaN is searched again for its finite magnitudes.
 */
function magnitudeRanges(bytes: Uint8Array, channels: number, inner: number): ChannelRanges {
  const maximumBits = channelMagnitudeBits(bytes, channels, inner);
  const magnitudes = new Float32Array(maximumBits.buffer);
  const maxima = new Float64Array(channels);
  let values: Float32Array | undefined;
  for (let channel = 0; channel < channels; channel++) {
    if (maximumBits[channel]! < INFINITY_BITS) {
      maxima[channel] = magnitudes[channel]!;
      continue;
    }
    values ??= floatsOfBytes(bytes);
    let high = 0;
    for (let start = channel * inner; start < values.length; start += channels * inner) {
      for (let index = start; index < start + inner; index++) {
        const magnitude = Math.abs(values[index]!);
        if (magnitude > high && magnitude !== Number.POSITIVE_INFINITY) high = magnitude;
      }
    }
    maxima[channel] = high;
  }
  return { minima: maxima.map((magnitude) => -magnitude), maxima };
}

/** 32-bit integers, which the kernels do not write: QuantizeLinear's arithmetic one value at a time. */
function quantizeWithoutKernels(
  values: Float32Array,
  channels: number,
  inner: number,
  parameters: ChannelParameters,
  data: Int32Array,
): void {
  const range = { min: parameters.lowest, max: parameters.highest };
  for (let index = 0; index < values.length; index++) {
    const channel = Math.floor(index / inner) % channels;
    const zeroPoint = parameters.zeroPoints[channel]!;
    data[index] = Number.isNaN(values[index]!)
      ? zeroPoint
      : quantizeValue(values[index]!, parameters.scales[channel]!, zeroPoint, range);
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
