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
// The copy's time swings with how the allocator finds its fresh buffer (reused pages or new ones to fault in), from
// one round to the next by up to 3x: it runs next to each pass in every round, and medians of 7 rounds are compared.
const rounds = 7;
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

// Each pass also runs with nothing to quantize (no ranges; no weight large enough): the same graph work without the
// weights, so the rest of its time is the weights' (reading them, quantizing, building the new initializers).
const passes = [
  {
    label: 'int8',
    steps: (model) => [['quantize-static', { calibrationTable: rangesFor(model), opTypes: ['MatMul'] }]],
    graphOnly: () => [['quantize-static', { calibrationTable: { tensors: {} }, opTypes: ['MatMul'] }]],
  },
  {
    label: 'int4',
    steps: () => [['quantize-weights', { bits: 4, blockSize: 32 }]],
    graphOnly: () => [['quantize-weights', { bits: 4, blockSize: 32, minElements: Number.MAX_SAFE_INTEGER }]],
  },
];
const results = { copy: [], read: [] };
for (const { label } of passes) Object.assign(results, { [label]: [], [`${label} graph`]: [] });
let bytes = 0;
/** The time of one pass over a freshly read model. */
async function timePass(pipeline) {
  const model = readModel(path).model;
  const started = performance.now();
  await new PassManager(registry).run(model, pipeline(model));
  return performance.now() - started;
}
/** The floor: copy every weight's bytes once, into a fresh buffer. */
function timeCopy() {
  const { model } = readModel(path);
  bytes = weightBytes(model);
  const started = performance.now();
  for (const value of model.graph.initializers) Buffer.from(value.initializer.bytes());
  return performance.now() - started;
}
for (let round = 0; round < rounds; round++) {
  for (const { label, steps } of passes) {
    results.copy.push(timeCopy());
    results[label].push(await timePass(steps));
  }
}
// The breakdown runs after every round above, so that it does not change the conditions the copy runs in (how fast
// a fresh buffer fills depends on the memory the steps before it freed).
for (let round = 0; round < 3; round++) {
  const { model } = readModel(path);
  // Reading the weights as Float32Array: a copy when raw_data is not 4-byte aligned (most are not).
  const started = performance.now();
  for (const value of model.graph.initializers) value.initializer.toArray();
  results.read.push(performance.now() - started);
  for (const { label, graphOnly } of passes) results[`${label} graph`].push(await timePass(graphOnly));
}
const megabytes = bytes / 1e6;
const copy = median(results.copy);
const rows = [
  ['copy', 'copy', 'the floor: Buffer.from of every weight'],
  ['read', 'read float32', 'toArray() of every weight'],
];
for (const { label } of passes) {
  rows.push([label, label, label === 'int8' ? 'quantize-static, per-channel int8' : 'quantize-weights, MatMulNBits']);
  rows.push([`${label} graph`, '  graph work', 'the same pass with nothing to quantize']);
}
console.log(
  `\nWeight quantization of ${megabytes.toFixed(0)} MB of float32 MatMul weights (median of ${rounds} rounds)`,
);
console.log('step                time      MB/s   vs copy speed  goal >= 0.5');
for (const [key, label, note] of rows) {
  const time = median(results[key]);
  const ratio = copy / time;
  const isPass = passes.some((pass) => pass.label === key);
  const throughput = key.endsWith(' graph') ? '' : (megabytes / (time / 1000)).toFixed(0);
  const speed = key.endsWith(' graph') ? '' : `${ratio.toFixed(2)}x`;
  const goal = isPass ? (ratio >= 0.5 ? 'met    ' : 'NOT MET') : '       ';
  console.log(
    `${label.padEnd(15)} ${`${(time / 1000).toFixed(3)} s`.padStart(9)} ${throughput.padStart(8)} ${speed.padStart(14)}  ${goal}  ${note}`,
  );
}
