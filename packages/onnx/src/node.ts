/** File-system side of @whittle/onnx: reading models with external data safely, writing them atomically. */
import {
  existsSync,
  closeSync,
  fstatSync,
  openSync,
  readSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writevSync,
} from 'node:fs';
import { basename, dirname, isAbsolute, join, normalize, resolve, sep } from 'node:path';
import type { Model, Tensor } from '@whittle/ir';
import { type Diagnostic, WhittleError } from '@whittle/spec';
import { OnnxCodes } from './codes.js';
import { decodeModel } from './decode.js';
import { type EncodedMessage, encodeModelPieces, type Piece } from './encode.js';
import { EXTERNAL_KEY, type ExternalDataSource, type ExternalReference, usesRawData } from './tensor-proto.js';

export * from './index.js';

/** Protobuf cannot hold a message of 2 GiB or more; stay clear of the limit. */
export const PROTOBUF_LIMIT = 2 ** 31 - 2 ** 26;

/**
 * Reads external data files next to a model, refusing any location that could leave the model's folder:
 * absolute paths, `..` segments, and links that resolve outside it.
 */
export function fileExternalDataSource(modelDirectory: string): ExternalDataSource {
  const base = realpathSync(modelDirectory);
  const resolved = new Map<string, string>();
  const pathOf = (location: string): string => {
    const known = resolved.get(location);
    if (known) return known;
    const unsafe = (why: string) =>
      new WhittleError(OnnxCodes.EXTERNAL_DATA_UNSAFE_PATH, `external data location '${location}' ${why}`, {
        location: { file: location },
        hint: 'external data must be a relative path inside the model’s folder',
      });
    if (location.includes('\0')) throw unsafe('contains a NUL character');
    if (isAbsolute(location) || /^[a-zA-Z]:[\\/]/.test(location) || location.startsWith('\\'))
      throw unsafe('is absolute');
    const normalized = normalize(location.replaceAll('\\', '/'));
    if (normalized.split(/[\\/]/).includes('..')) throw unsafe('leaves the model’s folder');
    const full = join(base, normalized);
    let real: string;
    try {
      real = realpathSync(full);
    } catch {
      throw new WhittleError(OnnxCodes.EXTERNAL_DATA_MISSING, `external data file '${location}' does not exist`, {
        location: { file: full },
      });
    }
    if (!real.startsWith(base + sep)) throw unsafe('is a link that leads outside the model’s folder');
    resolved.set(location, real);
    return real;
  };
  return {
    size(location) {
      const path = pathOf(location);
      const stat = statSync(path);
      if (!stat.isFile()) {
        throw new WhittleError(OnnxCodes.EXTERNAL_DATA_MISSING, `external data '${location}' is not a file`, {
          location: { file: path },
        });
      }
      return stat.size;
    },
    read(location, offset, length) {
      const path = pathOf(location);
      const descriptor = openSync(path, 'r');
      try {
        const buffer = Buffer.allocUnsafe(length);
        let done = 0;
        while (done < length) {
          const count = readSync(descriptor, buffer, done, length - done, offset + done);
          if (count === 0) {
            throw new WhittleError(OnnxCodes.EXTERNAL_DATA_TOO_SHORT, `external data '${location}' ended early`, {
              location: { file: path },
            });
          }
          done += count;
        }
        return new Uint8Array(buffer.buffer, buffer.byteOffset, length);
      } finally {
        closeSync(descriptor);
      }
    },
  };
}

export interface ReadModelResult {
  model: Model;
  diagnostics: Diagnostic[];
  /** Size of the .onnx file in bytes (external data not included). */
  fileSize: number;
}

/** Read a model file; external data is read lazily from the model's folder. */
export function readModel(path: string): ReadModelResult {
  const full = resolve(path);
  let bytes: Buffer;
  try {
    const stat = statSync(full);
    if (stat.isDirectory()) {
      throw new WhittleError(OnnxCodes.FILE_UNREADABLE, `'${path}' is a folder, not a model file`, {
        location: { file: path },
      });
    }
    bytes = readFileFully(full);
  } catch (error) {
    if (WhittleError.is(error)) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new WhittleError(OnnxCodes.FILE_NOT_FOUND, `no such model file '${path}'`, { location: { file: path } });
    }
    throw new WhittleError(OnnxCodes.FILE_UNREADABLE, `cannot read '${path}': ${(error as Error).message}`, {
      location: { file: path },
    });
  }
  const bytesView = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const { model, diagnostics } = decodeModel(bytesView, {
    file: path,
    externalData: fileExternalDataSource(dirname(full)),
  });
  return { model, diagnostics, fileSize: bytes.byteLength };
}

