/**
 * Bias correction: rounding a weight changes the mean of the op's output by (Wq − W) · E[x], which per-channel
 * scales do nothing about. The kernels that suffer most sum to almost zero (edge detectors: a 3×3 depthwise kernel of
 * PP-OCR's recognizer sums to 0.003 while its largest weight is 6), so rounding multiplies their response to the
 * input's mean by 10 or more; layer after layer that shift, not the rounding noise, is what takes a network apart
 * (the recognizer keeps 12.7 dB with int8 weights alone, 27 dB with this correction). The shift is computed from the
 * per-channel means of the op's input, recorded by calibration, and subtracted from the bias.
 */
import type { Node } from '@whittle/ir';
import type { StaticQuantizedTensor } from './static-weights.js';

/** The mean of each channel of a tensor along one axis, as a calibration table records it. */
export interface ChannelMeans {
  axis: number;
  values: readonly number[];
}

/**
 * True when means along `axis` are the ones the correction needs for this op's data input: channels (axis 1) for
 * Conv and for Gemm without transA, the reduced axis K (the last: -1, or rank − 1) for MatMul.
 */
export function meansFitInput(node: Node, axis: number, inputRank: number | undefined): boolean {
  switch (node.opType) {
    case 'Conv':
      return axis === 1;
    case 'Gemm':
      return axis === 1 && (node.intAttribute('transA', 0) ?? 0) === 0;
    case 'MatMul':
      return axis === -1 || (inputRank !== undefined && axis === inputRank - 1);
    default:
      return false;
  }
}

function dequantizedAt(weight: StaticQuantizedTensor, index: number, channel: number): number {
  const scale = weight.scales.length === 1 ? weight.scales[0]! : weight.scales[channel]!;
  const zeroPoint = weight.zeroPoints.length === 1 ? weight.zeroPoints[0]! : weight.zeroPoints[channel]!;
  return (weight.data[index]! - zeroPoint) * scale;
}

/**
 * Per output channel, the mean that rounding the weight adds to the output: Σ (Wq − W) · mean over the inputs each
 * output reads. Undefined when the shapes do not fit the op (the caller leaves the bias as it is).
 * Conv: W[M, C/g, k...], output o reads input channels of its group; Gemm: B[K, N] or, with transB, B[N, K];
 * MatMul: a 2-D B[K, N].
 */
export function weightRoundingShift(
  node: Node,
  original: Float32Array,
  weight: StaticQuantizedTensor,
  means: readonly number[],
): Float64Array | undefined {
  const dims = weight.dims;
  if (node.opType === 'Conv') {
    if (dims.length < 3) return undefined;
    const outputs = dims[0]!;
    const channelsPerGroup = dims[1]!;
    const groups = node.intAttribute('group', 1) ?? 1;
    if (outputs % groups !== 0 || channelsPerGroup * groups !== means.length) return undefined;
    const kernel = original.length / (outputs * channelsPerGroup);
    const outputsPerGroup = outputs / groups;
    const shift = new Float64Array(outputs);
    for (let output = 0; output < outputs; output++) {
      const firstChannel = Math.floor(output / outputsPerGroup) * channelsPerGroup;
      let sum = 0;
      for (let channel = 0; channel < channelsPerGroup; channel++) {
        const start = (output * channelsPerGroup + channel) * kernel;
        let error = 0;
        for (let index = start; index < start + kernel; index++)
          error += dequantizedAt(weight, index, output) - original[index]!;
        sum += error * means[firstChannel + channel]!;
      }
      shift[output] = sum;
    }
    return shift;
  }
  if (node.opType !== 'Gemm' && node.opType !== 'MatMul') return undefined;
  if (dims.length !== 2) return undefined;
  const transposed = node.opType === 'Gemm' && (node.intAttribute('transB', 0) ?? 0) !== 0;
  const [inner, outputs] = transposed ? [dims[1]!, dims[0]!] : [dims[0]!, dims[1]!];
  if (inner !== means.length) return undefined;
  const shift = new Float64Array(outputs);
  for (let row = 0; row < dims[0]!; row++) {
    for (let column = 0; column < dims[1]!; column++) {
      const index = row * dims[1]! + column;
      const [input, output] = transposed ? [column, row] : [row, column];
      shift[output]! += (dequantizedAt(weight, index, output) - original[index]!) * means[input]!;
    }
  }
  return shift;
}
