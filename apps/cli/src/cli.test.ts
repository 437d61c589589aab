import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DataType, GraphBuilder, Tensor } from '@whittle/ir';
import { readModel, writeModel } from '@whittle/onnx/node';
import { realModel, textImages } from '@whittle/test-fixtures';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './cli.js';

const packageFolder = join(dirname(fileURLToPath(import.meta.url)), '..');

async function whittle(args: string[], cwd = packageFolder) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text), cwd });
  return { code, stdout, stderr };
}

/** Run with `--json` (added last), expect a clean success, and return the parsed report. */
async function whittleReport(args: string[]) {
  const { code, stdout, stderr } = await whittle([...args, '--json']);
  expect(stderr).toBe('');
  expect(code).toBe(0);
  return JSON.parse(stdout);
}

let folder: string;
let modelPath: string;

beforeAll(() => {
  folder = mkdtempSync(join(tmpdir(), 'whittle-cli-'));
  const builder = new GraphBuilder('documented');
  const x = builder.input('x', DataType.FLOAT, ['batch', 4]);
  const weight = builder.initializer(
    Tensor.fromArray('weight', DataType.FLOAT, [4, 3], new Float32Array(12).fill(0.25)),
  );
  const y = builder.op('MatMul', [x, weight], { output: 'y' });
  builder.output(builder.op('Relu', [y], { output: 'z' }));
  const model = builder.model({ opsetImports: [{ domain: '', version: 13 }] });
  model.docString = 'model documentation';
  model.graph.docString = 'graph documentation';
  for (const node of model.graph.nodes) node.docString = `does ${node.opType}`;
  modelPath = join(folder, 'documented.onnx');
  writeModel(model, modelPath);
});

describe('whittle inspect', () => {
  it('summarises a model as JSON', async () => {
    const { code, stdout } = await whittle(['inspect', modelPath, '--json']);
    expect(code).toBe(0);
    const summary = JSON.parse(stdout);
    expect(summary).toMatchObject({
      irVersion: 8,
      opsets: [{ domain: 'ai.onnx', version: 13 }],
      inputs: [{ name: 'x', type: 'float32[batch,4]' }],
      outputs: [{ name: 'z' }],
      nodes: 2,
      operators: [
        { opType: 'MatMul', count: 1 },
        { opType: 'Relu', count: 1 },
      ],
      parameters: 12,
      weightBytes: 48,
    });
  });

  it('prints a readable summary', async () => {
    const { code, stdout } = await whittle(['inspect', modelPath]);
    expect(code).toBe(0);
    expect(stdout).toContain('Parameters: 12 (48 B)');
    expect(stdout).toMatch(/x\s+float32\[batch,4\]/);
  });
});

describe('whittle run', () => {
  it('round-trips a model with no pipeline and leaves the input untouched', async () => {
    const before = readFileSync(modelPath);
    const output = join(folder, 'plain.onnx');
    const { code, stdout } = await whittle(['run', modelPath, '-o', output]);
    expect(code).toBe(0);
    expect(stdout).toContain('wrote');
    expect(readFileSync(modelPath).equals(before)).toBe(true);
    expect(readModel(output).model.graph.nodes.map((node) => node.docString)).toEqual(['does MatMul', 'does Relu']);
  });

  it('loads a third-party pass from its npm package and runs it from pipeline text', async () => {
    const output = join(folder, 'stripped.onnx');
    const report = await whittleReport([
      'run',
      modelPath,
      '--plugin',
      '@acme/whittle-third-party-pass',
      '--pipeline',
      'acme/strip-doc-strings{keep-model-doc-string=true}',
      '-o',
      output,
    ]);
    expect(report.passes).toMatchObject([
      { pass: 'acme/strip-doc-strings', changed: true, statistics: { docStringsRemoved: 3 } },
    ]);
    expect(report.passes[0].milliseconds).toBeGreaterThanOrEqual(0);
    const { model } = readModel(output);
    expect(model.docString).toBe('model documentation');
    expect(model.graph.docString).toBe('');
    expect(model.graph.nodes.every((node) => node.docString === '')).toBe(true);
  });

  it('reads a pipeline file in YAML or JSON that names its plugins', async () => {
    const yamlFile = join(folder, 'pipeline.yaml');
    writeFileSync(
      yamlFile,
      `plugins:\n  - ${join(packageFolder, '../../examples/third-party-pass/dist/index.js')}\npipeline:\n  - pass: acme/strip-doc-strings\n    options:\n      keepModelDocString: false\n`,
    );
    const jsonFile = join(folder, 'pipeline.json');
    writeFileSync(
      jsonFile,
      JSON.stringify({
        plugins: [join(packageFolder, '../../examples/third-party-pass/dist/index.js')],
        pipeline: ['acme/tidy'],
      }),
    );
    for (const file of [yamlFile, jsonFile]) {
      const output = `${file}.onnx`;
      const { code, stderr } = await whittle(['run', modelPath, '--pipeline', file, '-o', output]);
      expect(stderr).toBe('');
      expect(code).toBe(0);
      expect(readModel(output).model.docString).toBe('');
    }
  });

  it('runs the verifier after every pass with --debug', async () => {
    const output = join(folder, 'debug.onnx');
    const { code } = await whittle([
      'run',
      modelPath,
      '--plugin',
      '@acme/whittle-third-party-pass',
      '-p',
      'acme/tidy',
      '--debug',
      '-o',
      output,
    ]);
    expect(code).toBe(0);
  });

  it('gives coded errors for unknown passes and bad options, and writes nothing', async () => {
    const output = join(folder, 'never.onnx');
    const unknown = await whittle(['run', modelPath, '-p', 'fold-constans', '-o', output]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^whittle: error \[PIPELINE_UNKNOWN_PASS\]/);
    const badOption = await whittle([
      'run',
      modelPath,
      '--plugin',
      '@acme/whittle-third-party-pass',
      '-p',
      'acme/strip-doc-strings{keep-model-doc-string=maybe}',
      '-o',
      output,
    ]);
    expect(badOption.code).toBe(1);
    expect(badOption.stderr).toMatch(/^whittle: error \[PIPELINE_INVALID_OPTIONS\]/);
    expect(existsSync(output)).toBe(false);
  });

  it('refuses to overwrite its input', async () => {
    const { code, stderr } = await whittle(['run', modelPath, '-o', modelPath]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/^whittle: error \[USAGE\] the output would overwrite the input model/);
  });
});

