#!/usr/bin/env node
// Whittle load + save benchmark: see bench/README.md.  Usage: pnpm bench [--rounds 3 --layers 25 --dim 2048]
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { basename, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { MB, mb, median, ratio, seconds, table } from './lib/stats.mjs';

const benchDir = fileURLToPath(new URL('.', import.meta.url));
const outDir = join(benchDir, '.out');
const modelsRoot = join(outDir, 'models');
const workDir = join(outDir, 'work');
const GENERATOR_VERSION = 1;

// `pnpm bench -- --rounds 7` passes the `--` through: drop it.
const argv = process.argv.slice(2).filter((arg, index) => !(index === 0 && arg === '--'));
const { values: args } = parseArgs({
  args: argv,
  options: {
    rounds: { type: 'string', default: '3' },
    layers: { type: 'string', default: '25' },
    dim: { type: 'string', default: '2048' },
    python: { type: 'string', default: '/usr/bin/python3' },
    'no-python': { type: 'boolean', default: false },
    'no-conditioning': { type: 'boolean', default: false },
  },
});
for (const name of ['rounds', 'layers', 'dim']) {
  if (!/^[1-9]\d*$/.test(args[name])) throw new Error(`--${name} must be a positive integer, not '${args[name]}'`);
}
const rounds = Number(args.rounds);
const spec = { version: GENERATOR_VERSION, layers: Number(args.layers), dim: Number(args.dim), seed: 1 };
// One cache folder per size, so a quick small run does not evict the default models.
const DEFAULT_FOLDER = '25x2048';
const modelsDir = join(modelsRoot, `${spec.layers}x${spec.dim}`);
const benchStart = performance.now();
mkdirSync(outDir, { recursive: true });
const log = (text = '') => process.stdout.write(`${text}\n`);

/** Runs a child that prints one JSON line; throws (so the bench exits non-zero) when it fails. */
function child(command, argv, what) {
  const result = spawnSync(command, argv, { encoding: 'utf8', timeout: 300_000, maxBuffer: 16 * 2 ** 20 });
  if (result.error || result.status !== 0) {
    throw new Error(
      `${what} failed (${result.error?.message ?? `exit ${result.status}${result.signal ? `, ${result.signal}` : ''}`})\n${result.stderr ?? ''}`,
    );
  }
  const last = result.stdout.trim().split('\n').at(-1);
  try {
    return JSON.parse(last);
  } catch {
    throw new Error(`${what} printed no result:\n${result.stdout}\n${result.stderr}`);
  }
}
const node = (job, what) => child(process.execPath, [join(benchDir, 'lib', 'measure.mjs'), JSON.stringify(job)], what);

// ---- Python onnx, if present -------------------------------------------------------------------------------
let python;
if (!args['no-python']) {
  const probe = spawnSync(args.python, ['-c', 'import onnx; print(onnx.__version__)'], { encoding: 'utf8' });
  if (probe.status === 0) python = { executable: args.python, onnx: probe.stdout.trim() };
  else log(`(no Python onnx at ${args.python}: Python comparisons are skipped)`);
}
const py = (job, what) =>
  child(python.executable, [join(benchDir, 'lib', 'python_child.py'), JSON.stringify(job)], what);

// ---- Models, generated once into bench/.out/models ----------------------------------------------------------
const rawPath = join(modelsDir, 'matmul-chain-raw.onnx');
const externalPath = join(modelsDir, 'matmul-chain-external.onnx');
const externalDataPath = `${externalPath}.data`;
const manifestPath = join(modelsDir, 'manifest.json');
const expectedWeights = spec.layers * spec.dim * spec.dim * 4;

function readManifest() {
  try {
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
    const same = ['version', 'layers', 'dim', 'seed'].every((key) => manifest.spec?.[key] === spec[key]);
    const sizes = manifest.sizes ?? {};
    const intact = [rawPath, externalPath, externalDataPath].every(
      (path) => existsSync(path) && statSync(path).size === sizes[basename(path)],
    );
    return same && intact ? manifest : undefined;
  } catch {
    return undefined;
  }
}

let manifest = readManifest();
if (!manifest) {
  log(`Generating models into ${modelsDir} (not timed) ...`);
  // Keep at most the default models and these on disk.
  for (const entry of existsSync(modelsRoot) ? readdirSync(modelsRoot) : []) {
    if (entry !== DEFAULT_FOLDER) rmSync(join(modelsRoot, entry), { recursive: true, force: true });
  }
  rmSync(modelsDir, { recursive: true, force: true });
  mkdirSync(modelsDir, { recursive: true });
  const started = performance.now();
  child(
    process.execPath,
    [join(benchDir, 'lib', 'generate.mjs'), JSON.stringify({ ...spec, rawPath, externalPath })],
    'model generation',
  );
  const sizes = Object.fromEntries(
    [rawPath, externalPath, externalDataPath].map((path) => [basename(path), statSync(path).size]),
  );
  manifest = { spec, sizes, checkedBy: null };
  writeFileSync(manifestPath, JSON.stringify(manifest, null, 2));
  log(`  done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}
if (python && manifest.checkedBy !== python.onnx) {
  // The reference implementation vouches for the generated files (full check: shapes inferred, external data read).
  for (const path of [rawPath, externalPath]) {
    const checked = py({ mode: 'check', path }, `onnx.checker on ${basename(path)}`);
    log(
      `  onnx ${checked.onnx} checker: ${basename(path)} valid (${checked.nodes} nodes, ${checked.initializers} initializers)`,
    );
  }
  manifest.checkedBy = python.onnx;
  writeFileSync(manifestPath, JSON.stringify(manifest, null, 2));
}

const models = [
  { key: 'raw', title: 'raw_data model', files: [rawPath], external: false },
  { key: 'external', title: 'external-data model', files: [externalPath, externalDataPath], external: true },
].map((model) => ({ ...model, size: model.files.reduce((sum, path) => sum + statSync(path).size, 0) }));

// ---- Measurements ------------------------------------------------------------------------------------------
const STEPS = [
  { key: 'copyRw', label: 'copy: readFileSync + writeFileSync' },
  { key: 'copyFs', label: 'copy: fs.copyFileSync' },
  { key: 'whittle', label: 'Whittle readModel + writeModel' },
  { key: 'python', label: `Python onnx${python ? ` ${python.onnx}` : ''} load + save`, python: true },
].filter((step) => !step.python || python);

/** Output folder of one measurement: the source's file names, so each copy is itself a valid model. */
function outputsOf(model, step) {
  const folder = join(workDir, step.key);
  return { folder, pairs: model.files.map((path) => [path, join(folder, basename(path))]) };
}

/**
 * Every measurement starts right after the same untimed conditioning step: a read+write copy of the raw model, then
 * deleted. On VMs whose host backs guest memory lazily, a process's page-cache writes run several times slower when
 * they land on memory no process used recently, so a step's time depends on how much memory the process before it
 * freed. With the same predecessor for every step, no step is favoured by the order it runs in.
 */
function condition() {
  const folder = join(workDir, 'conditioning');
  mkdirSync(folder, { recursive: true });
  node({ mode: 'copy-rw', files: [[rawPath, join(folder, 'copy.onnx')]] }, 'conditioning copy');
  rmSync(folder, { recursive: true, force: true });
}

function measure(model, step) {
  if (!args['no-conditioning']) condition();
  const { folder, pairs } = outputsOf(model, step);
  rmSync(folder, { recursive: true, force: true });
  mkdirSync(folder, { recursive: true });
  const what = `${step.label} on ${model.title}`;
  const destination = pairs[0][1];
  switch (step.key) {
    case 'copyRw':
      return node({ mode: 'copy-rw', files: pairs }, what);
    case 'copyFs':
      return node({ mode: 'copy-fs', files: pairs }, what);
    case 'whittle':
      return node({ mode: 'whittle', source: model.files[0], destination }, what);
    case 'python':
      return py({ mode: 'load-save', source: model.files[0], destination, external: model.external }, what);
  }
}

const peakOf = (sample) => sample.maxRss - sample.baselineRss;
// Written copies never outlive the run, even when a measurement crashes.
process.on('exit', () => rmSync(workDir, { recursive: true, force: true }));
const results = {};
rmSync(workDir, { recursive: true, force: true });
log(`\nWarm-up (one run of each step, not counted; fills the page cache):`);
for (const model of models) {
  results[model.key] = Object.fromEntries(STEPS.map((step) => [step.key, { samples: [] }]));
  for (const step of STEPS) {
    const sample = measure(model, step);
    let note = '';
    if (step.key === 'whittle') {
      const { pairs } = outputsOf(model, step);
      const verified = node(
        { mode: 'verify', files: pairs, source: pairs[0][0], destination: pairs[0][1] },
        `checking Whittle's output of ${model.title}`,
      );
      note = `  (output checked: ${verified.identical === 'bytes' ? 'byte-identical to the source' : 'same tensors as the source'})`;
    }
    results[model.key][step.key].warmup = sample;
    log(
      `  ${model.title.padEnd(20)} ${step.label.padEnd(38)} ${seconds(sample.seconds).padStart(9)}  peak ${mb(peakOf(sample)).padStart(9)}${note}`,
    );
    rmSync(outputsOf(model, step).folder, { recursive: true, force: true });
  }
}

