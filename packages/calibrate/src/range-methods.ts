/**
 * Range methods: from a tensor's statistics to the [min, max] its quantization grid should cover. Pure functions.
 *
 * - `minmax`: the exact extremes, or their moving averages across batches (`movingAverage: true`).
 * - `percentile`: from the histogram, interpolating linearly inside a bin. Symmetric: the percentile of |x|;
 *   asymmetric: (100 - p) / 2 percent is cut from each tail (as ONNX Runtime does).
 * - `entropy`: TensorRT's KL-divergence threshold search on the |x| histogram. A candidate threshold of i bins keeps
 *   bins [0, i) as the reference distribution P (the clipped outliers are added to its last bin) and merges them
 *   into n quantized bins (boundaries floor(g * i / n)) to make Q, each quantized bin's mass spread evenly over its
 *   non-empty source bins; the threshold with the smallest KL(P || Q) wins (ties: the larger threshold). n is
 *   2^(bits-1) on |x| (128 for int8), or 2^bits when the range is asymmetric and the data one-sided (ReLU). The
 *   first |x| bin (exact zeros, a spike for ReLU outputs) counts like the second, as in pytorch-quantization.
 *   Prefix sums make a candidate cost O(n) rather than O(i). Tractability: when candidates times n exceed about 8
 *   million, the candidates are searched with a stride and the best one is refined with strides divided by 8
 *   down to 1. Resolution: the |x| histogram has bins/2 bins over [0, R) and R <= 2 * max|x|, so the smallest
 *   threshold is n / (bins / 2) of R (R / 8 for int8 with 2048 bins). A grid of n >= bins/2 levels is finer than
 *   the histogram can see: no clipping can lower the divergence, so the full range is kept; give the histogram at
 *   least 2^bits bins (e.g. 2^17 for 16 bits) to search 16-bit thresholds.
 * - `mse`: the range minimising the expected squared error, computed from the histogram read as a piecewise
 *   uniform density (the outermost bins clipped to the exact min and max): values inside [lo, hi] cost the
 *   rounding noise step^2 / 12, values outside cost their squared distance to the nearest end. Symmetric:
 *   step = t / (2^(bits-1) - 1) and every bin edge up to max|x| (and max|x| itself) is tried. Asymmetric:
 *   step = (hi - lo) / (2^bits - 1); a coarse grid of at most 128 x 128 (lo, hi) pairs over the bin edges, then
 *   coordinate descent over every edge. Each candidate costs O(1) through prefix sums of the bins' moments.
 *
 * Every result contains 0, so that zero is exactly representable; a symmetric result has min = -max. A tensor
 * without finite values, or with only zeros, gets { min: 0, max: 0 }. `signed` (the integer type) is accepted for
 * the calibration table; ranges do not depend on it (a zero point places an asymmetric grid anywhere, and a
 * symmetric grid has 2^bits - 1 levels either way).
 */
import { WhittleError } from '@whittle/spec';
import type { HistogramCounts } from './histogram.js';

export type RangeMethod = 'minmax' | 'percentile' | 'entropy' | 'mse';

export const RANGE_METHODS: readonly RangeMethod[] = ['minmax', 'percentile', 'entropy', 'mse'];

export const DEFAULT_PERCENTILE = 99.999;

export interface RangeOptions {
  method: RangeMethod;
  symmetric: boolean;
  /** Bits of the integer grid, 2..16 (8 and 16 in practice). */
  bits: number;
  /** The integer type's signedness; recorded, does not change the range. */
  signed?: boolean;
  /** For `percentile`: the percentile kept, in (0, 100]; default 99.999. */
  percentile?: number;
  /** For `minmax`: use the moving averages of the batch extremes instead of the global extremes. */
  movingAverage?: boolean;
}

/** What a range method reads. `min`/`max` are the exact finite extremes (min > max: no finite value was seen). */
export interface RangeStatistics {
  min: number;
  max: number;
  /** Needed by `percentile`, `entropy` and `mse`. */
  histogram?: HistogramCounts;
  /** Moving averages of the batch extremes, needed by `minmax` with `movingAverage`. */
  movingAverage?: { min: number; max: number };
}

export interface Range {
  min: number;
  max: number;
}

