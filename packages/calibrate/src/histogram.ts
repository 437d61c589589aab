/**
 * A fixed-size histogram of a tensor's values with exact summary statistics, for calibration.
 *
 * Layout: `bins` bins (even; 2048 by default) over the symmetric, half-open range [-R, R). Bin `i` holds the values
 * x with `floor(x * bins / (2R)) === i - bins / 2`, so bin `bins / 2` starts at zero and the |x| histogram is the
 * fold of the two halves. R is always a power of two: the smallest one with every finite value seen in [-R, R)
 * (never below 2^-900, never above 2^1023; values beyond that land in the outer bins). When a value falls outside, R
 * doubles (as often as needed) and bins merge in place, in pairs per doubling. Because a value's bin at 2R is a
 * function of its bin at R, the counts after rebinning are exactly those that binning every value at 2R would
 * give: no data is re-read, the result does not depend on the order in which values arrived, and two histograms of
 * the same bin count always merge exactly.
 *
 * NaN and ±Infinity are counted apart and never enter the bins, the range or the sums. Memory is fixed: one
 * Float64Array of `bins` counts (exact integers up to 2^53 values per bin).
 */
import { WhittleError } from '@whittle/spec';

export const DEFAULT_HISTOGRAM_BINS = 2048;

/** Values one call of an `add` loop takes (see `add`). */
const ADD_SLICE = 8192;

/** The largest range R: 2^1023 (2^1024 is not a float64). */
const MAX_RADIUS = 2 ** 1023;
/** The smallest range R, so that bins / (2R) stays finite for any bin count. */
const MIN_RADIUS = 2 ** -900;

/** What range methods read from a histogram: its bin counts over [-range, range). */
export interface HistogramCounts {
  /** Number of bins (even). */
  readonly bins: number;
  /** R: the bins cover [-R, R); 0 while only zeros (or nothing) have been seen. */
  readonly range: number;
  /** `bins` counts. */
  readonly counts: ArrayLike<number>;
}

/**
 * The bins of a histogram as JSON. `counts` is zero-run-length encoded: a non-negative entry is one bin's count, a
 * negative entry `-k` stands for `k` empty bins, and the bins after the last entry are empty. A histogram whose
 * values sit in a few central bins therefore costs a few entries, not `bins` of them.
 */
export interface HistogramBinsJSON {
  bins: number;
  range: number;
  counts: number[];
}

/** Everything a histogram knows, as JSON (see `Histogram.toJSON`). */
export interface HistogramJSON extends HistogramBinsJSON {
  /** Finite values (the sum of the bin counts). */
  count: number;
  /** Finite extremes; 0 when count is 0. */
  min: number;
  max: number;
  /** Mean of the finite values and the sum of their squared deviations from it; 0 when count is 0. */
  mean: number;
  m2: number;
  nanCount: number;
  positiveInfinityCount: number;
  negativeInfinityCount: number;
}

export interface HistogramOptions {
  /** Number of bins, even, at least 2; default 2048. */
  bins?: number;
}

export class Histogram implements HistogramCounts {
  readonly bins: number;
  private readonly binCounts: Float64Array;
  private radius = 0;
  /** bins / (2R); Infinity while R is 0, so that every non-zero value takes the slow path that sets R. */
  private scale = Number.POSITIVE_INFINITY;
  private finiteCount = 0;
  private nans = 0;
  private positiveInfinities = 0;
  private negativeInfinities = 0;
  private minimum = Number.POSITIVE_INFINITY;
  private maximum = Number.NEGATIVE_INFINITY;
  /** Sums are kept around a shift (the first finite value) so that the variance does not cancel catastrophically. */
  private shift = 0;
  private shiftedSum = 0;
  private shiftedSumOfSquares = 0;
  private lastMinimum = Number.POSITIVE_INFINITY;
  private lastMaximum = Number.NEGATIVE_INFINITY;

