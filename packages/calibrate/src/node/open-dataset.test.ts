import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeModel, decodeTensor } from '@whittle/onnx';
import { ort, realModel, runOnnxRuntime } from '@whittle/test-fixtures';
import jpeg from 'jpeg-js';
import pngjs from 'pngjs';
import { describe, expect, it } from 'vitest';
import type { DatasetInput } from '../dataset.js';
import { encodeNpy } from './npy.js';
import { encodeNpz } from './npz.js';
import { compareNatural, openDataset } from './open-dataset.js';
import { collectSamples, float32Tensor, temporaryFolder } from '../test-support.js';

const root = temporaryFolder('whittle-open-dataset-');

const CONV = '/usr/share/libonnx-testdata/data/node/test_conv_with_strides_padding';
const conformance = existsSync(join(CONV, 'model.onnx'));
const convertAvailable = spawnSync('convert', ['-version'], { encoding: 'utf8' }).status === 0;

let folders = 0;
function folder(files: Record<string, Uint8Array | string> = {}): string {
  const dir = join(root, `d${folders++}`);
  mkdirSync(dir);
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return dir;
}

const one: DatasetInput[] = [{ name: 'x', type: 'float32', dims: [1, 'n'] }];
const two: DatasetInput[] = [
  { name: 'x', type: 'float32', dims: [1, 'n'] },
  { name: 'ids', type: 'int64', dims: ['n'] },
];

describe('compareNatural', () => {
  it('orders numbers inside names by value', () => {
    expect(['s10.npy', 's2.npy', 's1.npy', 'a.npy', 's02.npy'].sort(compareNatural)).toEqual([
      'a.npy',
      's1.npy',
      's2.npy',
      's02.npy',
      's10.npy',
    ]);
  });
});

describe('openDataset: folders of arrays', () => {
  it('reads a folder of .npy files in natural order, lazily, more than once', async () => {
    const files: Record<string, Uint8Array> = {};
    for (let index = 0; index < 12; index++) files[`s${index}.npy`] = encodeNpy(float32Tensor([1, 4], index));
    const dataset = openDataset(folder(files), one);
    expect(dataset.kind).toBe('npy-folder');
    expect(dataset.size).toBe(12);
    expect(dataset.description).toMatch(/^12 \.npy files in /);
    const first = await collectSamples(dataset);
    expect(first.map((sample) => (sample.x!.data as Float32Array)[0])).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(await collectSamples(dataset)).toHaveLength(12);
    const limited = openDataset(dataset.path, one, { limit: 5 });
    expect(limited.size).toBe(5);
    expect(await collectSamples(limited)).toHaveLength(5);
  });

  it('refuses a folder of .npy files for a model with several inputs, pointing to .npz', () => {
    const dir = folder({ 'a.npy': encodeNpy(float32Tensor([1, 4])) });
    expect(() => openDataset(dir, two)).toThrow(
      expect.objectContaining({ code: 'DATASET_UNKNOWN_FORMAT', message: expect.stringContaining('.npz') }),
    );
  });

  it('reads a folder of .npz files for a model with several inputs', async () => {
    const files: Record<string, Uint8Array> = {};
    for (let index = 0; index < 3; index++) {
      files[`${index}.npz`] = encodeNpz({
        x: float32Tensor([1, index + 2], index),
        ids: { type: 'int64', dims: [index + 2], data: new BigInt64Array(index + 2) },
      });
    }
    const dataset = openDataset(folder(files), two);
    expect(dataset.kind).toBe('npz-folder');
    const samples = await collectSamples(dataset);
    expect(samples.map((sample) => sample.x!.dims)).toEqual([
      [1, 2],
      [1, 3],
      [1, 4],
    ]);
  });

  it('splits a single .npy or .npz file holding a stack of samples', async () => {
    const alexa: DatasetInput[] = [{ name: 'onnx::Flatten_0', type: 'float32', dims: [1, 16, 96] }];
    const stacked = join(folder({ 'stack.npy': encodeNpy(float32Tensor([5, 1, 16, 96], 1)) }), 'stack.npy');
    const dataset = openDataset(stacked, alexa);
    expect(dataset.kind).toBe('npy-file');
    const samples = await collectSamples(dataset);
    expect(samples).toHaveLength(5);
    expect(samples[4]!['onnx::Flatten_0']!.dims).toEqual([1, 16, 96]);
    const batched = join(folder({ 'batch.npy': encodeNpy(float32Tensor([3, 16, 96])) }), 'batch.npy');
    expect(await collectSamples(openDataset(batched, alexa))).toHaveLength(3);
    expect(await collectSamples(openDataset(batched, alexa, { limit: 2 }))).toHaveLength(2);
    const single = join(folder({ 'one.npy': encodeNpy(float32Tensor([1, 16, 96])) }), 'one.npy');
    expect(await collectSamples(openDataset(single, alexa))).toHaveLength(1);

    const npz = join(
      folder({
        'all.npz': encodeNpz({
          x: float32Tensor([4, 1, 7]),
          ids: { type: 'int64', dims: [4, 7], data: new BigInt64Array(28) },
        }),
      }),
      'all.npz',
    );
    const pieces = await collectSamples(openDataset(npz, two));
    expect(pieces.map((sample) => [sample.x!.dims, sample.ids!.dims])).toEqual(
      Array.from({ length: 4 }, () => [[1, 7], [7]]),
    );
    const wrong = join(folder({ 'w.npy': encodeNpy(float32Tensor([2, 3, 16, 96])) }), 'w.npy');
    await expect(collectSamples(openDataset(wrong, alexa))).rejects.toMatchObject({ code: 'DATASET_SHAPE_MISMATCH' });
  });
});

