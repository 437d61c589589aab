/**
 * Block-wise weight quantization for quantize-weights: a float32 matrix quantized in blocks of `blockSize`
 * consecutive elements along its reduction axis (K for a MatMul weight [K, N], D for an embedding [V, D]), one
 * scale (and, asymmetric, one zero point) per block, and the layouts the two output forms store:
 *
 * - com.microsoft MatMulNBits: B is uint8 [N, k_blocks, blob_size] with blob_size = blockSize * bits / 8, each
 *   column of the weight (a row of B) quantized along K and packed low nibble first (4 bits) or one byte per value
 *   (8 bits), the last block padded with the zero point; scales float32 [N * k_blocks]; zero points, when
 *   asymmetric, uint8 [N * ceil(k_blocks * bits / 8)], each row packed like B. Symmetric weights are stored with
 *   the offset 2^(bits - 1), MatMulNBits' default zero point, so they need no zero point input.
 * - ONNX DequantizeLinear (opset 21, `block_size`): the weight itself in int4/int8 (symmetric) or uint4/uint8
 *   (asymmetric), scales and zero points with the weight's shape but ceil(size / blockSize) along the axis.
 */
import { DataType, packInt4 } from '@whittle/ir';
import {
  computeQuantizationParameters,
  dequantizeValue,
  integerRange,
  quantizeValue,
} from './quantization-parameters.js';

export interface BlockSettings {
  bits: 4 | 8;
  blockSize: number;
  symmetric: boolean;
}

/**
 * A matrix quantized along its rows: `rows` independent vectors of length `length`, each in `blocks` blocks. For
 * a MatMul weight [K, N] the rows are the N columns (length K); for an embedding [V, D], the V rows (length D).
 */
export interface BlockQuantized {
  rows: number;
  length: number;
  blocks: number;
  /** Quantized values, row-major [rows, length], in the signed (symmetric) or unsigned (asymmetric) type. */
  values: Int16Array;
  /** [rows, blocks] */
  scales: Float32Array;
  /** [rows, blocks]; all 0 when symmetric. */
  zeroPoints: Int16Array;
  /** The integer type of `values`: INT4/INT8 when symmetric, UINT4/UINT8 when asymmetric. */
  type: DataType;
}

export function quantizedTypeOf(settings: BlockSettings): DataType {
  if (settings.symmetric) return settings.bits === 4 ? DataType.INT4 : DataType.INT8;
  return settings.bits === 4 ? DataType.UINT4 : DataType.UINT8;
}

/**
 * Quantize `rows` vectors of `length` elements; element `j` of row `r` is `read(r, j)`. Symmetric blocks take the
 * narrow signed range (scale = max|x| / 7 or / 127, so +x and -x stay opposite); asymmetric blocks span
 * [min, max] widened to include 0, so zero is exact (computeQuantizationParameters).
 */
export function quantizeBlocks(
  rows: number,
  length: number,
  read: (row: number, index: number) => number,
  settings: BlockSettings,
): BlockQuantized {
  const type = quantizedTypeOf(settings);
  const range = integerRange(type, { narrow: settings.symmetric });
  const blocks = Math.ceil(length / settings.blockSize);
  const values = new Int16Array(rows * length);
  const scales = new Float32Array(rows * blocks);
  const zeroPoints = new Int16Array(rows * blocks);
  for (let row = 0; row < rows; row++) {
    for (let block = 0; block < blocks; block++) {
      const start = block * settings.blockSize;
      const end = Math.min(length, start + settings.blockSize);
      let low = Number.POSITIVE_INFINITY;
      let high = Number.NEGATIVE_INFINITY;
      for (let index = start; index < end; index++) {
        const value = Math.fround(read(row, index));
        if (value < low) low = value;
        if (value > high) high = value;
      }
      const parameters = settings.symmetric
        ? computeQuantizationParameters(-Math.max(-low, high), Math.max(-low, high), type, {
            symmetric: true,
            narrow: true,
          })
        : computeQuantizationParameters(low, high, type, { symmetric: false });
      scales[row * blocks + block] = parameters.scale;
      zeroPoints[row * blocks + block] = parameters.zeroPoint;
      for (let index = start; index < end; index++) {
        values[row * length + index] = quantizeValue(read(row, index), parameters.scale, parameters.zeroPoint, range);
      }
    }
  }
  return { rows, length, blocks, values, scales, zeroPoints, type };
}

