/**
 * convert-float16 on every real model of @whittle/test-fixtures: float16 (ONNX Runtime CPU plan and the full
 * `any` plan) and bfloat16 models load and run in onnxruntime-node; size ratio and output SQNR are reported, and a
 * second run changes nothing.
 */
import type { Model } from '@whittle/ir';
import { encodeModel } from '@whittle/onnx';
import { readModel } from '@whittle/onnx/node';
import { type DiagnosticInput, WhittleError } from '@whittle/spec';
import { declaredInputs, realModelInputs, realModels, runOnnxRuntime } from '@whittle/test-fixtures';
import { afterAll, describe, expect, it } from 'vitest';
import { type ConvertFloat16Options, convertFloat16, Float16Codes } from './convert-float16.js';
import { contextFor, errorsOf, checkedOutputsSqnr } from './test-support.js';

const rows: string[] = [];

afterAll(() => {
  if (rows.length > 0) console.log(`convert-float16 on real models (size ratio, SQNR):\n${rows.sort().join('\n')}`);
});

/**
 * Models whose node and value names weigh so much that half the weights is not 0.52x of the file: PP-OCR's
 * classifier (hundreds of tiny BatchNorm tensors, each read through a Cast on ORT's CPU EP) and Silero VAD (two
 * copies of the network in If branches, long names).
 */
const STRUCTURE_HEAVY: Record<string, number> = { 'ocr-cls': 0.55, 'silero-vad-v5': 0.53 };

async function convertAndRun(id: string, options: ConvertFloat16Options, label: string) {
  const fixture = realModels.find((model) => model.id === id)!;
  const model = readModel(fixture.path).model;
  const originalBytes = encodeModel(model).byteLength;
  const feeds = realModelInputs(fixture, declaredInputs(model));
  const reference = await runOnnxRuntime(fixture.path, feeds);
  const reports: DiagnosticInput[] = [];
  const result = await convertFloat16.create(options).run(model, contextFor(reports));
  expect(result.changed).toBe(true);
  expect(errorsOf(model)).toEqual([]);
  const bytes = encodeModel(model);
  const outputs = await runOnnxRuntime(bytes, feeds);
  const quality = checkedOutputsSqnr(reference, outputs);
  const ratio = bytes.byteLength / originalBytes;
  const { weightBytesBefore = 0, weightBytesAfter = 0 } = result.statistics ?? {};
  rows.push(
    `  ${id.padEnd(20)} ${label.padEnd(9)} file ${ratio.toFixed(3)}x  ` +
      `weights ${(weightBytesAfter / weightBytesBefore).toFixed(3)}x  SQNR ${quality.toFixed(1)} dB`,
  );
  // The weights halve (a few small or out-of-range tensors stay float32).
  expect(weightBytesAfter / weightBytesBefore).toBeLessThanOrEqual(0.515);
  expect(ratio).toBeLessThanOrEqual(STRUCTURE_HEAVY[id] ?? 0.52);
  return { model, ratio, quality, reports };
}

async function secondRunChanges(model: Model, options: ConvertFloat16Options): Promise<boolean> {
  return (await convertFloat16.create(options).run(model, contextFor())).changed;
}

/**
 * SQNR floors with the default plan (weights rounded to float16, compute in float32 on ORT's CPU EP). PP-OCR's
 * detector answers ~1e-6 everywhere on the synthetic page: deep in the sigmoid's tail (logits near -30) a tiny
 * logit change is a large relative one; its logits themselves keep 65 dB (measured while writing this test).
 */
const FLOAT16_FLOOR: Record<string, number> = { 'ocr-det': 20 };

/** float16 everywhere breaks these two: activations beyond 65504 (a power spectrum, BatchNorm means above 1e5). */
const OVERFLOWS_IN_FLOAT16 = new Set(['ocr-det', 'oww-melspectrogram']);

describe('convert-float16 on real models', () => {
  it.each(realModels.map((fixture) => [fixture.id] as const))(
    '%s: float16 runs in ORT, half size, idempotent',
    async (id) => {
      const { model, quality } = await convertAndRun(id, {}, 'fp16');
      expect(quality).toBeGreaterThan(FLOAT16_FLOOR[id] ?? 40);
      expect(await secondRunChanges(model, {})).toBe(false);
    },
  );

  it.each(realModels.map((fixture) => [fixture.id] as const))(
    '%s: float16 everywhere (runtime any) runs in ORT',
    async (id) => {
      const { model, quality, reports } = await convertAndRun(id, { runtime: 'any' }, 'fp16-any');
      if (OVERFLOWS_IN_FLOAT16.has(id)) expect(quality).toBeLessThan(20);
      else expect(quality).toBeGreaterThan(40);
      if (id === 'ocr-det') expect(reports.map((report) => report.code)).toContain(Float16Codes.CLAMPED);
      expect(await secondRunChanges(model, { runtime: 'any' })).toBe(false);
    },
  );

  it.each(realModels.map((fixture) => [fixture.id] as const))(
    '%s: bfloat16 runs in ORT (refused below opset 13)',
    async (id) => {
      const fixture = realModels.find((model) => model.id === id)!;
      const model = readModel(fixture.path).model;
      const opset = model.opsetVersion('') ?? 0;
      if (opset < 13) {
        const error = await Promise.resolve(convertFloat16.create({ type: 'bfloat16' }).run(model, contextFor())).catch(
          (caught: unknown) => caught,
        );
        expect(WhittleError.is(error) && error.code).toBe(Float16Codes.OPSET_TOO_OLD);
        rows.push(`  ${id.padEnd(20)} ${'bf16'.padEnd(9)} refused: opset ${opset} < 13`);
        return;
      }
      const converted = await convertAndRun(id, { type: 'bfloat16' }, 'bf16');
      // bfloat16 keeps 8 significant bits (float16: 11), so about 18 dB less.
      expect(converted.quality).toBeGreaterThan(30);
      expect(await secondRunChanges(converted.model, { type: 'bfloat16' })).toBe(false);
    },
  );

  it('bfloat16 everywhere (runtime any) passes ONNX Runtime’s type checks but finds no CPU kernels', async () => {
    const fixture = realModels.find((model) => model.id === 'oww-hey-jarvis')!;
    const model = readModel(fixture.path).model;
    await convertFloat16.create({ type: 'bfloat16', runtime: 'any' }).run(model, contextFor());
    expect(errorsOf(model)).toEqual([]);
    const feeds = realModelInputs(fixture, declaredInputs(model));
    const error = await runOnnxRuntime(encodeModel(model), feeds).catch((caught: Error) => caught);
    expect(String(error)).toContain('Could not find an implementation');
  });
});