describe.skipIf(!conformance)('openDataset: ONNX test data sets', () => {
  const { model } = conformance ? decodeModel(readFileSync(join(CONV, 'model.onnx'))) : { model: undefined as never };

  it('reads the conformance folder (model.onnx beside test_data_set_0) and maps input_N to the inputs', async () => {
    const dataset = openDataset(CONV, model);
    expect(dataset.kind).toBe('test-data-sets');
    expect(dataset.size).toBe(1);
    const [sample] = await collectSamples(dataset);
    expect(Object.keys(sample!)).toEqual(['x', 'W']);
    const expected = decodeTensor(readFileSync(join(CONV, 'test_data_set_0', 'input_0.pb')));
    expect(sample!.x!.dims).toEqual(expected.dims);
    expect(Array.from(sample!.x!.data as Float32Array)).toEqual(Array.from(expected.toArray() as Float32Array));
    const direct = openDataset(join(CONV, 'test_data_set_0'), model);
    expect(direct.kind).toBe('test-data-set');
    expect(await collectSamples(direct)).toHaveLength(1);
  });

  it('orders test_data_set_N by N and reports missing and extra input files', async () => {
    const dir = folder();
    for (const index of [0, 1, 2, 10]) {
      mkdirSync(join(dir, `test_data_set_${index}`));
      for (const file of ['input_0.pb', 'input_1.pb']) {
        copyFileSync(join(CONV, 'test_data_set_0', file), join(dir, `test_data_set_${index}`, file));
      }
    }
    const dataset = openDataset(dir, model);
    expect(dataset.size).toBe(4);
    expect(await collectSamples(dataset)).toHaveLength(4);

    const missing = folder({ 'input_0.pb': readFileSync(join(CONV, 'test_data_set_0', 'input_0.pb')) });
    await expect(collectSamples(openDataset(missing, model))).rejects.toMatchObject({
      code: 'DATASET_MISSING_INPUT',
      location: { file: missing, value: 'W' },
    });
    const extra = folder({
      'input_0.pb': readFileSync(join(CONV, 'test_data_set_0', 'input_0.pb')),
      'input_1.pb': readFileSync(join(CONV, 'test_data_set_0', 'input_1.pb')),
      'input_2.pb': readFileSync(join(CONV, 'test_data_set_0', 'input_1.pb')),
    });
    await expect(collectSamples(openDataset(extra, model))).rejects.toMatchObject({ code: 'DATASET_UNKNOWN_INPUT' });
    const broken = folder({ 'input_0.pb': Uint8Array.of(0xff, 0xff, 0xff), 'input_1.pb': Uint8Array.of(1) });
    await expect(collectSamples(openDataset(broken, model))).rejects.toMatchObject({
      code: 'DATASET_CORRUPT_FILE',
      location: { file: join(broken, 'input_0.pb') },
    });
  });
});

