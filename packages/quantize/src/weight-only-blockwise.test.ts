import { DataType } from '@whittle/ir';
import { Random } from '@whittle/test-fixtures';
import { describe, expect, it } from 'vitest';
import { computeQuantizationParameters, integerRange, quantizeValue } from './quantization-parameters.js';
import {
  type BlockSettings,
  packMatMulNBitsWeights,
  packMatMulNBitsZeroPoints,
  quantizeBlocks,
  quantizeMatMulNBits,
  quantizedTypeOf,
  type WeightLayout,
} from './weight-only-blockwise.js';

/** The definition quantizeBlocks must match exactly: computeQuantizationParameters and quantizeValue per element. */
function referenceBlocks(
  rows: number,
  length: number,
  read: (row: number, index: number) => number,
  settings: BlockSettings,
) {
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
      const magnitude = Math.max(-low, high);
      const parameters = settings.symmetric
        ? computeQuantizationParameters(-magnitude, magnitude, type, { symmetric: true, narrow: true })
        : computeQuantizationParameters(low, high, type, { symmetric: false });
      scales[row * blocks + block] = parameters.scale;
      zeroPoints[row * blocks + block] = parameters.zeroPoint;
      for (let index = start; index < end; index++) {
        const value = read(row, index);
        values[row * length + index] = Number.isNaN(value)
          ? parameters.zeroPoint
          : quantizeValue(value, parameters.scale, parameters.zeroPoint, range);
      }
    }
  }
  return { values, scales, zeroPoints };
}

/** Float32 values with ties, zeros, NaN and a spread of magnitudes. */
function randomWeights(random: Random, count: number): Float32Array {
  return Float32Array.from({ length: count }, () => {
    const roll = random.next();
    if (roll < 0.01) return Number.NaN;
    if (roll < 0.05) return 0;
    // Multiples of 1/2 and 1/4 in blocks whose largest magnitude is a multiple of 7 make ties of x / scale.
    if (roll < 0.25) return random.integer(-28, 29) / random.pick([2, 4]);
    return random.uniform(-1, 1) * random.pick([1e-3, 1, 50]);
  });
}

/** The bytes of W [K, N] laid out as `layout` says, `misalignment` bytes past a 4-byte boundary. */
function layoutBytes(values: Float32Array, k: number, n: number, layout: WeightLayout, misalignment = 0): Uint8Array {
  const laidOut =
    layout === 'k-by-n'
      ? values
      : Float32Array.from({ length: k * n }, (_, at) => values[(at % k) * n + Math.floor(at / k)]!);
  const buffer = new Uint8Array(laidOut.byteLength + misalignment);
  buffer.set(new Uint8Array(laidOut.buffer), misalignment);
  return buffer.subarray(misalignment);
}

describe('quantizeBlocks', () => {
  it('matches computeQuantizationParameters and quantizeValue per element', () => {
    const random = new Random(5);
    for (let trial = 0; trial < 40; trial++) {
      const settings: BlockSettings = {
        bits: random.pick([4, 8] as const),
        blockSize: random.pick([16, 32, 64]),
        symmetric: random.next() < 0.5,
      };
      const rows = random.integer(1, 6);
      const length = random.integer(1, 150);
      const values = randomWeights(random, rows * length);
      // Every block keeps one finite value: a block of NaN alone has no range (tested below).
      for (let index = 0; index < values.length; index += settings.blockSize) values[index] = random.uniform(-3, 3);
      const read = (row: number, index: number) => values[row * length + index]!;
      const actual = quantizeBlocks(rows, length, read, settings);
      const expected = referenceBlocks(rows, length, read, settings);
      expect([...actual.scales]).toEqual([...expected.scales]);
      expect([...actual.zeroPoints]).toEqual([...expected.zeroPoints]);
      expect([...actual.values]).toEqual([...expected.values]);
    }
  });
});