/** Check range options; throws `CALIBRATION_OPTIONS_INVALID` naming the bad option. */
export function validateRangeOptions(options: RangeOptions): void {
  const fail = (option: string, message: string): never => {
    throw new WhittleError('CALIBRATION_OPTIONS_INVALID', `range option '${option}' ${message}`, {
      location: { path: option },
    });
  };
  if (typeof options !== 'object' || options === null) fail('options', 'must be an object');
  if (!RANGE_METHODS.includes(options.method)) {
    fail('method', `must be one of ${RANGE_METHODS.join(', ')}, not ${JSON.stringify(options.method)}`);
  }
  if (typeof options.symmetric !== 'boolean') fail('symmetric', 'must be true or false');
  if (!Number.isInteger(options.bits) || options.bits < 2 || options.bits > 16) {
    fail('bits', `must be an integer from 2 to 16, not ${JSON.stringify(options.bits)}`);
  }
  if (options.signed !== undefined && typeof options.signed !== 'boolean') fail('signed', 'must be true or false');
  if (options.movingAverage !== undefined && typeof options.movingAverage !== 'boolean') {
    fail('movingAverage', 'must be true or false');
  }
  if (options.percentile !== undefined) {
    const percentile = options.percentile;
    if (typeof percentile !== 'number' || !(percentile > 0 && percentile <= 100)) {
      fail('percentile', `must be a number in (0, 100], not ${JSON.stringify(percentile)}`);
    }
  }
}

/** The range to quantize a tensor with. */
export function computeRange(statistics: RangeStatistics, options: RangeOptions): Range {
  validateRangeOptions(options);
  const { min, max } = statistics;
  if (!(min <= max) || !Number.isFinite(min) || !Number.isFinite(max)) return { min: 0, max: 0 };
  if (options.method === 'minmax') {
    if (options.movingAverage) {
      const average = statistics.movingAverage;
      if (!average || !(average.min <= average.max)) {
        throw new WhittleError(
          'CALIBRATION_MOVING_AVERAGE_REQUIRED',
          'min-max with moving average needs the moving averages of the batch extremes, and none were recorded',
        );
      }
      return finish(average.min, average.max, options.symmetric);
    }
    return finish(min, max, options.symmetric);
  }
  const histogram = statistics.histogram;
  if (!histogram) {
    throw new WhittleError(
      'CALIBRATION_HISTOGRAM_REQUIRED',
      `the ${options.method} range method needs a histogram of the tensor, and none was kept`,
      { hint: 'observe the tensor again, or keep histograms in the calibration table' },
    );
  }
  if (histogram.range === 0 || (min === 0 && max === 0)) return { min: 0, max: 0 };
  const bins = new HistogramBins(histogram, min, max);
  switch (options.method) {
    case 'percentile':
      return percentileRange(bins, options.percentile ?? DEFAULT_PERCENTILE, options.symmetric);
    case 'entropy':
      return entropyRange(bins, options.bits, options.symmetric);
    case 'mse':
      return mseRange(bins, options.bits, options.symmetric);
  }
}

/** The result range: symmetric about 0, or widened to contain 0; never -0. */
function finish(low: number, high: number, symmetric: boolean): Range {
  if (symmetric) {
    const magnitude = Math.max(Math.abs(low), Math.abs(high));
    return { min: -magnitude + 0, max: magnitude + 0 };
  }
  return { min: Math.min(low, 0) + 0, max: Math.max(high, 0) + 0 };
}

/** A histogram with its exact extremes and the geometry of its bins. */
class HistogramBins {
  readonly counts: ArrayLike<number>;
  readonly bins: number;
  readonly half: number;
  readonly width: number;
  readonly total: number;

  constructor(
    histogram: HistogramCounts,
    readonly min: number,
    readonly max: number,
  ) {
    this.counts = histogram.counts;
    this.bins = histogram.bins;
    this.half = histogram.bins >> 1;
    this.width = (2 * histogram.range) / histogram.bins;
    let total = 0;
    for (let index = 0; index < this.bins; index++) total += this.counts[index]!;
    this.total = total;
  }

  get maxAbs(): number {
    return Math.max(Math.abs(this.min), Math.abs(this.max));
  }

  /** The |x| histogram: bins/2 bins over [0, R). */
  folded(): Float64Array {
    const folded = new Float64Array(this.half);
    for (let index = 0; index < this.half; index++) {
      folded[index] = this.counts[this.half + index]! + this.counts[this.half - 1 - index]!;
    }
    return folded;
  }

  /** The lower edge of bin `index`. */
  edge(index: number): number {
    return (index - this.half) * this.width;
  }
}

// ---------------------------------------------------------------------------------------------------- percentile