const loadBefore = loadavg()[0];
for (let round = 1; round <= rounds; round++) {
  log(`Round ${round}/${rounds} ... (load average ${loadavg()[0].toFixed(2)})`);
  for (const model of models) {
    // The order rotates from round to round so that no step always follows the same one.
    const order = STEPS.map((_, index) => STEPS[(index + round - 1) % STEPS.length]);
    for (const step of order) {
      results[model.key][step.key].samples.push(measure(model, step));
      rmSync(outputsOf(model, step).folder, { recursive: true, force: true });
    }
  }
}
rmSync(workDir, { recursive: true, force: true });

// ---- Summary -------------------------------------------------------------------------------------------------
for (const model of models) {
  for (const step of STEPS) {
    const entry = results[model.key][step.key];
    entry.label = step.label;
    entry.seconds = median(entry.samples.map((sample) => sample.seconds));
    entry.bestSeconds = Math.min(...entry.samples.map((sample) => sample.seconds));
    entry.spread = Math.max(...entry.samples.map((sample) => sample.seconds)) / entry.bestSeconds;
    entry.peakBytes = median(entry.samples.map(peakOf));
    entry.peakRatio = entry.peakBytes / model.size;
    const phases = Object.keys(entry.samples[0].phases ?? {});
    entry.phases = Object.fromEntries(
      phases.map((name) => [name, median(entry.samples.map((sample) => sample.phases[name]))]),
    );
  }
  const steps = results[model.key];
  for (const step of STEPS) steps[step.key].vsCopy = steps[step.key].seconds / steps.copyRw.seconds;
}

