import { WhittleError } from '@whittle/spec';
import { describe, expect, it } from 'vitest';
import { decodeHistogramCounts, encodeCounts, Histogram, type HistogramJSON } from './histogram.js';
import { normalValues } from './test-support.js';

/** The bin of each value at range R, computed directly (for comparison with the histogram's rebinning). */
function directBins(values: ArrayLike<number>, bins: number, range: number): Float64Array {
  const counts = new Float64Array(bins);
  for (let index = 0; index < values.length; index++) {
    counts[bins / 2 + Math.floor(values[index]! * (bins / (2 * range)))]!++;
  }
  return counts;
}

describe('Histogram', () => {
  it('keeps exact count, extremes, sum and sum of squares', () => {
    const values = normalValues(10_000, 1, 3);
    const histogram = new Histogram();
    histogram.add(values);
    let sum = 0;
    let squares = 0;
    for (const value of values) {
      sum += value;
      squares += value * value;
    }
    expect(histogram.count).toBe(10_000);
    expect(histogram.min).toBe(Math.min(...values));
    expect(histogram.max).toBe(Math.max(...values));
    expect(histogram.sum).toBeCloseTo(sum, 8);
    expect(histogram.sumOfSquares / squares).toBeCloseTo(1, 12);
    expect(histogram.mean).toBeCloseTo(sum / 10_000, 12);
    expect(histogram.std).toBeCloseTo(Math.sqrt(squares / 10_000 - (sum / 10_000) ** 2), 10);
    expect(histogram.counts.reduce((total, count) => total + count, 0)).toBe(10_000);
  });

  it('uses the smallest power of two R with every value in [-R, R) as its range', () => {
    const histogram = new Histogram({ bins: 16 });
    histogram.add([0.3, -0.7]);
    expect(histogram.range).toBe(1);
    histogram.add([1]);
    expect(histogram.range).toBe(2);
    histogram.add([-5]);
    expect(histogram.range).toBe(8);
    // -R is inside the half-open range, +R is not.
    const edge = new Histogram({ bins: 16 });
    edge.add([-4]);
    expect(edge.range).toBe(4);
    edge.add([-8]);
    expect(edge.range).toBe(8);
    edge.add([8]);
    expect(edge.range).toBe(16);
    // The range depends on the extremes only, not on the order of arrival.
    const other = new Histogram({ bins: 16 });
    other.add([8, -8, -4]);
    expect(other.range).toBe(16);
    expect([...other.counts]).toEqual([...edge.counts]);
  });

  it('puts each value in bin floor(x * bins / 2R) + bins / 2', () => {
    const histogram = new Histogram({ bins: 8 });
    histogram.add([-3.9, -1, -0.5, 0, 0.25, 1, 3.99]);
    expect(histogram.range).toBe(4);
    expect([...histogram.counts]).toEqual([1, 0, 0, 2, 2, 1, 0, 1]);
    expect([...histogram.counts]).toEqual([...directBins([-3.9, -1, -0.5, 0, 0.25, 1, 3.99], 8, 4)]);
  });

  it('counts NaN and infinities apart without widening the range', () => {
    const histogram = new Histogram();
    histogram.add(
      new Float32Array([1, Number.NaN, Number.POSITIVE_INFINITY, -2, Number.NEGATIVE_INFINITY, Number.NaN]),
    );
    expect(histogram.count).toBe(2);
    expect(histogram.nanCount).toBe(2);
    expect(histogram.positiveInfinityCount).toBe(1);
    expect(histogram.negativeInfinityCount).toBe(1);
    expect(histogram.infinityCount).toBe(2);
    expect(histogram.range).toBe(2);
    expect(histogram.min).toBe(-2);
    expect(histogram.max).toBe(1);
    expect(histogram.sum).toBe(-1);
  });

  it('rebins exactly: the counts equal binning every value at the final range, in any order', () => {
    const small = normalValues(50_000, 2, 0.01);
    const large = normalValues(50_000, 3, 40);
    const forward = new Histogram();
    forward.add(small);
    forward.add(large);
    const backward = new Histogram();
    backward.add(large);
    backward.add(small);
    expect(forward.range).toBe(backward.range);
    expect([...forward.counts]).toEqual([...backward.counts]);
    const all = new Float32Array([...small, ...large]);
    expect([...forward.counts]).toEqual([...directBins(all, 2048, forward.range)]);
  });

  it('rebins exactly for a bin count that is not a power of two', () => {
    const values = normalValues(20_000, 4);
    const histogram = new Histogram({ bins: 30 });
    for (let start = 0; start < values.length; start += 1000) {
      // Growing batches: the range doubles several times on the way.
      histogram.add(values.map((value) => value * (1 + start / 100)).subarray(start, start + 1000));
    }
    const seen = new Float32Array(values.length);
    for (let start = 0; start < values.length; start += 1000) {
      seen.set(values.map((value) => value * (1 + start / 100)).subarray(start, start + 1000), start);
    }
    expect([...histogram.counts]).toEqual([...directBins(seen, 30, histogram.range)]);
  });

  it('merges like adding all the data to one histogram (exact counts)', () => {
    const first = normalValues(30_000, 5, 0.5);
    const second = normalValues(30_000, 6, 20);
    const left = new Histogram();
    left.add(first);
    const right = new Histogram();
    right.add(second);
    right.add([Number.NaN, Number.POSITIVE_INFINITY]);
    const whole = new Histogram();
    whole.add(first);
    whole.add(second);
    whole.add([Number.NaN, Number.POSITIVE_INFINITY]);
    // Both directions: the smaller-range histogram is rebinned onto the larger.
    const merged = new Histogram().merge(left).merge(right);
    const reversed = right.clone().merge(left);
    for (const result of [merged, reversed]) {
      expect(result.range).toBe(whole.range);
      expect([...result.counts]).toEqual([...whole.counts]);
      expect(result.count).toBe(whole.count);
      expect(result.nanCount).toBe(1);
      expect(result.positiveInfinityCount).toBe(1);
      expect(result.min).toBe(whole.min);
      expect(result.max).toBe(whole.max);
      expect(result.sum).toBeCloseTo(whole.sum, 6);
      expect(result.std).toBeCloseTo(whole.std, 9);
    }
    // The other histogram is not changed by a merge.
    expect(left.count).toBe(30_000);
    expect(left.range).toBeLessThan(whole.range);
  });

  it('refuses to merge histograms of different bin counts', () => {
    expect(() => new Histogram({ bins: 64 }).merge(new Histogram({ bins: 128 }))).toThrowError(
      expect.objectContaining({ code: 'HISTOGRAM_BINS_MISMATCH' }),
    );
  });

  it('keeps its memory flat: the same array of the same length after 10 million values', () => {
    const histogram = new Histogram();
    const counts = histogram.counts;
    const batch = normalValues(1_000_000, 7);
    for (let round = 0; round < 10; round++) {
      for (let index = 0; index < batch.length; index += 997) batch[index] = batch[index]! * (round + 1);
      histogram.add(batch);
    }
    expect(histogram.count).toBe(10_000_000);
    expect(histogram.counts).toBe(counts);
    expect(histogram.counts.length).toBe(2048);
    expect(histogram.counts.reduce((total, count) => total + count, 0)).toBe(10_000_000);
  });

  it('handles zeros before the range is known, and a constant zero tensor', () => {
    const zeros = new Histogram({ bins: 8 });
    zeros.add(new Float32Array(100));
    expect(zeros.range).toBe(0);
    expect(zeros.counts[4]).toBe(100);
    expect(zeros.min).toBe(0);
    expect(zeros.max).toBe(0);
    expect(zeros.std).toBe(0);
    zeros.add([-0, 3]);
    expect(zeros.range).toBe(4);
    expect([...zeros.counts]).toEqual([0, 0, 0, 0, 101, 0, 0, 1]);
    const merged = new Histogram({ bins: 8 });
    merged.add([1.5]);
    const onlyZeros = new Histogram({ bins: 8 });
    onlyZeros.add([0, 0]);
    merged.merge(onlyZeros);
    expect(merged.counts[4]).toBe(2);
  });

  it('copes with huge and tiny magnitudes', () => {
    const huge = new Histogram();
    huge.add(new Float64Array([1e300, -1e308, 1.7976931348623157e308, 5]));
    expect(huge.count).toBe(4);
    expect(huge.range).toBe(2 ** 1023);
    expect(huge.max).toBe(1.7976931348623157e308);
    const tiny = new Histogram();
    tiny.add(new Float64Array([1e-310, -5e-324, 2e-300]));
    expect(tiny.count).toBe(3);
    expect(Number.isFinite(tiny.binWidth)).toBe(true);
    tiny.add(new Float32Array([1e30]));
    expect(tiny.range).toBe(2 ** 100);
  });

  it('adds a slice, plain arrays, and reports the last call’s extremes', () => {
    const histogram = new Histogram();
    histogram.add([5, 1, 2, 9], 1, 3);
    expect(histogram.count).toBe(2);
    expect(histogram.lastAddMin).toBe(1);
    expect(histogram.lastAddMax).toBe(2);
    histogram.add([Number.NaN]);
    expect(histogram.lastAddMin).toBe(Number.POSITIVE_INFINITY);
    expect(histogram.min).toBe(1);
  });

  it('reports the extremes of the whole call when a large batch is added in slices', () => {
    const histogram = new Histogram();
    const values = new Float32Array(20_000).fill(0.5);
    values[3] = -7;
    values[10] = 6;
    histogram.add(values);
    expect(histogram.lastAddMin).toBe(-7);
    expect(histogram.lastAddMax).toBe(6);
    histogram.add(new Float32Array(20_000).fill(1));
    expect(histogram.lastAddMin).toBe(1);
    expect(histogram.lastAddMax).toBe(1);
  });

  it('round-trips through JSON, with zero runs encoded compactly', () => {
    const histogram = new Histogram();
    histogram.add(normalValues(5000, 8));
    histogram.add([40, Number.NaN, Number.NEGATIVE_INFINITY]);
    const json = histogram.toJSON();
    expect(json.counts.length).toBeLessThan(600);
    expect(json.counts.some((entry) => entry < 0)).toBe(true);
    const copy = Histogram.fromJSON(JSON.parse(JSON.stringify(json)) as HistogramJSON);
    expect([...copy.counts]).toEqual([...histogram.counts]);
    expect(copy.range).toBe(histogram.range);
    expect(copy.count).toBe(histogram.count);
    expect(copy.min).toBe(histogram.min);
    expect(copy.max).toBe(histogram.max);
    expect(copy.nanCount).toBe(1);
    expect(copy.negativeInfinityCount).toBe(1);
    expect(copy.mean).toBeCloseTo(histogram.mean, 12);
    expect(copy.std).toBeCloseTo(histogram.std, 12);
    // A revived histogram keeps growing and merging exactly.
    copy.add([100]);
    histogram.add([100]);
    expect([...copy.counts]).toEqual([...histogram.counts]);
    expect(Histogram.fromJSON(new Histogram().toJSON()).count).toBe(0);
  });

  it('encodes zero runs', () => {
    expect(encodeCounts([0, 0, 3, 0, 1, 0, 0])).toEqual([-2, 3, -1, 1]);
    expect([...decodeHistogramCounts({ bins: 8, range: 1, counts: [-2, 3, -1, 1] }).counts]).toEqual([
      0, 0, 3, 0, 1, 0, 0, 0,
    ]);
  });

  it('rejects inconsistent JSON', () => {
    const good = (() => {
      const histogram = new Histogram({ bins: 8 });
      histogram.add([1, -1, 0.5]);
      return histogram.toJSON();
    })();
    const cases: [Partial<HistogramJSON>, string][] = [
      [{ bins: 7 }, 'bins'],
      [{ range: 3 }, 'range'],
      [{ counts: [1.5] }, 'counts[0]'],
      [{ counts: [-9, 1] }, 'counts[0]'],
      [{ count: 4 }, ''],
      [{ min: 5 }, ''],
      [{ max: 2 }, ''],
      [{ m2: -1 }, ''],
      [{ nanCount: -1 }, ''],
    ];
    for (const [change, path] of cases) {
      let caught: unknown;
      try {
        Histogram.fromJSON({ ...good, ...change });
      } catch (error) {
        caught = error;
      }
      expect(WhittleError.is(caught), JSON.stringify(change)).toBe(true);
      expect((caught as WhittleError).code).toBe('HISTOGRAM_INVALID');
      if (path) expect((caught as WhittleError).location?.path).toBe(path);
    }
    expect(() => new Histogram({ bins: 3 })).toThrowError(expect.objectContaining({ code: 'HISTOGRAM_BINS_INVALID' }));
  });
});
