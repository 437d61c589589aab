import { WhittleError } from '@whittle/spec';
import { Random } from '@whittle/test-fixtures';
import { describe, expect, it } from 'vitest';
import { Histogram } from './histogram.js';
import { MovingAverageMinMax } from './moving-average.js';
import {
  computeRange,
  entropyThresholdIndex,
  type RangeMethod,
  type RangeOptions,
  type RangeStatistics,
} from './range-methods.js';
import { seededValues } from './test-support.js';

const N = 1_000_000;
const distributions = {
  uniform: seededValues(N, 1, (random) => -2 + 5 * random.next()),
  normal: seededValues(2 * N, 2, (random) => random.normal()),
  outliers: (() => {
    const values = seededValues(N, 3, (random) => random.normal());
    // A few large outliers, both signs, 10 to 15 sigma.
    const random = new Random(33);
    for (let index = 0; index < 20; index++) {
      values[Math.floor(random.next() * N)] = (index % 2 ? 1 : -1) * (10 + 5 * random.next());
    }
    return values;
  })(),
  relu: seededValues(N, 4, (random) => Math.max(0, random.normal())),
  laplace: seededValues(N, 5, (random) => {
    const u = random.next() - 0.5;
    return -Math.sign(u) * Math.log(1 - 2 * Math.abs(u));
  }),
  zeros: new Float32Array(10_000),
  negative: seededValues(N, 6, (random) => -1 - 4 * random.next()),
};
type Distribution = keyof typeof distributions;

const statisticsCache = new Map<string, RangeStatistics>();
function statistics(name: Distribution, bins = 2048): RangeStatistics {
  const key = `${name}/${bins}`;
  let result = statisticsCache.get(key);
  if (!result) {
    const histogram = new Histogram({ bins });
    const average = new MovingAverageMinMax();
    const values = distributions[name];
    // Ten batches, so the moving average has something to average.
    const batch = Math.ceil(values.length / 10);
    for (let start = 0; start < values.length; start += batch) {
      histogram.add(values, start, Math.min(values.length, start + batch));
      average.update(histogram.lastAddMin, histogram.lastAddMax);
    }
    result = {
      min: histogram.min,
      max: histogram.max,
      histogram,
      movingAverage: { min: average.averageMin, max: average.averageMax },
    };
    statisticsCache.set(key, result);
  }
  return result;
}

function extremes(values: Float32Array): { min: number; max: number } {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const value of values) {
    if (value < min) min = value;
    if (value > max) max = value;
  }
  return { min, max };
}

const METHODS: RangeMethod[] = ['minmax', 'percentile', 'entropy', 'mse'];
const NAMES = Object.keys(distributions) as Distribution[];
const NORMAL_9999 = 3.890592;

