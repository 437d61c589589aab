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
import { WhittleError } from '@whittle/spec';
import {
  computeQuantizationParameters,
  dequantizeValue,
  INFINITY_BITS,
  integerRange,
  smallInteger,
  symmetricSignedScale,
} from './quantization-parameters.js';
import { BLOCK_VALUES, KernelWorkspace, parameterRegions, storeParameters } from './weight-kernels.js';

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
 * Adding and subtracting 1.5 * 2^52 rounds a double to an integer, ties to even, as QuantizeLinear does. Exact for
 * |x| < 2^51; larger values keep their sign and lie far outside every integer type, so they saturate the same.
 */
const ROUNDING_CONSTANT = 6755399441055744;

/**
 * The scale of a symmetric block from its largest magnitude: -Infinity when every value is NaN, Infinity when one is
 * infinite; computeQuantizationParameters rejects those ranges (QUANTIZE_INVALID_RANGE).
 */
function symmetricBlockScale(magnitude: number, type: DataType, integerMax: number): number {
  if (magnitude >= 0 && magnitude < Number.POSITIVE_INFINITY) return symmetricSignedScale(magnitude, integerMax);
  return computeQuantizationParameters(-magnitude, magnitude, type, { symmetric: true, narrow: true }).scale;
}

/**
 * Quantize `rows` vectors of `length` elements; element `j` of row `r` is `read(r, j)`. Symmetric blocks take the
 * narrow signed range (scale = max|x| / 7 or / 127, so +x and -x stay opposite); asymmetric blocks span
 * [min, max] widened to include 0, so zero is exact (computeQuantizationParameters). Each value is QuantizeLinear's
 * saturate(round_half_even(x / scale) + zero point) in float32; NaN becomes the zero point.
 */
export function quantizeBlocks(
  rows: number,
  length: number,
  read: (row: number, index: number) => number,
  settings: BlockSettings,
): BlockQuantized {
  const type = quantizedTypeOf(settings);
  const { min: lowest, max: highest } = integerRange(type, { narrow: settings.symmetric });
  // Dims may arrive as doubles: small integers keep the loops' index arithmetic integral.
  rows = smallInteger(rows);
  length = smallInteger(length);
  const blocks = smallInteger(Math.ceil(length / settings.blockSize));
  const values = new Int16Array(rows * length);
  const scales = new Float32Array(rows * blocks);
  const zeroPoints = new Int16Array(rows * blocks);
  // One block's float32 values: `read` is called once per element.
  const block = new Float64Array(settings.blockSize);
  for (let row = 0; row < rows; row++) {
    for (let blockIndex = 0; blockIndex < blocks; blockIndex++) {
      const start = blockIndex * settings.blockSize;
      const count = Math.min(length, start + settings.blockSize) - start;
      let low = Number.POSITIVE_INFINITY;
      let high = Number.NEGATIVE_INFINITY;
      for (let index = 0; index < count; index++) {
        const value = Math.fround(read(row, start + index));
        block[index] = value;
        if (value < low) low = value;
        if (value > high) high = value;
      }
      let scale: number;
      let zeroPoint = 0;
      if (settings.symmetric) {
        scale = symmetricBlockScale(Math.max(-low, high), type, highest);
      } else {
        ({ scale, zeroPoint } = computeQuantizationParameters(low, high, type, { symmetric: false }));
      }
      scales[row * blocks + blockIndex] = scale;
      zeroPoints[row * blocks + blockIndex] = zeroPoint;
      const offset = row * length + start;
      for (let index = 0; index < count; index++) {
        const quantized = Math.fround(block[index]! / scale) + ROUNDING_CONSTANT - ROUNDING_CONSTANT + zeroPoint;
        values[offset + index] = Number.isNaN(quantized) ? zeroPoint : Math.min(highest, Math.max(lowest, quantized));
      }
    }
  }
  return { rows, length, blocks, values, scales, zeroPoints, type };
}

/** The constant inputs of MatMulNBits for one weight. */
export interface MatMulNBitsWeights {
  blocks: number;
  /** B: uint8 [N, blocks, blockSize * bits / 8]. */
  weights: Uint8Array;
  /** [N * blocks]. */
  scales: Float32Array;
  /** Asymmetric only: uint8 [N * ceil(blocks * bits / 8)]. */
  zeroPoints: Uint8Array | undefined;
}

