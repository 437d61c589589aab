/**
 * `openDataset`: a calibration dataset from a path on disk, its kind detected from what is there. Files are read
 * while iterating (one sample at a time), so memory does not grow with the dataset.
 */
import { type Dirent, readdirSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import type { Model } from '@whittle/ir';
import type { ExecutorTensor } from '@whittle/spec';
import { WhittleError } from '@whittle/spec';
import {
  type CalibrationDataset,
  checkSample,
  DatasetCodes,
  type DatasetInput,
  modelInputs,
  type Sample,
  type SampleOrigin,
} from '../dataset.js';
import { type ImagePreprocessing, isImageFile, readImageFile, resolveImagePreprocessing } from './images.js';
import { readNpyFile } from './npy.js';
import { readNpzFile } from './npz.js';
import { readTestDataSet, TEST_DATA_SET_PATTERN } from './test-data-set.js';

export interface OpenDatasetOptions {
  /** Read at most this many samples. */
  limit?: number;
  /** How image files become tensors (image folders only). */
  image?: ImagePreprocessing;
}

export type DatasetKind =
  /** A folder of .npy files, one sample each (models with one input). */
  | 'npy-folder'
  /** A folder of .npz files, one sample each, members named after the inputs. */
  | 'npz-folder'
  /** A folder of `test_data_set_N` folders (a model.onnx beside them is allowed). */
  | 'test-data-sets'
  /** One `test_data_set_N`-style folder of `input_K.pb` files: one sample. */
  | 'test-data-set'
  /** A folder of .png/.jpg/.jpeg images, one sample each (models with one input). */
  | 'images'
  /** One .npy file: one sample, or a stack of samples along a leading axis. */
  | 'npy-file'
  /** One .npz file: one sample, or stacks of samples along a leading axis. */
  | 'npz-file'
  /** One image file. */
  | 'image-file';

/** A dataset read from disk. */
export interface FileDataset extends CalibrationDataset {
  readonly kind: DatasetKind;
  readonly path: string;
}

/** Natural order: `img2` before `img10`. Deterministic (no locale). */
export function compareNatural(a: string, b: string): number {
  const split = (text: string) => text.match(/\d+|\D+/g) ?? [];
  const left = split(a);
  const right = split(b);
  for (let index = 0; index < Math.min(left.length, right.length); index++) {
    const x = left[index]!;
    const y = right[index]!;
    if (x === y) continue;
    const numeric = /^\d/.test(x) && /^\d/.test(y);
    if (numeric) {
      const difference = Number(x) - Number(y);
      if (difference !== 0) return difference;
      if (x.length !== y.length) return x.length - y.length;
    }
    return x < y ? -1 : 1;
  }
  return left.length !== right.length ? left.length - right.length : a < b ? -1 : a > b ? 1 : 0;
}

type EntryKind = 'npy' | 'npz' | 'image' | 'test-data-set' | 'pb-input' | 'pb-output' | 'model' | 'folder' | 'other';

const KIND_NAMES: Readonly<Record<EntryKind, [string, string]>> = {
  npy: ['.npy file', '.npy files'],
  npz: ['.npz file', '.npz files'],
  image: ['image', 'images'],
  'test-data-set': ['test_data_set folder', 'test_data_set folders'],
  'pb-input': ['input_N.pb file', 'input_N.pb files'],
  'pb-output': ['output_N.pb file', 'output_N.pb files'],
  model: ['.onnx file', '.onnx files'],
  folder: ['other folder', 'other folders'],
  other: ['other file', 'other files'],
};

function classify(entry: Dirent): EntryKind {
  const name = entry.name;
  if (entry.isDirectory()) return TEST_DATA_SET_PATTERN.test(name) ? 'test-data-set' : 'folder';
  const extension = extname(name).toLowerCase();
  if (extension === '.npy') return 'npy';
  if (extension === '.npz') return 'npz';
  if (isImageFile(name)) return 'image';
  if (/^input_\d+\.pb$/.test(name)) return 'pb-input';
  if (/^output_\d+\.pb$/.test(name)) return 'pb-output';
  if (extension === '.onnx') return 'model';
  return 'other';
}

function describeFound(groups: ReadonlyMap<EntryKind, string[]>): string {
  const parts: string[] = [];
  for (const [kind, names] of groups) {
    const [one, many] = KIND_NAMES[kind];
    const examples = names.slice(0, 3).join(', ') + (names.length > 3 ? ', ...' : '');
    parts.push(`${names.length} ${names.length === 1 ? one : many} (${examples})`);
  }
  return parts.join(', ');
}

const SUPPORTED =
  'a folder of .npy files, of .npz files, of images (.png/.jpg/.jpeg) or of test_data_set_N folders, or a single .npy/.npz/image file';

function singleInput(inputs: readonly DatasetInput[], path: string, what: string): DatasetInput {
  if (inputs.length === 1) return inputs[0]!;
  throw new WhittleError(
    DatasetCodes.UNKNOWN_FORMAT,
    `${path}: ${what} feed${what.endsWith('s') ? '' : 's'} models with one input; this model has ${inputs.length} (${inputs.map((input) => `'${input.name}'`).join(', ')}): save each sample as an .npz file with one member per input name`,
    { location: { file: path } },
  );
}

/** Read a file, turning a vanished file into DATASET_NOT_FOUND. */
async function guarded<T>(file: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new WhittleError(DatasetCodes.NOT_FOUND, `${file} does not exist (any more)`, {
        location: { file },
        cause: error,
      });
    }
    throw error;
  }
}

