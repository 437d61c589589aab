/**
 * Images as calibration samples: PNG (pngjs) and JPEG (jpeg-js) decoded, resized and normalized into a float32
 * tensor with batch 1, the way the caller declares the model's preprocessing.
 */
import { readFile } from 'node:fs/promises';
import type { ExecutorTensor } from '@whittle/spec';
import { WhittleError } from '@whittle/spec';
import jpeg from 'jpeg-js';
import pngjs from 'pngjs';
import { corruptFileError, DatasetCodes, type DatasetInput, formatInput } from '../dataset.js';

export type ImageLayout = 'NCHW' | 'NHWC';
export type ImageChannels = 'RGB' | 'BGR' | 'gray';

/**
 * How images become model inputs. The value of channel c at a pixel p (0-255) is `(p * scale - mean[c]) / std[c]`,
 * with mean and std given in the output channel order (BGR order for 'BGR').
 */
export interface ImagePreprocessing {
  /**
   * Output [height, width]. Default: the model input's static H and W (stretched to both); when only one of them
   * is static, the image is scaled to it keeping its aspect ratio; when neither is, images keep their own size.
   */
  size?: readonly [height: number, width: number];
  /** Default: inferred from the model input: 1 or 3 in dim 1 is NCHW, in the last dim NHWC. */
  layout?: ImageLayout;
  /** Default: 'gray' for a 1-channel input, otherwise 'RGB'. Gray is ITU-R 601 luma (0.299 R + 0.587 G + 0.114 B). */
  channels?: ImageChannels;
  /** Multiplies pixel values (0-255) first. Default 1/255. */
  scale?: number;
  /** Subtracted per channel after scaling: one number for all channels or one per channel. Default 0. */
  mean?: number | readonly number[];
  /** Divides per channel after the mean: one number or one per channel. Default 1. */
  std?: number | readonly number[];
  /** Resampling; bilinear with half-pixel centers (like OpenCV's INTER_LINEAR), stretching to the size. */
  resize?: 'bilinear';
}

/** Preprocessing with every default filled in for one model input. */
export interface ResolvedImagePreprocessing {
  /** undefined dims: derived from each image (see `ImagePreprocessing.size`). */
  height: number | undefined;
  width: number | undefined;
  layout: ImageLayout;
  channels: ImageChannels;
  scale: number;
  mean: number[];
  std: number[];
  resize: 'bilinear';
}

/** A decoded image: 8-bit RGBA, row-major. */
export interface DecodedImage {
  width: number;
  height: number;
  rgba: Uint8Array;
}

const IMAGE_FILE = /\.(png|jpe?g)$/i;

/** True for file names an image dataset reads (.png, .jpg, .jpeg in any case). */
export function isImageFile(name: string): boolean {
  return IMAGE_FILE.test(name);
}

function shapeError(input: DatasetInput, message: string): WhittleError {
  return new WhittleError(DatasetCodes.SHAPE_MISMATCH, `input '${input.name}' (${formatInput(input)}): ${message}`, {
    location: { value: input.name },
  });
}

const staticDim = (dim: number | string | null | undefined): number | undefined =>
  typeof dim === 'number' && dim > 0 ? dim : undefined;

function perChannel(
  name: string,
  value: number | readonly number[] | undefined,
  fallback: number,
  count: number,
): number[] {
  if (value === undefined) return new Array<number>(count).fill(fallback);
  if (typeof value === 'number') return new Array<number>(count).fill(value);
  if (value.length !== count) {
    throw new WhittleError(
      'DATASET_BAD_OPTIONS',
      `image.${name} has ${value.length} values for ${count} channel${count === 1 ? '' : 's'}`,
    );
  }
  return [...value];
}

/** Fill in the defaults of the preprocessing for one model input (rank 4, NCHW or NHWC, batch 1 allowed). */
export function resolveImagePreprocessing(
  input: DatasetInput,
  options: ImagePreprocessing = {},
): ResolvedImagePreprocessing {
  const dims = input.dims ?? [null, null, null, null];
  if (dims.length !== 4) {
    throw shapeError(input, 'images feed inputs of rank 4 (NCHW or NHWC with batch 1)');
  }
  if (input.type !== 'float32') {
    throw new WhittleError(
      DatasetCodes.TYPE_MISMATCH,
      `input '${input.name}': expected ${formatInput(input)}, but images are read as float32 tensors`,
      { location: { value: input.name } },
    );
  }
  const batch = staticDim(dims[0]);
  if (batch !== undefined && batch !== 1) throw shapeError(input, 'images are read with batch 1');
  const isChannelCount = (dim: number | string | null | undefined) => dim === 1 || dim === 3;
  let layout = options.layout;
  if (layout === undefined) {
    if (isChannelCount(dims[1])) layout = 'NCHW';
    else if (isChannelCount(dims[3])) layout = 'NHWC';
    else throw shapeError(input, "cannot tell the layout from the shape: pass image.layout ('NCHW' or 'NHWC')");
  }
  const [channelDim, heightDim, widthDim] =
    layout === 'NCHW' ? [dims[1], dims[2], dims[3]] : [dims[3], dims[1], dims[2]];
  const channelCount = staticDim(channelDim);
  const channels = options.channels ?? (channelCount === 1 ? 'gray' : 'RGB');
  const count = channels === 'gray' ? 1 : 3;
  if (channelCount !== undefined && channelCount !== count) {
    throw shapeError(
      input,
      `channels '${channels}' gives ${count} channel${count === 1 ? '' : 's'}, not ${channelCount}`,
    );
  }
  const [height, width] = options.size ?? [staticDim(heightDim), staticDim(widthDim)];
  for (const [name, size] of [
    ['height', height],
    ['width', width],
  ] as const) {
    if (size !== undefined && (!Number.isSafeInteger(size) || size <= 0)) {
      throw new WhittleError('DATASET_BAD_OPTIONS', `image.size: the ${name} must be a whole number > 0, got ${size}`);
    }
  }
  const scale = options.scale ?? 1 / 255;
  const std = perChannel('std', options.std, 1, count);
  if (std.some((value) => value === 0)) throw new WhittleError('DATASET_BAD_OPTIONS', 'image.std must not be 0');
  return {
    height,
    width,
    layout,
    channels,
    scale,
    mean: perChannel('mean', options.mean, 0, count),
    std,
    resize: options.resize ?? 'bilinear',
  };
}