/** How a weight's float32 elements are laid out: W [K, N] row-major (MatMul), or its transpose [N, K] (Gemm transB). */
export type WeightLayout = 'k-by-n' | 'n-by-k';

/**
 * Quantize a float32 weight W [K, N] straight into MatMulNBits' inputs: the same bytes as quantizeBlocks over its
 * N columns followed by packMatMulNBitsWeights and packMatMulNBitsZeroPoints, without a call per element or the
 * Int16Array in between. `bytes` holds the elements, little-endian, at any alignment. A [K, N] weight is processed
 * one block of K rows at a time: the block stays in cache while the ranges of its N columns are found and its values
 * quantized, and memory is read once, front to back. A transposed [N, K] weight, a group of whole columns at a time.
 */
export function quantizeMatMulNBits(
  bytes: Uint8Array,
  k: number,
  n: number,
  layout: WeightLayout,
  settings: BlockSettings,
): MatMulNBitsWeights {
  if (bytes.byteLength !== k * n * Float32Array.BYTES_PER_ELEMENT) {
    throw new WhittleError(
      'TENSOR_DATA_SIZE_MISMATCH',
      `a float32 weight [${k}, ${n}] has ${k * n * Float32Array.BYTES_PER_ELEMENT} bytes, not ${bytes.byteLength}`,
    );
  }
  const { bits, blockSize, symmetric } = settings;
  const type = quantizedTypeOf(settings);
  const { min: lowest, max: highest } = integerRange(type, { narrow: symmetric });
  const blocks = smallInteger(Math.ceil(k / blockSize));
  const blobSize = smallInteger((blockSize * bits) / 8);
  const output: PackedOutput = {
    type,
    symmetric,
    lowest,
    highest,
    // Symmetric codes are stored offset by MatMulNBits' default zero point.
    offset: symmetric ? 2 ** (bits - 1) : 0,
    bits,
    blockSize,
    blobSize,
    blocks,
    weights: new Uint8Array(n * blocks * blobSize),
    scales: new Float32Array(n * blocks),
    zeroPoints: new Int16Array(n * blocks),
  };
  // Dims may arrive as doubles: small integers keep the loops' index arithmetic integral.
  // An empty weight has no blocks to lay out.
  if (k > 0 && n > 0 && layout === 'k-by-n') quantizeRowBlocks(output, bytes, smallInteger(k), smallInteger(n));
  else if (k > 0 && n > 0) quantizeColumns(output, bytes, smallInteger(k), smallInteger(n));
  return {
    blocks,
    weights: output.weights,
    scales: output.scales,
    zeroPoints: symmetric ? undefined : packZeroPointRows(output.zeroPoints, n, blocks, bits),
  };
}

/** What quantizeMatMulNBits' loops share. */
interface PackedOutput {
  type: DataType;
  symmetric: boolean;
  lowest: number;
  highest: number;
  /** Added to a quantized value to give its stored code. */
  offset: number;
  bits: 4 | 8;
  blockSize: number;
  /** Bytes of B per block of one column. */
  blobSize: number;
  blocks: number;
  weights: Uint8Array;
  scales: Float32Array;
  zeroPoints: Int16Array;
}

/** QuantizeLinear before saturation: round_half_even(float32(value / scale)) + zero point; NaN stays NaN. */
function quantizeUnsaturated(value: number, scale: number, zeroPoint: number): number {
  return Math.fround(value / scale) + ROUNDING_CONSTANT - ROUNDING_CONSTANT + zeroPoint;
}

/** The stored code of a value quantized before saturation (quantizeUnsaturated); NaN gives the zero point's. */
function codeOf(quantized: number, zeroPoint: number, lowest: number, highest: number, offset: number): number {
  if (Number.isNaN(quantized)) return zeroPoint + offset;
  return (Math.min(highest, Math.max(lowest, quantized)) | 0) + offset;
}

/**
 * Sets the scale and zero point of one block of one column from its range (symmetric: from its largest magnitude
 * `high`).
 */
function blockParameters(output: PackedOutput, column: number, block: number, low: number, high: number): void {
  const at = column * output.blocks + block;
  if (output.symmetric) {
    output.scales[at] = symmetricBlockScale(high, output.type, output.highest);
    output.zeroPoints[at] = 0;
    return;
  }
  const { scale, zeroPoint } = computeQuantizationParameters(low, high, output.type, { symmetric: false });
  output.scales[at] = scale;
  output.zeroPoints[at] = zeroPoint;
}

