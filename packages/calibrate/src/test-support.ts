/**
 * Helpers shared by this package's tests (test-only: not an entry of the build). Seeded data comes from the
 * test fixtures' `Random`, so every machine sees the same numbers.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutorTensor } from '@whittle/spec';
import { WhittleError } from '@whittle/spec';
import { Random } from '@whittle/test-fixtures';
import { afterAll } from 'vitest';
import type { CalibrationDataset, Sample } from './dataset.js';

/** `count` values drawn by `sample` from a generator seeded with `seed`. */
export function seededValues(count: number, seed: number, sample: (random: Random) => number): Float32Array {
  const random = new Random(seed);
  const values = new Float32Array(count);
  for (let index = 0; index < count; index++) values[index] = sample(random);
  return values;
}

/** `count` normally distributed values with standard deviation `scale`. */
export function normalValues(count: number, seed: number, scale = 1): Float32Array {
  return seededValues(count, seed, (random) => random.normal() * scale);
}

/** A float32 tensor of the given shape, every element `fill`. */
export function float32Tensor(dims: number[], fill = 0): ExecutorTensor {
  return { type: 'float32', dims, data: new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(fill) };
}

/** The WhittleError that `run` throws; anything else thrown, or nothing thrown, fails the test. */
export function caught(run: () => unknown): WhittleError {
  try {
    run();
  } catch (error) {
    if (WhittleError.is(error)) return error;
    throw error;
  }
  throw new Error('expected a WhittleError');
}

/** Every sample of one pass over the dataset. */
export async function collectSamples(dataset: CalibrationDataset): Promise<Sample[]> {
  const samples: Sample[] = [];
  for await (const sample of dataset.samples()) samples.push(sample);
  return samples;
}

/** A fresh temporary folder, removed after the calling test file's tests; call it at the top level of the file. */
export function temporaryFolder(prefix: string): string {
  const folder = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(folder, { recursive: true, force: true }));
  return folder;
}
