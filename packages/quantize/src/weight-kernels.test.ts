import { readFileSync } from 'node:fs';
import { Random } from '@whittle/test-fixtures';
import { describe, expect, it } from 'vitest';
import { quantizeValue } from './quantization-parameters.js';
import { packMatMulNBitsWeights, quantizeBlocks, quantizeMatMulNBits } from './weight-only-blockwise.js';
import { weightKernelsModuleSource } from '../scripts/kernels-source.mjs';
import { channelMagnitudeBits, KernelWorkspace, quantizeChannels } from './weight-kernels.js';

const here = (name: string) => new URL(name, import.meta.url);

describe('weight kernels', () => {
  it('the committed module is weight-kernels.wat assembled (run `pnpm assemble-kernels` after editing it)', () => {
    const text = readFileSync(here('weight-kernels.wat'), 'utf8');
    expect(readFileSync(here('weight-kernels-binary.ts'), 'utf8')).toBe(weightKernelsModuleSource(text));
  });

  it('finds each channel’s largest magnitude as a bit pattern, NaN above infinity, in either layout', () => {
    const values = Float32Array.from([1, -5, 2, Number.NaN, -0, 3, -7, 0.5, Number.NEGATIVE_INFINITY, 4, 1, -2]);
    const bytes = new Uint8Array(values.buffer);
    const asFloats = (bits: Int32Array) => [...new Float32Array(bits.buffer)];
    // [4, 3], channel axis last: columns {1, NaN, -7, 4}, {-5, -0, 0.5, 1}, {2, 3, -inf, -2}.
    const columns = channelMagnitudeBits(bytes, 3, 1);
    expect(columns[0]).toBeGreaterThan(0x7f800000);
    expect(asFloats(columns).slice(1)).toEqual([5, Number.POSITIVE_INFINITY]);
    // [3, 4], channel axis first: runs {1, -5, 2, NaN}, {-0, 3, -7, 0.5}, {-inf, 4, 1, -2}.
    const runs = channelMagnitudeBits(bytes, 3, 4);
    expect(runs[0]).toBeGreaterThan(0x7f800000);
    expect(asFloats(runs).slice(1)).toEqual([7, Number.POSITIVE_INFINITY]);
  });

  it('quantizes with QuantizeLinear’s arithmetic into 1- and 2-byte integers, signed or not', () => {
    // Ties go to even, out-of-range values and infinities saturate, NaN becomes the zero point.
    const values = Float32Array.from([0.5, 1.5, 2.5, -2.5, 1000, Number.NEGATIVE_INFINITY, Number.NaN, -0]);
    const bytes = new Uint8Array(values.buffer);
    const cases = [
      { output: new Int8Array(8), zeroPoint: 0, lowest: -128, highest: 127, expected: [0, 2, 2, -2, 127, -128, 0, 0] },
      {
        output: new Uint8Array(8),
        zeroPoint: 128,
        lowest: 0,
        highest: 255,
        expected: [128, 130, 130, 126, 255, 0, 128, 128],
      },
      {
        output: new Int16Array(8),
        zeroPoint: -3,
        lowest: -32768,
        highest: 32767,
        expected: [-3, -1, -1, -5, 997, -32768, -3, -3],
      },
      { output: new Uint16Array(8), zeroPoint: 7, lowest: 0, highest: 65535, expected: [7, 9, 9, 5, 1007, 0, 7, 7] },
    ];
    for (const { output, zeroPoint, lowest, highest, expected } of cases) {
      // One channel (inner 8), and 8 channels with one value each (the channel axis last).
      for (const [channels, inner] of [
        [1, 8],
        [8, 1],
      ] as const) {
        const parameters = {
          scales: new Float32Array(channels).fill(1),
          zeroPoints: new Int32Array(channels).fill(zeroPoint),
          lowest,
          highest,
        };
        quantizeChannels(bytes, channels, inner, parameters, output);
        expect([...output]).toEqual(expected);
      }
    }
  });

  it('small workspaces share one memory; a large one gets its own, which the process does not keep', () => {
    const small = new KernelWorkspace({ values: 1024 });
    expect(new KernelWorkspace({ values: 4096 }).kernels).toBe(small.kernels);
    const large = new KernelWorkspace({ values: 17 * 1024 * 1024 });
    expect(large.kernels).not.toBe(small.kernels);
    expect(large.kernels.memory.buffer.byteLength).toBeGreaterThanOrEqual(17 * 1024 * 1024);
    expect(small.kernels.memory.buffer.byteLength).toBeLessThanOrEqual(16 * 1024 * 1024);
  });

  it('matches the definition value by value: every lane and tail, many rows, runs longer than a block', () => {
    const random = new Random(21);
    const special = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 1e-40, 3e38, 2.5, -0.5];
    const cases: [number, number][] = [[70_001, 1]]; // one scale: a single run, copied in pieces
    for (let trial = 0; trial < 30; trial++) cases.push([random.integer(1, 13), random.integer(1, 19)]);
    for (const [channels, inner] of cases) {
      const length = channels === 70_001 ? 70_001 : channels * inner * random.integer(1, 40);
      const layout = channels === 70_001 ? { channels: 1, inner: length } : { channels, inner };
      const values = Float32Array.from({ length }, () =>
        random.next() < 0.05 ? random.pick(special) : random.uniform(-3, 3) * random.pick([1, 50]),
      );
      const bytes = new Uint8Array(values.buffer);
      const bits = channelMagnitudeBits(bytes, layout.channels, layout.inner);
      const channelOf = (index: number) => Math.floor(index / layout.inner) % layout.channels;
      const expectedBits = new Int32Array(layout.channels);
      const patterns = new Int32Array(values.buffer);
      patterns.forEach((pattern, index) => {
        const channel = channelOf(index);
        expectedBits[channel] = Math.max(expectedBits[channel]!, pattern & 0x7fffffff);
      });
      expect([...bits]).toEqual([...expectedBits]);
      const zeroPoints = Array.from({ length: layout.channels }, () => random.integer(-3, 4));
      const scales = Array.from({ length: layout.channels }, () => Math.fround(random.uniform(0.001, 0.5)));
      for (const output of [new Int8Array(length), new Int16Array(length)]) {
        const range = output instanceof Int8Array ? { min: -128, max: 127 } : { min: -32768, max: 32767 };
        quantizeChannels(
          bytes,
          layout.channels,
          layout.inner,
          { scales, zeroPoints, lowest: range.min, highest: range.max },
          output,
        );
        const expected = Array.from(values, (value, index) => {
          const channel = channelOf(index);
          return Number.isNaN(value)
            ? zeroPoints[channel]!
            : quantizeValue(value, scales[channel]!, zeroPoints[channel]!, range);
        });
        expect([...output]).toEqual(expected);
      }
    }
  });

  it('gives the same MatMulNBits bytes in a workspace too large to share (its own instance)', () => {
    // W [32, 131,101]: one block of 32 rows is 16.8 MB of floats, above the 16 MB the shared instance keeps.
    const k = 32;
    const n = 131_101;
    const random = new Random(22);
    const values = Float32Array.from({ length: k * n }, () => random.uniform(-1, 1));
    const settings = { bits: 4 as const, blockSize: 32, symmetric: true };
    const packed = quantizeMatMulNBits(new Uint8Array(values.buffer), k, n, 'k-by-n', settings);
    const reference = quantizeBlocks(n, k, (column, row) => values[row * n + column]!, settings);
    expect([...packed.scales]).toEqual([...reference.scales]);
    expect(Buffer.from(packed.weights).equals(Buffer.from(packMatMulNBitsWeights(reference, settings)))).toBe(true);
  });
});