describe('whittle passes and whittle schema', () => {
  it('lists passes with their options, plugins included', async () => {
    const { code, stdout } = await whittle(['passes', '--plugin', '@acme/whittle-third-party-pass']);
    expect(code).toBe(0);
    expect(stdout).toContain('acme/strip-doc-strings\n');
    expect(stdout).toContain('keep-model-doc-string (boolean, default false)');
    expect(stdout).toContain('acme/tidy (preset)');
  });

  it('prints a pipeline JSON Schema that names every pass and its options', async () => {
    const { code, stdout } = await whittle(['schema', '--plugin', '@acme/whittle-third-party-pass']);
    expect(code).toBe(0);
    const schema = JSON.parse(stdout);
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(JSON.stringify(schema)).toContain('"keepModelDocString"');
  });
});

describe('whittle optimize', () => {
  const classifier = realModel('ocr-cls').path;

  it('optimizes a real model and says what changed', async () => {
    const output = join(folder, 'classifier.optimized.onnx');
    const report = await whittleReport(['optimize', classifier, '--input-shape', 'x=1,3,48,192', '-o', output]);
    expect(report.nodes.before).toBe(471);
    expect(report.nodes.after).toBeLessThan(200);
    expect(report.passesFired).toEqual(expect.arrayContaining(['lift-constants', 'fuse-batchnorm']));
    expect(report.statistics['fuse-batchnorm.batchNormsFused']).toBe(35);
    const { model } = readModel(output);
    expect(model.graph.inputs[0]!.type).toMatchObject({ shape: [1, 3, 48, 192] });
    expect([...model.graph.allNodes()].some((node) => node.opType === 'BatchNormalization')).toBe(false);
  });

  it('rejects a malformed --input-shape as a usage error and an unknown input as a coded error', async () => {
    const output = join(folder, 'never-optimized.onnx');
    const malformed = await whittle(['optimize', classifier, '--input-shape', '1,3,48,192', '-o', output]);
    expect(malformed.code).toBe(2);
    const unknown = await whittle(['optimize', classifier, '--input-shape', 'image=1,3,48,192', '-o', output]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^whittle: error \[FIX_INPUT_SHAPES_UNKNOWN_INPUT\]/);
    expect(existsSync(output)).toBe(false);
  });
});

