// One calibration-bench measurement in a fresh process; prints one JSON line { seconds, peakBytes, tensors }.
//   inference  runs the model over the samples with a plain executor (no captures)
//   calibrate  runs calibrate() (min-max) over the same samples
//   collect    (optional) collect garbage before each sample, for memory runs
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const load = (path) => import(pathToFileURL(join(root, path)).href);
const { realModel, textImages } = await load('packages/test-fixtures/dist/index.js');
const { readModel } = await load('packages/onnx/dist/node.js');
const { ortExecutorFactory } = await load('packages/runtime-ort/dist/index.js');
const { calibrate, datasetFromSamples } = await load('packages/calibrate/dist/index.js');
const { readImageFile, resolveImagePreprocessing, modelInputs } = await load('packages/calibrate/dist/node.js');

const job = JSON.parse(process.argv[2]);
const fixture = realModel(job.model);
const { model } = readModel(fixture.path);
const kind = job.model === 'ocr-det' ? 'detector' : 'classifier';
const images = [...textImages(kind, 'calibration'), ...textImages(kind, 'evaluation')];
const [input] = modelInputs(model);
const settings = resolveImagePreprocessing(input, {
  scale: 1 / 255,
  mean: [0.5, 0.5, 0.5],
  std: [0.5, 0.5, 0.5],
  ...(kind === 'detector' ? { size: [320, 320] } : {}),
});
// Samples repeat the images when more are asked for than exist; they are decoded lazily, as a dataset reads files.
// With `collect` (the memory runs), garbage is collected before each sample: decoding leaves a few hundred KB of
// garbage per sample that V8 may keep for dozens of samples, the same with or without calibration, and peak memory
// over 10 samples would miss it while peak over 200 counts it.
const dataset = datasetFromSamples(async function* () {
  for (let index = 0; index < job.samples; index++) {
    if (job.collect) globalThis.gc?.();
    yield { [input.name]: await readImageFile(images[index % images.length].path, settings) };
  }
});
globalThis.gc?.();
const baseline = process.memoryUsage.rss();
const started = performance.now();
let tensors = 0;
if (job.mode === 'inference') {
  const executor = await ortExecutorFactory.create(model);
  for await (const sample of dataset.samples()) await executor.run(sample);
  await executor.dispose();
} else {
  const table = await calibrate(model, dataset, {
    executors: ortExecutorFactory,
    method: { method: 'minmax', symmetric: false, bits: 8 },
  });
  tensors = Object.keys(table.tensors).length;
}
const seconds = (performance.now() - started) / 1000;
const peakBytes = process.resourceUsage().maxRSS * 1024 - baseline;
console.log(JSON.stringify({ seconds, peakBytes, tensors }));
