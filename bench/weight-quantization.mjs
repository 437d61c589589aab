// Weight quantization throughput: MB/s of float32 weights turned into int8 (static weights path: per-channel
// symmetric) and int4 blocks (weight-only MatMulNBits), against a plain copy of the same bytes in the same run.
// Goal: at least half of copy speed. Uses the 419 MB MatMul chain that bench/run.mjs generates.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const load = (path) => import(pathToFileURL(join(root, path)).href);
const { readModel } = await load('packages/onnx/dist/node.js');
const { PassManager, PassRegistry } = await load('packages/core/dist/index.js');
const { quantizePlugin } = await load('packages/quantize/dist/index.js');
const { transformsPlugin } = await load('packages/transforms/dist/index.js');

const path = join(root, 'bench/.out/models/25x2048/matmul-chain-raw.onnx');
if (!existsSync(path)) {
  console.log('weight quantization: run `node bench/run.mjs` first to generate the model');
  process.exit(0);
}
const registry = new PassRegistry().register(transformsPlugin).register(quantizePlugin);
const rounds = 3;
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

function weightBytes(model) {
  return model.graph.initializers.reduce((sum, value) => sum + value.initializer.byteLength, 0);
}

/** Every activation gets a range, so that every MatMul (and its weight) is quantized. */
function rangesFor(model) {
  const names = [
    ...model.graph.inputs.map((value) => value.name),
    ...model.graph.nodes.map((node) => node.output(0).name),
  ];
  return { tensors: Object.fromEntries(names.map((name) => [name, { min: -4, max: 4 }])) };
}

const results = { copy: [], int8: [], int4: [] };
let bytes = 0;
for (let round = 0; round < rounds; round++) {
  const { model } = readModel(path);
  bytes = weightBytes(model);
  // The floor: copy every weight's bytes once.
  let started = performance.now();
  for (const value of model.graph.initializers) Buffer.from(value.initializer.bytes());
  results.copy.push(performance.now() - started);
  for (const [label, steps] of [
    ['int8', [['quantize-static', { calibrationTable: rangesFor(model), opTypes: ['MatMul'] }]]],
    ['int4', [['quantize-weights', { bits: 4, blockSize: 32 }]]],
  ]) {
    const fresh = readModel(path).model;
    started = performance.now();
    await new PassManager(registry).run(fresh, steps);
    results[label].push(performance.now() - started);
  }
}
const megabytes = bytes / 1e6;
const copy = median(results.copy);
console.log(
  `\nWeight quantization of ${megabytes.toFixed(0)} MB of float32 MatMul weights (median of ${rounds} rounds)`,
);
console.log('step                     time      MB/s   vs copy speed  goal >= 0.5');
for (const [label, times] of Object.entries(results)) {
  const time = median(times);
  const ratio = copy / time;
  console.log(
    `${label.padEnd(22)} ${`${(time / 1000).toFixed(2)} s`.padStart(7)} ${(megabytes / (time / 1000)).toFixed(0).padStart(8)} ${`${ratio.toFixed(2)}x`.padStart(14)}  ${label === 'copy' ? '' : ratio >= 0.5 ? 'met' : 'NOT MET'}`,
  );
}