  constructor(options: HistogramOptions = {}) {
    const bins = options.bins ?? DEFAULT_HISTOGRAM_BINS;
    if (!Number.isInteger(bins) || bins < 2 || bins % 2 !== 0 || bins > 2 ** 30) {
      throw new WhittleError(
        'HISTOGRAM_BINS_INVALID',
        `a histogram needs an even number of bins (2..2^30), not ${bins}`,
      );
    }
    this.bins = bins;
    this.binCounts = new Float64Array(bins);
  }

  /** R: the bins cover [-R, R). 0 until a finite non-zero value arrives. */
  get range(): number {
    return this.radius;
  }

  /** The bin counts (the histogram's own array: read it, do not write it). */
  get counts(): Float64Array {
    return this.binCounts;
  }

  /** Width of one bin (0 while the range is 0). */
  get binWidth(): number {
    return (2 * this.radius) / this.bins;
  }

  /** Finite values seen (NaN and ±Infinity excluded). */
  get count(): number {
    return this.finiteCount;
  }

  get nanCount(): number {
    return this.nans;
  }

  get positiveInfinityCount(): number {
    return this.positiveInfinities;
  }

  get negativeInfinityCount(): number {
    return this.negativeInfinities;
  }

  get infinityCount(): number {
    return this.positiveInfinities + this.negativeInfinities;
  }

  /** Smallest finite value; +Infinity when there is none. */
  get min(): number {
    return this.minimum;
  }

  /** Largest finite value; -Infinity when there is none. */
  get max(): number {
    return this.maximum;
  }

  /** Smallest finite value of the latest `add` call; +Infinity when it had none. */
  get lastAddMin(): number {
    return this.lastMinimum;
  }

  /** Largest finite value of the latest `add` call; -Infinity when it had none. */
  get lastAddMax(): number {
    return this.lastMaximum;
  }

  get sum(): number {
    return this.finiteCount * this.shift + this.shiftedSum;
  }

  get sumOfSquares(): number {
    return this.shiftedSumOfSquares + 2 * this.shift * this.shiftedSum + this.finiteCount * this.shift * this.shift;
  }

  /** Mean of the finite values; NaN when there are none. */
  get mean(): number {
    return this.finiteCount === 0 ? Number.NaN : this.shift + this.shiftedSum / this.finiteCount;
  }

  /** Population variance of the finite values; NaN when there are none. */
  get variance(): number {
    if (this.finiteCount === 0) return Number.NaN;
    const meanOffset = this.shiftedSum / this.finiteCount;
    return Math.max(0, this.shiftedSumOfSquares / this.finiteCount - meanOffset * meanOffset);
  }

  get std(): number {
    return Math.sqrt(this.variance);
  }

  /**
   * Add the values `values[start..end)`. One pass, no allocation; a value outside the range takes a slow path that
   * grows the range. NaN and ±Infinity are only counted.
   */
  add(values: Float32Array | Float64Array | ArrayLike<number>, start = 0, end: number = values.length): void {
    if (this.finiteCount === 0) {
      // The first finite value becomes the shift of the running sums.
      for (let index = start; index < end; index++) {
        const value = values[index]!;
        if (value - value === 0) {
          this.shift = value;
          break;
        }
      }
    }
    // The extremes of this call, over all its slices (the moving average reads them as the batch's).
    this.lastMinimum = Number.POSITIVE_INFINITY;
    this.lastMaximum = Number.NEGATIVE_INFINITY;
    // One copy of the loop per array kind keeps each monomorphic: once one loop had seen three kinds of arrays, it
    // ran at about half the speed on float32 data. The loops take a slice of at most ADD_SLICE values per call, so
    // that V8 optimises them as whole functions after a few calls; when a single call ran a large batch, the loop
    // was sometimes left compiled on the fly (on-stack replacement) at a third of the speed.
    for (let from = start; from < end; from += ADD_SLICE) {
      const to = Math.min(end, from + ADD_SLICE);
      if (values instanceof Float32Array) this.addFloat32(values, from, to);
      else if (values instanceof Float64Array) this.addFloat64(values, from, to);
      else this.addNumbers(values, from, to);
    }
  }