/** Decode a PNG or JPEG (told apart by their signatures) to 8-bit RGBA; 16-bit PNGs are scaled to 8 bits. */
export function decodeImage(bytes: Uint8Array, file?: string): DecodedImage {
  const isPng = bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47;
  const isJpeg = bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
  try {
    if (isPng) {
      const png = pngjs.PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      return { width: png.width, height: png.height, rgba: new Uint8Array(png.data) };
    }
    if (isJpeg) {
      const image = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 1024 });
      return { width: image.width, height: image.height, rgba: image.data };
    }
  } catch (error) {
    throw corruptFileError(
      file,
      `cannot decode the ${isPng ? 'PNG' : 'JPEG'} image: ${(error as Error).message}`,
      error,
    );
  }
  throw corruptFileError(file, 'not a PNG or JPEG image');
}

/** Output size for an image: the resolved size, or derived from the image where the model leaves it open. */
function outputSize(image: DecodedImage, settings: ResolvedImagePreprocessing): [number, number] {
  const { height, width } = settings;
  if (height !== undefined && width !== undefined) return [height, width];
  if (height !== undefined) return [height, Math.max(1, Math.round((image.width * height) / image.height))];
  if (width !== undefined) return [Math.max(1, Math.round((image.height * width) / image.width)), width];
  return [image.height, image.width];
}

/** Turn a decoded image into a float32 tensor [1, C, H, W] or [1, H, W, C] as the preprocessing says. */
export function imageToTensor(image: DecodedImage, settings: ResolvedImagePreprocessing): ExecutorTensor {
  const { width: sourceWidth, height: sourceHeight, rgba } = image;
  if (sourceWidth <= 0 || sourceHeight <= 0) throw corruptFileError(undefined, 'the image is empty');
  const [height, width] = outputSize(image, settings);
  const count = settings.channels === 'gray' ? 1 : 3;
  // Source planes in the output channel order, as floats 0-255.
  const planes: Float32Array[] = [];
  const pixels = sourceWidth * sourceHeight;
  if (settings.channels === 'gray') {
    const gray = new Float32Array(pixels);
    for (let index = 0; index < pixels; index++) {
      gray[index] = 0.299 * rgba[4 * index]! + 0.587 * rgba[4 * index + 1]! + 0.114 * rgba[4 * index + 2]!;
    }
    planes.push(gray);
  } else {
    const order = settings.channels === 'BGR' ? [2, 1, 0] : [0, 1, 2];
    for (const source of order) {
      const plane = new Float32Array(pixels);
      for (let index = 0; index < pixels; index++) plane[index] = rgba[4 * index + source]!;
      planes.push(plane);
    }
  }
  // Bilinear with half-pixel centers: source = (out + 0.5) * ratio - 0.5, clamped to the edges.
  const axis = (size: number, sourceSize: number) => {
    const low = new Int32Array(size);
    const high = new Int32Array(size);
    const weight = new Float32Array(size);
    const ratio = sourceSize / size;
    for (let out = 0; out < size; out++) {
      const position = Math.min(Math.max((out + 0.5) * ratio - 0.5, 0), sourceSize - 1);
      const floor = Math.floor(position);
      low[out] = floor;
      high[out] = Math.min(floor + 1, sourceSize - 1);
      weight[out] = position - floor;
    }
    return { low, high, weight };
  };
  const rows = axis(height, sourceHeight);
  const columns = axis(width, sourceWidth);
  const data = new Float32Array(count * height * width);
  const nchw = settings.layout === 'NCHW';
  for (let channel = 0; channel < count; channel++) {
    const plane = planes[channel]!;
    const multiplier = settings.scale / settings.std[channel]!;
    const offset = settings.mean[channel]! / settings.std[channel]!;
    for (let y = 0; y < height; y++) {
      const top = rows.low[y]! * sourceWidth;
      const bottom = rows.high[y]! * sourceWidth;
      const fy = rows.weight[y]!;
      for (let x = 0; x < width; x++) {
        const left = columns.low[x]!;
        const right = columns.high[x]!;
        const fx = columns.weight[x]!;
        const upper = plane[top + left]! + (plane[top + right]! - plane[top + left]!) * fx;
        const lower = plane[bottom + left]! + (plane[bottom + right]! - plane[bottom + left]!) * fx;
        const value = (upper + (lower - upper) * fy) * multiplier - offset;
        data[nchw ? (channel * height + y) * width + x : (y * width + x) * count + channel] = value;
      }
    }
  }
  return { type: 'float32', dims: nchw ? [1, count, height, width] : [1, height, width, count], data };
}

/** Read an image file into a tensor for one model input. */
export async function readImageFile(path: string, settings: ResolvedImagePreprocessing): Promise<ExecutorTensor> {
  const image = decodeImage(await readFile(path), path);
  try {
    return imageToTensor(image, settings);
  } catch (error) {
    if (WhittleError.is(error) && error.code === DatasetCodes.CORRUPT_FILE) throw corruptFileError(path, error.message);
    throw error;
  }
}
