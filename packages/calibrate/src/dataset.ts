/**
 * Calibration datasets: where the sample inputs that calibration runs through a model come from. Browser-safe (no
 * Node API); the readers of files on disk live in `./node/`.
 */
import { formatValueType, type Model } from '@whittle/ir';
import { dataTypeName } from '@whittle/ir';
import type { ExecutorTensor, ExecutorValueInfo, Location } from '@whittle/spec';
import { WhittleError } from '@whittle/spec';

/** One set of model inputs, by input name. */
export type Sample = Record<string, ExecutorTensor>;

/** A source of samples that can be iterated more than once (each call to `samples()` starts over). */
export interface CalibrationDataset {
  /** For reports: where the samples come from (`12 .npz files in data/`). */
  readonly description: string;
  /** Number of samples when known before iterating. */
  readonly size: number | undefined;
  samples(): AsyncIterable<Sample>;
}

/** Stable codes of the errors datasets throw. */
export const DatasetCodes = {
  NOT_FOUND: 'DATASET_NOT_FOUND',
  EMPTY: 'DATASET_EMPTY',
  UNKNOWN_FORMAT: 'DATASET_UNKNOWN_FORMAT',
  CORRUPT_FILE: 'DATASET_CORRUPT_FILE',
  MISSING_INPUT: 'DATASET_MISSING_INPUT',
  UNKNOWN_INPUT: 'DATASET_UNKNOWN_INPUT',
  TYPE_MISMATCH: 'DATASET_TYPE_MISMATCH',
  SHAPE_MISMATCH: 'DATASET_SHAPE_MISMATCH',
  /** A dataset made from a one-shot iterator was iterated a second time. */
  CONSUMED: 'DATASET_CONSUMED',
} as const;

/** A `DATASET_CORRUPT_FILE` error, prefixed with and located at the file when there is one (shared by the readers). */
export function corruptFileError(file: string | undefined, message: string, cause?: unknown): WhittleError {
  return new WhittleError(DatasetCodes.CORRUPT_FILE, `${file ? `${file}: ` : ''}${message}`, {
    ...(file ? { location: { file } } : {}),
    ...(cause === undefined ? {} : { cause }),
  });
}

/**
 * A model input as datasets see it: the executor's view (ORT-style element type name; dims with symbolic names as
 * strings, `null` for unknown, and `undefined` when even the rank is unknown).
 */
export type DatasetInput = ExecutorValueInfo;

/**
 * The inputs a model declares that are not initializers, in declaration order. Tensor inputs get the element type
 * name (`float32`) and their dims; other kinds (sequences, maps, optionals) get their type spelled out
 * (`seq(float32[?])`) so that any tensor fed to them is reported as a type mismatch.
 */
export function modelInputs(model: Model): DatasetInput[] {
  const inputs: DatasetInput[] = [];
  for (const value of model.graph.inputs) {
    if (value.initializer) continue;
    const type = value.type;
    if (type?.kind === 'tensor') {
      inputs.push({
        name: value.name,
        type: dataTypeName(type.elementType),
        dims: type.shape ? [...type.shape] : undefined,
      });
    } else {
      inputs.push({ name: value.name, type: formatValueType(type), dims: undefined });
    }
  }
  return inputs;
}

/** Where a sample came from, for error messages and locations. */
export interface SampleOrigin {
  /** The file the sample was read from. */
  file?: string;
  /** A short label such as `sample 3`. */
  description?: string;
}

function formatDims(dims: readonly (number | string | null)[]): string {
  return `[${dims.map((dim) => (typeof dim === 'number' ? String(dim) : '?')).join(',')}]`;
}

/** `float32[1,3,?,?]` for a declared input (symbolic and unknown dims as `?`; unknown rank: no brackets). */
export function formatInput(input: DatasetInput): string {
  return input.dims === undefined ? input.type : `${input.type}${formatDims(input.dims)}`;
}

/** `float32[1,3,48]` for a tensor. */
export function formatTensor(tensor: ExecutorTensor): string {
  return `${tensor.type}${formatDims(tensor.dims)}`;
}

