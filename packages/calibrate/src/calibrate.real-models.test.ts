/**
 * Calibration of real models on real data (rendered text for the OCR classifier, synthesized speech for the voice
 * detector), kept apart from the evaluation split.
 */
import { encodeModel } from '@whittle/onnx';
import { readModel } from '@whittle/onnx/node';
import { ortExecutorFactory } from '@whittle/runtime-ort';
import { realModel, speechClips, textImageFolder } from '@whittle/test-fixtures';
import { describe, expect, it } from 'vitest';
import { mainGraphIfs } from './branches.js';
import { calibrate, calibrationTensors } from './calibrate.js';
import { measureChannelMeans } from './channel-means.js';
import { datasetFromSamples, type Sample } from './dataset.js';
import { openDataset } from './node/open-dataset.js';
import { parseCalibrationTable, serializeCalibrationTable } from './table.js';

/** PaddleOCR's preprocessing: pixels scaled to [-1, 1]. */
const paddle = { scale: 1 / 255, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] };

const classifierData = (count: number) => textImageFolder('classifier', 'calibration', count);

/** Silero VAD windows of speech: 64 samples of context, then 512 new ones, with a zero recurrent state. */
function vadSamples(count: number): Sample[] {
  return speechClips('calibration')
    .filter((clip) => clip.speech)
    .slice(0, count)
    .map((clip) => ({
      input: { type: 'float32', dims: [1, 576], data: clip.samples.slice(8000, 8576) },
      state: { type: 'float32', dims: [2, 1, 128], data: new Float32Array(256) },
      sr: { type: 'int64', dims: [], data: BigInt64Array.of(16000n) },
    }));
}

