import type { ExecutorTensor } from '@whittle/spec';
import { describe, expect, it } from 'vitest';
import { ErrorAccumulator, median } from './metrics.js';

const tensor = (values: number[]): ExecutorTensor => ({
  type: 'float32',
  dims: [values.length],
  data: Float32Array.from(values),
});

describe('ErrorAccumulator', () => {
  it('gives SQNR in dB, cosine similarity and absolute errors', () => {
    const accumulator = new ErrorAccumulator();
    accumulator.add(tensor([3, 4]), tensor([3, 4.5]));
    const metrics = accumulator.result();
    // signal 25, noise 0.25: 20 dB.
    expect(metrics.sqnr).toBeCloseTo(20, 10);
    expect(metrics.maxAbsoluteError).toBeCloseTo(0.5, 7);
    expect(metrics.meanAbsoluteError).toBeCloseTo(0.25, 7);
    expect(metrics.cosineSimilarity).toBeCloseTo((9 + 18) / (5 * Math.sqrt(9 + 20.25)), 10);
  });

  it('accumulates over samples and reports identical outputs as infinite SQNR', () => {
    const accumulator = new ErrorAccumulator();
    accumulator.add(tensor([1, 2]), tensor([1, 2]));
    accumulator.add(tensor([-1]), tensor([-1]));
    const metrics = accumulator.result();
    expect(metrics).toMatchObject({ sqnr: Number.POSITIVE_INFINITY, maxAbsoluteError: 0, elements: 3 });
    expect(metrics.cosineSimilarity).toBeCloseTo(1, 12);
  });

  it('records a shape mismatch instead of comparing', () => {
    const accumulator = new ErrorAccumulator();
    accumulator.add(tensor([1, 2]), tensor([1]));
    expect(accumulator.mismatch).toMatch(/dims differ/);
  });
});

describe('median', () => {
  it('takes the middle of sorted values', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});
