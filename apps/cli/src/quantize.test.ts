import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readModel } from '@whittle/onnx/node';
import { ortExecutorFactory } from '@whittle/runtime-ort';
import { realModel, textImageFolder } from '@whittle/test-fixtures';
import { describe, expect, it } from 'vitest';
import { runCli } from './cli.js';

const folder = mkdtempSync(join(tmpdir(), 'whittle-quantize-'));
const classifier = realModel('ocr-cls').path;
const paddle = ['--image-mean', '0.5,0.5,0.5', '--image-std', '0.5,0.5,0.5'];

async function whittle(args: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    cwd: folder,
  });
  return { code, stdout, stderr };
}

let calibrationImages: string | undefined;
/** Four rendered words, made once. */
function images(): string {
  calibrationImages ??= textImageFolder('classifier', 'calibration', 4);
  return calibrationImages;
}

/** `whittle quantize` of the classifier on the four images, writing `output` in the folder, with more options. */
function quantizeOnImages(output: string, ...options: string[]) {
  return whittle(['quantize', classifier, '--data', images(), ...paddle, '-o', join(folder, output), ...options]);
}

describe('whittle quantize', () => {
  it('quantizes statically, calibrating on the way, and writes a Markdown report', async () => {
    const output = join(folder, 'classifier.int8.onnx');
    const { code, stdout, stderr } = await quantizeOnImages('classifier.int8.onnx', '--report', 'report.md', '--json');
    expect(code, stderr).toBe(0);
    const report = JSON.parse(stdout);
    expect(report.mode).toBe('static');
    expect(report.statistics['quantize-static.weightsQuantized']).toBeGreaterThan(40);
    // Calibration recorded the channel means bias correction reads.
    expect(report.statistics['quantize-static.biasesCorrected']).toBeGreaterThan(40);
    // Then the remaining drift was measured on the data; the figures are those of the model written.
    expect(report.biasCorrection.layers).toBeGreaterThan(40);
    expect(report.biasCorrection.samples).toBe(4);
    expect(report.biasCorrection.fidelityAfter).toBeGreaterThanOrEqual(report.biasCorrection.fidelityBefore);
    expect(stderr).toMatch(/corrected the biases of \d+ of \d+ layers on 4 samples: output SQNR/);
    expect(
      report.operators.after.QuantizeLinear ?? report.operators.after['com.microsoft::QuantizeLinear'],
    ).toBeGreaterThan(0);
    const markdown = readFileSync(join(folder, 'report.md'), 'utf8');
    expect(markdown).toMatch(/^# whittle quantize/);
    expect(markdown).toMatch(/Bias correction measured on 4 calibration samples: \d+ of \d+ layers corrected/);
    // It runs in onnxruntime-node.
    const executor = await ortExecutorFactory.create(readModel(output).model);
    const outputs = await executor.run({
      x: { type: 'float32', dims: [1, 3, 48, 192], data: new Float32Array(3 * 48 * 192) },
    });
    await executor.dispose();
    expect(Object.keys(outputs)).toEqual(['softmax_0.tmp_0']);
  });

  it('uses a calibration table, and refuses one made for another model', async () => {
    const table = join(folder, 'classifier.table.json');
    expect((await whittle(['calibrate', classifier, '--data', images(), ...paddle, '-o', table])).code).toBe(0);
    const output = join(folder, 'classifier.table.int8.onnx');
    const fromTable = await whittle(['quantize', classifier, '--calibration-table', table, '-o', output, '--json']);
    expect(fromTable.code).toBe(0);
    expect(JSON.parse(fromTable.stdout).biasCorrection).toBeUndefined();
    // With --data as well, the data serves the measured bias correction.
    const both = await quantizeOnImages('classifier.table.int8.onnx', '--calibration-table', table, '--json');
    expect(both.code, both.stderr).toBe(0);
    expect(JSON.parse(both.stdout).biasCorrection.samples).toBe(4);
    const other = realModel('oww-hey-jarvis').path;
    const mismatch = await whittle(['quantize', other, '--calibration-table', table, '-o', join(folder, 'never.onnx')]);
    expect(mismatch.code).toBe(1);
    expect(mismatch.stderr).toMatch(/^whittle: error \[CALIBRATION_TABLE_MODEL_MISMATCH\]/);
    expect(existsSync(join(folder, 'never.onnx'))).toBe(false);
  });

  it('writes QOperator form after measured bias correction, or leaves the biases alone when told', async () => {
    const lowered = await quantizeOnImages('classifier.qoperator.onnx', '--format', 'qoperator', '--json');
    expect(lowered.code, lowered.stderr).toBe(0);
    const report = JSON.parse(lowered.stdout);
    expect(report.biasCorrection.layers).toBeGreaterThan(40);
    expect(report.operators.after.QLinearConv).toBeGreaterThan(40);
    const untouched = await quantizeOnImages('classifier.uncorrected.onnx', '--bias-correction', 'off', '--json');
    expect(untouched.code, untouched.stderr).toBe(0);
    const plain = JSON.parse(untouched.stdout);
    expect(plain.biasCorrection).toBeUndefined();
    expect(plain.statistics['quantize-static.biasesCorrected']).toBe(0);
    // weights: quantize-static's correction of weight rounding only.
    const weightsOnly = await quantizeOnImages(
      'classifier.weights-corrected.onnx',
      '--bias-correction',
      'weights',
      '--json',
    );
    expect(weightsOnly.code, weightsOnly.stderr).toBe(0);
    const weights = JSON.parse(weightsOnly.stdout);
    expect(weights.biasCorrection).toBeUndefined();
    expect(weights.statistics['quantize-static.biasesCorrected']).toBeGreaterThan(40);
    const wrong = await whittle(['quantize', classifier, '--bias-correction', 'sometimes', '-o', 'never.onnx']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/--bias-correction/);
  });

  it('warns when the outputs stay below the fidelity goal after bias correction, and says where to look', async () => {
    const pages = textImageFolder('detector', 'calibration', 3);
    const { code, stdout, stderr } = await whittle([
      'quantize',
      realModel('ocr-det').path,
      '--data',
      pages,
      ...paddle,
      '-o',
      join(folder, 'detector.int8.onnx'),
      '--json',
    ]);
    expect(code, stderr).toBe(0);
    const report = JSON.parse(stdout);
    expect(report.biasCorrection.fidelityAfter).toBeLessThan(25);
    const warning = report.diagnostics.find(
      (diagnostic: { code: string }) => diagnostic.code === 'QUANTIZE_LOW_FIDELITY',
    );
    expect(warning.severity).toBe('warning');
    expect(warning.message).toMatch(
      /^output 'sigmoid_0.tmp_0' has an SQNR of [\d.]+ dB on the 3 calibration samples \(goal 25 dB\)/,
    );
    expect(warning.message).toMatch(/whittle compare --per-layer/);
  });

  it('times both models on the data and warns when the quantized one is no faster', async () => {
    const timed = await quantizeOnImages('classifier.timed.onnx', '--latency-runs', '3', '--json');
    expect(timed.code, timed.stderr).toBe(0);
    const report = JSON.parse(timed.stdout);
    expect(report.latency.runs).toBe(3);
    expect(report.latency.referenceMilliseconds).toBeGreaterThan(0);
    expect(report.latency.ratio).toBeCloseTo(
      report.latency.candidateMilliseconds / report.latency.referenceMilliseconds,
      6,
    );
    const warned = report.diagnostics.some((diagnostic: { code: string }) => diagnostic.code === 'QUANTIZE_NOT_FASTER');
    expect(warned).toBe(report.latency.ratio >= 1.05);
    const untimed = await quantizeOnImages('classifier.untimed.onnx', '--latency-runs', '0', '--json');
    expect(JSON.parse(untimed.stdout).latency).toBeUndefined();
    const text = await quantizeOnImages('classifier.timed-text.onnx', '--latency-runs', '2');
    expect(text.stdout).toMatch(/latency \(median of 2\)/);
  });

  it('names both ways out when static mode has neither data nor table', async () => {
    const { code, stderr } = await whittle(['quantize', classifier, '-o', join(folder, 'never.onnx')]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/--data/);
    expect(stderr).toMatch(/--calibration-table/);
  });

  it('converts to fp16 and quantizes Gemm weights dynamically', async () => {
    const half = await whittle([
      'quantize',
      classifier,
      '--mode',
      'fp16',
      '-o',
      join(folder, 'classifier.fp16.onnx'),
      '--json',
    ]);
    expect(half.code).toBe(0);
    expect(JSON.parse(half.stdout).bytes.ratio).toBeLessThan(0.56);
    const jarvis = realModel('oww-hey-jarvis').path;
    const dynamic = await whittle([
      'quantize',
      jarvis,
      '--mode',
      'dynamic',
      '-o',
      join(folder, 'jarvis.dynamic.onnx'),
      '--json',
    ]);
    expect(dynamic.code).toBe(0);
    expect(JSON.parse(dynamic.stdout).bytes.ratio).toBeLessThan(0.4);
  });

  it('converts an opset-9 model to bf16: raised to opset 13 on the way, runs in ONNX Runtime', async () => {
    const output = join(folder, 'classifier.bf16.onnx');
    const { code, stdout } = await whittle(['quantize', classifier, '--mode', 'bf16', '-o', output, '--json']);
    expect(code).toBe(0);
    expect(JSON.parse(stdout).bytes.ratio).toBeLessThan(0.56);
    const { model } = readModel(output);
    expect(model.opsetVersion('')).toBe(13);
    const executor = await ortExecutorFactory.create(model);
    const outputs = await executor.run({
      x: { type: 'float32', dims: [1, 3, 48, 192], data: new Float32Array(3 * 48 * 192).fill(0.1) },
    });
    await executor.dispose();
    expect(Object.keys(outputs).length).toBeGreaterThan(0);
  });
});
