import { DataType } from '@whittle/ir';
import { describe, expect, it } from 'vitest';
import {
  computeQuantizationParameters,
  dequantizeValue,
  integerRange,
  quantizeValue,
  roundHalfToEven,
} from './quantization-parameters.js';

describe('roundHalfToEven', () => {
  it('rounds ties to the even neighbour', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4, 2.6].map(roundHalfToEven)).toEqual([0, 2, 2, 0, -2, -2, 2, 3]);
  });
});

describe('computeQuantizationParameters', () => {
  it('makes zero exactly representable for ranges that exclude it', () => {
    for (const [low, high] of [
      [0.3, 2.7],
      [-5, -1],
      [-0.37, 4.11],
    ] as const) {
      const { scale, zeroPoint } = computeQuantizationParameters(low, high, DataType.UINT8, { symmetric: false });
      expect(dequantizeValue(quantizeValue(0, scale, zeroPoint, integerRange(DataType.UINT8)), scale, zeroPoint)).toBe(
        0,
      );
      expect(Number.isInteger(zeroPoint)).toBe(true);
    }
  });

  it('round-trips values within half a step', () => {
    const { scale, zeroPoint } = computeQuantizationParameters(-1.3, 2.9, DataType.INT8, { symmetric: false });
    const range = integerRange(DataType.INT8);
    for (let value = -1.3; value <= 2.9; value += 0.0137) {
      const back = dequantizeValue(quantizeValue(value, scale, zeroPoint, range), scale, zeroPoint);
      expect(Math.abs(back - value)).toBeLessThanOrEqual(scale / 2 + 1e-7);
    }
  });

  it('gives symmetric signed types a zero point of 0 and a narrow range', () => {
    const parameters = computeQuantizationParameters(-0.5, 2, DataType.INT8, { symmetric: true, narrow: true });
    expect(parameters.zeroPoint).toBe(0);
    expect(parameters.scale).toBeCloseTo(2 / 127, 7);
    const range = integerRange(DataType.INT8, { narrow: true });
    expect(quantizeValue(-2, parameters.scale, 0, range)).toBe(-127);
    expect(quantizeValue(2, parameters.scale, 0, range)).toBe(127);
  });

  it('centres symmetric unsigned types', () => {
    expect(computeQuantizationParameters(-1, 1, DataType.UINT8, { symmetric: true }).zeroPoint).toBe(128);
  });

  it('gives a constant-zero tensor a positive scale', () => {
    const { scale, zeroPoint } = computeQuantizationParameters(0, 0, DataType.UINT8, { symmetric: false });
    expect(scale).toBeGreaterThan(0);
    expect(zeroPoint).toBe(0);
  });

  it('saturates values outside the range', () => {
    const { scale, zeroPoint } = computeQuantizationParameters(-1, 1, DataType.INT8, { symmetric: true });
    expect(quantizeValue(100, scale, zeroPoint, integerRange(DataType.INT8))).toBe(127);
    expect(quantizeValue(-100, scale, zeroPoint, integerRange(DataType.INT8))).toBe(-128);
  });

  it('rejects ranges that are not numbers', () => {
    expect(() => computeQuantizationParameters(Number.NaN, 1, DataType.INT8, { symmetric: true })).toThrow(
      /cannot quantize/,
    );
  });
});