  private addFloat32(values: Float32Array, start: number, end: number): void {
    const { binCounts: counts, bins, shift } = this;
    const half = bins >> 1;
    let scale = this.scale;
    let finite = 0;
    let sum = this.shiftedSum;
    let sumOfSquares = this.shiftedSumOfSquares;
    let lastMin = Number.POSITIVE_INFINITY;
    let lastMax = Number.NEGATIVE_INFINITY;
    for (let index = start; index < end; index++) {
      const value = values[index]!;
      let bin = half + Math.floor(value * scale);
      if (!(bin >= 0 && bin < bins)) {
        bin = this.binOutside(value);
        if (bin < 0) continue;
        scale = this.scale;
      }
      counts[bin]!++;
      if (value < lastMin) lastMin = value;
      if (value > lastMax) lastMax = value;
      const offset = value - shift;
      sum += offset;
      sumOfSquares += offset * offset;
      finite++;
    }
    this.commit(finite, sum, sumOfSquares, lastMin, lastMax);
  }

  private addFloat64(values: Float64Array, start: number, end: number): void {
    const { binCounts: counts, bins, shift } = this;
    const half = bins >> 1;
    let scale = this.scale;
    let finite = 0;
    let sum = this.shiftedSum;
    let sumOfSquares = this.shiftedSumOfSquares;
    let lastMin = Number.POSITIVE_INFINITY;
    let lastMax = Number.NEGATIVE_INFINITY;
    for (let index = start; index < end; index++) {
      const value = values[index]!;
      let bin = half + Math.floor(value * scale);
      if (!(bin >= 0 && bin < bins)) {
        bin = this.binOutside(value);
        if (bin < 0) continue;
        scale = this.scale;
      }
      counts[bin]!++;
      if (value < lastMin) lastMin = value;
      if (value > lastMax) lastMax = value;
      const offset = value - shift;
      sum += offset;
      sumOfSquares += offset * offset;
      finite++;
    }
    this.commit(finite, sum, sumOfSquares, lastMin, lastMax);
  }

  private addNumbers(values: ArrayLike<number>, start: number, end: number): void {
    const { binCounts: counts, bins, shift } = this;
    const half = bins >> 1;
    let scale = this.scale;
    let finite = 0;
    let sum = this.shiftedSum;
    let sumOfSquares = this.shiftedSumOfSquares;
    let lastMin = Number.POSITIVE_INFINITY;
    let lastMax = Number.NEGATIVE_INFINITY;
    for (let index = start; index < end; index++) {
      const value = +values[index]!;
      let bin = half + Math.floor(value * scale);
      if (!(bin >= 0 && bin < bins)) {
        bin = this.binOutside(value);
        if (bin < 0) continue;
        scale = this.scale;
      }
      counts[bin]!++;
      if (value < lastMin) lastMin = value;
      if (value > lastMax) lastMax = value;
      const offset = value - shift;
      sum += offset;
      sumOfSquares += offset * offset;
      finite++;
    }
    this.commit(finite, sum, sumOfSquares, lastMin, lastMax);
  }

  /**
   * The slow path of `add`: NaN and ±Infinity are counted (-1 is returned), zero while the range is unset goes to
   * the middle bin, and a finite value outside the range grows the range to its bin.
   */
  private binOutside(value: number): number {
    if (Number.isNaN(value)) {
      this.nans++;
      return -1;
    }
    if (value === Number.POSITIVE_INFINITY) {
      this.positiveInfinities++;
      return -1;
    }
    if (value === Number.NEGATIVE_INFINITY) {
      this.negativeInfinities++;
      return -1;
    }
    const half = this.bins >> 1;
    if (value === 0) return half;
    const scale = this.cover(value);
    return Math.min(this.bins - 1, Math.max(0, half + Math.floor(value * scale)));
  }

