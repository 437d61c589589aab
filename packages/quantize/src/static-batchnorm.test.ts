import { DataType, GraphBuilder, type Model, Tensor, tensorType, verifyModel } from '@whittle/ir';
import { ort } from '@whittle/test-fixtures';
import { describe, expect, it } from 'vitest';
import { computeQuantizationParameters } from './quantization-parameters.js';
import { copyModel, minMaxTable, seededFloats, runOnOneThread, runStatic, sqnr } from './test-support.js';

const F = DataType.FLOAT;
/** Raw output scale of each channel of the 1x1 Conv: the BatchNormalization after it brings all back to ~1. */
const CHANNEL_SCALES = [1, 0.02, 0.5, 0.05];

/**
 * x → Conv 1x1 (no bias) → BatchNormalization → Conv 3x3 → y, as exported without fusion (opset 9, as
 * PP-OCR's models): channels whose raw outputs differ 50x in size, equalized by the normalization.
 */
function convBatchNorm(): Model {
  const b = new GraphBuilder();
  const channels = CHANNEL_SCALES.length;
  const x = b.input('x', F, [1, channels, 6, 6]);
  const weights = seededFloats(channels * channels, 5, -1, 1);
  CHANNEL_SCALES.forEach((scale, output) => {
    for (let index = 0; index < channels; index++) weights[output * channels + index]! *= scale;
  });
  const w = b.initializer(Tensor.fromArray('w', F, [channels, channels, 1, 1], weights));
  const conv = b.op('Conv', [x, w], { name: 'conv', output: 'conv_out' });
  const constant = (name: string, values: number[]) =>
    b.initializer(Tensor.fromArray(name, F, [channels], Float32Array.from(values)));
  const gamma = constant('gamma', [1.2, 0.8, 1, 1.5]);
  const beta = constant('beta', [0.1, -0.2, 0.3, 0]);
  const mean = constant('mean', [0, 0, 0, 0]);
  const variance = constant(
    'variance',
    CHANNEL_SCALES.map((scale) => scale * scale),
  );
  const bn = b.op('BatchNormalization', [conv, gamma, beta, mean, variance], { name: 'bn', output: 'bn_out' });
  const w2 = b.initializer(
    Tensor.fromArray('w2', F, [2, channels, 3, 3], seededFloats(2 * channels * 9, 6, -0.5, 0.5)),
  );
  const y = b.op('Conv', [bn, w2], { name: 'conv2', attributes: { pads: [1, 1, 1, 1] }, output: 'y' });
  b.output(y, tensorType(F, [1, 2, 6, 6]));
  return b.model({ opsetImports: [{ domain: '', version: 9 }] });
}

function feeds(seed: number) {
  const dims = [1, CHANNEL_SCALES.length, 6, 6];
  return {
    x: new ort.Tensor(
      'float32',
      seededFloats(
        dims.reduce((a, c) => a * c, 1),
        seed,
        -1,
        1,
      ),
      dims,
    ),
  };
}

async function fidelity(model: Model, quantized: Model): Promise<number> {
  const held = feeds(99);
  const reference = (await runOnOneThread(model, held, 'disabled')).y!.data as Float32Array;
  const actual = (await runOnOneThread(quantized, held, 'disabled')).y!.data as Float32Array;
  return sqnr(reference, actual);
}

describe('quantize-static: BatchNormalization after a Conv', () => {
  it('is folded into the Conv first, whose output takes the normalized range of the table', async () => {
    const model = convBatchNorm();
    // Calibrated on the unfused model, as a user would: the table ranges both the raw and the normalized output.
    const table = await minMaxTable(model, [1, 2, 3, 4, 5, 6, 7, 8].map(feeds));
    const folded = copyModel(model);
    const { statistics, reports } = await runStatic(folded, { calibrationTable: table });
    expect(reports.filter((report) => report.severity !== 'info')).toEqual([]);
    expect(verifyModel(folded).filter((diagnostic) => diagnostic.severity === 'error')).toEqual([]);
    expect(statistics.batchNormsFolded).toBe(1);
    expect(folded.graph.nodes.some((node) => node.opType === 'BatchNormalization')).toBe(false);

    // The pair after the Conv quantizes the normalized output (its own name and range), not the raw one.
    const conv = folded.graph.nodes.find((node) => node.name === 'conv')!;
    expect(conv.output(0)!.name).toBe('bn_out');
    const quantize = conv.output(0)!.uses.find((use) => use.node.opType === 'QuantizeLinear')!.node;
    const range = table.tensors.bn_out!;
    const expected = computeQuantizationParameters(Math.min(range.min, 0), Math.max(range.max, 0), DataType.UINT8, {
      symmetric: false,
    });
    expect(quantize.input(1)!.constant!.toArray()[0]).toBeCloseTo(expected.scale, 7);

    // Left unfused, the raw output's one scale leaves the small channels a few levels, which the normalization
    // then multiplies by up to 50: per-channel weights cannot help that.
    const unfolded = copyModel(model);
    await runStatic(unfolded, { calibrationTable: table, foldBatchNorm: false });
    expect(unfolded.graph.nodes.some((node) => node.opType === 'BatchNormalization')).toBe(true);
    const good = await fidelity(model, folded);
    const bad = await fidelity(model, unfolded);
    expect(good).toBeGreaterThan(30);
    expect(good).toBeGreaterThan(bad + 10);

    // Per-channel weights are at least as good as per-tensor ones on the folded graph.
    const perTensor = copyModel(model);
    await runStatic(perTensor, { calibrationTable: table, perChannel: false });
    expect(good).toBeGreaterThan((await fidelity(model, perTensor)) - 1);
  });
});