/** Element count a tensor's data holds, or undefined for packed types where the array length is not the count. */
function dataElementCount(tensor: ExecutorTensor): number | undefined {
  const data = tensor.data;
  if (Array.isArray(data)) return data.length;
  if (ArrayBuffer.isView(data) && !(data instanceof DataView)) {
    switch (tensor.type) {
      case 'float32':
      case 'float64':
      case 'float16':
      case 'bfloat16':
      case 'int8':
      case 'uint8':
      case 'int16':
      case 'uint16':
      case 'int32':
      case 'uint32':
      case 'int64':
      case 'uint64':
      case 'bool':
        return (data as unknown as { length: number }).length;
    }
  }
  return undefined;
}

function originPrefix(origin: SampleOrigin | undefined): string {
  const parts = [origin?.description, origin?.file].filter((part): part is string => Boolean(part));
  return parts.length === 0 ? '' : `${parts.join(' in ')}: `;
}

/**
 * Check that a sample fits the inputs: every input present and nothing else, the same element type, the same rank,
 * static dims equal, symbolic dims any positive size (one symbol, one size across the inputs of the sample), and
 * data holding as many elements as the dims say. Throws a coded WhittleError (`DATASET_MISSING_INPUT`,
 * `DATASET_UNKNOWN_INPUT`, `DATASET_TYPE_MISMATCH`, `DATASET_SHAPE_MISMATCH`) located at the input.
 */
export function checkSample(
  sample: Readonly<Sample>,
  inputs: readonly DatasetInput[],
  where?: SampleOrigin | string,
): void {
  const origin: SampleOrigin | undefined = typeof where === 'string' ? { description: where } : where;
  const prefix = originPrefix(origin);
  const locate = (value: string): Location => (origin?.file ? { file: origin.file, value } : { value });
  const declared = new Set(inputs.map((input) => input.name));
  const unknown = Object.keys(sample).filter((name) => !declared.has(name));
  if (unknown.length > 0) {
    const first = unknown[0]!;
    throw new WhittleError(
      DatasetCodes.UNKNOWN_INPUT,
      `${prefix}the model has no input named ${unknown.map((name) => `'${name}'`).join(', ')}; its inputs are ${inputs.map((input) => `'${input.name}'`).join(', ') || 'none'}`,
      { location: locate(first) },
    );
  }
  const symbols = new Map<string, { size: number; input: string }>();
  for (const input of inputs) {
    const tensor = sample[input.name];
    if (tensor === undefined) {
      throw new WhittleError(
        DatasetCodes.MISSING_INPUT,
        `${prefix}input '${input.name}' (${formatInput(input)}) is missing from the sample`,
        { location: locate(input.name) },
      );
    }
    const mismatch = (code: string, detail = '') =>
      new WhittleError(
        code,
        `${prefix}input '${input.name}': expected ${formatInput(input)}, got ${formatTensor(tensor)}${detail}`,
        { location: locate(input.name) },
      );
    if (tensor.type !== input.type) throw mismatch(DatasetCodes.TYPE_MISMATCH);
    for (const dim of tensor.dims) {
      if (!Number.isSafeInteger(dim) || dim < 0) throw mismatch(DatasetCodes.SHAPE_MISMATCH, ` (invalid dim ${dim})`);
    }
    const declared = input.dims;
    if (declared !== undefined) {
      if (tensor.dims.length !== declared.length) throw mismatch(DatasetCodes.SHAPE_MISMATCH);
      declared.forEach((dim, axis) => {
        const size = tensor.dims[axis]!;
        if (typeof dim === 'number') {
          if (dim >= 0 && size !== dim) throw mismatch(DatasetCodes.SHAPE_MISMATCH);
          return;
        }
        if (size <= 0) throw mismatch(DatasetCodes.SHAPE_MISMATCH, ` (dim ${axis} is ${size})`);
        if (typeof dim !== 'string' || dim === '' || dim === '?') return;
        const seen = symbols.get(dim);
        if (seen === undefined) symbols.set(dim, { size, input: input.name });
        else if (seen.size !== size) {
          throw mismatch(
            DatasetCodes.SHAPE_MISMATCH,
            ` (dim ${axis} is '${dim}', which is ${seen.size} in input '${seen.input}')`,
          );
        }
      });
    }
    const expected = tensor.dims.reduce((product, dim) => product * dim, 1);
    const count = dataElementCount(tensor);
    if (count !== undefined && count !== expected) {
      throw mismatch(DatasetCodes.SHAPE_MISMATCH, ` (the data holds ${count} elements, the dims say ${expected})`);
    }
  }
}