/**
 * W [K, N] row-major: one block of K rows, all N columns, at a time, copied into the kernels' memory. The kernels
 * find the columns' largest magnitudes and write the codes; the parameters and the rare odd last row stay here.
 */
function quantizeRowBlocks(output: PackedOutput, bytes: Uint8Array, k: number, n: number): void {
  const { blockSize, blobSize, blocks, bits } = output;
  const workspace = new KernelWorkspace({
    ...parameterRegions(n),
    maxima: n * 4,
    input: blockSize * n * 4,
    // One block's blobs [N, blobSize], then B and the scales of symmetric blocks in MatMulNBits' order
    // [N, blocks, ...], filled block by block.
    blobs: n * blobSize,
    weights: n * blocks * blobSize,
    allScales: n * blocks * 4,
  });
  const { kernels } = workspace;
  const at = (name: string) => workspace.offset(name);
  const lows = new Float64Array(n);
  const highs = new Float64Array(n);
  const maximumBits = workspace.integers('maxima', n);
  const magnitudes = workspace.floats('maxima', n);
  const scales = new Float32Array(n);
  const zeroPoints = new Int32Array(n);
  const parameters = { scales, zeroPoints, lowest: output.lowest, highest: output.highest };
  const blockScales = workspace.floats('scales', n);
  const blobs = workspace.bytes('blobs', n * blobSize);
  // Symmetric blocks keep zero point 0, so only their scales change from block to block.
  storeParameters(workspace, parameters, n);
  for (let block = 0; block < blocks; block++) {
    const firstRow = block * blockSize;
    const rows = Math.min(blockSize, k - firstRow);
    workspace.load('input', bytes, firstRow * n, rows * n);
    const values = workspace.floats('input', rows * n);
    if (output.symmetric) {
      maximumBits.fill(0);
      kernels.magnitudeColumns(at('input'), rows, n, at('maxima'));
    }
    if (output.symmetric && allFinite(maximumBits)) {
      // The kernel divides the magnitudes by the largest integer, as symmetricSignedScale does.
      kernels.symmetricScales(at('maxima'), n, output.highest, at('scales'), at('allScales') + block * 4, blocks * 4);
    } else {
      if (output.symmetric) {
        // Patterns above infinity's are NaN: such a column is searched again with float comparisons.
        for (let column = 0; column < n; column++) {
          if (maximumBits[column]! > INFINITY_BITS) maximumBits[column] = nanFreeMagnitudeBits(values, rows, n, column);
        }
      } else columnRanges(values, rows, n, lows, highs);
      for (let column = 0; column < n; column++) {
        blockParameters(output, column, block, lows[column]!, output.symmetric ? magnitudes[column]! : highs[column]!);
        scales[column] = output.scales[column * blocks + block]!;
        zeroPoints[column] = output.zeroPoints[column * blocks + block]!;
      }
      storeParameters(workspace, parameters, n);
      if (output.symmetric) {
        const allScales = workspace.floats('allScales', n * blocks);
        for (let column = 0; column < n; column++) allScales[column * blocks + block] = scales[column]!;
      }
    }
    // With 4 bits the kernel codes rows in pairs; an odd last row pairs with the padding, below.
    const paired = bits === 4 ? rows - (rows % 2) : rows;
    kernels.codeColumns(
      ...[at('input'), paired, n, at('scales'), at('zeroPoints'), at('lows'), at('highs')],
      ...[output.offset, bits, at('blobs'), blobSize],
    );
    finishBlobs(output, values, rows, { scales: blockScales, zeroPoints: workspace.integers('zeroPoints', n) }, blobs);
    kernels.scatterBlobs(at('blobs'), n, blobSize, at('weights') + block * blobSize, blocks * blobSize);
  }
  output.weights.set(workspace.bytes('weights', n * blocks * blobSize));
  if (output.symmetric) output.scales.set(workspace.floats('allScales', n * blocks));
}

/** Whether every pattern of magnitudes is that of a finite float (no infinity, no NaN). */
function allFinite(patterns: Int32Array): boolean {
  for (let index = 0; index < patterns.length; index++) if (patterns[index]! >= INFINITY_BITS) return false;
  return true;
}

