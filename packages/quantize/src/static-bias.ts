/**
 * Biases of Conv, ConvTranspose and Gemm as int32 with scale input_scale × weight_scale (per output channel) and
 * zero point 0: the integer kernels add them straight to the int32 accumulator.
 */
import { DataType, type Node } from '@whittle/ir';
import { roundHalfToEven } from './quantization-parameters.js';
import type { StaticQuantizedTensor } from './static-weights.js';

export const INT32_MIN = -2147483648;
export const INT32_MAX = 2147483647;

/**
 * The scale of each bias element, or undefined when the bias cannot be expressed (its length matches neither one
 * scale nor the op's output channels). Each is float32(input_scale × weight_scale), the product the kernels form.
 * ConvTranspose with groups has M/g weight scales for M outputs: output o takes scale o mod M/g.
 */
export function biasScales(
  node: Node,
  biasLength: number,
  inputScale: number,
  weightScales: Float32Array,
): Float32Array | undefined {
  if (weightScales.length === 1) return Float32Array.of(Math.fround(inputScale * weightScales[0]!));
  if (weightScales.length === biasLength) return weightScales.map((scale) => Math.fround(inputScale * scale));
  if (node.opType === 'ConvTranspose' && biasLength % weightScales.length === 0) {
    const perGroup = weightScales.length;
    return Float32Array.from({ length: biasLength }, (_, output) =>
      Math.fround(inputScale * weightScales[output % perGroup]!),
    );
  }
  return undefined;
}

/**
 * The smallest weight scale per weight channel (`channels` of them; 1 for one scale) that keeps every bias element
 * within int32 at scale input × weight, with a factor 2 of headroom: a channel whose weights are all (nearly) zero
 * would otherwise get a scale so small that its bias saturates. ConvTranspose with groups maps output o to weight
 * channel o mod channels.
 */
export function biasWeightScaleFloors(bias: Float32Array, inputScale: number, channels: number): Float32Array {
  const floors = new Float32Array(channels);
  const limit = inputScale * 2 ** 30;
  for (let output = 0; output < bias.length; output++) {
    const channel = channels === 1 ? 0 : output % channels;
    const needed = Math.abs(bias[output]!) / limit;
    if (Number.isFinite(needed) && needed > floors[channel]!) floors[channel] = needed;
  }
  return floors;
}

export interface StaticQuantizedBias extends StaticQuantizedTensor {
  /** Elements that did not fit int32 and were saturated. */
  saturated: number;
}

/** Quantize a 1-D bias: q = round_half_even(b / scale[c]), saturated to int32; zero points 0. */
export function quantizeBias(values: Float32Array, scales: Float32Array): StaticQuantizedBias {
  const data = new Int32Array(values.length);
  let saturated = 0;
  for (let index = 0; index < values.length; index++) {
    const scale = scales.length === 1 ? scales[0]! : scales[index]!;
    const value = values[index]!;
    const quantized = Number.isNaN(value) ? 0 : roundHalfToEven(value / scale);
    if (quantized < INT32_MIN || quantized > INT32_MAX) saturated++;
    data[index] = Math.min(INT32_MAX, Math.max(INT32_MIN, quantized));
  }
  return {
    type: DataType.INT32,
    dims: [values.length],
    data,
    scales,
    zeroPoints: new Int32Array(scales.length),
    axis: scales.length === 1 ? undefined : 0,
    saturated,
  };
}