const loadAfter = loadavg()[0];
const goals = [];
for (const model of models) {
  const steps = results[model.key];
  const { whittle, copyRw, python: pythonStep } = steps;
  const goal = (name, value, best, target, met) =>
    goals.push({ model: model.key, goal: name, value, best, target, met });
  goal(
    'Whittle load+save time / read+write copy time',
    whittle.seconds / copyRw.seconds,
    whittle.bestSeconds / copyRw.bestSeconds,
    '<= 1.5x',
    whittle.seconds / copyRw.seconds <= 1.5,
  );
  goal('Whittle peak memory / model size', whittle.peakRatio, undefined, '< 2.5x', whittle.peakRatio < 2.5);
  goal(
    'Whittle time / Python onnx time',
    pythonStep ? whittle.seconds / pythonStep.seconds : Number.NaN,
    pythonStep ? whittle.bestSeconds / pythonStep.bestSeconds : Number.NaN,
    '<= 0.67x (1.5x faster)',
    pythonStep ? whittle.seconds / pythonStep.seconds <= 1 / 1.5 : null,
  );
}

log(
  `\nWhittle load + save benchmark — node ${process.version}, ${cpus().length} CPUs, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM${python ? `, Python onnx ${python.onnx}` : ''}`,
);
log(
  `Model: MatMul chain, ${spec.layers} float32 initializers of [${spec.dim}, ${spec.dim}] (${mb(spec.dim * spec.dim * 4)} each), ${mb(expectedWeights)} of weights.`,
);
log(
  `time = median of ${rounds} rounds, measured inside each fresh child (start-up and imports excluded); best = fastest round;`,
);
log('vs copy = time / (readFileSync + writeFileSync) time; peak = child maxRSS - child RSS before loading (median).');
for (const model of models) {
  log(`\n${model.title}: ${model.files.map((path) => basename(path)).join(' + ')} = ${mb(model.size)}`);
  const rows = STEPS.map((step) => {
    const entry = results[model.key][step.key];
    const phases = Object.entries(entry.phases)
      .map(([name, value]) => `${name} ${value.toFixed(2)}`)
      .join(', ');
    return [
      step.label,
      seconds(entry.seconds),
      seconds(entry.bestSeconds),
      (model.size / MB / entry.seconds).toFixed(0),
      ratio(entry.vsCopy),
      mb(entry.peakBytes),
      ratio(entry.peakRatio),
      entry.samples.map((sample) => sample.seconds.toFixed(2)).join(' '),
      phases,
    ];
  });
  log(
    table(
      ['step', 'time', 'best', 'MB/s', 'vs copy', 'peak mem', 'mem/size', 'rounds (s)', 'median phases (s)'],
      rows,
      'lrrrrrrrl',
    ),
  );
}
log('\nGoals (judged on medians; "best" = the same ratio from the fastest rounds, for context)');
log(
  table(
    ['model', 'goal', 'measured', 'best', 'target', 'result'],
    goals.map((goal) => [
      goal.model,
      goal.goal,
      ratio(goal.value),
      goal.best === undefined ? '' : ratio(goal.best),
      goal.target,
      goal.met === null ? 'not measured' : goal.met ? 'met' : 'NOT MET',
    ]),
    'llrrll',
  ),
);
const noisy = models.flatMap((model) =>
  STEPS.filter((step) => results[model.key][step.key].spread > 1.5).map((step) => `${model.key}/${step.key}`),
);
if (noisy.length > 0) {
  log(
    `\nNoisy: the slowest round took over 1.5x the fastest for ${noisy.join(', ')} (load average ${loadBefore.toFixed(2)} -> ${loadAfter.toFixed(2)}).` +
      '\nOther processes, or page-cache writes stalling on this VM, inflate single rounds: compare the best column, or rerun with' +
      '\n`pnpm bench --rounds 7` on a quiet machine.',
  );
}