function readFileFully(path: string): Buffer {
  const descriptor = openSync(path, 'r');
  try {
    const size = fstatSync(descriptor).size;
    const buffer = Buffer.allocUnsafe(size);
    let done = 0;
    while (done < size) {
      const count = readSync(descriptor, buffer, done, size - done, done);
      if (count === 0) break;
      done += count;
    }
    return done === size ? buffer : buffer.subarray(0, done);
  } finally {
    closeSync(descriptor);
  }
}

export interface WriteModelOptions {
  /**
   * `auto` (default): tensors that came from external data stay external, and every large tensor goes external
   * when the model would pass protobuf's 2 GiB limit. `inline`: all data in the .onnx file. `external`: every
   * tensor of at least `externalThreshold` bytes goes to the external file.
   */
  externalData?: 'auto' | 'inline' | 'external';
  /** File name of the external data, relative to the model's folder. Default: `<model file name>.data`. */
  externalLocation?: string;
  /** Smallest tensor moved to external data, in bytes. Default 1024. */
  externalThreshold?: number;
  /** In `auto` mode, the size above which large tensors go external. Default: just under protobuf's 2 GiB. */
  inlineLimit?: number;
}

export interface WriteModelResult {
  /** Bytes written to the .onnx file. */
  modelBytes: number;
  /** Bytes written to the external data file (0 when none). */
  externalBytes: number;
  externalPath?: string;
}

const EXTERNAL_ALIGNMENT = 64;

function allRawTensors(model: Model): Tensor[] {
  const tensors: Tensor[] = [];
  for (const graph of model.graphs()) {
    for (const value of graph.initializers)
      if (value.initializer && usesRawData(value.initializer)) tensors.push(value.initializer);
    for (const node of graph.nodes) {
      for (const attribute of node.attributes.values()) {
        if (attribute.type === 'tensor' && usesRawData(attribute.value)) tensors.push(attribute.value);
        if (attribute.type === 'tensors') tensors.push(...attribute.value.filter(usesRawData));
      }
    }
  }
  return tensors;
}

function planExternal(model: Model, options: WriteModelOptions, location: string): Map<Tensor, ExternalReference> {
  const mode = options.externalData ?? 'auto';
  const threshold = options.externalThreshold ?? 1024;
  const tensors = allRawTensors(model);
  let chosen: Tensor[];
  if (mode === 'inline') chosen = [];
  else if (mode === 'external') chosen = tensors.filter((tensor) => tensor.byteLength >= threshold);
  else {
    chosen = tensors.filter((tensor) => tensor.carried[EXTERNAL_KEY] !== undefined && tensor.data.kind === 'external');
    if (
      encodeModelPieces(model, { keepExternalReferences: false }).byteLength > (options.inlineLimit ?? PROTOBUF_LIMIT)
    ) {
      chosen = tensors.filter((tensor) => tensor.byteLength >= threshold || chosen.includes(tensor));
    }
  }
  const placement = new Map<Tensor, ExternalReference>();
  let offset = 0;
  for (const tensor of new Set(chosen)) {
    offset = Math.ceil(offset / EXTERNAL_ALIGNMENT) * EXTERNAL_ALIGNMENT;
    const length = tensor.byteLength;
    placement.set(tensor, {
      location,
      offset,
      length,
      entries: [
        { key: 'location', value: location },
        { key: 'offset', value: String(offset) },
        { key: 'length', value: String(length) },
      ],
    });
    offset += length;
  }
  return placement;
}

function temporaryPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
}

/** Write pieces to a file in batches (one writev call per batch); lazy pieces are loaded one at a time. */
function writePieces(descriptor: number, pieces: readonly Piece[]): void {
  const batch: Uint8Array[] = [];
  let batchBytes = 0;
  const flush = () => {
    let remaining = batch.splice(0);
    batchBytes = 0;
    while (remaining.length > 0) {
      let written = writevSync(descriptor, remaining);
      // writev may write less than asked: drop what was written and go on with the rest.
      while (remaining.length > 0 && written >= remaining[0]!.byteLength) {
        written -= remaining[0]!.byteLength;
        remaining = remaining.slice(1);
      }
      if (remaining.length > 0 && written > 0) remaining[0] = remaining[0]!.subarray(written);
    }
  };
  for (const piece of pieces) {
    const bytes = piece instanceof Uint8Array ? piece : piece.load();
    batch.push(bytes);
    batchBytes += bytes.byteLength;
    if (batch.length >= 512 || batchBytes >= 64 * 2 ** 20 || !(piece instanceof Uint8Array)) flush();
  }
  flush();
}