/** The bit pattern of the largest magnitude of a column leaving NaN out; that of -Infinity when all are NaN. */
function nanFreeMagnitudeBits(values: Float32Array, rows: number, columns: number, column: number): number {
  let magnitude = Number.NEGATIVE_INFINITY;
  for (let index = column; index < rows * columns; index += columns) {
    if (Math.abs(values[index]!) > magnitude) magnitude = Math.abs(values[index]!);
  }
  return new Int32Array(Float32Array.of(magnitude).buffer)[0]!;
}

/** Per column of a [rows, columns] block, its smallest and largest value (NaN left out, infinities kept). */
function columnRanges(
  values: Float32Array,
  rows: number,
  columns: number,
  lows: Float64Array,
  highs: Float64Array,
): void {
  lows.fill(Number.POSITIVE_INFINITY);
  highs.fill(Number.NEGATIVE_INFINITY);
  for (let start = 0, end = rows * columns; start < end; start += columns) {
    for (let column = 0; column < columns; column++) {
      const value = values[start + column]!;
      if (value < lows[column]!) lows[column] = value;
      if (value > highs[column]!) highs[column] = value;
    }
  }
}

/**
 * What the kernel leaves of a block's blobs [columns, blobSize]: an odd last row (4 bits), whose high nibble is the
 * zero point's code, and past the end of K, the zero point's code.
 */
function finishBlobs(
  output: PackedOutput,
  values: Float32Array,
  rows: number,
  parameters: { scales: Float32Array; zeroPoints: Int32Array },
  blobs: Uint8Array,
): void {
  const { blobSize, lowest, highest, offset } = output;
  const { scales, zeroPoints } = parameters;
  const columns = scales.length;
  if (output.bits === 4 && rows % 2 === 1) {
    const start = (rows - 1) * columns;
    for (let column = 0; column < columns; column++) {
      const zeroPoint = zeroPoints[column]!;
      const quantized = quantizeUnsaturated(values[start + column]!, scales[column]!, zeroPoint);
      blobs[column * blobSize + ((rows - 1) >> 1)] =
        codeOf(quantized, zeroPoint, lowest, highest, offset) | ((zeroPoint + offset) << 4);
    }
  }
  const written = output.bits === 8 ? rows : Math.ceil(rows / 2);
  if (written === blobSize) return;
  for (let column = 0; column < columns; column++) {
    const code = zeroPoints[column]! + offset;
    const start = column * blobSize;
    blobs.fill(output.bits === 8 ? code : code | (code << 4), start + written, start + blobSize);
  }
}

/**
 * W transposed, [N, K] row-major: each column of W is contiguous, and is quantized block by block, a group of
 * columns at a time copied into the kernels' memory. Each block of K is a run with its own parameters: the kernels
 * find symmetric blocks' largest magnitudes and write every block's codes; the parameters are set here.
 */