  private commit(finite: number, sum: number, sumOfSquares: number, lastMin: number, lastMax: number): void {
    this.finiteCount += finite;
    this.shiftedSum = sum;
    this.shiftedSumOfSquares = sumOfSquares;
    if (lastMin < this.lastMinimum) this.lastMinimum = lastMin;
    if (lastMax > this.lastMaximum) this.lastMaximum = lastMax;
    if (lastMin < this.minimum) this.minimum = lastMin;
    if (lastMax > this.maximum) this.maximum = lastMax;
  }

  /**
   * Add another histogram's values. Both must have the same bin count; the one with the smaller range is rebinned
   * onto the larger (exactly, as both ranges are powers of two). `other` is not changed.
   */
  merge(other: Histogram): this {
    if (other.bins !== this.bins) {
      throw new WhittleError(
        'HISTOGRAM_BINS_MISMATCH',
        `cannot merge a histogram of ${other.bins} bins into one of ${this.bins} bins`,
      );
    }
    if (other.radius > this.radius) this.cover(-other.radius);
    const half = this.bins >> 1;
    const source = other.binCounts;
    const target = this.binCounts;
    if (other.radius === this.radius || other.radius === 0) {
      for (let index = 0; index < this.bins; index++) target[index]! += source[index]!;
    } else {
      const exponent = Math.round(Math.log2(this.radius / other.radius));
      for (let index = 0; index < this.bins; index++) {
        const count = source[index]!;
        if (count !== 0) target[rebinnedIndex(index, half, exponent)]! += count;
      }
    }
    this.mergeStatistics(other);
    return this;
  }

  /** Forget every value (the range included); the bin count stays. */
  reset(): void {
    this.binCounts.fill(0);
    this.radius = 0;
    this.scale = Number.POSITIVE_INFINITY;
    this.finiteCount = 0;
    this.nans = 0;
    this.positiveInfinities = 0;
    this.negativeInfinities = 0;
    this.minimum = Number.POSITIVE_INFINITY;
    this.maximum = Number.NEGATIVE_INFINITY;
    this.shift = 0;
    this.shiftedSum = 0;
    this.shiftedSumOfSquares = 0;
    this.lastMinimum = Number.POSITIVE_INFINITY;
    this.lastMaximum = Number.NEGATIVE_INFINITY;
  }

  clone(): Histogram {
    return new Histogram({ bins: this.bins }).merge(this);
  }

  /** The bins, zero-run-length encoded (see `HistogramBinsJSON`). */
  binsToJSON(): HistogramBinsJSON {
    return { bins: this.bins, range: this.radius, counts: encodeCounts(this.binCounts) };
  }

  /** The bins (zero-run-length encoded) and the statistics; `Histogram.fromJSON` reads it back exactly. */
  toJSON(): HistogramJSON {
    const empty = this.finiteCount === 0;
    return {
      ...this.binsToJSON(),
      count: this.finiteCount,
      min: empty ? 0 : this.minimum,
      max: empty ? 0 : this.maximum,
      mean: empty ? 0 : this.mean,
      m2: empty ? 0 : this.variance * this.finiteCount,
      nanCount: this.nans,
      positiveInfinityCount: this.positiveInfinities,
      negativeInfinityCount: this.negativeInfinities,
    };
  }