/** The float32 value a quantized element stands for: (q - zero point) * scale. */
export function dequantizedAt(quantized: BlockQuantized, row: number, index: number, blockSize: number): number {
  const block = row * quantized.blocks + Math.floor(index / blockSize);
  return dequantizeValue(
    quantized.values[row * quantized.length + index]!,
    quantized.scales[block]!,
    quantized.zeroPoints[block]!,
  );
}

/** MatMulNBits' stored code of a quantized value: symmetric values are offset by its default zero point. */
function storedCode(value: number, settings: BlockSettings): number {
  return settings.symmetric ? value + 2 ** (settings.bits - 1) : value;
}

/** B of MatMulNBits: uint8 [N, k_blocks, blockSize * bits / 8], the padding of the last block at the zero point. */
export function packMatMulNBitsWeights(quantized: BlockQuantized, settings: BlockSettings): Uint8Array {
  const padded = quantized.blocks * settings.blockSize;
  const rowBytes = (padded * settings.bits) / 8;
  const output = new Uint8Array(quantized.rows * rowBytes);
  const codes = new Uint8Array(padded);
  for (let row = 0; row < quantized.rows; row++) {
    for (let index = 0; index < padded; index++) {
      const value =
        index < quantized.length
          ? quantized.values[row * quantized.length + index]!
          : quantized.zeroPoints[row * quantized.blocks + quantized.blocks - 1]!;
      codes[index] = storedCode(value, settings);
    }
    output.set(settings.bits === 4 ? packInt4(codes, false) : codes, row * rowBytes);
  }
  return output;
}

/** Zero points of MatMulNBits (asymmetric only): uint8 [N * ceil(k_blocks * bits / 8)], each row packed like B. */
export function packMatMulNBitsZeroPoints(quantized: BlockQuantized, settings: BlockSettings): Uint8Array {
  const rowBytes = Math.ceil((quantized.blocks * settings.bits) / 8);
  const output = new Uint8Array(quantized.rows * rowBytes);
  for (let row = 0; row < quantized.rows; row++) {
    const points = quantized.zeroPoints.subarray(row * quantized.blocks, (row + 1) * quantized.blocks);
    output.set(settings.bits === 4 ? packInt4(points, false) : Uint8Array.from(points), row * rowBytes);
  }
  return output;
}

/**
 * Elements of a [rows, length] quantized matrix laid out as a tensor of DequantizeLinear: row-major
 * [rows, length] when the quantized axis is the last one, transposed to [length, rows] when it is the first (a
 * MatMul weight [K, N] quantized along K).
 */
export function dequantizeLinearLayout<T extends Int16Array | Float32Array>(
  data: T,
  rows: number,
  length: number,
  axis: 0 | 1,
): T {
  if (axis === 1) return data;
  const output = new (data.constructor as { new (size: number): T })(data.length);
  for (let row = 0; row < rows; row++) {
    for (let index = 0; index < length; index++) output[index * rows + row] = data[row * length + index]!;
  }
  return output;
}

/** Raw bytes of integers as an ONNX tensor of `type` stores them (4-bit types packed two per byte, low nibble first). */
export function integerTensorBytes(values: Int16Array, type: DataType): Uint8Array {
  switch (type) {
    case DataType.INT4:
      return packInt4(values, true);
    case DataType.UINT4:
      return packInt4(values, false);
    case DataType.INT8:
      return new Uint8Array(Int8Array.from(values).buffer);
    default:
      return Uint8Array.from(values);
  }
}
