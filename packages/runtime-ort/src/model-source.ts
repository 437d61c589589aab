/**
 * What onnxruntime opens: the serialized model in memory, or, for a model with external data or one past
 * protobuf's 2 GiB limit, a model file with its external data written to a temporary folder.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Model, Tensor } from '@whittle/ir';
import { concatenatePieces, encodeModelPieces } from '@whittle/onnx';
import { PROTOBUF_LIMIT, writeModel } from '@whittle/onnx/node';
import { WhittleError } from '@whittle/spec';
import { ExecutorCodes, firstLine } from './codes.js';

export interface ModelSource {
  /** Model bytes, or the path of a model file (its external data beside it). */
  readonly model: Uint8Array | string;
  /** The temporary folder holding the file, if one was written. */
  readonly folder: string | undefined;
  /** Remove the temporary folder (harmless when there is none, or when called twice). */
  cleanup(): void;
}

export interface ModelSourceOptions {
  /**
   * Serialized size above which the model is written to a file with its large tensors as external data. Default:
   * just under protobuf's 2 GiB limit.
   */
  inlineLimit?: number;
  /** Parent of the temporary folder. Default: the OS's temporary folder. */
  temporaryDirectory?: string;
}

function* tensorsOf(model: Model): Generator<Tensor> {
  for (const graph of model.graphs()) {
    for (const value of graph.initializers) if (value.initializer) yield value.initializer;
    for (const node of graph.nodes) {
      for (const attribute of node.attributes.values()) {
        if (attribute.type === 'tensor') yield attribute.value;
        if (attribute.type === 'tensors') yield* attribute.value;
      }
    }
  }
}

/** True when some tensor's data still lives in an external file (read lazily from it). */
export function hasExternalData(model: Model): boolean {
  for (const tensor of tensorsOf(model)) if (tensor.data.kind === 'external') return true;
  return false;
}

/** Serialize the model for onnxruntime (see the file comment). Synchronous, so it can run inside withExtraOutputs. */
export function modelSource(model: Model, options: ModelSourceOptions = {}): ModelSource {
  const inlineLimit = options.inlineLimit ?? PROTOBUF_LIMIT;
  if (!hasExternalData(model)) {
    const pieces = encodeModelPieces(model);
    if (pieces.byteLength <= inlineLimit) {
      return { model: concatenatePieces(pieces), folder: undefined, cleanup: () => {} };
    }
  }
  const parent = options.temporaryDirectory ?? tmpdir();
  let folder: string;
  try {
    folder = mkdtempSync(join(parent, 'whittle-ort-'));
  } catch (error) {
    throw new WhittleError(
      ExecutorCodes.LOAD_FAILED,
      `cannot make a temporary folder for the model in '${parent}': ${firstLine(error)}`,
      { location: { file: parent }, cause: error },
    );
  }
  const made = folder;
  const cleanup = () => rmSync(made, { recursive: true, force: true });
  try {
    const path = join(folder, 'model.onnx');
    writeModel(model, path, { externalData: 'auto', inlineLimit });
    return { model: path, folder, cleanup };
  } catch (error) {
    cleanup();
    throw error;
  }
}