type SampleSource = Iterable<Sample> | AsyncIterable<Sample> | (() => AsyncIterable<Sample> | Iterable<Sample>);

function isOneShot(source: Iterable<Sample> | AsyncIterable<Sample>): boolean {
  // Generators and other iterators return themselves from [Symbol.iterator]: they can be walked once only.
  const sync = (source as Partial<Iterable<Sample>>)[Symbol.iterator];
  const async = (source as Partial<AsyncIterable<Sample>>)[Symbol.asyncIterator];
  return (
    (typeof sync === 'function' && typeof (source as Partial<Iterator<Sample>>).next === 'function') ||
    (typeof async === 'function' && typeof (source as Partial<AsyncIterator<Sample>>).next === 'function')
  );
}

/**
 * A dataset over samples already at hand: an array (or any re-iterable collection), an async iterable, or a
 * function that returns a fresh iterable each time (the way to wrap a generator so it can be walked more than
 * once). A one-shot iterator (a generator object) is accepted but a second pass throws `DATASET_CONSUMED`.
 */
export function datasetFromSamples(source: SampleSource, description?: string): CalibrationDataset {
  const size = Array.isArray(source) ? source.length : source instanceof Set ? source.size : undefined;
  const label = description ?? (size === undefined ? 'samples in memory' : `${size} samples in memory`);
  const oneShot = typeof source !== 'function' && isOneShot(source);
  let walked = false;
  return {
    description: label,
    size,
    async *samples() {
      if (oneShot) {
        if (walked) {
          throw new WhittleError(
            DatasetCodes.CONSUMED,
            `the dataset '${label}' was made from an iterator that can be walked only once`,
            { hint: 'pass an array, or a function that returns a fresh iterable each time' },
          );
        }
        walked = true;
      }
      const iterable = typeof source === 'function' ? source() : source;
      yield* iterable as AsyncIterable<Sample>;
    },
  };
}

/** A dataset whose samples are checked against the inputs as they are produced (see `checkSample`). */
export function checkedDataset(dataset: CalibrationDataset, inputs: readonly DatasetInput[]): CalibrationDataset {
  return {
    description: dataset.description,
    size: dataset.size,
    async *samples() {
      let index = 0;
      for await (const sample of dataset.samples()) {
        checkSample(sample, inputs, { description: `sample ${index}` });
        index++;
        yield sample;
      }
    },
  };
}

/** The first `limit` samples of a dataset. */
export function limitDataset(dataset: CalibrationDataset, limit: number): CalibrationDataset {
  if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`limit must be a whole number >= 0, got ${limit}`);
  return {
    description: `${dataset.description} (first ${limit})`,
    size: dataset.size === undefined ? undefined : Math.min(dataset.size, limit),
    async *samples() {
      if (limit === 0) return;
      let count = 0;
      for await (const sample of dataset.samples()) {
        yield sample;
        if (++count >= limit) return;
      }
    },
  };
}

/**
 * At most `limit` samples spread evenly over a dataset of known size (those at floor(k · size / limit)); the first
 * `limit` when its size is unknown. For work that needs a subset representative of all the data, such as streamed
 * windows whose first hundred come from one recording.
 */
export function spreadDataset(dataset: CalibrationDataset, limit: number): CalibrationDataset {
  if (dataset.size === undefined || dataset.size <= limit) return limitDataset(dataset, limit);
  if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`limit must be a whole number >= 0, got ${limit}`);
  const size = dataset.size;
  return {
    description: `${dataset.description} (${limit} spread over ${size})`,
    size: limit,
    async *samples() {
      let chosen = 0;
      let index = 0;
      for await (const sample of dataset.samples()) {
        if (chosen >= limit) return;
        if (index++ === Math.floor((chosen * size) / limit)) {
          chosen++;
          yield sample;
        }
      }
    },
  };
}

/** The first sample of a dataset; DATASET_EMPTY when it has none. */
export async function firstSample(dataset: CalibrationDataset): Promise<Sample> {
  for await (const sample of dataset.samples()) return sample;
  throw new WhittleError('DATASET_EMPTY', `the dataset (${dataset.description}) gave no samples`);
}
