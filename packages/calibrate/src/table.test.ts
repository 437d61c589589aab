import { DataType, GraphBuilder, type Model, Tensor } from '@whittle/ir';
import { WhittleError } from '@whittle/spec';
import { Random } from '@whittle/test-fixtures';
import { describe, expect, it } from 'vitest';
import { withChannelMeans } from './channel-means.js';
import { TensorObserver } from './observer.js';
import type { RangeOptions } from './range-methods.js';
import {
  CALIBRATION_TABLE_FORMAT,
  type CalibrationTable,
  createCalibrationTable,
  modelFingerprint,
  parseCalibrationTable,
  parseCalibrationTableSync,
  recomputeRanges,
  serializeCalibrationTable,
} from './table.js';
import { caught } from './test-support.js';

function smallModel(options: { weight?: number; hidden?: number; extraNode?: boolean; rename?: string } = {}): Model {
  const hidden = options.hidden ?? 2;
  const builder = new GraphBuilder();
  const x = builder.input('x', DataType.FLOAT, [1, 4]);
  const weight = builder.initializer(
    Tensor.fromArray('w', DataType.FLOAT, [4, hidden], new Float32Array(4 * hidden).fill(options.weight ?? 0.5)),
  );
  const product = builder.op('MatMul', [x, weight], { output: options.rename ?? 'product' });
  let activated = builder.op('Relu', [product], { output: 'activated' });
  if (options.extraNode) activated = builder.op('Sigmoid', [activated], { output: 'squashed' });
  builder.output(activated);
  return builder.model();
}

const FINGERPRINT = `sha256:${'ab'.repeat(32)}`;

function observers(): TensorObserver[] {
  const random = new Random(1);
  const product = new TensorObserver('product');
  const activated = new TensorObserver('activated');
  const special = new TensorObserver('layer/1:0');
  for (let batch = 0; batch < 4; batch++) {
    const values = new Float32Array(5000).map(() => random.normal() * 2);
    product.observe({ type: 'float32', dims: [values.length], data: values });
    activated.observe({ type: 'float32', dims: [values.length], data: values.map((value) => Math.max(0, value)) });
    special.observeValues(values.subarray(0, 100));
  }
  const ids = new TensorObserver('ids');
  ids.observe({ type: 'int64', dims: [1], data: new BigInt64Array([1n]) });
  const unused = new TensorObserver('unused');
  return [product, activated, special, ids, unused];
}

const ENTROPY: RangeOptions = { method: 'entropy', symmetric: false, bits: 8 };

function table(options: Partial<Parameters<typeof createCalibrationTable>[0]> = {}): CalibrationTable {
  return createCalibrationTable({
    model: { fingerprint: FINGERPRINT, producer: 'whittle-test' },
    method: ENTROPY,
    samples: 4,
    tensors: observers(),
    createdAt: new Date(Date.UTC(2024, 0, 2, 3, 4, 5)),
    ...options,
  });
}