describe('whittle compare', () => {
  const classifier = realModel('ocr-cls').path;

  it('reports output fidelity, sizes and latency against the reference', async () => {
    const data = join(folder, 'classifier-images');
    mkdirSync(data);
    for (const image of textImages('classifier', 'evaluation').slice(0, 4))
      copyFileSync(image.path, join(data, basename(image.path)));
    const optimized = join(folder, 'classifier.compare.onnx');
    expect((await whittle(['optimize', classifier, '-o', optimized])).code).toBe(0);
    const { code, stdout } = await whittle([
      'compare',
      classifier,
      optimized,
      '--data',
      data,
      '--runs',
      '3',
      '--per-layer',
      '--json',
    ]);
    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    expect(report.samples).toBe(4);
    expect(report.outputs[0].sqnr).toBeGreaterThan(100);
    expect(report.bytes[1]).toBeLessThan(report.bytes[0]);
    expect(report.latency.runs).toBe(3);
    expect(report.layers.length).toBeGreaterThan(50);
    const text = await whittle(['compare', classifier, optimized, '--data', data, '--runs', '0']);
    expect(text.stdout).toMatch(/softmax_0\.tmp_0\s+\d+\.\d dB/);
  });

  it('gives coded errors for missing data and usage errors for bad numbers', async () => {
    const missing = await whittle(['compare', classifier, classifier, '--data', join(folder, 'no-such-folder')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^whittle: error \[DATASET_NOT_FOUND\]/);
    const badRuns = await whittle(['compare', classifier, classifier, '--data', folder, '--runs', 'many']);
    expect(badRuns.code).toBe(2);
  });
});

describe('whittle calibrate', () => {
  const classifier = realModel('ocr-cls').path;
  const paddle = ['--image-mean', '0.5,0.5,0.5', '--image-std', '0.5,0.5,0.5'];

  function calibrationImages(): string {
    const data = join(folder, 'calibration-images');
    if (!existsSync(data)) {
      mkdirSync(data);
      for (const image of textImages('classifier', 'calibration').slice(0, 5))
        copyFileSync(image.path, join(data, basename(image.path)));
    }
    return data;
  }

  it('writes a calibration table for the model and summarises it', async () => {
    const table = join(folder, 'classifier.table.json');
    const { code, stdout } = await whittle([
      'calibrate',
      classifier,
      '--data',
      calibrationImages(),
      ...paddle,
      '--method',
      'percentile',
      '--percentile',
      '99.9',
      '-o',
      table,
      '--json',
    ]);
    expect(code).toBe(0);
    const summary = JSON.parse(stdout);
    expect(summary).toMatchObject({ samples: 5, method: { name: 'percentile', percentile: 99.9, bits: 8 } });
    expect(summary.tensors).toBeGreaterThan(150);
    const written = JSON.parse(readFileSync(table, 'utf8'));
    expect(written.format).toBe('whittle-calibration-table');
    expect(written.tensors.x.max).toBeCloseTo(1, 5);
  });

  it('records moments and channel means when asked', async () => {
    const table = join(folder, 'classifier.minmax.table.json');
    const run = ['calibrate', classifier, '--data', calibrationImages(), ...paddle, '-o', table];
    const read = () => JSON.parse(readFileSync(table, 'utf8')).tensors as Record<string, { statistics: object }>;
    expect((await whittle(run)).code).toBe(0);
    const plain = read();
    expect(plain.x!.statistics).not.toHaveProperty('mean');
    expect(Object.values(plain).some((tensor) => 'channelMeans' in tensor.statistics)).toBe(false);
    expect((await whittle([...run, '--moments', '--channel-means'])).code).toBe(0);
    const full = read();
    // x feeds the first Conv: its three channels' means, and the mean and spread of all its values.
    expect(full.x!.statistics).toMatchObject({
      mean: expect.any(Number),
      std: expect.any(Number),
      channelMeans: { axis: 1, values: [expect.any(Number), expect.any(Number), expect.any(Number)] },
    });
    expect(Object.values(full).filter((tensor) => 'channelMeans' in tensor.statistics).length).toBeGreaterThan(40);
  });

  it('gives coded errors for bad data and usage errors for bad options, leaving no table', async () => {
    const table = join(folder, 'never.table.json');
    const empty = join(folder, 'empty-data');
    mkdirSync(empty, { recursive: true });
    const emptyRun = await whittle(['calibrate', classifier, '--data', empty, '-o', table]);
    expect(emptyRun.code).toBe(1);
    expect(emptyRun.stderr).toMatch(/^whittle: error \[DATASET_EMPTY\]/);
    const corrupt = join(folder, 'corrupt-data');
    mkdirSync(corrupt, { recursive: true });
    writeFileSync(join(corrupt, 'sample.npy'), 'not a numpy file');
    const corruptRun = await whittle(['calibrate', classifier, '--data', corrupt, '-o', table]);
    expect(corruptRun.code).toBe(1);
    expect(corruptRun.stderr).toMatch(/^whittle: error \[DATASET_CORRUPT_FILE\]/);
    expect((await whittle(['calibrate', classifier, '--data', empty, '--method', 'average', '-o', table])).code).toBe(
      2,
    );
    expect(existsSync(table)).toBe(false);
  });
});