  /** A histogram from `toJSON()` output; throws `HISTOGRAM_INVALID` when the JSON is inconsistent. */
  static fromJSON(json: HistogramJSON): Histogram {
    const counts = decodeHistogramCounts(json).counts;
    const histogram = new Histogram({ bins: json.bins });
    histogram.binCounts.set(counts);
    histogram.radius = json.range;
    histogram.scale = json.range === 0 ? Number.POSITIVE_INFINITY : json.bins / (2 * json.range);
    let total = 0;
    for (const count of counts) total += count;
    for (const key of ['count', 'nanCount', 'positiveInfinityCount', 'negativeInfinityCount'] as const) {
      if (!isCount(json[key])) throw invalidHistogram(`${key} must be a non-negative integer, not ${json[key]}`);
    }
    if (total !== json.count) throw invalidHistogram(`the bins hold ${total} values but count is ${json.count}`);
    for (const key of ['min', 'max', 'mean', 'm2'] as const) {
      if (typeof json[key] !== 'number' || !Number.isFinite(json[key])) {
        throw invalidHistogram(`${key} must be a finite number, not ${json[key]}`);
      }
    }
    if (json.count > 0) {
      if (json.min > json.max) throw invalidHistogram(`min ${json.min} is above max ${json.max}`);
      if (json.min < -json.range || (json.max >= json.range && json.max !== 0)) {
        throw invalidHistogram(`[${json.min}, ${json.max}] does not fit the range [-${json.range}, ${json.range})`);
      }
      if (json.m2 < 0) throw invalidHistogram(`m2 must not be negative, not ${json.m2}`);
      histogram.minimum = json.min;
      histogram.maximum = json.max;
      histogram.shift = json.mean;
      histogram.shiftedSumOfSquares = json.m2;
    }
    histogram.finiteCount = json.count;
    histogram.nans = json.nanCount;
    histogram.positiveInfinities = json.positiveInfinityCount;
    histogram.negativeInfinities = json.negativeInfinityCount;
    return histogram;
  }

  /** Grow R (doubling, in place) until `value` lies in [-R, R); returns the new scale. */
  private cover(value: number): number {
    const radius = radiusFor(value);
    if (this.radius === 0) {
      // Only zeros so far: they sit in bin `bins / 2` at every range.
      this.radius = radius;
    } else if (radius > this.radius) {
      this.rebin(Math.round(Math.log2(radius / this.radius)));
      this.radius = radius;
    }
    this.scale = this.bins / (2 * this.radius);
    return this.scale;
  }

  /** Move every count to its bin at 2^exponent times the range, in place. */
  private rebin(exponent: number): void {
    const counts = this.binCounts;
    const half = this.bins >> 1;
    // Bins at or above zero only move down and bins below zero only move up, so one sweep from the middle outwards
    // reads every bin before anything is written into it.
    for (let index = half; index < this.bins; index++) {
      const count = counts[index]!;
      if (count === 0) continue;
      counts[index] = 0;
      counts[rebinnedIndex(index, half, exponent)]! += count;
    }
    for (let index = half - 1; index >= 0; index--) {
      const count = counts[index]!;
      if (count === 0) continue;
      counts[index] = 0;
      counts[rebinnedIndex(index, half, exponent)]! += count;
    }
  }

  private mergeStatistics(other: Histogram): void {
    if (other.finiteCount > 0) {
      if (this.finiteCount === 0) {
        this.shift = other.shift;
        this.shiftedSum = other.shiftedSum;
        this.shiftedSumOfSquares = other.shiftedSumOfSquares;
      } else {
        const delta = other.shift - this.shift;
        this.shiftedSumOfSquares +=
          other.shiftedSumOfSquares + 2 * delta * other.shiftedSum + other.finiteCount * delta * delta;
        this.shiftedSum += other.shiftedSum + other.finiteCount * delta;
      }
    }
    this.finiteCount += other.finiteCount;
    this.nans += other.nans;
    this.positiveInfinities += other.positiveInfinities;
    this.negativeInfinities += other.negativeInfinities;
    this.minimum = Math.min(this.minimum, other.minimum);
    this.maximum = Math.max(this.maximum, other.maximum);
  }
}

/** The bin, at 2^exponent times the range, of the values in bin `index`. */
function rebinnedIndex(index: number, half: number, exponent: number): number {
  const offset = index - half;
  if (exponent >= 60) return offset < 0 ? half - 1 : half;
  return half + Math.floor(offset / 2 ** exponent);
}