function percentileRange(bins: HistogramBins, percentile: number, symmetric: boolean): Range {
  if (symmetric) {
    const threshold = Math.min(quantile(bins.folded(), bins.width, 0, percentile / 100), bins.maxAbs);
    return finish(-threshold, threshold, true);
  }
  const tail = (100 - percentile) / 200;
  const origin = -bins.half * bins.width;
  const low = Math.max(bins.min, Math.min(bins.max, quantile(bins.counts, bins.width, origin, tail)));
  const high = Math.max(bins.min, Math.min(bins.max, quantile(bins.counts, bins.width, origin, 1 - tail)));
  return finish(low, high, false);
}

/** The value below which `fraction` of the histogram lies (bins of `width` from `origin`, uniform inside). */
function quantile(counts: ArrayLike<number>, width: number, origin: number, fraction: number): number {
  let total = 0;
  for (let index = 0; index < counts.length; index++) total += counts[index]!;
  const target = fraction * total;
  let cumulative = 0;
  let last = 0;
  for (let index = 0; index < counts.length; index++) {
    const count = counts[index]!;
    if (count === 0) continue;
    if (cumulative + count >= target) {
      const inside = Math.min(1, Math.max(0, (target - cumulative) / count));
      return origin + (index + inside) * width;
    }
    cumulative += count;
    last = index;
  }
  return origin + (last + 1) * width;
}

// ------------------------------------------------------------------------------------------------------- entropy

/** Candidate thresholds times quantized bins above which the entropy search uses a stride. */
const ENTROPY_WORK_BUDGET = 8_000_000;

function entropyRange(bins: HistogramBins, bitCount: number, symmetric: boolean): Range {
  const oneSided = !symmetric && (bins.min >= 0 || bins.max <= 0);
  const quantizedBins = 2 ** (oneSided ? bitCount : bitCount - 1);
  const folded = bins.folded();
  // The first |x| bin holds the exact zeros (ReLU outputs: often half the values). Zero is on the grid, so they
  // cost nothing; left as they are, the spike dominates the divergence and drives the threshold down to its
  // smallest candidate. As pytorch-quantization does, that bin counts like its neighbour.
  if (folded.length > 1) folded[0] = folded[1]!;
  const index = entropyThresholdIndex(folded, quantizedBins);
  const threshold = index === undefined ? bins.maxAbs : Math.min(index * bins.width, bins.maxAbs);
  if (symmetric) return finish(-threshold, threshold, true);
  return finish(Math.max(bins.min, -threshold), Math.min(bins.max, threshold), false);
}

/**
 * TensorRT's entropy calibration on an |x| histogram: the number of bins i (the threshold is i bin widths) that
 * minimises KL(P || Q) for a grid of `quantizedBins` levels, or undefined when no threshold below the data's end
 * can be tried (the grid is at least as fine as the histogram).
 */
export function entropyThresholdIndex(histogram: ArrayLike<number>, quantizedBins: number): number | undefined {
  let end = 0;
  for (let index = histogram.length - 1; index >= 0; index--) {
    if (histogram[index]! > 0) {
      end = index + 1;
      break;
    }
  }
  if (end <= quantizedBins) return undefined;
  // Prefix sums: counts, non-empty bins, and c * ln(c).
  const counts = new Float64Array(end + 1);
  const nonEmpty = new Float64Array(end + 1);
  const entropyTerms = new Float64Array(end + 1);
  for (let index = 0; index < end; index++) {
    const count = histogram[index]!;
    counts[index + 1] = counts[index]! + count;
    nonEmpty[index + 1] = nonEmpty[index]! + (count > 0 ? 1 : 0);
    entropyTerms[index + 1] = entropyTerms[index]! + (count > 0 ? count * Math.log(count) : 0);
  }
  const total = counts[end]!;
  const logTotal = Math.log(total);
  const divergence = (bins: number): number => {
    const inside = counts[bins]!;
    const outliers = total - inside;
    const lastCount = histogram[bins - 1]!;
    if (inside === 0 || (outliers > 0 && lastCount === 0)) return Number.POSITIVE_INFINITY;
    const lastP = lastCount + outliers;
    const sumPLogP = entropyTerms[bins - 1]! + (lastP > 0 ? lastP * Math.log(lastP) : 0);
    let sumPLogQ = 0;
    let start = 0;
    for (let group = 0; group < quantizedBins; group++) {
      const stop = Math.floor(((group + 1) * bins) / quantizedBins);
      const mass = counts[stop]! - counts[start]!;
      if (mass > 0) {
        const logQ = Math.log(mass / ((nonEmpty[stop]! - nonEmpty[start]!) * inside));
        sumPLogQ += mass * logQ;
        if (group === quantizedBins - 1) sumPLogQ += outliers * logQ;
      }
      start = stop;
    }
    return (sumPLogP - sumPLogQ) / total - logTotal;
  };
  const first = quantizedBins;
  const last = end;
  const candidates = last - first + 1;
  let stride = Math.max(1, Math.ceil((candidates * quantizedBins) / ENTROPY_WORK_BUDGET));
  let best = last;
  let bestDivergence = Number.POSITIVE_INFINITY;
  const consider = (bins: number): void => {
    const value = divergence(bins);
    // Ties go to the larger threshold (less clipping), as in pytorch-quantization.
    if (value < bestDivergence || (value === bestDivergence && bins > best)) {
      bestDivergence = value;
      best = bins;
    }
  };
  for (let bins = first; bins <= last; bins += stride) consider(bins);
  consider(last);
  while (stride > 1) {
    const center = best;
    const next = Math.max(1, Math.floor(stride / 8));
    for (let bins = Math.max(first, center - stride); bins <= Math.min(last, center + stride); bins += next) {
      consider(bins);
    }
    stride = next;
  }
  return bestDivergence === Number.POSITIVE_INFINITY ? undefined : best;
}

