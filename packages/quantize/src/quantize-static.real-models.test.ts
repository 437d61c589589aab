/**
 * quantize-static on real pretrained models: optimize, calibrate (min-max over a few generated inputs), quantize,
 * then check that ONNX Runtime runs the result with its default optimizations, that the weights shrink about 4x,
 * that the outputs stay close (SQNR on a held-out input) and that the verifier passes.
 */
import { readFileSync } from 'node:fs';
import { type Model, type Value, verifyModel } from '@whittle/ir';
import { decodeModel, encodeModel } from '@whittle/onnx';
import { readModel } from '@whittle/onnx/node';
import { declaredInputs, type OrtTensor, type RealModelId, realModel, realModelInputs } from '@whittle/test-fixtures';
import { optimize } from '@whittle/transforms';
import { describe, expect, it } from 'vitest';
import type { QuantizeStaticOptions } from './quantize-static.js';
import {
  contextFor,
  copyModel,
  exposeValues,
  inlineThenBranches,
  minMaxTable,
  optimizedOpCounts,
  quantizedView,
  runOnOneThread,
  runStatic,
  sqnr,
} from './test-support.js';

interface Expectation {
  id: RealModelId;
  /**
   * Float tensors compared besides the outputs: the logits before a final Sigmoid/Softmax. On the generated inputs
   * the detectors' probabilities are all ~1e-5 (nothing detected), where an SQNR says little; the logits carry it.
   */
  logits: string[];
  /** Options besides the table. */
  options?: Omit<QuantizeStaticOptions, 'calibrationTable'>;
  /** Lowest SQNR (dB) accepted (logits where given, else outputs); measured values are printed. */
  minimumSqnr: number;
  /** Lowest ratio of constant bytes before/after accepted (per-channel scales and int32 biases weigh on tiny layers). */
  minimumRatio: number;
  /** Integer kernels ONNX Runtime must have fused (op type in its optimized graph, at least this many). */
  fused: Record<string, number>;
}

const CALIBRATION_SEEDS = [1, 2, 3, 4, 5, 6, 7, 8];
/** Inputs the calibration did not see; SQNR sums signal and noise over all of them. */
const HELD_OUT_SEEDS = [100, 101];

const MODELS: readonly Expectation[] = [
  {
    id: 'ocr-cls',
    logits: ['p2o.Add.87'],
    minimumSqnr: 10,
    minimumRatio: 2.5,
    fused: { QLinearConv: 53, QLinearAdd: 20, QLinearMul: 15, QGemm: 1 },
  },
  {
    id: 'ocr-det',
    logits: ['p2o.ConvTranspose.3'],
    minimumSqnr: 15,
    minimumRatio: 3.4,
    fused: { QLinearConv: 62, QLinearAdd: 50, QLinearMul: 50, QLinearConcat: 1 },
  },
  // Min-max ranges with uint8 are the limit here (wide activation outliers before depthwise convs); int16 below.
  {
    id: 'ocr-rec',
    logits: ['p2o.Add.277'],
    minimumSqnr: 8,
    minimumRatio: 3.5,
    fused: { QLinearConv: 38, QLinearMatMul: 13 },
  },
  // 16-bit activations run as float kernels in ONNX Runtime (no int16 QLinearConv) but keep the outputs close.
  {
    id: 'ocr-rec',
    options: { activationType: 'int16' },
    logits: ['p2o.Add.277'],
    minimumSqnr: 17,
    minimumRatio: 3.5,
    fused: {},
  },
  { id: 'oww-embedding', logits: [], minimumSqnr: 25, minimumRatio: 3.5, fused: { QLinearConv: 20 } },
  // input.19: the wake-word head; input.43: the verifier in the If's then branch (runs only on a detection).
  { id: 'oww-hey-jarvis', logits: ['input.19', 'input.43'], minimumSqnr: 30, minimumRatio: 3.5, fused: { QGemm: 6 } },
];

async function prepared(id: RealModelId): Promise<{ model: Model; original: Uint8Array }> {
  const fixture = realModel(id);
  const original = new Uint8Array(readFileSync(fixture.path));
  const { model } = readModel(fixture.path);
  await optimize.create({ maxRounds: 8 }).run(model, contextFor());
  return { model, original };
}

/** Count of an op in ONNX Runtime's optimized graph, default or com.microsoft domain (QLinearConv is either). */
function qlinear(counts: Record<string, number>, opType: string): number {
  return (counts[opType] ?? 0) + (counts[`com.microsoft::${opType}`] ?? 0);
}

/** SQNR of several runs together: signal and noise summed over all of them. */
function sqnrOver(references: readonly Float32Array[], quantized: readonly Float32Array[]): number {
  const joined = (parts: readonly Float32Array[]) => {
    const out = new Float32Array(parts.reduce((sum, part) => sum + part.length, 0));
    let offset = 0;
    for (const part of parts) {
      out.set(part, offset);
      offset += part.length;
    }
    return out;
  };
  return sqnr(joined(references), joined(quantized));
}

