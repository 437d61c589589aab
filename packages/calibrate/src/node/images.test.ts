import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import pngjs from 'pngjs';
import { describe, expect, it } from 'vitest';
import type { DatasetInput } from '../dataset.js';
import { caught, temporaryFolder } from '../test-support.js';
import { type DecodedImage, decodeImage, imageToTensor, readImageFile, resolveImagePreprocessing } from './images.js';

const dir = temporaryFolder('whittle-images-');

const convertAvailable = spawnSync('convert', ['-version'], { encoding: 'utf8' }).status === 0;

/** A small RGBA image whose pixel (x, y) is (10x + y, 100 + y, 200 - x). */
function pattern(width: number, height: number): DecodedImage {
  const rgba = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      rgba.set([10 * x + y, 100 + y, 200 - x, 255], (y * width + x) * 4);
    }
  }
  return { width, height, rgba };
}

function encodePng(image: DecodedImage): Uint8Array {
  const png = new pngjs.PNG({ width: image.width, height: image.height });
  png.data = Buffer.from(image.rgba);
  return pngjs.PNG.sync.write(png);
}

const nchw: DatasetInput = { name: 'x', type: 'float32', dims: ['batch', 3, 'h', 'w'] };

describe('resolveImagePreprocessing', () => {
  it('fills in the defaults from the model input', () => {
    expect(resolveImagePreprocessing({ name: 'x', type: 'float32', dims: [1, 3, 224, 224] })).toEqual({
      height: 224,
      width: 224,
      layout: 'NCHW',
      channels: 'RGB',
      scale: 1 / 255,
      mean: [0, 0, 0],
      std: [1, 1, 1],
      resize: 'bilinear',
    });
    const nhwc = resolveImagePreprocessing({ name: 'x', type: 'float32', dims: ['n', 'h', 'w', 1] });
    expect(nhwc).toMatchObject({ layout: 'NHWC', channels: 'gray', height: undefined, width: undefined });
    const rec = resolveImagePreprocessing(
      { name: 'x', type: 'float32', dims: ['n', 3, 48, 'w'] },
      { mean: 0.5, std: [0.5, 0.5, 0.5] },
    );
    expect(rec).toMatchObject({ height: 48, width: undefined, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] });
  });

  it('explains what it cannot use', () => {
    const cases: [DatasetInput, object, string, string][] = [
      [{ name: 'x', type: 'float32', dims: [1, 3, 48] }, {}, 'DATASET_SHAPE_MISMATCH', 'rank 4'],
      [{ name: 'x', type: 'float16', dims: [1, 3, 48, 48] }, {}, 'DATASET_TYPE_MISMATCH', 'read as float32'],
      [{ name: 'x', type: 'float32', dims: [4, 3, 48, 48] }, {}, 'DATASET_SHAPE_MISMATCH', 'batch 1'],
      [{ name: 'x', type: 'float32', dims: ['n', 'c', 'h', 'w'] }, {}, 'DATASET_SHAPE_MISMATCH', 'image.layout'],
      [nchw, { channels: 'gray' }, 'DATASET_SHAPE_MISMATCH', "channels 'gray' gives 1 channel, not 3"],
      [nchw, { mean: [1, 2] }, 'DATASET_BAD_OPTIONS', 'image.mean has 2 values for 3 channels'],
      [nchw, { size: [0, 4] }, 'DATASET_BAD_OPTIONS', 'image.size'],
      [nchw, { std: 0 }, 'DATASET_BAD_OPTIONS', 'image.std'],
    ];
    for (const [input, options, code, words] of cases) {
      const error = caught(() => resolveImagePreprocessing(input, options));
      expect(error.code, words).toBe(code);
      expect(error.message).toContain(words);
    }
  });
});