// ----------------------------------------------------------------------------------------------------------- mse

/** Coarse grid size per axis for the asymmetric MSE search. */
const MSE_COARSE_STEPS = 128;

function mseRange(bins: HistogramBins, bitCount: number, symmetric: boolean): Range {
  const error = new ClippingError(bins);
  if (symmetric) {
    const levels = 2 ** (bitCount - 1) - 1;
    const candidates = edgesUpTo(bins, bins.maxAbs);
    let best = bins.maxAbs;
    let bestError = Number.POSITIVE_INFINITY;
    for (const threshold of candidates) {
      const value = error.at(-threshold, threshold, threshold / levels);
      if (value < bestError) {
        bestError = value;
        best = threshold;
      }
    }
    return finish(-best, best, true);
  }
  const steps = 2 ** bitCount - 1;
  const lows = bins.min >= 0 ? [0] : edgesUpTo(bins, -bins.min).map((edge) => -edge);
  const highs = bins.max <= 0 ? [0] : edgesUpTo(bins, bins.max);
  const cost = (low: number, high: number): number => error.at(low, high, (high - low) / steps);
  let bestLow = lows.length - 1;
  let bestHigh = highs.length - 1;
  let bestError = cost(lows[bestLow]!, highs[bestHigh]!);
  const lowStride = Math.max(1, Math.ceil(lows.length / MSE_COARSE_STEPS));
  const highStride = Math.max(1, Math.ceil(highs.length / MSE_COARSE_STEPS));
  for (let low = lows.length - 1; low >= 0; low -= lowStride) {
    for (let high = highs.length - 1; high >= 0; high -= highStride) {
      const value = cost(lows[low]!, highs[high]!);
      if (value < bestError) {
        bestError = value;
        bestLow = low;
        bestHigh = high;
      }
    }
  }
  // Coordinate descent over every edge from the coarse optimum.
  for (let round = 0; round < 32; round++) {
    let moved = false;
    for (let high = 0; high < highs.length; high++) {
      const value = cost(lows[bestLow]!, highs[high]!);
      if (value < bestError) {
        bestError = value;
        bestHigh = high;
        moved = true;
      }
    }
    for (let low = 0; low < lows.length; low++) {
      const value = cost(lows[low]!, highs[bestHigh]!);
      if (value < bestError) {
        bestError = value;
        bestLow = low;
        moved = true;
      }
    }
    if (!moved) break;
  }
  return finish(lows[bestLow]!, highs[bestHigh]!, false);
}

/** Positive bin edges below `limit`, then `limit` itself (ascending). */
function edgesUpTo(bins: HistogramBins, limit: number): number[] {
  const edges: number[] = [];
  for (let index = 1; index <= bins.half; index++) {
    const edge = index * bins.width;
    if (edge >= limit) break;
    edges.push(edge);
  }
  edges.push(limit);
  return edges;
}

