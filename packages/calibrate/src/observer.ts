/**
 * TensorObserver: one tensor's batches, fed into a histogram and the moving-average min/max. Float tensors only
 * (float32, float64, float16 and bfloat16, the 16-bit ones decoded through the IR codecs in small chunks into one
 * reused buffer); a tensor of another element type is not observed and sets `skipped`.
 */
import { bfloat16BitsToFloat32Bits, float16BitsToFloat32Bits } from '@whittle/ir';
import { type ExecutorTensor, WhittleError } from '@whittle/spec';
import type { ChannelMeans } from './channel-means.js';
import { Histogram, type HistogramBinsJSON } from './histogram.js';
import { DEFAULT_AVERAGING_CONSTANT, MovingAverageMinMax } from './moving-average.js';
import { computeRange, type Range, type RangeOptions, type RangeStatistics } from './range-methods.js';

/** Element types an observer reads (onnxruntime's spelling). */
export const OBSERVED_ELEMENT_TYPES: readonly string[] = ['float32', 'float64', 'float16', 'bfloat16'];

/** Values decoded per chunk from 16-bit floats. */
const CHUNK = 4096;

export interface TensorObserverOptions {
  /** Histogram bins (even); default 2048. */
  bins?: number;
  /** Moving-average constant; default 0.01. */
  averagingConstant?: number;
}

/** A tensor's statistics as the calibration table stores them. When count is 0, min, max, mean and std are 0. */
export interface TensorStatistics {
  /** Finite values observed. */
  count: number;
  min: number;
  max: number;
  /** Absent when not computed (min-max calibration by reductions, without `moments`). */
  mean?: number;
  /** Population standard deviation; present with `mean`. */
  std?: number;
  nanCount: number;
  infinityCount: number;
  /** Moving averages of the batch extremes (present once a batch held a finite value). */
  movingAverage?: { min: number; max: number };
  histogram?: HistogramBinsJSON;
  /** Per-channel means, when the tensor is the data input of a Conv, Gemm or MatMul (for bias correction). */
  channelMeans?: ChannelMeans;
}

export class TensorObserver {
  readonly name: string;
  readonly histogram: Histogram;
  readonly movingAverage: MovingAverageMinMax;
  private batchCount = 0;
  private ignoredType: string | undefined;
  private scratch: Float32Array | undefined;
  private scratchBits: Uint32Array | undefined;

  constructor(name: string, options: TensorObserverOptions = {}) {
    this.name = name;
    this.histogram = new Histogram(options.bins === undefined ? {} : { bins: options.bins });
    this.movingAverage = new MovingAverageMinMax(options.averagingConstant ?? DEFAULT_AVERAGING_CONSTANT);
  }

  /** Batches observed (float tensors only). */
  get batches(): number {
    return this.batchCount;
  }

  /** True once a tensor of a non-float element type was offered: those are not observed. */
  get skipped(): boolean {
    return this.ignoredType !== undefined;
  }

  /** The element type that made the observer skip a tensor, if any. */
  get skippedType(): string | undefined {
    return this.ignoredType;
  }

  /**
   * Observe one batch of the tensor. Returns false (and sets `skipped`) for a non-float tensor; throws
   * `CALIBRATION_TENSOR_DATA` when a float tensor's data does not match its type.
   */
  observe(tensor: ExecutorTensor): boolean {
    const { type, data } = tensor;
    if (!OBSERVED_ELEMENT_TYPES.includes(type)) {
      this.ignoredType ??= type;
      return false;
    }
    if (!ArrayBuffer.isView(data)) throw this.badData(type, 'strings');
    switch (type) {
      case 'float32':
        this.observeValues(asArray(data, Float32Array, type, this.name));
        return true;
      case 'float64':
        this.observeValues(asArray(data, Float64Array, type, this.name));
        return true;
      default:
        this.observeHalf(asArray(data, Uint16Array, type, this.name), type === 'float16');
        return true;
    }
  }