describe('quantizeMatMulNBits', () => {
  const cases: [WeightLayout, BlockSettings][] = [];
  for (const layout of ['k-by-n', 'n-by-k'] as const)
    for (const bits of [4, 8] as const)
      for (const symmetric of [true, false]) cases.push([layout, { bits, blockSize: 32, symmetric }]);

  it.each(cases)('%s %o: the bytes of quantizeBlocks then packMatMulNBitsWeights, at any alignment', (layout, base) => {
    const random = new Random(base.bits + (base.symmetric ? 1 : 0) + (layout === 'k-by-n' ? 10 : 0));
    for (const [k, n, blockSize] of [
      [64, 24, 32],
      [71, 9, 32],
      [33, 5, 16],
      [200, 3, 128],
      [1, 4, 32],
      [130, 17, 64],
      // Blobs that are not a multiple of 8 bytes (MatMulNBits takes 16 to 256; the packing does not care).
      [41, 6, 24],
      [19, 7, 12],
    ] as const) {
      const settings = { ...base, blockSize };
      const values = randomWeights(random, k * n);
      // Every block of every column keeps one finite value: a block of NaN alone has no range (tested below).
      for (let row = 0; row < k; row += blockSize)
        for (let column = 0; column < n; column++) values[row * n + column] = 1;
      const bytes = layoutBytes(values, k, n, layout, random.integer(0, 4));
      const quantized = quantizeBlocks(n, k, (column, row) => values[row * n + column]!, settings);
      const packed = quantizeMatMulNBits(bytes, k, n, layout, settings);
      expect(packed.blocks).toBe(quantized.blocks);
      expect([...packed.scales]).toEqual([...quantized.scales]);
      expect([...packed.weights]).toEqual([...packMatMulNBitsWeights(quantized, settings)]);
      if (settings.symmetric) expect(packed.zeroPoints).toBeUndefined();
      else expect([...packed.zeroPoints!]).toEqual([...packMatMulNBitsZeroPoints(quantized, settings)]);
    }
  });

  it('saturates the asymmetric blocks whose rounded extremes fall outside the type', () => {
    // [-0.9375, 0.9375] has scale 1.875 / 15 = 0.125 and zero point round(7.5) = 8; 0.9375 / 0.125 = 7.5 rounds to
    // 8 as well, which makes 16: it saturates to 15. Column 1 stays inside the range.
    const settings: BlockSettings = { bits: 4, blockSize: 16, symmetric: false };
    const k = 16;
    const n = 2;
    const values = Float32Array.from({ length: k * n }, (_, at) => {
      const row = Math.floor(at / n);
      if (at % n === 1) return row / 16;
      return row === 0 ? -0.9375 : row === 1 ? 0.9375 : ((row % 7) - 3) / 6;
    });
    const quantized = quantizeBlocks(n, k, (column, row) => values[row * n + column]!, settings);
    expect(quantized.values[1]).toBe(15);
    for (const layout of ['k-by-n', 'n-by-k'] as const) {
      const packed = quantizeMatMulNBits(layoutBytes(values, k, n, layout), k, n, layout, settings);
      expect([...packed.weights]).toEqual([...packMatMulNBitsWeights(quantized, settings)]);
    }
  });

  it('rejects blocks without a finite range as quantizeBlocks does', () => {
    const settings: BlockSettings = { bits: 4, blockSize: 32, symmetric: true };
    for (const poison of [Number.POSITIVE_INFINITY, Number.NaN]) {
      // An infinite value, or a column of NaN alone.
      // W [32, 2]: column 1 holds the poison (once if infinite, throughout if NaN).
      const values = Float32Array.from({ length: 32 * 2 }, (_, at) =>
        at % 2 === 1 && (at === 5 || Number.isNaN(poison)) ? poison : 1,
      );
      let message = '';
      try {
        quantizeBlocks(2, 32, (column, row) => values[row * 2 + column]!, settings);
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toMatch(/cannot quantize the range/);
      for (const layout of ['k-by-n', 'n-by-k'] as const) {
        const bytes = layoutBytes(values, 32, 2, layout);
        expect(() => quantizeMatMulNBits(bytes, 32, 2, layout, settings)).toThrow(message);
      }
    }
  });

  it('rejects bytes that do not hold K × N float32 values', () => {
    const settings: BlockSettings = { bits: 4, blockSize: 32, symmetric: true };
    expect(() => quantizeMatMulNBits(new Uint8Array(4 * 31), 32, 1, 'k-by-n', settings)).toThrow(/124/);
  });

  it('gives the same bytes when no block holds a NaN (the kernels then set the symmetric scales too)', () => {
    const random = new Random(31);
    for (const layout of ['k-by-n', 'n-by-k'] as const) {
      for (const bits of [4, 8] as const) {
        // K a multiple of the block size, and not: whole blocks only, then a short last block of 100 - 96 = 4.
        // Several groups of columns copied in (300 x 700 values), and a column longer than a group (70,001).
        for (const [k, n] of [
          [128, 37],
          [100, 9],
          [300, 700],
          [70_001, 2],
        ] as const) {
          const settings = { bits, blockSize: 32, symmetric: true };
          const values = Float32Array.from({ length: k * n }, () => random.uniform(-2, 2));
          const bytes = layoutBytes(values, k, n, layout, 1);
          const quantized = quantizeBlocks(n, k, (column, row) => values[row * n + column]!, settings);
          const packed = quantizeMatMulNBits(bytes, k, n, layout, settings);
          expect([...packed.scales]).toEqual([...quantized.scales]);
          expect([...packed.weights]).toEqual([...packMatMulNBitsWeights(quantized, settings)]);
        }
      }
    }
  });

  it('stores symmetric int4 codes offset by 8 and NaN as the zero point', () => {
    const settings: BlockSettings = { bits: 4, blockSize: 16, symmetric: true };
    const values = Float32Array.from({ length: 16 }, (_, index) => (index === 3 ? Number.NaN : index - 8));
    const packed = quantizeMatMulNBits(new Uint8Array(values.buffer), 16, 1, 'n-by-k', settings);
    expect(packed.scales[0]).toBe(Math.fround(8 / 7));
    // Element 3 is NaN: code 8, the high nibble of byte 1.
    expect(packed.weights[1]! >> 4).toBe(8);
    expect(packed.weights[0]! & 0x0f).toBe(-7 + 8);
    expect(DataType[quantizedTypeOf(settings)]).toBe('INT4');
  });
});