/**
 * The smallest power of two R with `value` in [-R, R) (clamped to [2^-900, 2^1023]): the range depends only on the
 * extremes seen, never on the order in which values arrived.
 */
function radiusFor(value: number): number {
  const magnitude = Math.abs(value);
  if (magnitude < MIN_RADIUS) return MIN_RADIUS;
  if (magnitude > MAX_RADIUS || (magnitude === MAX_RADIUS && value > 0)) return MAX_RADIUS;
  let power = 2 ** Math.floor(Math.log2(magnitude));
  while (power < magnitude) power *= 2;
  while (power / 2 >= magnitude) power /= 2;
  // A positive value must lie strictly below R.
  return value > 0 && power === magnitude ? power * 2 : power;
}

function isPowerOfTwo(value: number): boolean {
  if (!(value > 0) || !Number.isFinite(value)) return false;
  const exponent = Math.round(Math.log2(value));
  return 2 ** exponent === value;
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function invalidHistogram(message: string, path?: string): WhittleError {
  return new WhittleError('HISTOGRAM_INVALID', `invalid histogram: ${message}`, path ? { location: { path } } : {});
}

/** Zero-run-length encoding of bin counts (see `HistogramBinsJSON`). */
export function encodeCounts(counts: ArrayLike<number>): number[] {
  const encoded: number[] = [];
  let zeros = 0;
  for (let index = 0; index < counts.length; index++) {
    const count = counts[index]!;
    if (count === 0) {
      zeros++;
      continue;
    }
    if (zeros > 0) encoded.push(-zeros);
    zeros = 0;
    encoded.push(count);
  }
  return encoded;
}

/**
 * Check and decode the bins of a histogram's JSON. Throws `HISTOGRAM_INVALID` (with the offending entry's path
 * below `path`) when the bin count is not even, the range not 0 or a power of two, or the counts not a valid
 * zero-run-length encoding of at most `bins` bins.
 */
export function decodeHistogramCounts(json: HistogramBinsJSON, path = ''): HistogramCounts & { counts: Float64Array } {
  const at = (key: string) => (path ? `${path}.${key}` : key);
  if (typeof json !== 'object' || json === null) throw invalidHistogram('expected an object', path || undefined);
  const { bins, range, counts } = json;
  if (typeof bins !== 'number' || !Number.isInteger(bins) || bins < 2 || bins % 2 !== 0 || bins > 2 ** 30) {
    throw invalidHistogram(`bins must be an even integer from 2 to 2^30, not ${bins}`, at('bins'));
  }
  if (typeof range !== 'number' || !(range === 0 || isPowerOfTwo(range))) {
    throw invalidHistogram(`range must be 0 or a power of two, not ${range}`, at('range'));
  }
  if (!Array.isArray(counts)) throw invalidHistogram('counts must be an array', at('counts'));
  const decoded = new Float64Array(bins);
  let position = 0;
  for (let index = 0; index < counts.length; index++) {
    const entry: unknown = counts[index];
    if (typeof entry !== 'number' || !Number.isSafeInteger(entry)) {
      throw invalidHistogram(
        `counts[${index}] must be an integer, not ${JSON.stringify(entry)}`,
        at(`counts[${index}]`),
      );
    }
    const length = entry < 0 ? -entry : 1;
    if (position + length > bins) {
      throw invalidHistogram(`counts describe more than ${bins} bins`, at(`counts[${index}]`));
    }
    if (entry >= 0) decoded[position] = entry;
    position += length;
  }
  if (range === 0) {
    for (let index = 0; index < bins; index++) {
      if (decoded[index] !== 0 && index !== bins >> 1) {
        throw invalidHistogram('a histogram of range 0 holds only zeros (bin bins/2)', at('counts'));
      }
    }
  }
  return { bins, range, counts: decoded };
}