describe('openDataset: images', () => {
  function png(width: number, height: number, shade: number): Uint8Array {
    const image = new pngjs.PNG({ width, height });
    for (let index = 0; index < width * height; index++) {
      image.data.set([shade, shade, (index * 7) % 256, 255], index * 4);
    }
    return pngjs.PNG.sync.write(image);
  }

  function jpg(width: number, height: number): Uint8Array {
    const data = Buffer.alloc(width * height * 4, 200);
    return jpeg.encode({ width, height, data }, 90).data;
  }

  it('reads PNG and JPEG files (and one made by ImageMagick) and runs them through the real text classifier', async () => {
    const files: Record<string, Uint8Array> = {
      'a.png': png(100, 30, 240),
      'b.jpg': jpg(64, 20),
      'c.JPEG': jpg(30, 12),
    };
    const dir = folder(files);
    if (convertAvailable) {
      const run = spawnSync(
        'convert',
        ['-size', '192x48', 'xc:white', '-fill', 'black', '-draw', 'rectangle 10,10 150,30', join(dir, 'd.png')],
        { encoding: 'utf8' },
      );
      expect(run.status, run.stderr).toBe(0);
    }
    const path = realModel('ocr-cls').path;
    const { model } = decodeModel(readFileSync(path));
    const dataset = openDataset(dir, model, { image: { size: [48, 192], mean: 0.5, std: 0.5 } });
    expect(dataset.kind).toBe('images');
    expect(dataset.size).toBe(convertAvailable ? 4 : 3);
    for await (const sample of dataset.samples()) {
      const x = sample.x!;
      expect(x.dims).toEqual([1, 3, 48, 192]);
      const values = x.data as Float32Array;
      expect(Math.min(...values)).toBeGreaterThanOrEqual(-1);
      expect(Math.max(...values)).toBeLessThanOrEqual(1);
      const outputs = await runOnnxRuntime(path, { x: new ort.Tensor('float32', values, [...x.dims]) });
      const [output] = Object.values(outputs);
      expect(output!.dims).toEqual([1, 2]);
    }
  });

  it('keeps each image its own width for the recognizer (height fixed at 48)', async () => {
    const { model } = decodeModel(readFileSync(realModel('ocr-rec').path));
    const dir = folder({ 'wide.png': png(200, 20, 10), 'narrow.png': png(24, 24, 10) });
    const samples = await collectSamples(openDataset(dir, model));
    expect(samples.map((sample) => sample.x!.dims)).toEqual([
      [1, 3, 48, 48],
      [1, 3, 48, 480],
    ]);
  });

  it('refuses an image folder for a model with several inputs', () => {
    expect(() => openDataset(folder({ 'a.png': png(4, 4, 0) }), two)).toThrow(
      expect.objectContaining({ code: 'DATASET_UNKNOWN_FORMAT' }),
    );
  });
});