/** Which build of @whittle/onnx was measured (other work changes it between runs). */
function buildFingerprint() {
  const dist = join(benchDir, '..', 'packages', 'onnx', 'dist');
  const hash = createHash('sha256');
  for (const name of readdirSync(dist)
    .filter((file) => file.endsWith('.js'))
    .sort())
    hash.update(name).update(readFileSync(join(dist, name)));
  return hash.digest('hex').slice(0, 16);
}

const report = {
  date: new Date().toISOString(),
  whittleOnnxBuild: buildFingerprint(),
  machine: {
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    totalMemory: totalmem(),
    platform: process.platform,
  },
  python: python ?? null,
  rounds,
  loadAverage: { before: loadBefore, after: loadAfter },
  model: { ...spec, weightBytes: expectedWeights },
  copyFloor: 'readFileSync + writeFileSync (copyRw); fs.copyFileSync (copyFs) reported for reference',
  models: Object.fromEntries(
    models.map((model) => [
      model.key,
      { files: model.files.map((path) => basename(path)), bytes: model.size, steps: results[model.key] },
    ]),
  ),
  goals,
  benchSeconds: (performance.now() - benchStart) / 1000,
};
writeFileSync(join(outDir, 'results.json'), `${JSON.stringify(report, null, 2)}\n`);
log(`\nWrote ${join(outDir, 'results.json')} (bench took ${report.benchSeconds.toFixed(0)} s).`);
