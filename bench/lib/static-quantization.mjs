/**
 * Quantizing a copy of a float model as `whittle quantize --data` does, shared by bench/quantization.mjs and
 * bench/quantization-speech.mjs: the pass(es), then, for the static modes, measured bias correction
 * (correctBiasesOnData) of the result against the untouched float model on the calibration data.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const load = (path) => import(pathToFileURL(join(root, path)).href);
const { encodeModel, decodeModel } = await load('packages/onnx/dist/index.js');
const { ortExecutorFactory } = await load('packages/runtime-ort/dist/index.js');
const { PassManager } = await load('packages/core/dist/index.js');
const { correctBiasesOnData } = await load('packages/quantize/dist/index.js');

/** A deep copy of a model (through its ONNX bytes): the passes and the correction change models in place. */
export const copyModel = (model) => decodeModel(encodeModel(model)).model;

/**
 * The static rows of a bench, as `{ steps, measured }` per mode name: the `whittle quantize --data` default
 * (per-channel weights, measured bias correction) named `defaultName`, the same without the measured correction
 * (quantize-static's own bias correction of the weights' rounding only, from the table's channel means), and
 * per-tensor weights with the measured correction.
 */
export function staticModes(table, defaultName) {
  return {
    [defaultName]: { steps: [['quantize-static', { calibrationTable: table }]], measured: true },
    'static int8, weight bias correction only': {
      steps: [['quantize-static', { calibrationTable: table }]],
      measured: false,
    },
    'static int8, per-tensor weights': {
      steps: [['quantize-static', { calibrationTable: table, perChannel: false }]],
      measured: true,
    },
  };
}

/**
 * Run `steps` on a copy of `reference` (which stays as it was); with `measuredOn` (the calibration dataset), then
 * correct the result's biases on it. Returns the pass manager's result (its model corrected) and the correction's
 * result with the seconds it took. A failure of the correction is thrown with `stage: 'bias correction'`.
 */
export async function quantizeCopy(registry, reference, steps, measuredOn) {
  const result = await new PassManager(registry).run(copyModel(reference), steps);
  if (!measuredOn) return { result };
  const started = performance.now();
  try {
    const correction = await correctBiasesOnData(reference, result.model, measuredOn, {
      executors: ortExecutorFactory,
    });
    return { result, correction: { ...correction, seconds: (performance.now() - started) / 1000 } };
  } catch (error) {
    error.stage = 'bias correction';
    throw error;
  }
}

/** One line about a measured bias correction: layers corrected and undone, SQNR on the samples, time. */
export function correctionNote(correction) {
  const { layers, corrected, undone, samples, fidelityBefore, fidelityAfter, seconds } = correction;
  return (
    `measured bias correction: ${corrected} of ${layers} layers corrected, ${undone} undone; output SQNR on ` +
    `${samples} calibration samples ${fidelityBefore.toFixed(1)} → ${fidelityAfter.toFixed(1)} dB; ${seconds.toFixed(1)} s`
  );
}
