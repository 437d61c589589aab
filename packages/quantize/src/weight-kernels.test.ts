import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
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
    const large = new KernelWorkspace({ values: 65 * 1024 * 1024 });
    expect(large.kernels).not.toBe(small.kernels);
    expect(large.kernels.memory.buffer.byteLength).toBeGreaterThanOrEqual(65 * 1024 * 1024);
    expect(small.kernels.memory.buffer.byteLength).toBeLessThan(64 * 1024 * 1024);
  });
});