function writeFileAtomically(path: string, write: (descriptor: number) => void): string {
  const temporary = temporaryPathFor(path);
  const descriptor = openSync(temporary, 'wx');
  try {
    write(descriptor);
  } catch (error) {
    closeSync(descriptor);
    rmSync(temporary, { force: true });
    throw error;
  }
  closeSync(descriptor);
  return temporary;
}

/**
 * Write any file (a report, a calibration table) atomically: to a temporary name beside it, then renamed, so a
 * failure leaves no half-written file. Errors are `MODEL_WRITE_FAILED` / `MODEL_OUTPUT_FOLDER_MISSING`.
 */
export function writeFileAtomicallySync(path: string, contents: string | Uint8Array): void {
  const full = resolve(path);
  if (!existsSync(dirname(full))) {
    throw new WhittleError(OnnxCodes.OUTPUT_FOLDER_MISSING, `the folder '${dirname(path)}' does not exist`, {
      location: { file: path },
    });
  }
  const bytes = typeof contents === 'string' ? Buffer.from(contents) : contents;
  let temporary: string | undefined;
  try {
    temporary = writeFileAtomically(full, (descriptor) => writePieces(descriptor, [bytes]));
    renameSync(temporary, full);
  } catch (error) {
    if (temporary) rmSync(temporary, { force: true });
    throw new WhittleError(OnnxCodes.WRITE_FAILED, `cannot write '${path}': ${(error as Error).message}`, {
      location: { file: path },
      cause: error,
    });
  }
}

/**
 * Write a model atomically: every file goes to a temporary name beside its destination and is renamed only when
 * all were written, so a failure leaves no half-written file and never touches an existing one.
 */
export function writeModel(model: Model, path: string, options: WriteModelOptions = {}): WriteModelResult {
  const full = resolve(path);
  if (!existsSync(dirname(full))) {
    throw new WhittleError(OnnxCodes.OUTPUT_FOLDER_MISSING, `the folder '${dirname(path)}' does not exist`, {
      location: { file: path },
      hint: 'create the folder first, or write the model elsewhere',
    });
  }
  const location = options.externalLocation ?? `${basename(full)}.data`;
  const placement = planExternal(model, options, location);
  const encoded: EncodedMessage = encodeModelPieces(model, { external: placement, keepExternalReferences: false });
  const temporaries: [string, string][] = [];
  const renamed: string[] = [];
  try {
    let externalBytes = 0;
    let externalPath: string | undefined;
    if (placement.size > 0) {
      externalPath = join(dirname(full), location);
      const pieces: Piece[] = [];
      let offset = 0;
      for (const [tensor, reference] of placement) {
        if (reference.offset > offset) pieces.push(new Uint8Array(reference.offset - offset));
        const data = tensor.data;
        pieces.push({ byteLength: reference.length, load: () => data.bytes() });
        offset = reference.offset + reference.length;
      }
      externalBytes = offset;
      temporaries.push([
        writeFileAtomically(externalPath, (descriptor) => writePieces(descriptor, pieces)),
        externalPath,
      ]);
    }
    temporaries.push([writeFileAtomically(full, (descriptor) => writePieces(descriptor, encoded.pieces)), full]);
    for (const [temporary, destination] of temporaries) {
      renameSync(temporary, destination);
      renamed.push(destination);
    }
    return { modelBytes: encoded.byteLength, externalBytes, ...(externalPath ? { externalPath } : {}) };
  } catch (error) {
    for (const [temporary] of temporaries) rmSync(temporary, { force: true });
    // A later rename failed (the model path is a folder, say): the external data already moved in must go too.
    for (const destination of renamed) rmSync(destination, { force: true });
    if (WhittleError.is(error)) throw error;
    throw new WhittleError(OnnxCodes.WRITE_FAILED, `cannot write '${path}': ${(error as Error).message}`, {
      location: { file: path },
      cause: error,
    });
  }
}