function sliceTensor(tensor: ExecutorTensor, index: number, dims: number[]): ExecutorTensor {
  const count = dims.reduce((product, dim) => product * dim, 1);
  const data = tensor.data as ArrayLike<unknown> & { subarray?: (start: number, end: number) => ArrayBufferView };
  const start = index * count;
  const piece = Array.isArray(data)
    ? (data as string[]).slice(start, start + count)
    : (data as unknown as { subarray(start: number, end: number): ArrayBufferView }).subarray(start, start + count);
  return { type: tensor.type, dims, data: piece };
}

/**
 * A file's content as samples: itself when it fits the inputs, else stacks split along the leading axis (an array
 * of rank r+1 for an input of rank r, or N along a batch dim fixed at 1); else the error for the content as is.
 */
export function unstackSample(sample: Sample, inputs: readonly DatasetInput[], origin: SampleOrigin): Sample[] {
  try {
    checkSample(sample, inputs, origin);
    return [sample];
  } catch (error) {
    let count: number | undefined;
    const plans: { name: string; dims: number[] }[] = [];
    for (const input of inputs) {
      const tensor = sample[input.name];
      const declared = input.dims;
      if (!tensor || declared === undefined || tensor.dims.length === 0) throw error;
      let pieces: number;
      let dims: number[];
      if (tensor.dims.length === declared.length + 1) {
        pieces = tensor.dims[0]!;
        dims = tensor.dims.slice(1);
      } else if (tensor.dims.length === declared.length && declared[0] === 1 && tensor.dims[0]! > 1) {
        pieces = tensor.dims[0]!;
        dims = [1, ...tensor.dims.slice(1)];
      } else throw error;
      if (count !== undefined && count !== pieces) throw error;
      count = pieces;
      plans.push({ name: input.name, dims });
    }
    if (count === undefined || count === 0) throw error;
    const samples: Sample[] = [];
    for (let index = 0; index < count; index++) {
      const piece: Sample = {};
      for (const plan of plans) piece[plan.name] = sliceTensor(sample[plan.name]!, index, plan.dims);
      checkSample(piece, inputs, { ...origin, description: `sample ${index}` });
      samples.push(piece);
    }
    return samples;
  }
}

function checkLimit(limit: number | undefined): number {
  if (limit === undefined) return Number.POSITIVE_INFINITY;
  if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`limit must be a whole number >= 0, got ${limit}`);
  return limit;
}

/** A dataset with one sample per file, read and checked while iterating. */
function perFile(
  kind: DatasetKind,
  path: string,
  files: readonly string[],
  noun: string,
  inputs: readonly DatasetInput[],
  limit: number,
  read: (file: string) => Promise<Sample>,
): FileDataset {
  const size = Math.min(files.length, limit);
  return {
    kind,
    path,
    description: `${files.length} ${noun} in ${path}${size < files.length ? ` (first ${size})` : ''}`,
    size,
    async *samples() {
      for (let index = 0; index < size; index++) {
        const file = files[index]!;
        const sample = await guarded(file, () => read(file));
        checkSample(sample, inputs, { file, description: `sample ${index}` });
        yield sample;
      }
    },
  };
}

/** A dataset from one file that may hold a stack of samples. */
function singleFile(
  kind: DatasetKind,
  path: string,
  noun: string,
  inputs: readonly DatasetInput[],
  limit: number,
  read: () => Promise<Sample>,
): FileDataset {
  return {
    kind,
    path,
    description: `${noun} ${path}${limit < Number.POSITIVE_INFINITY ? ` (first ${limit})` : ''}`,
    size: undefined,
    async *samples() {
      if (limit === 0) return;
      const samples = unstackSample(await guarded(path, read), inputs, { file: path });
      yield* samples.slice(0, limit);
    },
  };
}

