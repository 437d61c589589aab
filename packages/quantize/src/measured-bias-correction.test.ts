/**
 * Measured bias correction on a small Conv → Relu → Conv model whose Relu output range is clipped to a quarter of
 * what the data reaches: clipping lowers the mean of every channel after it, which is the drift the correction
 * measures and removes.
 */
import { datasetFromSamples, type Sample } from '@whittle/calibrate';
import { DataType, GraphBuilder, type Model, Tensor, tensorType } from '@whittle/ir';
import { encodeModel } from '@whittle/onnx';
import { ortExecutorFactory } from '@whittle/runtime-ort';
import { describe, expect, it } from 'vitest';
import { correctBiasesOnData, lowFidelityDiagnostic } from './measured-bias-correction.js';
import { copyModel, runStatic, seededFloats, sqnr } from './test-support.js';

const F = DataType.FLOAT;
const DIMS = [1, 3, 8, 8];

/**
 * x → Conv → Relu → Conv → y, the second Conv's weights positive (so that clipping its input lowers its output's
 * mean); with `argmax`, the output is the ArgMax of y over channels (int64) instead.
 */
function convReluConv(argmax = false): Model {
  const builder = new GraphBuilder();
  const weight = (name: string, dims: number[], seed: number, low: number, high: number) => {
    const count = dims.reduce((a, b) => a * b, 1);
    return builder.initializer(Tensor.fromArray(name, F, dims, seededFloats(count, seed, low, high)));
  };
  const x = builder.input('x', F, DIMS);
  const first = builder.op('Conv', [x, weight('w1', [8, 3, 3, 3], 1, -0.5, 0.5), weight('b1', [8], 2, -0.2, 0.2)], {
    name: 'first',
    attributes: { pads: [1, 1, 1, 1] },
    output: 'first_out',
  });
  const relu = builder.op('Relu', [first], { name: 'relu', output: 'relu_out' });
  const second = builder.op('Conv', [relu, weight('w2', [4, 8, 3, 3], 3, 0, 0.5), weight('b2', [4], 4, -0.2, 0.2)], {
    name: 'second',
    attributes: { pads: [1, 1, 1, 1] },
    output: argmax ? 'second_out' : 'y',
  });
  if (argmax) {
    const index = builder.op('ArgMax', [second], { name: 'argmax', attributes: { axis: 1 }, output: 'y' });
    builder.output(index, tensorType(DataType.INT64, [1, 1, 8, 8]));
  } else {
    builder.output(second, tensorType(F, [1, 4, 8, 8]));
  }
  return builder.model({ opsetImports: [{ domain: '', version: 17 }] });
}

const samples: Sample[] = Array.from({ length: 16 }, (_, index) => ({
  x: { type: 'float32', dims: DIMS, data: seededFloats(3 * 64, 100 + index) },
}));

/** Ranges for every float tensor, the Relu's clipped to [0, 0.25 · its real maximum]. */
async function clippedTable(model: Model) {
  const capture = ['first_out', 'relu_out', 'second_out'].filter(
    (name) => model.graph.findValue(name) && !model.graph.outputs.some((output) => output.name === name),
  );
  const executor = await ortExecutorFactory.create(model, { capture });
  const ranges: Record<string, { min: number; max: number }> = { x: { min: -1, max: 1 } };
  try {
    for (const sample of samples) {
      const outputs = await executor.run(sample);
      for (const [name, tensor] of Object.entries(outputs)) {
        if (tensor.type !== 'float32') continue;
        const values = tensor.data as Float32Array;
        const known = ranges[name] ?? { min: 0, max: 0 };
        ranges[name] = { min: Math.min(known.min, ...values), max: Math.max(known.max, ...values) };
      }
    }
  } finally {
    await executor.dispose();
  }
  ranges.relu_out = { min: 0, max: ranges.relu_out!.max / 4 };
  return { tensors: ranges };
}

async function outputsOf(model: Model): Promise<Float32Array> {
  const executor = await ortExecutorFactory.create(model);
  const parts: number[] = [];
  try {
    for (const sample of samples) parts.push(...((await executor.run(sample)).y!.data as Float32Array));
  } finally {
    await executor.dispose();
  }
  return Float32Array.from(parts);
}

describe('correctBiasesOnData', () => {
  it('removes the drift clipping causes, and reports the SQNR of the model it returns', async () => {
    const reference = convReluConv();
    const quantized = copyModel(reference);
    await runStatic(quantized, { calibrationTable: await clippedTable(reference), biasCorrection: false });
    const expected = await outputsOf(reference);
    const before = sqnr(expected, await outputsOf(quantized));

    const result = await correctBiasesOnData(reference, quantized, datasetFromSamples(samples), {
      executors: ortExecutorFactory,
    });
    const after = sqnr(expected, await outputsOf(quantized));
    // Both Convs have int32 biases; the second one's output drifts, and its correction is kept.
    expect(result.layers).toBe(2);
    expect(result.corrected).toBeGreaterThanOrEqual(1);
    expect(result.samples).toBe(16);
    expect(result.fidelityBefore).toBeCloseTo(before, 2);
    expect(result.fidelityAfter).toBeCloseTo(after, 2);
    // Measured: 11.5 → 18.0 dB.
    expect(after).toBeGreaterThan(before + 4);
    expect(result.worstOutput).toEqual({ name: 'y', sqnr: result.fidelityAfter });
  });

  it('changes nothing when no output can be scored (an ArgMax)', async () => {
    const reference = convReluConv(true);
    const quantized = copyModel(reference);
    await runStatic(quantized, { calibrationTable: await clippedTable(reference), biasCorrection: false });
    const bytes = Buffer.from(encodeModel(quantized));
    const result = await correctBiasesOnData(reference, quantized, datasetFromSamples(samples), {
      executors: ortExecutorFactory,
    });
    expect(result).toMatchObject({ layers: 2, corrected: 0, undone: 0 });
    expect(result.fidelityBefore).toBeNaN();
    expect(lowFidelityDiagnostic(result)).toBeUndefined();
    expect(Buffer.from(encodeModel(quantized)).equals(bytes)).toBe(true);
  });

  it('warns below the goal, naming the output', () => {
    const result = {
      layers: 2,
      corrected: 1,
      undone: 0,
      samples: 16,
      fidelityBefore: 12,
      fidelityAfter: 18,
      worstOutput: { name: 'y', sqnr: 18 },
    };
    expect(lowFidelityDiagnostic(result)).toMatchObject({ code: 'QUANTIZE_LOW_FIDELITY', severity: 'warning' });
    expect(lowFidelityDiagnostic(result)?.message).toMatch(/^output 'y' has an SQNR of 18.0 dB on the 16 /);
    expect(lowFidelityDiagnostic(result, 15)).toBeUndefined();
  });
});