  /** Observe one batch given as numbers. */
  observeValues(values: Float32Array | Float64Array | ArrayLike<number>): void {
    this.histogram.add(values);
    this.movingAverage.update(this.histogram.lastAddMin, this.histogram.lastAddMax);
    this.batchCount++;
  }

  /** Observe one batch of float16 (or bfloat16) bit patterns. */
  observeHalf(bits: Uint16Array, float16 = true): void {
    if (!this.scratch || !this.scratchBits) {
      this.scratch = new Float32Array(CHUNK);
      this.scratchBits = new Uint32Array(this.scratch.buffer);
    }
    const values = this.scratch;
    const valueBits = this.scratchBits;
    const decode = float16 ? float16BitsToFloat32Bits : bfloat16BitsToFloat32Bits;
    let lowest = Number.POSITIVE_INFINITY;
    let highest = Number.NEGATIVE_INFINITY;
    for (let start = 0; start < bits.length; start += CHUNK) {
      const length = Math.min(CHUNK, bits.length - start);
      for (let index = 0; index < length; index++) valueBits[index] = decode(bits[start + index]!);
      this.histogram.add(values, 0, length);
      lowest = Math.min(lowest, this.histogram.lastAddMin);
      highest = Math.max(highest, this.histogram.lastAddMax);
    }
    this.movingAverage.update(lowest, highest);
    this.batchCount++;
  }

  /** What range methods read. */
  statistics(): RangeStatistics {
    const histogram = this.histogram;
    const statistics: RangeStatistics = { min: histogram.min, max: histogram.max, histogram };
    if (this.movingAverage.batches > 0) {
      statistics.movingAverage = { min: this.movingAverage.averageMin, max: this.movingAverage.averageMax };
    }
    return statistics;
  }

  /** The tensor's quantization range by a range method. */
  range(options: RangeOptions): Range {
    return computeRange(this.statistics(), options);
  }

  /** Statistics for the calibration table; the histogram's bins are included unless `histogram: false`. */
  summary(options: { histogram?: boolean } = {}): TensorStatistics {
    const histogram = this.histogram;
    const empty = histogram.count === 0;
    const summary: TensorStatistics = {
      count: histogram.count,
      min: empty ? 0 : histogram.min,
      max: empty ? 0 : histogram.max,
      mean: empty ? 0 : histogram.mean,
      std: empty ? 0 : histogram.std,
      nanCount: histogram.nanCount,
      infinityCount: histogram.infinityCount,
    };
    if (this.movingAverage.batches > 0) {
      summary.movingAverage = { min: this.movingAverage.averageMin, max: this.movingAverage.averageMax };
    }
    if (options.histogram !== false) summary.histogram = histogram.binsToJSON();
    return summary;
  }

  private badData(type: string, what: string): WhittleError {
    return new WhittleError('CALIBRATION_TENSOR_DATA', `tensor '${this.name}' of type ${type} holds ${what}`, {
      location: { value: this.name },
    });
  }
}

type ArrayType<T> = {
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): T;
  readonly BYTES_PER_ELEMENT: number;
};

/** The data as the typed array its type calls for: as is, or a view of the same bytes when aligned. */
function asArray<T>(data: ArrayBufferView, arrayType: ArrayType<T>, type: string, name: string): T {
  if (data instanceof (arrayType as unknown as typeof Float32Array)) return data as unknown as T;
  const size = arrayType.BYTES_PER_ELEMENT;
  if (data.byteLength % size === 0 && data.byteOffset % size === 0) {
    return new arrayType(data.buffer, data.byteOffset, data.byteLength / size);
  }
  throw new WhittleError(
    'CALIBRATION_TENSOR_DATA',
    `tensor '${name}' of type ${type} holds ${data.byteLength} bytes at offset ${data.byteOffset}, not whole ${size}-byte elements`,
    { location: { value: name } },
  );
}