/**
 * Open a calibration dataset at `path` for a model (or its inputs, see `modelInputs`). Detects: a folder of .npy
 * files (one-input models), of .npz files, of images (one-input models, see `options.image`), of test_data_set_N
 * folders, a single test data set folder, or one .npy/.npz/image file. Files are sorted by name (numbers in
 * natural order) and read lazily; every sample is checked with `checkSample` as it is read.
 *
 * Errors: `DATASET_NOT_FOUND`, `DATASET_EMPTY`, `DATASET_UNKNOWN_FORMAT` (naming the kinds found), and while
 * iterating `DATASET_CORRUPT_FILE` and the sample errors of `checkSample`.
 */
export function openDataset(
  path: string,
  model: Model | readonly DatasetInput[],
  options: OpenDatasetOptions = {},
): FileDataset {
  const inputs: readonly DatasetInput[] = Array.isArray(model) ? model : modelInputs(model as Model);
  const limit = checkLimit(options.limit);
  let stat: ReturnType<typeof statSync>;
  try {
    stat = statSync(path);
  } catch (error) {
    throw new WhittleError(DatasetCodes.NOT_FOUND, `the dataset path ${path} does not exist`, {
      location: { file: path },
      cause: error,
    });
  }

  if (!stat.isDirectory()) {
    const name = basename(path);
    const extension = extname(name).toLowerCase();
    if (extension === '.npy') {
      const input = singleInput(inputs, path, 'a single .npy file');
      return singleFile('npy-file', path, '.npy file', inputs, limit, async () => ({
        [input.name]: await readNpyFile(path),
      }));
    }
    if (extension === '.npz') return singleFile('npz-file', path, '.npz file', inputs, limit, () => readNpzFile(path));
    if (isImageFile(name)) {
      const input = singleInput(inputs, path, 'an image');
      const settings = resolveImagePreprocessing(input, options.image);
      return perFile('image-file', path, [path], 'image', inputs, limit, async (file) => ({
        [input.name]: await readImageFile(file, settings),
      }));
    }
    throw new WhittleError(
      DatasetCodes.UNKNOWN_FORMAT,
      `${path}: unknown dataset file type '${extension || name}'; expected ${SUPPORTED}`,
      { location: { file: path } },
    );
  }

  const entries = readdirSync(path, { withFileTypes: true })
    .filter((entry) => !entry.name.startsWith('.'))
    .sort((a, b) => compareNatural(a.name, b.name));
  if (entries.length === 0) {
    throw new WhittleError(DatasetCodes.EMPTY, `the dataset folder ${path} is empty`, { location: { file: path } });
  }
  const groups = new Map<EntryKind, string[]>();
  for (const entry of entries) {
    const kind = classify(entry);
    groups.set(kind, [...(groups.get(kind) ?? []), entry.name]);
  }
  const only = (...allowed: EntryKind[]) => [...groups.keys()].every((kind) => allowed.includes(kind));
  const files = (kind: EntryKind) => (groups.get(kind) ?? []).map((name) => join(path, name));
  const unknown = () =>
    new WhittleError(
      DatasetCodes.UNKNOWN_FORMAT,
      `${path}: cannot tell what kind of dataset this is: found ${describeFound(groups)}; expected ${SUPPORTED}`,
      { location: { file: path } },
    );

  if (groups.has('test-data-set')) {
    if (!only('test-data-set', 'model')) throw unknown();
    const sets = files('test-data-set');
    return perFile('test-data-sets', path, sets, 'ONNX test data sets', inputs, limit, (dir) =>
      readTestDataSet(dir, inputs),
    );
  }
  if (groups.has('pb-input')) {
    if (!only('pb-input', 'pb-output')) throw unknown();
    return perFile('test-data-set', path, [path], 'ONNX test data set', inputs, limit, (dir) =>
      readTestDataSet(dir, inputs),
    );
  }
  if (groups.size !== 1) throw unknown();
  if (groups.has('npy')) {
    const input = singleInput(inputs, path, 'folders of .npy files');
    return perFile('npy-folder', path, files('npy'), '.npy files', inputs, limit, async (file) => ({
      [input.name]: await readNpyFile(file),
    }));
  }
  if (groups.has('npz')) return perFile('npz-folder', path, files('npz'), '.npz files', inputs, limit, readNpzFile);
  if (groups.has('image')) {
    const input = singleInput(inputs, path, 'folders of images');
    const settings = resolveImagePreprocessing(input, options.image);
    return perFile('images', path, files('image'), 'images', inputs, limit, async (file) => ({
      [input.name]: await readImageFile(file, settings),
    }));
  }
  throw unknown();
}
