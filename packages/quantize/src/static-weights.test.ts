import { DataType } from '@whittle/ir';
import { Random } from '@whittle/test-fixtures';
import { describe, expect, it } from 'vitest';
import {
  computeQuantizationParameters,
  integerRange,
  quantizeValue,
  roundHalfToEven,
} from './quantization-parameters.js';
import { quantizeStaticBytes, quantizeStaticTensor, type StaticWeightSettings } from './static-weights.js';
import { seededFloats } from './test-support.js';

/**
 * The definition quantizeStaticTensor's loops must match exactly: per element, the channel by division, the range
 * of the finite values, and QuantizeLinear's arithmetic (quantizeValue) with NaN mapped to the zero point.
 */
function reference(values: Float32Array, dims: readonly number[], settings: StaticWeightSettings) {
  const { type, symmetric } = settings;
  const axis = settings.axis !== undefined && settings.range === undefined ? settings.axis : undefined;
  const narrow = symmetric && (settings.narrow ?? false);
  const channels = axis === undefined ? 1 : dims[axis]!;
  const inner = axis === undefined ? values.length : dims.slice(axis + 1).reduce((product, dim) => product * dim, 1);
  const channelOf = (index: number) => Math.floor(index / inner) % channels;
  const scales = new Float32Array(channels);
  const zeroPoints = new Int32Array(channels);
  for (let channel = 0; channel < channels; channel++) {
    const finite = [...values].filter((value, index) => channelOf(index) === channel && Number.isFinite(value));
    const low = settings.range?.min ?? (finite.length > 0 ? Math.min(...finite) : 0);
    const high = settings.range?.max ?? (finite.length > 0 ? Math.max(...finite) : 0);
    const parameters = computeQuantizationParameters(Math.min(low, high), Math.max(low, high), type, {
      symmetric,
      narrow,
    });
    const minimum = settings.minimumScales?.[settings.minimumScales.length === 1 ? 0 : channel] ?? 0;
    scales[channel] = minimum > parameters.scale ? Math.fround(minimum) : parameters.scale;
    zeroPoints[channel] = parameters.zeroPoint;
  }
  const range = integerRange(type, { narrow });
  const data = Array.from(values, (value, index) => {
    const channel = channelOf(index);
    return Number.isNaN(value)
      ? zeroPoints[channel]!
      : quantizeValue(value, scales[channel]!, zeroPoints[channel]!, range);
  });
  return { data, scales: [...scales], zeroPoints: [...zeroPoints] };
}

function expectSame(values: Float32Array, dims: number[], settings: StaticWeightSettings) {
  const actual = quantizeStaticTensor(values, dims, settings);
  const expected = reference(values, dims, settings);
  expect([...actual.scales]).toEqual(expected.scales);
  expect([...actual.zeroPoints]).toEqual(expected.zeroPoints);
  expect([...actual.data]).toEqual(expected.data);
}

const TYPES = [DataType.INT8, DataType.UINT8, DataType.INT16, DataType.UINT16, DataType.INT32] as const;