describe('computeRange', () => {
  it('min-max returns exactly the extremes (0 included)', () => {
    for (const name of NAMES) {
      const { min, max } = extremes(distributions[name]);
      const range = computeRange(statistics(name), { method: 'minmax', symmetric: false, bits: 8 });
      expect(range, name).toEqual({ min: Math.min(min, 0), max: Math.max(max, 0) });
      const symmetric = computeRange(statistics(name), { method: 'minmax', symmetric: true, bits: 8 });
      const magnitude = Math.max(-min, max);
      expect(symmetric, name).toEqual({ min: -magnitude + 0, max: magnitude });
    }
    expect(computeRange(statistics('negative'), { method: 'minmax', symmetric: false, bits: 8 }).max).toBe(0);
    expect(computeRange(statistics('relu'), { method: 'minmax', symmetric: false, bits: 8 }).min).toBe(0);
  });

  it('min-max with moving average follows the batch extremes', () => {
    const options: RangeOptions = { method: 'minmax', symmetric: false, bits: 8, movingAverage: true };
    const { movingAverage } = statistics('outliers');
    expect(computeRange(statistics('outliers'), options)).toEqual(movingAverage);
    const global = computeRange(statistics('outliers'), { ...options, movingAverage: false });
    expect(movingAverage!.max).toBeLessThan(global.max);
    expect(() => computeRange({ min: -1, max: 1 }, options)).toThrowError(
      expect.objectContaining({ code: 'CALIBRATION_MOVING_AVERAGE_REQUIRED' }),
    );
  });

  it('every method gives symmetric ranges when asked, and every range contains 0', () => {
    for (const name of NAMES) {
      for (const method of METHODS) {
        for (const bits of [8, 16]) {
          const symmetric = computeRange(statistics(name), { method, symmetric: true, bits });
          expect(symmetric.min, `${name} ${method} ${bits}`).toBe(-symmetric.max + 0);
          expect(symmetric.max).toBeGreaterThanOrEqual(0);
          const asymmetric = computeRange(statistics(name), { method, symmetric: false, bits });
          expect(asymmetric.min, `${name} ${method} ${bits}`).toBeLessThanOrEqual(0);
          expect(asymmetric.max, `${name} ${method} ${bits}`).toBeGreaterThanOrEqual(0);
          // Never beyond the data.
          const { min, max } = extremes(distributions[name]);
          expect(asymmetric.min).toBeGreaterThanOrEqual(Math.min(min, 0));
          expect(asymmetric.max).toBeLessThanOrEqual(Math.max(max, 0));
          expect(symmetric.max).toBeLessThanOrEqual(Math.max(-min, max));
        }
      }
    }
  });

  it('a constant zero tensor and an empty one get [0, 0]', () => {
    for (const method of METHODS) {
      for (const symmetric of [true, false]) {
        expect(computeRange(statistics('zeros'), { method, symmetric, bits: 8 })).toEqual({ min: 0, max: 0 });
        const empty = new Histogram();
        empty.add([Number.NaN]);
        expect(
          computeRange({ min: empty.min, max: empty.max, histogram: empty }, { method, symmetric, bits: 8 }),
        ).toEqual({ min: 0, max: 0 });
      }
    }
  });

  it('percentile 99.99 of N(0, 1) is about 3.89', () => {
    const histogram = statistics('normal').histogram!;
    const resolution = (2 * histogram.range) / histogram.bins;
    const symmetric = computeRange(statistics('normal'), {
      method: 'percentile',
      symmetric: true,
      bits: 8,
      percentile: 99.99,
    });
    // Sampling error of the 99.99th percentile from 2e6 values is about 0.02.
    expect(Math.abs(symmetric.max - NORMAL_9999)).toBeLessThan(0.05 + resolution);
    const asymmetric = computeRange(statistics('normal'), {
      method: 'percentile',
      symmetric: false,
      bits: 8,
      percentile: 99.99,
    });
    // Each tail loses 0.005%: the same 3.89 on either side.
    expect(Math.abs(asymmetric.max - NORMAL_9999)).toBeLessThan(0.08 + resolution);
    expect(Math.abs(asymmetric.min + NORMAL_9999)).toBeLessThan(0.08 + resolution);
    // 100 keeps everything; the default 99.999 clips less than 99.99.
    const all = computeRange(statistics('normal'), {
      method: 'percentile',
      symmetric: false,
      bits: 8,
      percentile: 100,
    });
    expect(all).toEqual(computeRange(statistics('normal'), { method: 'minmax', symmetric: false, bits: 8 }));
    const fine = computeRange(statistics('normal'), { method: 'percentile', symmetric: true, bits: 8 });
    expect(fine.max).toBeGreaterThan(symmetric.max);
  });

  it('percentile is one-sided for one-sided data', () => {
    const range = computeRange(statistics('relu'), { method: 'percentile', symmetric: false, bits: 8, percentile: 99 });
    expect(range.min).toBe(0);
    // The top 0.5% of max(0, x) with x ~ N(0, 1) is cut: P(x > t) = 0.5% → t = 2.576.
    expect(range.max).toBeCloseTo(2.576, 1);
    const negative = computeRange(statistics('negative'), {
      method: 'percentile',
      symmetric: false,
      bits: 8,
      percentile: 99,
    });
    expect(negative.max).toBe(0);
    expect(negative.min).toBeCloseTo(-4.98, 1);
  });

  it('entropy clips a few large outliers that min-max keeps', () => {
    const minmax = computeRange(statistics('outliers'), { method: 'minmax', symmetric: true, bits: 8 });
    const entropy = computeRange(statistics('outliers'), { method: 'entropy', symmetric: true, bits: 8 });
    expect(minmax.max).toBeGreaterThan(10);
    expect(entropy.max).toBeGreaterThan(2.5);
    expect(entropy.max).toBeLessThan(6);
    const asymmetric = computeRange(statistics('outliers'), { method: 'entropy', symmetric: false, bits: 8 });
    expect(asymmetric.max).toBeLessThan(6);
    expect(asymmetric.min).toBeGreaterThan(-6);
  });

  it('entropy keeps (almost) the whole range of uniform data', () => {
    const entropy = computeRange(statistics('uniform'), { method: 'entropy', symmetric: true, bits: 8 });
    expect(entropy.max).toBeGreaterThan(2.9);
  });

  it('entropy is not dragged down by the zero spike of ReLU outputs', () => {
    // Half the values are exactly 0; the threshold still lands in the 3-5 sigma region of the positive half.
    const asymmetric = computeRange(statistics('relu'), { method: 'entropy', symmetric: false, bits: 8 });
    expect(asymmetric.min).toBe(0);
    expect(asymmetric.max).toBeGreaterThan(3);
    const symmetric = computeRange(statistics('relu'), { method: 'entropy', symmetric: true, bits: 8 });
    expect(symmetric.max).toBeGreaterThan(3);
  });

  it('entropy at 16 bits: the full range on 2048 bins, a strided search on 2^17 bins', () => {
    const minmax = computeRange(statistics('outliers'), { method: 'minmax', symmetric: true, bits: 16 });
    const coarse = computeRange(statistics('outliers'), { method: 'entropy', symmetric: true, bits: 16 });
    // 2^15 levels per side are finer than 1024 |x| bins: nothing to gain by clipping.
    expect(coarse.max).toBe(minmax.max);
    const fine = computeRange(statistics('outliers', 2 ** 17), { method: 'entropy', symmetric: true, bits: 16 });
    // The smallest threshold on this histogram is 2^15 / 2^16 of R = 16, i.e. 8. At 16 bits the bulk loses almost
    // nothing to the grid, so keeping the 20 outliers costs less divergence than folding them into one bin.
    expect(fine.max).toBeGreaterThanOrEqual(8);
    expect(fine.max).toBeLessThanOrEqual(minmax.max);
  });

  it('the strided entropy search lands on (or next to) the exhaustive optimum', () => {
    const random = new Random(10);
    // 4096 levels, data up to about bin 6900: 2800 candidates x 4096 levels is past the budget, so the search
    // strides. (Thresholds beyond the data's last bin are not tried: they all mean "no clipping".)
    const histogram = Array.from({ length: 8192 }, (_, index) =>
      Math.round(200 * Math.exp(-((index / 3000) ** 2)) * (0.5 + random.next())),
    );
    let end = histogram.length;
    while (histogram[end - 1] === 0) end--;
    expect((end - 4096) * 4096).toBeGreaterThan(8_000_000);
    const { best, bestValue } = exhaustiveThreshold(histogram, 4096, end, 4096);
    const found = entropyThresholdIndex(histogram, 4096)!;
    expect(Math.abs(found - best)).toBeLessThanOrEqual(2);
    expect(referenceDivergence(histogram, found, 4096)).toBeLessThanOrEqual(bestValue * 1.01 + 1e-12);
  });

  it('the entropy search agrees with an exhaustive search', () => {
    const random = new Random(9);
    const histogram = Array.from({ length: 600 }, (_, index) =>
      Math.round(1000 * Math.exp(-index / 40) * (0.5 + random.next())),
    );
    for (let index = 500; index < 600; index += 17) histogram[index] = 1;
    const exhaustive = exhaustiveThreshold(histogram, 128, 600, 128).best;
    expect(entropyThresholdIndex(histogram, 128)).toBe(exhaustive);
  });

  it('MSE keeps about the whole range of uniform data', () => {
    for (const symmetric of [true, false]) {
      const range = computeRange(statistics('uniform'), { method: 'mse', symmetric, bits: 8 });
      const { min, max } = extremes(distributions.uniform);
      expect(range.max / max).toBeGreaterThan(0.99);
      if (!symmetric) expect(range.min / min).toBeGreaterThan(0.99);
    }
  });

  it('MSE clips normal and Laplace data below their extremes', () => {
    for (const name of ['normal', 'laplace', 'outliers'] as const) {
      const { min, max } = extremes(distributions[name]);
      const symmetric = computeRange(statistics(name), { method: 'mse', symmetric: true, bits: 8 });
      expect(symmetric.max, name).toBeLessThan(0.9 * Math.max(-min, max));
      const asymmetric = computeRange(statistics(name), { method: 'mse', symmetric: false, bits: 8 });
      expect(asymmetric.max, name).toBeLessThan(0.9 * max);
      expect(asymmetric.min, name).toBeGreaterThan(0.9 * min);
    }
    // Fewer bits: more clipping.
    const four = computeRange(statistics('normal'), { method: 'mse', symmetric: true, bits: 4 });
    const eight = computeRange(statistics('normal'), { method: 'mse', symmetric: true, bits: 8 });
    expect(four.max).toBeLessThan(eight.max);
    // Known optimum for 4-bit Gaussian clipping (Banner et al.): about 2.5 sigma.
    expect(four.max).toBeGreaterThan(2);
    expect(four.max).toBeLessThan(3.1);
  });

  it('MSE on one-sided data keeps 0 as one end', () => {
    const relu = computeRange(statistics('relu'), { method: 'mse', symmetric: false, bits: 8 });
    expect(relu.min).toBe(0);
    expect(relu.max).toBeGreaterThan(2.5);
    const negative = computeRange(statistics('negative'), { method: 'mse', symmetric: false, bits: 8 });
    expect(negative.max).toBe(0);
    expect(negative.min).toBeLessThan(-4.9);
  });

  it('needs a histogram for histogram methods', () => {
    for (const method of ['percentile', 'entropy', 'mse'] as const) {
      expect(() => computeRange({ min: -1, max: 1 }, { method, symmetric: true, bits: 8 })).toThrowError(
        expect.objectContaining({ code: 'CALIBRATION_HISTOGRAM_REQUIRED' }),
      );
    }
  });

  it('rejects bad options with the option named', () => {
    const bad: [Partial<RangeOptions> & Record<string, unknown>, string][] = [
      [{ method: 'kl' as RangeMethod }, 'method'],
      [{ bits: 1 }, 'bits'],
      [{ bits: 8.5 }, 'bits'],
      [{ bits: 17 }, 'bits'],
      [{ symmetric: 'yes' as unknown as boolean }, 'symmetric'],
      [{ percentile: 0 }, 'percentile'],
      [{ percentile: 101 }, 'percentile'],
      [{ signed: 1 as unknown as boolean }, 'signed'],
    ];
    for (const [change, option] of bad) {
      let caught: unknown;
      try {
        computeRange(statistics('normal'), { method: 'minmax', symmetric: true, bits: 8, ...change } as RangeOptions);
      } catch (error) {
        caught = error;
      }
      expect(WhittleError.is(caught), option).toBe(true);
      expect((caught as WhittleError).code).toBe('CALIBRATION_OPTIONS_INVALID');
      expect((caught as WhittleError).location?.path).toBe(option);
    }
    // Any bit width from 2 to 16 works.
    for (let bits = 2; bits <= 16; bits++) {
      for (const method of METHODS) computeRange(statistics('laplace'), { method, symmetric: false, bits });
    }
  });
});

