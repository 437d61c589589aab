// Quantization results on real models and held-out real data: for every mode, the size ratio, output SQNR
// against the float model and the latency ratio measured in the same run (pnpm bench runs it; it prints a
// Markdown table). Calibration (percentile, with channel means, as `whittle quantize --data` does) uses the
// 'calibration' split of rendered text, evaluation the 'evaluation' split. The static modes are followed by measured
// bias correction on the calibration split, as `whittle quantize --data` does, except in the row that shows the
// weights' bias correction alone.
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const load = (path) => import(pathToFileURL(join(root, path)).href);
const { failedRow, measuredCells } = await import('./lib/quantization-cells.mjs');
const { correctionNote, quantizeCopy, staticModes } = await import('./lib/static-quantization.mjs');
const { realModel, textImageFolder, classifierOrientation, ctcGreedyDecode, mapOverlap, ocrCharacters } = await load(
  'packages/test-fixtures/dist/index.js',
);
const { readModel } = await load('packages/onnx/dist/node.js');
const { encodeModel } = await load('packages/onnx/dist/index.js');
const { ortExecutorFactory } = await load('packages/runtime-ort/dist/index.js');
const { calibrate } = await load('packages/calibrate/dist/index.js');
const { openDataset } = await load('packages/calibrate/dist/node.js');
const { compareModels } = await load('packages/evaluate/dist/index.js');
const { PassRegistry } = await load('packages/core/dist/index.js');
const { quantizePlugin } = await load('packages/quantize/dist/index.js');
const { transformsPlugin } = await load('packages/transforms/dist/index.js');

const started = performance.now();
const paddle = { scale: 1 / 255, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] };
const characters = ocrCharacters();
const first = (outputs) => Object.values(outputs)[0];
/** Task-level agreement of one sample: same orientation, same decoded text, or the overlap of the text maps. */
const models = [
  {
    id: 'ocr-cls',
    kind: 'classifier',
    image: paddle,
    task: 'same orientation',
    agree: (a, b) => Number(classifierOrientation(first(a)) === classifierOrientation(first(b))),
  },
  {
    id: 'ocr-det',
    kind: 'detector',
    image: { ...paddle, size: [320, 320] },
    task: 'text-map IoU',
    agree: (a, b) => mapOverlap(first(a), first(b)),
  },
  {
    id: 'ocr-rec',
    kind: 'recognizer',
    image: { ...paddle, size: [48, 320] },
    task: 'same decoded text',
    agree: (a, b) => Number(ctcGreedyDecode(first(a), characters) === ctcGreedyDecode(first(b), characters)),
  },
];
const samples = Number(process.argv[process.argv.indexOf('--samples') + 1]) || 16;

const registry = new PassRegistry().register(transformsPlugin).register(quantizePlugin);

const rows = [];
const notes = [];
for (const entry of models) {
  const reference = readModel(realModel(entry.id).path).model;
  const calibration = openDataset(textImageFolder(entry.kind, 'calibration', samples), reference, {
    image: entry.image,
  });
  const evaluation = openDataset(textImageFolder(entry.kind, 'evaluation', samples), reference, { image: entry.image });
  // The same as `whittle quantize --data`: the 99.999th percentile, and the channel means bias correction reads,
  // recorded in the same session.
  const calibrationStarted = performance.now();
  const table = await calibrate(reference, calibration, {
    executors: ortExecutorFactory,
    method: { method: 'percentile', symmetric: false, bits: 8 },
    channelMeans: true,
  });
  notes.push(
    `${entry.id}: calibrated ${Object.keys(table.tensors).length} tensors on ${table.samples} samples in ${((performance.now() - calibrationStarted) / 1000).toFixed(1)} s`,
  );
  const modes = {
    ...staticModes(table, 'static int8 (QDQ)'),
    dynamic: { steps: ['quantize-dynamic'] },
    fp16: { steps: [['convert-float16', { type: 'float16' }]] },
    // bfloat16 Cast needs opset 13: these models are at 9 and 11.
    bf16: { steps: ['upgrade-opset', ['convert-float16', { type: 'bfloat16' }]] },
    'weight-only int4': { steps: ['quantize-weights'] },
  };
  const referenceBytes = encodeModel(reference).byteLength;
  for (const [mode, { steps, measured }] of Object.entries(modes)) {
    try {
      const { result, correction } = await quantizeCopy(registry, reference, steps, measured && calibration);
      if (correction) notes.push(`${entry.id} / ${mode}: ${correctionNote(correction)}`);
      const candidate = result.model;
      let agreement = 0;
      let compared = 0;
      const report = await compareModels(reference, candidate, evaluation, {
        executors: ortExecutorFactory,
        latencyRuns: 20,
        onOutputs: (expected, actual) => {
          agreement += entry.agree(expected, actual);
          compared++;
        },
      });
      rows.push([
        entry.id,
        mode,
        ...measuredCells(encodeModel(candidate).byteLength, referenceBytes, report),
        `${((100 * agreement) / compared).toFixed(0)}% ${entry.task}`,
      ]);
    } catch (error) {
      rows.push(failedRow(entry.id, mode, error.stage ?? 'quantization', error));
    }
  }
}
console.log(
  `\nQuantization on held-out real data (${samples} rendered-text samples; SQNR and cosine of the first output; latency = median of 20 alternating runs, candidate/float). Static rows: measured bias correction on the calibration samples, except "weight bias correction only".`,
);
console.log('| model | mode | size ratio | SQNR dB | cosine | latency ratio | task agreement with float |');
console.log('|---|---|---|---|---|---|---|');
for (const row of rows) console.log(`| ${row.join(' | ')} |`);
console.log(`\n${notes.map((note) => `- ${note}`).join('\n')}`);
console.log(`\n${((performance.now() - started) / 1000).toFixed(0)} s in all`);