describe('quantizeStaticTensor', () => {
  it('rounds half to even: ties of x / scale go to the even integer', () => {
    // Channel maximum 127 gives scale 1 exactly, so k + 0.5 is a tie.
    const values = Float32Array.from([127, 0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 126.5, -126.5, 2.4999, 2.5001]);
    const quantized = quantizeStaticTensor(values, [values.length], {
      type: DataType.INT8,
      symmetric: true,
      narrow: true,
    });
    expect(quantized.scales[0]).toBe(1);
    expect([...quantized.data]).toEqual([127, 0, 2, 2, 0, -2, -2, 126, -126, 2, 3]);
  });

  it('saturates values outside a given range and infinities, and maps NaN to the zero point', () => {
    const values = Float32Array.from([
      -10,
      -1,
      0,
      1,
      10,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
    ]);
    const unsigned = quantizeStaticTensor(values, [values.length], {
      type: DataType.UINT8,
      symmetric: false,
      range: { min: -1, max: 1 },
    });
    const zeroPoint = unsigned.zeroPoints[0]!;
    const [low, , zero, , high, nan, positive, negative] = unsigned.data;
    expect([low, zero, high, nan, positive, negative]).toEqual([0, zeroPoint, 255, zeroPoint, 255, 0]);
    // Infinities stay out of the range of the data, and saturate.
    const signed = quantizeStaticTensor(values, [values.length], {
      type: DataType.INT8,
      symmetric: true,
      narrow: true,
    });
    expect(signed.scales[0]).toBe(Math.fround(10 / 127));
    expect([...signed.data]).toEqual([-127, -13, 0, 13, 127, 0, 127, -127]);
  });

  it('matches the per-element definition on random tensors, every type, axis and option', () => {
    const random = new Random(11);
    const shapes: [number[], (number | undefined)[]][] = [
      [[37], [undefined, 0]],
      [
        [6, 5],
        [undefined, 0, 1],
      ],
      [
        [4, 3, 2, 3],
        [undefined, 0, 1, 3],
      ],
      [[1, 7], [1]],
    ];
    for (let trial = 0; trial < 160; trial++) {
      const [dims, axes] = random.pick(shapes);
      const count = dims.reduce((product, dim) => product * dim, 1);
      const spread = random.pick([1e-3, 1, 300, 1e6]);
      const values = Float32Array.from({ length: count }, () => {
        const roll = random.next();
        if (roll < 0.02) return Number.NaN;
        if (roll < 0.03) return random.next() < 0.5 ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
        if (roll < 0.06) return 0;
        if (roll < 0.1) return roundHalfToEven(random.uniform(-20, 20)) + 0.5;
        return random.uniform(-spread, spread) + (random.next() < 0.3 ? spread : 0);
      });
      const symmetric = random.next() < 0.5;
      const axis = random.pick(axes);
      const channels = axis === undefined ? 1 : dims[axis]!;
      const settings: StaticWeightSettings = {
        type: random.pick(TYPES),
        symmetric,
        narrow: symmetric && random.next() < 0.7,
        axis,
      };
      const option = random.next();
      if (option < 0.15) settings.range = { min: random.uniform(-spread, 0), max: random.uniform(0, spread) / 2 };
      else if (option < 0.25) settings.range = { max: spread / 4 };
      else if (option < 0.4) {
        settings.minimumScales = Float32Array.from({ length: random.next() < 0.5 ? 1 : channels }, () =>
          random.uniform(0, spread / 50),
        );
      }
      expectSame(values, dims, settings);
    }
  });

  it('matches the definition on tensors larger than one block of the kernels, whatever the layout', () => {
    const random = new Random(12);
    // More than BLOCK_VALUES (65,536) elements: blocks end mid-tensor, and with runs, mid-cycle of the channels.
    const cases: [number[], number][] = [
      [[1100, 61], 1],
      [[70, 3, 320], 0],
      [[2, 35, 961], 1],
    ];
    for (const [dims, axis] of cases) {
      const count = dims.reduce((product, dim) => product * dim, 1);
      const values = Float32Array.from({ length: count }, (_, index) =>
        index % 997 === 0 ? Number.NaN : random.uniform(-1, 1) * (1 + (index % 7)),
      );
      for (const type of [DataType.INT8, DataType.UINT16]) {
        expectSame(values, dims, { type, symmetric: true, narrow: true, axis });
        expectSame(values, dims, { type, symmetric: false, axis });
      }
    }
  });

  it('quantizeStaticBytes gives the same integers from bytes at any alignment', () => {
    const values = seededFloats(5000, 3, -2, 2);
    const expected = quantizeStaticTensor(values, [50, 100], { type: DataType.INT8, symmetric: true, axis: 1 });
    for (const misalignment of [1, 2, 3]) {
      const buffer = new Uint8Array(values.byteLength + misalignment);
      buffer.set(new Uint8Array(values.buffer), misalignment);
      const bytes = buffer.subarray(misalignment);
      const actual = quantizeStaticBytes(bytes, [50, 100], { type: DataType.INT8, symmetric: true, axis: 1 });
      expect([...actual.data]).toEqual([...expected.data]);
      expect([...actual.scales]).toEqual([...expected.scales]);
    }
  });

  it('matches the definition for channels with no finite values and for a tensor without elements', () => {
    const values = Float32Array.from([Number.NaN, 1, Number.POSITIVE_INFINITY, -2, Number.NaN, 3]);
    for (const type of TYPES) {
      for (const symmetric of [true, false]) {
        expectSame(values, [3, 2], { type, symmetric, narrow: symmetric, axis: 1 });
        expectSame(values, [2, 3], { type, symmetric, axis: 1 });
        expectSame(new Float32Array(0), [0, 4], { type, symmetric, axis: 1 });
      }
    }
  });
});
