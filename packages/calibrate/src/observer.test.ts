import { encodeBfloat16, encodeFloat16 } from '@whittle/ir';
import { describe, expect, it } from 'vitest';
import { Histogram } from './histogram.js';
import { TensorObserver } from './observer.js';
import { computeRange } from './range-methods.js';

/** Values that float16 and bfloat16 represent exactly: multiples of 1/8 in [-16, 16). */
function halfExactValues(count: number): Float32Array {
  const values = new Float32Array(count);
  for (let index = 0; index < count; index++) values[index] = (((index * 7919) % 256) - 128) / 8;
  return values;
}

describe('TensorObserver', () => {
  it('observes float32, float64 and float16 tensors alike', () => {
    // More than one decoding chunk (4096 values), with a ragged end.
    const values = halfExactValues(10_001);
    values[17] = Number.NaN;
    values[5000] = Number.NEGATIVE_INFINITY;
    const observers = {
      float32: new TensorObserver('x'),
      float64: new TensorObserver('x'),
      float16: new TensorObserver('x'),
      bfloat16: new TensorObserver('x'),
    };
    for (let batch = 0; batch < 3; batch++) {
      const scaled = values.map((value) => value * 2 ** batch);
      expect(observers.float32.observe({ type: 'float32', dims: [scaled.length], data: scaled })).toBe(true);
      observers.float64.observe({ type: 'float64', dims: [scaled.length], data: Float64Array.from(scaled) });
      observers.float16.observe({ type: 'float16', dims: [scaled.length], data: encodeFloat16(scaled) });
      observers.bfloat16.observe({ type: 'bfloat16', dims: [scaled.length], data: encodeBfloat16(scaled) });
    }
    const reference = observers.float32;
    expect(reference.batches).toBe(3);
    expect(reference.histogram.nanCount).toBe(3);
    expect(reference.histogram.negativeInfinityCount).toBe(3);
    for (const observer of Object.values(observers)) {
      expect([...observer.histogram.counts]).toEqual([...reference.histogram.counts]);
      expect(observer.summary()).toEqual(reference.summary());
      expect(observer.movingAverage.toJSON()).toEqual(reference.movingAverage.toJSON());
      expect(observer.skipped).toBe(false);
    }
    // The moving average saw three batches, each wider than the last.
    expect(reference.movingAverage.batches).toBe(3);
    expect(reference.movingAverage.averageMax).toBeLessThan(reference.histogram.max);
  });

  it('skips non-float tensors with a flag', () => {
    const observer = new TensorObserver('ids');
    expect(observer.observe({ type: 'int64', dims: [2], data: new BigInt64Array([1n, 2n]) })).toBe(false);
    expect(observer.observe({ type: 'string', dims: [1], data: ['a'] })).toBe(false);
    expect(observer.skipped).toBe(true);
    expect(observer.skippedType).toBe('int64');
    expect(observer.batches).toBe(0);
    expect(observer.histogram.count).toBe(0);
  });

  it('reads float bytes given as another kind of typed array, and refuses misaligned ones', () => {
    const values = new Float32Array([1.5, -2, 3]);
    const observer = new TensorObserver('x');
    observer.observe({ type: 'float32', dims: [3], data: new Uint8Array(values.buffer) });
    expect(observer.histogram.max).toBe(3);
    const misaligned = new Uint8Array(13).subarray(1);
    expect(() => observer.observe({ type: 'float32', dims: [3], data: misaligned })).toThrowError(
      expect.objectContaining({ code: 'CALIBRATION_TENSOR_DATA' }),
    );
    expect(() => observer.observe({ type: 'float32', dims: [1], data: ['1'] })).toThrowError(
      expect.objectContaining({ code: 'CALIBRATION_TENSOR_DATA' }),
    );
  });

  it('delegates ranges to computeRange and summarises for the table', () => {
    const observer = new TensorObserver('x', { bins: 64, averagingConstant: 0.5 });
    observer.observeValues([-1, 0.5]);
    observer.observeValues(new Float32Array([3, 0]));
    const histogram = new Histogram({ bins: 64 });
    histogram.add([-1, 0.5, 3, 0]);
    for (const method of ['minmax', 'percentile', 'entropy', 'mse'] as const) {
      const options = { method, symmetric: false, bits: 8 };
      expect(observer.range(options)).toEqual(computeRange({ min: -1, max: 3, histogram }, options));
    }
    expect(observer.range({ method: 'minmax', symmetric: false, bits: 8, movingAverage: true })).toEqual({
      min: -0.5,
      max: 1.75,
    });
    const summary = observer.summary();
    expect(summary).toMatchObject({ count: 4, min: -1, max: 3, mean: 0.625, nanCount: 0, infinityCount: 0 });
    expect(summary.std).toBeCloseTo(Math.sqrt((1.625 ** 2 + 0.125 ** 2 + 2.375 ** 2 + 0.625 ** 2) / 4), 12);
    expect(summary.movingAverage).toEqual({ min: -0.5, max: 1.75 });
    expect(summary.histogram).toEqual(histogram.binsToJSON());
    expect(observer.summary({ histogram: false }).histogram).toBeUndefined();
    // A tensor that held nothing finite.
    const empty = new TensorObserver('nan');
    empty.observeValues([Number.NaN]);
    expect(empty.summary({ histogram: false })).toEqual({
      count: 0,
      min: 0,
      max: 0,
      mean: 0,
      std: 0,
      nanCount: 1,
      infinityCount: 0,
    });
    expect(empty.range({ method: 'entropy', symmetric: true, bits: 8 })).toEqual({ min: 0, max: 0 });
  });
});