describe('openDataset: errors', () => {
  it('DATASET_NOT_FOUND for a missing path', () => {
    const path = join(root, 'nothing-here');
    expect(() => openDataset(path, one)).toThrow(
      expect.objectContaining({ code: 'DATASET_NOT_FOUND', location: { file: path } }),
    );
  });

  it('DATASET_EMPTY for an empty folder (hidden files do not count)', () => {
    expect(() => openDataset(folder(), one)).toThrow(expect.objectContaining({ code: 'DATASET_EMPTY' }));
    expect(() => openDataset(folder({ '.DS_Store': 'x' }), one)).toThrow(
      expect.objectContaining({ code: 'DATASET_EMPTY' }),
    );
  });

  it('DATASET_UNKNOWN_FORMAT for mixed or unknown files, naming what was found', () => {
    const mixed = folder({ 'a.npy': encodeNpy(float32Tensor([1, 2])), 'b.png': 'x', 'notes.txt': 'hello' });
    let message = '';
    try {
      openDataset(mixed, one);
    } catch (error) {
      expect(error).toMatchObject({ code: 'DATASET_UNKNOWN_FORMAT', location: { file: mixed } });
      message = (error as Error).message;
    }
    expect(message).toContain('1 .npy file (a.npy)');
    expect(message).toContain('1 image (b.png)');
    expect(message).toContain('1 other file (notes.txt)');
    expect(() => openDataset(folder({ 'data.csv': '1,2' }), one)).toThrow(
      expect.objectContaining({ code: 'DATASET_UNKNOWN_FORMAT', message: expect.stringContaining('data.csv') }),
    );
    const csv = join(folder({ 'data.csv': '1,2' }), 'data.csv');
    expect(() => openDataset(csv, one)).toThrow(expect.objectContaining({ code: 'DATASET_UNKNOWN_FORMAT' }));
    const nested = folder();
    mkdirSync(join(nested, 'sub'));
    expect(() => openDataset(nested, one)).toThrow(
      expect.objectContaining({ message: expect.stringContaining('1 other folder (sub)') }),
    );
  });

  it('sample errors name the file and the input', async () => {
    const cases: [Record<string, Uint8Array>, DatasetInput[], string, string][] = [
      [
        { 'a.npy': encodeNpy(float32Tensor([1, 3, 2])) },
        one,
        'DATASET_SHAPE_MISMATCH',
        'expected float32[1,?], got float32[1,3,2]',
      ],
      [
        { 'a.npy': encodeNpy({ type: 'float64', dims: [1, 2], data: new Float64Array(2) }) },
        one,
        'DATASET_TYPE_MISMATCH',
        'expected float32[1,?], got float64[1,2]',
      ],
      [{ 'a.npz': encodeNpz({ x: float32Tensor([1, 2]) }) }, two, 'DATASET_MISSING_INPUT', "input 'ids'"],
      [
        { 'a.npz': encodeNpz({ x: float32Tensor([1, 2]), y: float32Tensor([1]) }) },
        one,
        'DATASET_UNKNOWN_INPUT',
        "'y'",
      ],
      [{ 'a.npy': Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11) }, one, 'DATASET_CORRUPT_FILE', 'magic'],
    ];
    for (const [files, inputs, code, words] of cases) {
      const dir = folder(files);
      const name = Object.keys(files)[0]!;
      await expect(collectSamples(openDataset(dir, inputs)), words).rejects.toMatchObject({
        code,
        message: expect.stringContaining(words),
        location: expect.objectContaining({ file: join(dir, name) }),
      });
    }
    const header = `${"{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }".padEnd(117, ' ')}\n`;
    const fortran = Uint8Array.of(0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, header.length, 0);
    const dir = folder({
      'f.npy': Uint8Array.of(...fortran, ...new TextEncoder().encode(header), ...new Uint8Array(16)),
    });
    await expect(
      collectSamples(openDataset(dir, [{ name: 'x', type: 'float32', dims: [2, 2] }])),
    ).rejects.toMatchObject({
      code: 'DATASET_CORRUPT_FILE',
      message: expect.stringContaining('Fortran'),
    });
  });
});

describe('openDataset: laziness', () => {
  it('reads each file only when its sample is reached', async () => {
    const files: Record<string, Uint8Array> = {};
    for (let index = 0; index < 300; index++) files[`s${index}.npy`] = encodeNpy(float32Tensor([1, 64], index));
    const dir = folder(files);
    const dataset = openDataset(dir, one);
    expect(dataset.size).toBe(300);
    // Damage files after opening: nothing was read up front, so the first samples still come through.
    for (let index = 100; index < 300; index++) unlinkSync(join(dir, `s${index}.npy`));
    writeFileSync(join(dir, 's5.npy'), 'garbage');
    const iterator = dataset.samples()[Symbol.asyncIterator]();
    for (let index = 0; index < 5; index++) {
      const next = await iterator.next();
      expect((next.value!.x!.data as Float32Array)[0]).toBe(index);
    }
    await expect(iterator.next()).rejects.toMatchObject({
      code: 'DATASET_CORRUPT_FILE',
      location: { file: join(dir, 's5.npy') },
    });
    writeFileSync(join(dir, 's5.npy'), encodeNpy(float32Tensor([1, 64], 5)));
    let count = 0;
    await expect(
      (async () => {
        for await (const _ of dataset.samples()) count++;
      })(),
    ).rejects.toMatchObject({ code: 'DATASET_NOT_FOUND', location: { file: join(dir, 's100.npy') } });
    expect(count).toBe(100);
    expect(await collectSamples(openDataset(dir, one, { limit: 100 }))).toHaveLength(100);
  });
});
