/**
 * `optimize` on every real model: outputs within 1e-4 (relative to each output's largest magnitude) of the
 * original in onnxruntime-node, the verifier clean after every pass, onnx.checker accepting the file, and a second
 * run changing nothing. Prints the table the issue note reports.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readModel, writeModel } from '@whittle/onnx/node';
import { onnxChecker, realModels, relativeDifference, runOnnxRuntime } from '@whittle/test-fixtures';
import type { PipelineStep } from '@whittle/spec';
import { afterAll, describe, expect, it } from 'vitest';
import { loadRealModel, nodeCount, runPipeline } from './test-support.js';

/**
 * Models optimized with their inputs left dynamic: Silero VAD takes 512 samples at 16 kHz but 256 at 8 kHz, and
 * ONNX Runtime checks both If branches when it loads a model, so fixing the input to 512 makes the 8 kHz branch
 * (and the file) invalid for it.
 */
const keepDynamic = new Set(['silero-vad-v5']);

const folder = mkdtempSync(join(tmpdir(), 'whittle-optimize-'));
const rows: string[] = [];
const written: string[] = [];

afterAll(async () => {
  console.log(['model | nodes before -> after | file bytes before -> after | passes that fired', ...rows].join('\n'));
  const checked = onnxChecker(written);
  if (checked) expect([...checked].filter(([, result]) => !result.ok)).toEqual([]);
});

describe('optimize on real models', () => {
  it.each(realModels.map((fixture) => [fixture.id, fixture] as const))('%s', async (id, fixture) => {
    const loaded = await loadRealModel(fixture);
    const { feeds, expected } = loaded;
    const before = nodeCount(loaded.model);
    // Fix the inputs to the sizes the feeds use, as `whittle optimize --input-shape` would.
    const shapes = Object.fromEntries(Object.entries(feeds).map(([name, tensor]) => [name, [...tensor.dims]]));
    const fix: PipelineStep[] = keepDynamic.has(id) ? [] : [['fix-input-shapes', { shapes }]];
    const result = await runPipeline(loaded.model, [...fix, 'optimize']);
    const output = join(folder, `${id}.onnx`);
    const sizes = writeModel(result.model, output);
    written.push(output);
    const actual = await runOnnxRuntime(output, feeds);
    // Measured against at least 1e-2: the detector's map is near zero on synthetic input (see CompareSettings).
    expect(relativeDifference(expected, actual, { floor: 1e-2 })).toBeLessThanOrEqual(1e-4);
    const statistics = result.passes.at(-1)!.statistics;
    const fired = Object.keys(statistics)
      .filter((key) => key.endsWith('.changedRounds'))
      .map((key) => key.replace('.changedRounds', ''));
    rows.push(
      `${id} | ${before} -> ${nodeCount(result.model)} | ${loaded.fileSize} -> ${sizes.modelBytes} | ${fired.join(', ')}`,
    );
    const again = await runPipeline(readModel(output).model, ['optimize']);
    expect(again.changed).toBe(false);
  });
});