/** The threshold of least reference divergence among `first..last` bins (ties go to the larger), and its divergence. */
function exhaustiveThreshold(
  histogram: number[],
  first: number,
  last: number,
  quantizedBins: number,
): { best: number; bestValue: number } {
  let best = -1;
  let bestValue = Number.POSITIVE_INFINITY;
  for (let bins = first; bins <= last; bins++) {
    const value = referenceDivergence(histogram, bins, quantizedBins);
    if (value <= bestValue) {
      bestValue = value;
      best = bins;
    }
  }
  return { best, bestValue };
}

/** TensorRT's KL divergence for a threshold of `bins` bins, written plainly (O(bins) per candidate). */
function referenceDivergence(histogram: number[], bins: number, quantizedBins: number): number {
  const total = histogram.reduce((sum, count) => sum + count, 0);
  const reference = histogram.slice(0, bins);
  reference[bins - 1]! += histogram.slice(bins).reduce((sum, count) => sum + count, 0);
  const candidate = new Array<number>(bins).fill(0);
  for (let group = 0; group < quantizedBins; group++) {
    const start = Math.floor((group * bins) / quantizedBins);
    const stop = Math.floor(((group + 1) * bins) / quantizedBins);
    let mass = 0;
    let nonEmpty = 0;
    for (let index = start; index < stop; index++) {
      mass += histogram[index]!;
      if (histogram[index]! > 0) nonEmpty++;
    }
    for (let index = start; index < stop; index++) if (histogram[index]! > 0) candidate[index] = mass / nonEmpty;
  }
  const candidateTotal = candidate.reduce((sum, value) => sum + value, 0);
  let divergence = 0;
  for (let index = 0; index < bins; index++) {
    const p = reference[index]! / total;
    if (p === 0) continue;
    const q = candidate[index]! / candidateTotal;
    if (q === 0) return Number.POSITIVE_INFINITY;
    divergence += p * Math.log(p / q);
  }
  return divergence;
}
