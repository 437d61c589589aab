/**
 * ONNX test data sets: folders named `test_data_set_<N>` holding `input_<K>.pb` files (serialized TensorProto), the
 * layout of the ONNX backend tests and of the model zoo. Input K feeds the model's K-th declared input.
 */
import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dataTypeName, type Tensor } from '@whittle/ir';
import { decodeTensor } from '@whittle/onnx';
import type { ExecutorTensor } from '@whittle/spec';
import { WhittleError } from '@whittle/spec';
import { DatasetCodes, type DatasetInput, type Sample } from '../dataset.js';

export const TEST_DATA_SET_PATTERN = /^test_data_set_(\d+)$/;
const INPUT_PATTERN = /^input_(\d+)\.pb$/;

/** `input_<K>.pb` files of a test data set folder, ordered by K. */
export function testDataSetInputFiles(dir: string): string[] {
  return readdirSync(dir)
    .map((file) => ({ file, match: INPUT_PATTERN.exec(file) }))
    .filter((entry) => entry.match !== null)
    .sort((a, b) => Number(a.match![1]) - Number(b.match![1]))
    .map((entry) => join(dir, entry.file));
}

/** An IR tensor as an executor tensor (string tensors as strings; the data is the IR's own typed view). */
export function irTensorToExecutor(tensor: Tensor): ExecutorTensor {
  const type = dataTypeName(tensor.dataType);
  if (type === 'string') return { type, dims: [...tensor.dims], data: tensor.strings() };
  return { type, dims: [...tensor.dims], data: tensor.toArray() };
}

/** Read one serialized TensorProto file. Errors: `DATASET_CORRUPT_FILE` naming the file. */
export async function readTensorProtoFile(path: string): Promise<ExecutorTensor> {
  const bytes = await readFile(path);
  try {
    return irTensorToExecutor(decodeTensor(bytes, { file: path }));
  } catch (error) {
    const detail = WhittleError.is(error) ? `${error.code}: ${error.message}` : (error as Error).message;
    throw new WhittleError(DatasetCodes.CORRUPT_FILE, `${path}: not a readable TensorProto (${detail})`, {
      location: { file: path },
      cause: error,
    });
  }
}

/**
 * Read a test data set folder as one sample: `input_K.pb` becomes the model's K-th input. Extra files are an
 * unknown input, missing ones a missing input (reported by `checkSample` later for the latter).
 */
export async function readTestDataSet(dir: string, inputs: readonly DatasetInput[]): Promise<Sample> {
  const files = testDataSetInputFiles(dir);
  if (files.length > inputs.length) {
    const extra = files[inputs.length]!;
    throw new WhittleError(
      DatasetCodes.UNKNOWN_INPUT,
      `${dir}: ${files.length} input files for a model with ${inputs.length} input${inputs.length === 1 ? '' : 's'} (${inputs.map((input) => `'${input.name}'`).join(', ')})`,
      { location: { file: extra } },
    );
  }
  const sample: Sample = {};
  for (const [index, file] of files.entries()) sample[inputs[index]!.name] = await readTensorProtoFile(file);
  return sample;
}
