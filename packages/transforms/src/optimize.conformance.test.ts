/**
 * `optimize` on every conformance model that onnxruntime-node runs: outputs within 1e-4 of the original (relative
 * to each output's largest magnitude), the verifier clean after every pass, and onnx.checker accepting every
 * written file whose original it accepts.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeTensor, encodeModel } from '@whittle/onnx';
import { readModel, writeModel } from '@whittle/onnx/node';
import {
  conformanceCases,
  conformanceFeeds,
  onnxChecker,
  relativeDifference,
  runOnnxRuntime,
} from '@whittle/test-fixtures';
import { describe, expect, it } from 'vitest';
import { QUIET, runPipeline } from './test-support.js';

describe('optimize on the conformance suite', () => {
  it('keeps every output within 1e-4 and every file valid', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'whittle-optimize-conformance-'));
    const failures: string[] = [];
    const written: [original: string, optimized: string][] = [];
    let compared = 0;
    let changed = 0;
    for (const testCase of conformanceCases()) {
      const { model } = readModel(testCase.modelPath);
      const feeds = conformanceFeeds(testCase, model, decodeTensor);
      if (typeof feeds === 'string') continue;
      let expected: Awaited<ReturnType<typeof runOnnxRuntime>>;
      try {
        expected = await runOnnxRuntime(new Uint8Array(readFileSync(testCase.modelPath)), feeds, QUIET);
      } catch {
        continue; // ONNX Runtime does not run the original either.
      }
      try {
        const result = await runPipeline(model, ['optimize']);
        if (result.changed) changed++;
        const output = join(folder, `${testCase.id.replaceAll('/', '_')}.onnx`);
        writeModel(result.model, output);
        written.push([testCase.modelPath, output]);
        const actual = await runOnnxRuntime(encodeModel(result.model), feeds, QUIET);
        compared++;
        const difference = relativeDifference(expected, actual);
        if (!(difference <= 1e-4)) failures.push(`${testCase.id}: outputs differ by ${difference}`);
      } catch (error) {
        failures.push(`${testCase.id}: ${(error as Error).message.split('\n')[0]}`);
      }
    }
    const checker = onnxChecker(written.flatMap((pair) => pair));
    let checkerAccepted = 0;
    if (checker) {
      for (const [original, optimized] of written) {
        if (!checker.get(original)?.ok) continue;
        if (checker.get(optimized)?.ok) checkerAccepted++;
        else failures.push(`${optimized}: onnx.checker: ${checker.get(optimized)?.error}`);
      }
    }
    console.log(
      `optimize on conformance: ${compared} compared, ${changed} changed, ${checkerAccepted} accepted by onnx.checker, ${failures.length} failures`,
    );
    expect(failures).toEqual([]);
    expect(compared).toBeGreaterThan(900);
  });
});