/**
 * The expected squared quantization error of a histogram (read as a piecewise uniform density, each bin clipped
 * to the exact [min, max]) for a grid over [low, high] with step `step`: step^2 / 12 per value inside, the squared
 * distance to the nearest end per value outside. Prefix sums of each bin's count and first two moments (from the
 * left for the low side, from the right for the high side) make one evaluation O(1).
 */
class ClippingError {
  private readonly bins: HistogramBins;
  /** Per bin: the clipped interval. */
  private readonly lower: Float64Array;
  private readonly upper: Float64Array;
  /** Prefix sums over bins [0, k): count, count * E[x], count * E[x^2]. */
  private readonly left0: Float64Array;
  private readonly left1: Float64Array;
  private readonly left2: Float64Array;
  /** Suffix sums over bins [k, bins). */
  private readonly right0: Float64Array;
  private readonly right1: Float64Array;
  private readonly right2: Float64Array;

  constructor(bins: HistogramBins) {
    this.bins = bins;
    const size = bins.bins;
    this.lower = new Float64Array(size);
    this.upper = new Float64Array(size);
    this.left0 = new Float64Array(size + 1);
    this.left1 = new Float64Array(size + 1);
    this.left2 = new Float64Array(size + 1);
    this.right0 = new Float64Array(size + 1);
    this.right1 = new Float64Array(size + 1);
    this.right2 = new Float64Array(size + 1);
    const moment1 = new Float64Array(size);
    const moment2 = new Float64Array(size);
    for (let index = 0; index < size; index++) {
      const count = bins.counts[index]!;
      const a = Math.max(bins.edge(index), bins.min);
      const b = Math.min(bins.edge(index + 1), bins.max);
      this.lower[index] = a;
      this.upper[index] = Math.max(a, b);
      if (count > 0) {
        moment1[index] = (count * (a + b)) / 2;
        moment2[index] = (count * (a * a + a * b + b * b)) / 3;
      }
    }
    for (let index = 0; index < size; index++) {
      this.left0[index + 1] = this.left0[index]! + bins.counts[index]!;
      this.left1[index + 1] = this.left1[index]! + moment1[index]!;
      this.left2[index + 1] = this.left2[index]! + moment2[index]!;
    }
    for (let index = size - 1; index >= 0; index--) {
      this.right0[index] = this.right0[index + 1]! + bins.counts[index]!;
      this.right1[index] = this.right1[index + 1]! + moment1[index]!;
      this.right2[index] = this.right2[index + 1]! + moment2[index]!;
    }
  }

  at(low: number, high: number, step: number): number {
    const bins = this.bins;
    const last = bins.bins - 1;
    const lowBin = Math.min(last, Math.max(0, bins.half + Math.floor(low / bins.width)));
    const highBin = Math.min(last, Math.max(0, bins.half + Math.floor(high / bins.width)));
    // Bins wholly below low: sum of count * E[(low - x)^2].
    let belowCount = this.left0[lowBin]!;
    let error = low * low * belowCount - 2 * low * this.left1[lowBin]! + this.left2[lowBin]!;
    // Bins wholly above high: sum of count * E[(x - high)^2].
    let aboveCount = this.right0[highBin + 1]!;
    error += high * high * aboveCount - 2 * high * this.right1[highBin + 1]! + this.right2[highBin + 1]!;
    // The bins that hold low and high, split where the range ends.
    const lowPart = this.partBeyond(lowBin, low, -1);
    belowCount += lowPart.count;
    error += lowPart.error;
    const highPart = this.partBeyond(highBin, high, 1);
    aboveCount += highPart.count;
    error += highPart.error;
    const insideCount = Math.max(0, bins.total - belowCount - aboveCount);
    return error + (insideCount * step * step) / 12;
  }

  /** Count and clipping error of the part of bin `index` beyond `limit` (direction -1: below, 1: above). */
  private partBeyond(index: number, limit: number, direction: -1 | 1): { count: number; error: number } {
    const count = this.bins.counts[index]!;
    if (count === 0) return NOTHING;
    const a = this.lower[index]!;
    const b = this.upper[index]!;
    // Distances beyond the limit, measured outwards.
    const near = direction === 1 ? Math.max(a, limit) - limit : limit - Math.min(b, limit);
    const far = direction === 1 ? b - limit : limit - a;
    if (far <= 0) return NOTHING;
    if (b === a) return { count, error: count * far * far };
    const width = b - a;
    const share = (far - near) / width;
    return { count: count * share, error: (count * (far ** 3 - near ** 3)) / (3 * width) };
  }
}

const NOTHING = { count: 0, error: 0 } as const;