describe('imageToTensor', () => {
  it('lays out RGB pixels as NCHW with scale, mean and std', () => {
    const image = pattern(3, 2);
    const settings = resolveImagePreprocessing(nchw, { scale: 1, mean: [1, 2, 3], std: [1, 2, 4] });
    const tensor = imageToTensor(image, settings);
    expect(tensor.dims).toEqual([1, 3, 2, 3]);
    const data = tensor.data as Float32Array;
    // Red plane: 10x + y - 1; green: (100 + y - 2) / 2; blue: (200 - x - 3) / 4.
    expect(Array.from(data.subarray(0, 6))).toEqual([-1, 9, 19, 0, 10, 20]);
    expect(Array.from(data.subarray(6, 12))).toEqual([49, 49, 49, 49.5, 49.5, 49.5]);
    expect(Array.from(data.subarray(12, 18))).toEqual([49.25, 49, 48.75, 49.25, 49, 48.75]);
  });

  it('writes BGR, gray and NHWC', () => {
    const image = pattern(2, 1);
    const bgr = imageToTensor(image, resolveImagePreprocessing(nchw, { channels: 'BGR', scale: 1 }));
    expect(Array.from(bgr.data as Float32Array)).toEqual([200, 199, 100, 100, 0, 10]);
    const nhwc = imageToTensor(
      image,
      resolveImagePreprocessing({ name: 'x', type: 'float32', dims: [1, 'h', 'w', 3] }, { scale: 1 }),
    );
    expect(nhwc.dims).toEqual([1, 1, 2, 3]);
    expect(Array.from(nhwc.data as Float32Array)).toEqual([0, 100, 200, 10, 100, 199]);
    const gray = imageToTensor(
      image,
      resolveImagePreprocessing({ name: 'x', type: 'float32', dims: [1, 1, 'h', 'w'] }, { scale: 1 }),
    );
    expect(gray.dims).toEqual([1, 1, 1, 2]);
    const values = Array.from(gray.data as Float32Array);
    expect(values[0]).toBeCloseTo(0.587 * 100 + 0.114 * 200, 3);
    expect(values[1]).toBeCloseTo(0.299 * 10 + 0.587 * 100 + 0.114 * 199, 3);
  });

  it('resizes bilinearly with half-pixel centers, stretching or keeping the aspect ratio', () => {
    const image: DecodedImage = { width: 2, height: 1, rgba: Uint8Array.from([0, 0, 0, 255, 100, 100, 100, 255]) };
    const settings = resolveImagePreprocessing(nchw, { size: [1, 4], scale: 1 });
    const up = imageToTensor(image, settings);
    // Source positions -0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to 1).
    expect(Array.from((up.data as Float32Array).subarray(0, 4))).toEqual([0, 25, 75, 100]);
    const down = imageToTensor(pattern(4, 2), resolveImagePreprocessing(nchw, { size: [1, 2], scale: 1 }));
    // Red = 10x + y sampled at x = 0.5 and 2.5, y = 0.5.
    expect(Array.from((down.data as Float32Array).subarray(0, 2))).toEqual([5.5, 25.5]);
    const keep = imageToTensor(
      pattern(30, 10),
      resolveImagePreprocessing({ name: 'x', type: 'float32', dims: ['n', 3, 48, 'w'] }),
    );
    expect(keep.dims).toEqual([1, 3, 48, 144]);
    const native = imageToTensor(pattern(5, 7), resolveImagePreprocessing(nchw));
    expect(native.dims).toEqual([1, 3, 7, 5]);
  });
});

describe('decodeImage', () => {
  it('decodes PNGs written by pngjs exactly', () => {
    const image = pattern(6, 4);
    const back = decodeImage(encodePng(image));
    expect(back.width).toBe(6);
    expect(back.height).toBe(4);
    expect(back.rgba).toEqual(image.rgba);
  });

  it('decodes JPEGs written by jpeg-js closely', async () => {
    const image = pattern(16, 16);
    const encoded = jpeg.encode({ width: 16, height: 16, data: Buffer.from(image.rgba) }, 100).data;
    const path = join(dir, 'pattern.jpg');
    writeFileSync(path, encoded);
    const tensor = await readImageFile(path, resolveImagePreprocessing(nchw, { scale: 1 }));
    expect(tensor.dims).toEqual([1, 3, 16, 16]);
    const data = tensor.data as Float32Array;
    let worst = 0;
    for (let y = 0; y < 16; y++) {
      for (let x = 0; x < 16; x++) {
        worst = Math.max(
          worst,
          Math.abs(data[y * 16 + x]! - (10 * x + y)),
          Math.abs(data[256 + y * 16 + x]! - (100 + y)),
        );
      }
    }
    expect(worst).toBeLessThan(8);
  });

  it('reports files that are not images, or broken ones', async () => {
    const error = caught(() => decodeImage(new TextEncoder().encode('GIF89a....'), 'a.gif'));
    expect(error.code).toBe('DATASET_CORRUPT_FILE');
    expect(error.message).toContain('not a PNG or JPEG');
    const truncated = encodePng(pattern(8, 8)).subarray(0, 60);
    expect(caught(() => decodeImage(truncated, 'cut.png')).message).toContain('cannot decode the PNG image');
    const path = join(dir, 'broken.jpg');
    writeFileSync(path, Uint8Array.of(0xff, 0xd8, 0xff, 0xe0, 0, 16, 1, 2, 3));
    await expect(readImageFile(path, resolveImagePreprocessing(nchw))).rejects.toMatchObject({
      code: 'DATASET_CORRUPT_FILE',
      location: { file: path },
    });
  });

  it.skipIf(!convertAvailable)('reads PNG (8 and 16 bit, gray) and JPEG files made by ImageMagick', () => {
    const make = (name: string, ...args: string[]) => {
      const path = join(dir, name);
      const run = spawnSync('convert', [...args, path], { encoding: 'utf8' });
      expect(run.status, run.stderr).toBe(0);
      return decodeImage(readFileSync(path), path);
    };
    const red = make('red.png', '-size', '5x3', 'xc:#ff2000');
    expect([red.width, red.height]).toEqual([5, 3]);
    expect(Array.from(red.rgba.subarray(0, 4))).toEqual([255, 32, 0, 255]);
    const deep = make('deep.png', '-size', '4x2', 'xc:#8000ff', '-depth', '16');
    expect(Array.from(deep.rgba.subarray(0, 3))).toEqual([128, 0, 255]);
    const gray = make('gray.png', '-size', '4x2', 'xc:gray50', '-colorspace', 'Gray');
    expect(Math.abs(gray.rgba[0]! - 127)).toBeLessThanOrEqual(1);
    expect(gray.rgba[0]).toBe(gray.rgba[1]);
    const photo = make('gradient.jpg', '-size', '32x16', 'gradient:white-black', '-quality', '95');
    expect([photo.width, photo.height]).toEqual([32, 16]);
    expect(photo.rgba[0]!).toBeGreaterThan(240);
    expect(photo.rgba[15 * 32 * 4]!).toBeLessThan(15);
  });
});