describe('calibration table', () => {
  it('is created from observers: ranges by the method, statistics, histograms', () => {
    const created = table();
    const [product] = observers();
    expect(created.format).toBe(CALIBRATION_TABLE_FORMAT);
    expect(created.version).toBe(1);
    expect(created.createdAt).toBe('2024-01-02T03:04:05.000Z');
    expect(created.method).toEqual({ name: 'entropy', symmetric: false, bits: 8 });
    // Skipped (non-float) and never-fed observers are left out.
    expect(Object.keys(created.tensors)).toEqual(['product', 'activated', 'layer/1:0']);
    const entry = created.tensors.product!;
    expect({ min: entry.min, max: entry.max }).toEqual(product!.range(ENTROPY));
    expect(entry.statistics).toEqual(product!.summary());
    expect(entry.statistics.histogram?.bins).toBe(2048);
    expect(created.tensors.activated!.min).toBe(0);
    const lean = table({ histograms: false });
    expect(lean.tensors.product!.statistics.histogram).toBeUndefined();
    const percentile = table({ method: { method: 'percentile', symmetric: true, bits: 8 } });
    expect(percentile.method).toEqual({ name: 'percentile', symmetric: true, bits: 8, percentile: 99.999 });
  });

  it('serializes with a stable, readable layout and parses back to the same table', async () => {
    const created = table();
    const text = serializeCalibrationTable(created);
    expect(text.endsWith('}\n')).toBe(true);
    const lines = text.split('\n');
    expect(lines[1]).toBe(`  "format": "${CALIBRATION_TABLE_FORMAT}",`);
    expect(lines[2]).toBe('  "version": 1,');
    // Tensors sorted by name; histogram counts on one line.
    const names = [...text.matchAll(/^ {4}"([^"]+)": \{$/gm)].map((match) => match[1]);
    expect(names).toEqual(['activated', 'layer/1:0', 'product']);
    expect(text).toMatch(/"counts": \[-?\d+(, -?\d+)*\]/);
    const parsed = await parseCalibrationTable(text);
    expect(parsed).toEqual(JSON.parse(JSON.stringify(created)));
    expect(serializeCalibrationTable(parsed)).toBe(text);
    // Another insertion order gives the same text.
    const reordered = table({ tensors: observers().reverse() });
    expect(serializeCalibrationTable(reordered)).toBe(text);
    // Objects are accepted as well as text.
    expect(parseCalibrationTableSync(JSON.parse(text))).toEqual(parsed);
  });

  it('reads and writes statistics without mean and standard deviation', () => {
    const text = serializeCalibrationTable(table());
    const value = JSON.parse(text) as CalibrationTable;
    for (const tensor of Object.values(value.tensors)) {
      delete tensor.statistics.mean;
      delete tensor.statistics.std;
    }
    const parsed = parseCalibrationTableSync(value);
    expect(parsed.tensors.product!.statistics.mean).toBeUndefined();
    expect(serializeCalibrationTable(parsed)).not.toMatch(/"mean"|"std"/);
  });

  it('reads and writes per-channel means', async () => {
    const means = new Map([
      ['product', { axis: 1, values: [0.25, -1.5, 3] }],
      ['layer/1:0', { axis: -1, values: [0] }],
    ]);
    const created = withChannelMeans(table(), means);
    const text = serializeCalibrationTable(created);
    expect(text).toContain('"channelMeans": {\n          "axis": 1,\n          "values": [0.25, -1.5, 3]\n        }');
    const parsed = await parseCalibrationTable(text);
    expect(parsed.tensors.product!.statistics.channelMeans).toEqual(means.get('product'));
    expect(parsed.tensors['layer/1:0']!.statistics.channelMeans).toEqual(means.get('layer/1:0'));
    expect(parsed.tensors.activated!.statistics.channelMeans).toBeUndefined();
    expect(serializeCalibrationTable(parsed)).toBe(text);
  });

  it('accepts a Map or a record of observers', () => {
    const list = observers();
    const byMap = table({ tensors: new Map(list.map((observer) => [`m:${observer.name}`, observer])) });
    expect(Object.keys(byMap.tensors)).toEqual(['m:product', 'm:activated', 'm:layer/1:0']);
    const byRecord = table({ tensors: { first: list[0]!, second: list[1]! } });
    expect(Object.keys(byRecord.tensors)).toEqual(['first', 'second']);
    // Any tensor name is safe, even one that names Object.prototype's accessor.
    const odd = table({ tensors: new Map([['__proto__', list[0]!]]) });
    const text = serializeCalibrationTable(odd);
    expect(Object.keys(parseCalibrationTableSync(text).tensors)).toEqual(['__proto__']);
    expect(Object.keys(recomputeRanges(odd, { method: 'mse', symmetric: true, bits: 8 }).tensors)).toEqual([
      '__proto__',
    ]);
  });

  it('names the bad field of a table', () => {
    const good = JSON.parse(serializeCalibrationTable(table())) as Record<string, unknown>;
    // biome-ignore lint/suspicious/noExplicitAny: the mutations reach anywhere into the parsed JSON
    type Json = Record<string, any>;
    const cases: [string, (value: Json) => void, string][] = [
      ['format', (value) => (value.format = 'onnxruntime'), 'format'],
      ['version type', (value) => (value.version = '1'), 'version'],
      ['unknown field', (value) => (value.extra = 1), 'extra'],
      ['model', (value) => delete value.model, 'model'],
      ['fingerprint', (value) => (value.model.fingerprint = ''), 'model.fingerprint'],
      ['producer', (value) => (value.model.producer = 5), 'model.producer'],
      ['method name', (value) => (value.method.name = 'kl'), 'method.name'],
      ['symmetric', (value) => (value.method.symmetric = 'yes'), 'method.symmetric'],
      ['bits', (value) => (value.method.bits = 17), 'method.bits'],
      ['percentile', (value) => (value.method.percentile = 0), 'method.percentile'],
      ['signed', (value) => (value.method.signed = 'x'), 'method.signed'],
      ['method field', (value) => (value.method.kind = 'x'), 'method.kind'],
      ['samples', (value) => (value.samples = -1), 'samples'],
      ['fractional samples', (value) => (value.samples = 1.5), 'samples'],
      ['createdAt', (value) => (value.createdAt = 'yesterday'), 'createdAt'],
      ['tensors', (value) => (value.tensors = []), 'tensors'],
      ['tensor', (value) => (value.tensors.product = 3), 'tensors.product'],
      ['min', (value) => delete value.tensors.product.min, 'tensors.product.min'],
      ['max', (value) => (value.tensors.product.max = null), 'tensors.product.max'],
      ['zero outside', (value) => (value.tensors.product.min = 0.5), 'tensors.product.min'],
      ['asymmetric', (value) => (value.method.symmetric = true), 'tensors.activated.min'],
      ['special name', (value) => (value.tensors['layer/1:0'].min = 'a'), 'tensors["layer/1:0"].min'],
      ['statistics', (value) => delete value.tensors.product.statistics, 'tensors.product.statistics'],
      ['count', (value) => (value.tensors.product.statistics.count = -1), 'tensors.product.statistics.count'],
      ['std', (value) => (value.tensors.product.statistics.std = -1), 'tensors.product.statistics.std'],
      ['mean', (value) => (value.tensors.product.statistics.mean = 'x'), 'tensors.product.statistics.mean'],
      ['mean alone', (value) => delete value.tensors.product.statistics.std, 'tensors.product.statistics.std'],
      ['std alone', (value) => delete value.tensors.product.statistics.mean, 'tensors.product.statistics.mean'],
      ['nanCount', (value) => (value.tensors.product.statistics.nanCount = 0.5), 'tensors.product.statistics.nanCount'],
      [
        'infinityCount',
        (value) => delete value.tensors.product.statistics.infinityCount,
        'tensors.product.statistics.infinityCount',
      ],
      ['statistics min', (value) => (value.tensors.product.statistics.min = 1e9), 'tensors.product.statistics.min'],
      ['statistics field', (value) => (value.tensors.product.statistics.p99 = 1), 'tensors.product.statistics.p99'],
      [
        'moving average',
        (value) => (value.tensors.product.statistics.movingAverage = { min: 2, max: 1 }),
        'tensors.product.statistics.movingAverage.min',
      ],
      [
        'histogram bins',
        (value) => (value.tensors.product.statistics.histogram.bins = 7),
        'tensors.product.statistics.histogram.bins',
      ],
      [
        'histogram range',
        (value) => (value.tensors.product.statistics.histogram.range = 3),
        'tensors.product.statistics.histogram.range',
      ],
      [
        'histogram too narrow',
        (value) => (value.tensors.product.statistics.histogram.range = 1),
        'tensors.product.statistics.histogram.range',
      ],
      [
        'histogram entry',
        (value) => (value.tensors.product.statistics.histogram.counts[0] = 'a'),
        'tensors.product.statistics.histogram.counts[0]',
      ],
      [
        'histogram total',
        (value) => value.tensors.product.statistics.histogram.counts.push(1),
        'tensors.product.statistics.histogram.counts',
      ],
      [
        'histogram field',
        (value) => (value.tensors.product.statistics.histogram.edges = []),
        'tensors.product.statistics.histogram.edges',
      ],
      [
        'channel means',
        (value) => (value.tensors.product.statistics.channelMeans = [0.5]),
        'tensors.product.statistics.channelMeans',
      ],
      [
        'channel means axis',
        (value) => (value.tensors.product.statistics.channelMeans = { axis: 1.5, values: [0.5] }),
        'tensors.product.statistics.channelMeans.axis',
      ],
      [
        'channel means values',
        (value) => (value.tensors.product.statistics.channelMeans = { axis: 1, values: 0.5 }),
        'tensors.product.statistics.channelMeans.values',
      ],
      [
        'channel mean',
        (value) => (value.tensors.product.statistics.channelMeans = { axis: 1, values: [0.5, '1'] }),
        'tensors.product.statistics.channelMeans.values[1]',
      ],
      [
        'channel means field',
        (value) => (value.tensors.product.statistics.channelMeans = { axis: 1, values: [], channels: 0 }),
        'tensors.product.statistics.channelMeans.channels',
      ],
    ];
    for (const [label, change, path] of cases) {
      const copy = structuredClone(good);
      change(copy);
      const error = caught(() => parseCalibrationTableSync(JSON.stringify(copy)));
      expect(error.code, label).toBe('CALIBRATION_TABLE_INVALID');
      expect(error.location?.path, label).toBe(path);
      expect(error.message, label).toMatch(/^invalid calibration table: /);
    }
    expect(caught(() => parseCalibrationTableSync('{ not json')).code).toBe('CALIBRATION_TABLE_INVALID');
    expect(caught(() => parseCalibrationTableSync('[]')).location?.path).toBe('');
  });

  it('refuses a version it does not know', () => {
    const value = JSON.parse(serializeCalibrationTable(table()));
    value.version = 2;
    const error = caught(() => parseCalibrationTableSync(value));
    expect(error.code).toBe('CALIBRATION_TABLE_VERSION');
    expect(error.location?.path).toBe('version');
    expect(error.message).toContain('version 2');
    expect(error.hint).toContain('newer');
  });

  it('refuses a table made for another model', async () => {
    const model = smallModel();
    const fingerprint = await modelFingerprint(model);
    const text = serializeCalibrationTable(table({ model: { fingerprint } }));
    await expect(parseCalibrationTable(text, { model })).resolves.toMatchObject({ model: { fingerprint } });
    const other = smallModel({ extraNode: true });
    const otherFingerprint = await modelFingerprint(other);
    let error: unknown;
    try {
      await parseCalibrationTable(text, { model: other });
    } catch (thrown) {
      error = thrown;
    }
    expect(WhittleError.is(error)).toBe(true);
    const mismatch = error as WhittleError;
    expect(mismatch.code).toBe('CALIBRATION_TABLE_MODEL_MISMATCH');
    expect(mismatch.message).toContain('another model');
    expect(mismatch.message).toContain(fingerprint);
    expect(mismatch.message).toContain(otherFingerprint);
    expect(mismatch.location?.path).toBe('model.fingerprint');
    expect(caught(() => parseCalibrationTableSync(text, { fingerprint: otherFingerprint })).code).toBe(
      'CALIBRATION_TABLE_MODEL_MISMATCH',
    );
  });

  it('recomputes ranges for another method or bit width when histograms are present', () => {
    const created = table();
    const list = observers();
    for (const options of [
      { method: 'mse', symmetric: true, bits: 8 },
      { method: 'entropy', symmetric: true, bits: 16 },
      { method: 'percentile', symmetric: false, bits: 8, percentile: 99.9 },
      { method: 'minmax', symmetric: false, bits: 8, movingAverage: true },
    ] as RangeOptions[]) {
      const recomputed = recomputeRanges(created, options);
      expect(recomputed.method.name).toBe(options.method);
      for (const observer of list.slice(0, 3)) {
        const entry = recomputed.tensors[observer.name]!;
        expect({ min: entry.min, max: entry.max }, `${options.method} ${observer.name}`).toEqual(
          observer.range(options),
        );
      }
      // The result is a valid table, and the original is untouched.
      parseCalibrationTableSync(serializeCalibrationTable(recomputed));
    }
    expect(created.method.name).toBe('entropy');
    const lean = table({ histograms: false });
    const error = caught(() => recomputeRanges(lean, { method: 'mse', symmetric: true, bits: 8 }));
    expect(error.code).toBe('CALIBRATION_HISTOGRAM_REQUIRED');
    expect(error.location?.value).toBe('product');
    expect(error.message).toContain("tensor 'product'");
    // Min-max needs no histogram.
    const minmax = recomputeRanges(lean, { method: 'minmax', symmetric: true, bits: 8 });
    expect(minmax.tensors.product!.max).toBe(-minmax.tensors.product!.min);
  });
});

describe('modelFingerprint', () => {
  it('is sha256 of the structure: stable across doc strings and weights, different for another model', async () => {
    const base = await modelFingerprint(smallModel());
    expect(base).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await modelFingerprint(smallModel())).toBe(base);

    const documented = smallModel({ weight: 0.25 });
    documented.docString = 'a model';
    documented.producerName = 'another exporter';
    documented.graph.docString = 'the graph';
    for (const node of documented.graph.nodes) {
      node.docString = `node ${node.opType}`;
      node.name = `${node.name}_renamed`;
    }
    for (const value of documented.graph.inputs) value.docString = 'input';
    documented.metadata.push({ key: 'k', value: 'v' });
    expect(await modelFingerprint(documented)).toBe(base);

    const different = new Set([
      await modelFingerprint(smallModel({ extraNode: true })),
      await modelFingerprint(smallModel({ hidden: 3 })),
      await modelFingerprint(smallModel({ rename: 'product2' })),
    ]);
    expect(different.size).toBe(3);
    expect(different.has(base)).toBe(false);
  });
});