function quantizeColumns(output: PackedOutput, bytes: Uint8Array, k: number, n: number): void {
  const { blockSize, blobSize, blocks, bits } = output;
  const columnsPerGroup = Math.max(1, Math.floor(BLOCK_VALUES / k));
  const runsPerGroup = columnsPerGroup * blocks;
  const workspace = new KernelWorkspace({
    ...parameterRegions(runsPerGroup),
    maxima: runsPerGroup * 4,
    input: columnsPerGroup * k * 4,
    codes: runsPerGroup * blobSize,
  });
  const { kernels } = workspace;
  const at = (name: string) => workspace.offset(name);
  const parameters = ['scales', 'zeroPoints', 'lows', 'highs'].map(at);
  // The blocks of one column: all but the last are whole; the last is short when K is not a multiple of the size.
  const last = k - (blocks - 1) * blockSize;
  const runsOfColumns = (columns: number, input: number, each: (...layout: number[]) => void) => {
    if (last === blockSize) each(input, columns * blocks, blockSize, 0);
    else {
      for (let column = 0; column < columns; column++) {
        const start = input + column * k * 4;
        if (blocks > 1) each(start, blocks - 1, blockSize, column * blocks);
        each(start + (blocks - 1) * blockSize * 4, 1, last, column * blocks + blocks - 1);
      }
    }
  };
  // Symmetric blocks: zero point 0 and the same bounds for every block; only the scales change.
  if (output.symmetric) {
    const { lowest, highest } = output;
    const zeros = new Int32Array(runsPerGroup);
    storeParameters(
      workspace,
      { scales: new Float32Array(runsPerGroup), zeroPoints: zeros, lowest, highest },
      runsPerGroup,
    );
  }
  for (let first = 0; first < n; first += columnsPerGroup) {
    const columns = Math.min(columnsPerGroup, n - first);
    workspace.load('input', bytes, first * k, columns * k);
    const values = workspace.floats('input', columns * k);
    const runs = columns * blocks;
    const maximumBits = workspace.integers('maxima', runs);
    if (output.symmetric) {
      maximumBits.fill(0);
      runsOfColumns(columns, at('input'), (input, count, length, run) =>
        kernels.magnitudeRuns(input, count, length, count, 0, at('maxima') + run * 4),
      );
    }
    const from = first * blocks;
    if (output.symmetric && allFinite(maximumBits)) {
      // Zero points and bounds stay those stored before the loop; the kernel divides the magnitudes by the largest
      // integer, as symmetricSignedScale does (its second copy of the scales goes to the same place).
      kernels.symmetricScales(at('maxima'), runs, output.highest, at('scales'), at('scales'), 4);
      output.scales.set(workspace.floats('scales', runs), from);
    } else {
      columnBlockParameters(output, values, first, columns, k, maximumBits);
      const parametersOfGroup = {
        scales: output.scales.subarray(from, from + runs),
        zeroPoints: output.zeroPoints.subarray(from, from + runs),
        lowest: output.lowest,
        highest: output.highest,
      };
      storeParameters(workspace, parametersOfGroup, runs);
    }
    runsOfColumns(columns, at('input'), (input, count, length, run) =>
      kernels.codeRuns(
        ...[input, count, length, ...parameters.map((offset) => offset + run * 4)],
        ...[output.offset, bits, at('codes') + run * blobSize, blobSize],
      ),
    );
    output.weights.set(workspace.bytes('codes', runs * blobSize), from * blobSize);
  }
}

/**
 * The parameters of the blocks of `columns` columns of a transposed weight from `first` on (`values` [columns, K]):
 * symmetric blocks from the largest magnitudes the kernel found (`maximumBits`), unless a block holds a NaN;
 * asymmetric ones, and those, from the range of their values, NaN left out.
 */
function columnBlockParameters(
  output: PackedOutput,
  values: Float32Array,
  first: number,
  columns: number,
  k: number,
  maximumBits: Int32Array,
): void {
  const { blockSize, blocks } = output;
  const magnitudes = new Float32Array(maximumBits.buffer, maximumBits.byteOffset, maximumBits.length);
  for (let column = 0; column < columns; column++) {
    for (let block = 0; block < blocks; block++) {
      const start = column * k + block * blockSize;
      const end = Math.min(start + blockSize, (column + 1) * k);
      const run = column * blocks + block;
      let low = Number.POSITIVE_INFINITY;
      let high = Number.NEGATIVE_INFINITY;
      if (output.symmetric && maximumBits[run]! <= INFINITY_BITS) high = magnitudes[run]!;
      else {
        for (let index = start; index < end; index++) {
          const value = values[index]!;
          if (value < low) low = value;
          if (value > high) high = value;
        }
        if (output.symmetric) high = Math.max(-low, high);
      }
      blockParameters(output, first + column, block, low, high);
    }
  }
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

/**
 * B of MatMulNBits: uint8 [N, k_blocks, blockSize * bits / 8], the padding of the last block at the zero point. The
 * straightforward packing of quantizeBlocks' values, which quantizeMatMulNBits' faster one is tested against.
 */
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
  return packZeroPointRows(quantized.zeroPoints, quantized.rows, quantized.blocks, settings.bits);
}

/** Zero points [rows, blocks] packed row by row, each row starting on a byte. */
function packZeroPointRows(zeroPoints: Int16Array, rows: number, blocks: number, bits: 4 | 8): Uint8Array {
  const rowBytes = Math.ceil((blocks * bits) / 8);
  const output = new Uint8Array(rows * rowBytes);
  for (let row = 0; row < rows; row++) {
    const points = zeroPoints.subarray(row * blocks, (row + 1) * blocks);
    output.set(bits === 4 ? packInt4(points, false) : Uint8Array.from(points), row * rowBytes);
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