describe('calibrate on real data', () => {
  it('min-max by reductions in the runtime gives the same ranges as observing every activation', async () => {
    const { model } = readModel(realModel('ocr-cls').path);
    const bytes = Buffer.from(encodeModel(model));
    const dataset = openDataset(classifierData(3), model, { image: paddle });
    const method = { method: 'minmax', symmetric: false, bits: 8 } as const;
    const reduced = await calibrate(model, dataset, { executors: ortExecutorFactory, method });
    const withMoments = await calibrate(model, dataset, { executors: ortExecutorFactory, method, moments: true });
    const observed = await calibrate(model, dataset, { executors: ortExecutorFactory, method, histograms: true });
    expect(Object.keys(reduced.tensors).sort()).toEqual(Object.keys(observed.tensors).sort());
    expect(Object.keys(withMoments.tensors).sort()).toEqual(Object.keys(observed.tensors).sort());
    for (const [name, tensor] of Object.entries(observed.tensors)) {
      const other = reduced.tensors[name]!;
      // The same sums in the same runtime: measured, derived (Relu, Clip, Add by 3...) or constant, bit for bit.
      expect([other.min, other.max], name).toEqual([tensor.min, tensor.max]);
      expect(other.statistics.count).toBe(tensor.statistics.count);
      expect(other.statistics.movingAverage!.min).toBeCloseTo(tensor.statistics.movingAverage!.min, 6);
      expect(other.statistics.movingAverage!.max).toBeCloseTo(tensor.statistics.movingAverage!.max, 6);
      expect(other.statistics.mean).toBeUndefined();
      const moments = withMoments.tensors[name]!;
      expect([moments.min, moments.max], name).toEqual([tensor.min, tensor.max]);
      const spread = Math.max(tensor.statistics.std!, 1e-6);
      expect(Math.abs(moments.statistics.mean! - tensor.statistics.mean!) / spread, name).toBeLessThan(1e-3);
      expect(moments.statistics.std).toBeCloseTo(tensor.statistics.std!, 3);
    }
    // The caller's model is unchanged: no reduction nodes or outputs left behind.
    expect(Buffer.from(encodeModel(model)).equals(bytes)).toBe(true);
  });

  const fixture = realModel('ocr-cls');

  it('gives every activation of the OCR classifier a range, and the table reads back', async () => {
    const { model } = readModel(fixture.path);
    const dataset = openDataset(classifierData(8), model, { image: paddle });
    const table = await calibrate(model, dataset, {
      executors: ortExecutorFactory,
      method: { method: 'minmax', symmetric: false, bits: 8 },
    });
    expect(table.samples).toBe(8);
    const names = Object.keys(table.tensors);
    expect(names.length).toBe(calibrationTensors(model).filter((name) => table.tensors[name]).length);
    expect(names.length).toBeGreaterThan(150);
    // The input: white paper is 1.0 after PaddleOCR's normalisation, dark ink close to -1.
    expect(table.tensors.x!.max).toBeCloseTo(1, 5);
    expect(table.tensors.x!.min).toBeLessThan(-0.5);
    for (const tensor of Object.values(table.tensors)) expect(tensor.min <= 0 && tensor.max >= 0).toBe(true);
    const again = await parseCalibrationTable(serializeCalibrationTable(table), { model });
    expect(again.tensors).toEqual(table.tensors);
  });

  it('captures in groups when one run would exceed the budget, with the same result', async () => {
    const { model } = readModel(fixture.path);
    const dataset = openDataset(classifierData(3), model, { image: paddle });
    const method = { method: 'minmax', symmetric: false, bits: 8 } as const;
    // Histograms force the capture path (min-max alone runs as reductions inside the runtime).
    const whole = await calibrate(model, dataset, { executors: ortExecutorFactory, method, histograms: true });
    let groups = 0;
    const grouped = await calibrate(model, dataset, {
      executors: ortExecutorFactory,
      method,
      histograms: true,
      captureBudgetBytes: 2_000_000,
      onProgress: (progress) => {
        groups = progress.groups;
      },
    });
    expect(groups).toBeGreaterThan(1);
    // Sessions capturing different sets fuse differently, so values may differ by float rounding, no more.
    expect(Object.keys(grouped.tensors)).toEqual(Object.keys(whole.tensors));
    for (const [name, tensor] of Object.entries(whole.tensors)) {
      const other = grouped.tensors[name]!;
      const scale = Math.max(Math.abs(tensor.min), Math.abs(tensor.max), 1e-6);
      expect(Math.abs(other.min - tensor.min) / scale, name).toBeLessThan(1e-5);
      expect(Math.abs(other.max - tensor.max) / scale, name).toBeLessThan(1e-5);
    }
  });

  it('records the same channel means in its own session as a separate pass measures', async () => {
    const { model } = readModel(fixture.path);
    const bytes = Buffer.from(encodeModel(model));
    const dataset = openDataset(classifierData(3), model, { image: paddle });
    const expected = await measureChannelMeans(model, dataset, { executors: ortExecutorFactory });
    expect(expected.size).toBeGreaterThan(40);
    const executors = ortExecutorFactory;
    const tables = {
      reductions: await calibrate(model, dataset, {
        executors,
        method: { method: 'minmax', symmetric: false, bits: 8 },
        channelMeans: true,
      }),
      // One capture group: the session that measured the sizes on the first sample goes on.
      histograms: await calibrate(model, dataset, {
        executors,
        method: { method: 'percentile', symmetric: false, bits: 8 },
        channelMeans: true,
      }),
      // Capture groups: the means come from the first group's session.
      groups: await calibrate(model, dataset, {
        executors,
        method: { method: 'percentile', symmetric: false, bits: 8 },
        channelMeans: true,
        captureBudgetBytes: 2_000_000,
      }),
    };
    for (const [path, table] of Object.entries(tables)) {
      const recorded = Object.entries(table.tensors).filter(([, tensor]) => tensor.statistics.channelMeans);
      expect(recorded.map(([name]) => name).sort(), path).toEqual([...expected.keys()].sort());
      for (const [name, tensor] of recorded) {
        const { axis, values } = tensor.statistics.channelMeans!;
        const reference = expected.get(name)!;
        expect(axis, name).toBe(reference.axis);
        // Sessions of other outputs fuse differently: float rounding apart, the same means.
        const scale = Math.max(...reference.values.map(Math.abs), 1e-6);
        values.forEach((value, channel) => {
          expect(Math.abs(value - reference.values[channel]!) / scale, `${path} ${name}[${channel}]`).toBeLessThan(
            1e-5,
          );
        });
      }
      const again = await parseCalibrationTable(serializeCalibrationTable(table), { model });
      expect(again.tensors).toEqual(table.tensors);
    }
    // Without the option, none; and the caller's model is as it was.
    const plain = await calibrate(model, dataset, {
      executors,
      method: { method: 'minmax', symmetric: false, bits: 8 },
    });
    expect(Object.values(plain.tensors).some((tensor) => tensor.statistics.channelMeans)).toBe(false);
    expect(Buffer.from(encodeModel(model)).equals(bytes)).toBe(true);
  });

  it('calibrates the tensors inside the If branch the voice detector takes; the table is for the original', async () => {
    const { model } = readModel(realModel('silero-vad-v5').path);
    const before = encodeModel(model);
    const branch = mainGraphIfs(model)[0]!.node.attribute('then_branch');
    if (branch?.type !== 'graph') throw new Error('Silero VAD has no then branch');
    const convs = branch.value.nodes.filter((node) => node.is('Conv')).map((node) => node.output(0)!.name);
    expect(convs.length).toBeGreaterThanOrEqual(6);
    const table = await calibrate(model, datasetFromSamples(vadSamples(8)), {
      executors: ortExecutorFactory,
      method: { method: 'minmax', symmetric: false, bits: 8 },
      channelMeans: true,
    });
    const mainGraph = calibrationTensors(model).length;
    const calibrated = Object.keys(table.tensors).length;
    console.log(`silero-vad-v5: ${mainGraph} main-graph tensors, ${calibrated} calibrated with the branch hoisted`);
    expect(calibrated).toBeGreaterThan(mainGraph + 50);
    for (const name of convs) expect(table.tensors[name], name).toBeDefined();
    // The Convs' inputs carry their channel means (the STFT's input, the signal, has one channel).
    const convInputs = branch.value.nodes.filter((node) => node.is('Conv')).map((node) => node.input(0)!.name);
    for (const name of convInputs) expect(table.tensors[name]?.statistics.channelMeans, name).toBeDefined();
    // The fingerprint is the caller's model's, which is left as it was.
    await expect(parseCalibrationTable(serializeCalibrationTable(table), { model })).resolves.toBeDefined();
    expect(Buffer.compare(encodeModel(model), before)).toBe(0);
  });

  it('entropy clips outliers that min-max keeps, on the voice detector fed real speech', async () => {
    const vad = realModel('silero-vad-v5');
    const { model } = readModel(vad.path);
    const samples: Sample[] = speechClips('calibration')
      .slice(0, 12)
      .map((clip) => ({
        input: { type: 'float32', dims: [1, 512], data: clip.samples.slice(4000, 4512) },
        state: { type: 'float32', dims: [2, 1, 128], data: new Float32Array(256) },
        sr: { type: 'int64', dims: [], data: BigInt64Array.from([16000n]) },
      }));
    const dataset = datasetFromSamples(samples);
    const minmax = await calibrate(model, dataset, {
      executors: ortExecutorFactory,
      method: { method: 'minmax', symmetric: true, bits: 8 },
    });
    const entropy = await calibrate(model, dataset, {
      executors: ortExecutorFactory,
      method: { method: 'entropy', symmetric: true, bits: 8 },
    });
    const input = 'input';
    expect(minmax.tensors[input]!.max).toBeGreaterThan(0);
    expect(entropy.tensors[input]!.max).toBeLessThanOrEqual(minmax.tensors[input]!.max);
    const clipped = Object.keys(minmax.tensors).filter(
      (name) => entropy.tensors[name]!.max < minmax.tensors[name]!.max,
    );
    expect(clipped.length).toBeGreaterThan(0);
  });
});
