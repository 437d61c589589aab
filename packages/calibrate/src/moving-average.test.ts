import { describe, expect, it } from 'vitest';
import { DEFAULT_AVERAGING_CONSTANT, MovingAverageMinMax } from './moving-average.js';

describe('MovingAverageMinMax', () => {
  it('starts from the first batch and then moves by the averaging constant', () => {
    const average = new MovingAverageMinMax();
    expect(average.averagingConstant).toBe(DEFAULT_AVERAGING_CONSTANT);
    expect(Number.isNaN(average.averageMin)).toBe(true);
    average.update(-1, 2);
    expect([average.averageMin, average.averageMax]).toEqual([-1, 2]);
    average.update(-11, 102);
    expect(average.averageMin).toBeCloseTo(-1 + 0.01 * -10, 12);
    expect(average.averageMax).toBeCloseTo(2 + 0.01 * 100, 12);
    // The global extremes are kept alongside.
    expect([average.min, average.max]).toEqual([-11, 102]);
    expect(average.batches).toBe(2);
  });

  it('damps a single extreme batch, which the global extremes keep', () => {
    const average = new MovingAverageMinMax(0.1);
    for (let batch = 0; batch < 50; batch++) average.update(-1, 1);
    average.update(-100, 100);
    for (let batch = 0; batch < 50; batch++) average.update(-1, 1);
    expect(average.max).toBe(100);
    expect(average.averageMax).toBeLessThan(1.1);
    expect(average.averageMin).toBeGreaterThan(-1.1);
  });

  it('reads batches of values, skipping NaN, infinities and empty batches', () => {
    const average = new MovingAverageMinMax(0.5);
    average.observe(new Float32Array([3, Number.NaN, -2, Number.POSITIVE_INFINITY]));
    average.observe([Number.NaN]);
    average.observe([]);
    expect(average.batches).toBe(1);
    average.observe(new Float64Array([1, 5]));
    expect(average.averageMin).toBe(-0.5);
    expect(average.averageMax).toBe(4);
  });

  it('round-trips through JSON and rejects a bad constant', () => {
    const average = new MovingAverageMinMax(0.2);
    average.update(-3, 4);
    average.update(-1, 2);
    const copy = MovingAverageMinMax.fromJSON(JSON.parse(JSON.stringify(average.toJSON())));
    expect(copy.toJSON()).toEqual(average.toJSON());
    copy.update(0, 0);
    average.update(0, 0);
    expect(copy.averageMax).toBe(average.averageMax);
    for (const constant of [0, -0.1, 1.5, Number.NaN]) {
      expect(() => new MovingAverageMinMax(constant)).toThrowError(
        expect.objectContaining({ code: 'CALIBRATION_OPTIONS_INVALID' }),
      );
    }
  });
});