/** Run a model with its outputs and the given float tensors (after quantization: what the model computes for them). */
async function outputsWithLogits(model: Model, logits: readonly string[], quantized: boolean, feeds: Feeds) {
  const copy = copyModel(model);
  inlineThenBranches(copy);
  const values = logits.map((name) => (quantized ? quantizedView(copy, name) : copy.graph.findValue(name)));
  values.forEach((value, index) => {
    if (!value) throw new Error(`no tensor '${logits[index]}'`);
  });
  const outputs = copy.graph.outputs.length;
  exposeValues(copy, values as Value[]);
  const names = copy.graph.outputs.map((value) => value.name);
  const results = await runOnOneThread(copy, feeds);
  return names.map((name, index) => ({
    label: index < outputs ? name : logits[index - outputs]!,
    data: results[name]!.data as Float32Array,
  }));
}

type Feeds = Record<string, OrtTensor>;

describe('quantize-static on real models', () => {
  for (const expectation of MODELS) {
    it(`${expectation.id}${expectation.options ? ` ${JSON.stringify(expectation.options)}` : ''}: runs in ONNX Runtime, ~4x smaller weights, outputs close`, async () => {
      const fixture = realModel(expectation.id);
      const { model, original } = await prepared(expectation.id);
      const declared = declaredInputs(model);
      const calibration = CALIBRATION_SEEDS.map((seed) => realModelInputs(fixture, declared, seed));
      const table = await minMaxTable(model, calibration);
      const floatModel = copyModel(model);

      const { statistics, reports } = await runStatic(model, { ...expectation.options, calibrationTable: table });
      expect(verifyModel(model)).toEqual([]);
      expect(reports.filter((report) => report.severity === 'warning')).toEqual([]);
      const quantized = encodeModel(model);
      // Idempotent: a second run finds everything quantized and leaves the model as it is.
      const again = await runStatic(decodeModel(quantized).model, { ...expectation.options, calibrationTable: table });
      expect(again.changed).toBe(false);
      expect(again.statistics.nodesQuantized).toBe(0);
      expect(Buffer.compare(encodeModel(again.model), quantized)).toBe(0);

      // The quantized file runs with ONNX Runtime's default (all) optimizations, as users run it.
      const reference: Float32Array[][] = [];
      const direct: Float32Array[][] = [];
      const expected: { label: string; data: Float32Array }[][] = [];
      const actual: { label: string; data: Float32Array }[][] = [];
      for (const seed of HELD_OUT_SEEDS) {
        const feeds = realModelInputs(fixture, declared, seed);
        const quantizedOutputs = await runOnOneThread(quantized, feeds);
        const floatOutputs = await runOnOneThread(original, feeds);
        reference.push(Object.values(floatOutputs).map((tensor) => tensor.data as Float32Array));
        direct.push(Object.keys(floatOutputs).map((name) => quantizedOutputs[name]!.data as Float32Array));
        expected.push(await outputsWithLogits(floatModel, expectation.logits, false, feeds));
        actual.push(await outputsWithLogits(model, expectation.logits, true, feeds));
      }
      const outputSqnr = reference[0]!.map((_, index) =>
        sqnrOver(
          reference.map((run) => run[index]!),
          direct.map((run) => run[index]!),
        ),
      );
      const first = expected[0]!.length - expectation.logits.length;
      const logitSqnr = expectation.logits.map((label, index) => ({
        label,
        sqnr: sqnrOver(
          expected.map((run) => run[first + index]!.data),
          actual.map((run) => run[first + index]!.data),
        ),
      }));

      const counts = await optimizedOpCounts(model);
      const before = statistics.weightBytesBefore!;
      const after = statistics.weightBytesAfter!;
      const fused = Object.fromEntries(Object.entries(counts).filter(([op]) => /QLinear|QGemm|Integer/.test(op)));
      const float = Object.entries(counts)
        .filter(([op]) =>
          /^(Conv|FusedConv|Gemm|MatMul|FusedMatMul|ConvTranspose)$/.test(op.replace('com.microsoft::', '')),
        )
        .map(([op, count]) => `${op}×${count}`);
      console.log(
        `${expectation.id}: constants ${before} → ${after} bytes (${(before / after).toFixed(2)}x), ` +
          `file ${original.byteLength} → ${quantized.byteLength} bytes (${(original.byteLength / quantized.byteLength).toFixed(2)}x); ` +
          `SQNR outputs ${outputSqnr.map((value) => value.toFixed(1)).join(', ')} dB` +
          (logitSqnr.length
            ? `, logits ${logitSqnr.map((entry) => `${entry.label} ${entry.sqnr.toFixed(1)}`).join(', ')} dB`
            : '') +
          `; nodes quantized ${statistics.nodesQuantized}, skipped ${JSON.stringify({
            missingRange: statistics.skippedMissingRange,
            floatInput: statistics.skippedFloatInput,
            unsupported: statistics.skippedUnsupported,
          })}; ORT fused ${JSON.stringify(fused)}, float compute left ${float.join(' ') || 'none'}`,
      );
      expect(before / after).toBeGreaterThan(expectation.minimumRatio);
      const measured = expectation.logits.length > 0 ? logitSqnr.map((entry) => entry.sqnr) : outputSqnr;
      expect(Math.min(...measured)).toBeGreaterThanOrEqual(expectation.minimumSqnr);
      for (const [opType, count] of Object.entries(expectation.fused)) {
        expect(qlinear(counts, opType)).toBeGreaterThanOrEqual(count);
      }
    });
  }
});
