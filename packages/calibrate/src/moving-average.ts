/**
 * Min/max across calibration batches, both global and as an exponential moving average (ONNX Runtime's
 * `moving_average` option of its MinMax calibrater): after the first batch, which sets both averages,
 * `average += c * (batchValue - average)` with the averaging constant c (0.01 by default). Averaging damps the
 * influence of a rare extreme batch, as quantization-aware training observers do.
 */
import { WhittleError } from '@whittle/spec';

export const DEFAULT_AVERAGING_CONSTANT = 0.01;

export interface MovingAverageJSON {
  averagingConstant: number;
  batches: number;
  min: number;
  max: number;
  averageMin: number;
  averageMax: number;
}

export class MovingAverageMinMax {
  readonly averagingConstant: number;
  private batchCount = 0;
  private minimum = Number.POSITIVE_INFINITY;
  private maximum = Number.NEGATIVE_INFINITY;
  private averagedMinimum = Number.NaN;
  private averagedMaximum = Number.NaN;

  constructor(averagingConstant = DEFAULT_AVERAGING_CONSTANT) {
    if (!(averagingConstant > 0 && averagingConstant <= 1)) {
      throw new WhittleError(
        'CALIBRATION_OPTIONS_INVALID',
        `the averaging constant must be in (0, 1], not ${averagingConstant}`,
      );
    }
    this.averagingConstant = averagingConstant;
  }

  /** Batches that held at least one finite value. */
  get batches(): number {
    return this.batchCount;
  }

  /** Global minimum over every batch; +Infinity before the first batch. */
  get min(): number {
    return this.minimum;
  }

  /** Global maximum over every batch; -Infinity before the first batch. */
  get max(): number {
    return this.maximum;
  }

  /** Moving average of the batch minima; NaN before the first batch. */
  get averageMin(): number {
    return this.averagedMinimum;
  }

  /** Moving average of the batch maxima; NaN before the first batch. */
  get averageMax(): number {
    return this.averagedMaximum;
  }

  /**
   * Record one batch by its finite extremes. A batch without finite values (min > max, e.g. +Infinity/-Infinity)
   * is skipped.
   */
  update(batchMin: number, batchMax: number): void {
    if (!(batchMin <= batchMax) || !Number.isFinite(batchMin) || !Number.isFinite(batchMax)) return;
    if (this.batchCount === 0) {
      this.averagedMinimum = batchMin;
      this.averagedMaximum = batchMax;
    } else {
      this.averagedMinimum += this.averagingConstant * (batchMin - this.averagedMinimum);
      this.averagedMaximum += this.averagingConstant * (batchMax - this.averagedMaximum);
    }
    if (batchMin < this.minimum) this.minimum = batchMin;
    if (batchMax > this.maximum) this.maximum = batchMax;
    this.batchCount++;
  }

  /** Record one batch given by its values (NaN and ±Infinity ignored). */
  observe(values: Float32Array | Float64Array | ArrayLike<number>): void {
    let lowest = Number.POSITIVE_INFINITY;
    let highest = Number.NEGATIVE_INFINITY;
    for (let index = 0; index < values.length; index++) {
      const value = values[index]!;
      if (value - value !== 0) continue;
      if (value < lowest) lowest = value;
      if (value > highest) highest = value;
    }
    this.update(lowest, highest);
  }

  toJSON(): MovingAverageJSON {
    const empty = this.batchCount === 0;
    return {
      averagingConstant: this.averagingConstant,
      batches: this.batchCount,
      min: empty ? 0 : this.minimum,
      max: empty ? 0 : this.maximum,
      averageMin: empty ? 0 : this.averagedMinimum,
      averageMax: empty ? 0 : this.averagedMaximum,
    };
  }

  static fromJSON(json: MovingAverageJSON): MovingAverageMinMax {
    const result = new MovingAverageMinMax(json.averagingConstant);
    if (!Number.isSafeInteger(json.batches) || json.batches < 0) {
      throw new WhittleError('CALIBRATION_OPTIONS_INVALID', `batches must be a non-negative integer`);
    }
    if (json.batches > 0) {
      result.batchCount = json.batches;
      result.minimum = json.min;
      result.maximum = json.max;
      result.averagedMinimum = json.averageMin;
      result.averagedMaximum = json.averageMax;
    }
    return result;
  }
}
