import { DataType, dataTypeName, type Tensor } from '@whittle/ir';
import * as ort from 'onnxruntime-node';

export { ort };
export type OrtTensor = ort.Tensor;
/** Inputs by name, or in the order of the session's input names. */
export type Feeds = Readonly<Record<string, OrtTensor>> | readonly OrtTensor[];
export type Outputs = Record<string, OrtTensor>;

export interface SessionSettings {
  /**
   * ORT graph optimization level. Default `disabled`: ORT runs the graph exactly as written, so two files compare
   * as what they say (no constant folding or fusion that could hide or add a difference) and sessions open faster.
   */
  optimization?: 'disabled' | 'basic' | 'extended' | 'all';
  /** ORT log level, 3 (errors) by default; 4 keeps even errors quiet (they still throw). */
  logSeverityLevel?: 0 | 1 | 2 | 3 | 4;
}

/** CPU, one thread inside and between ops, sequential: the same inputs give the same bits on every run. */
export function sessionOptions(settings: SessionSettings = {}): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: ['cpu'],
    graphOptimizationLevel: settings.optimization ?? 'disabled',
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    logSeverityLevel: settings.logSeverityLevel ?? 3,
  };
}

/** An open ORT session; call `release` when done (or use `withSession`). */
export interface OrtSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata: readonly ort.InferenceSession.ValueMetadata[];
  run(feeds: Feeds): Promise<Outputs>;
  release(): Promise<void>;
}

/** Open a session on a model file (external data is found beside it) or on model bytes. */
export async function openSession(model: string | Uint8Array, settings: SessionSettings = {}): Promise<OrtSession> {
  const options = sessionOptions(settings);
  const session =
    typeof model === 'string'
      ? await ort.InferenceSession.create(model, options)
      : await ort.InferenceSession.create(model, options);
  let released = false;
  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    inputMetadata: session.inputMetadata,
    async run(feeds) {
      const named: Record<string, OrtTensor> = {};
      if (Array.isArray(feeds)) {
        if (feeds.length > session.inputNames.length) {
          throw new Error(`${feeds.length} inputs given, the model takes ${session.inputNames.length}`);
        }
        (feeds as readonly OrtTensor[]).forEach((tensor, index) => {
          named[session.inputNames[index]!] = tensor;
        });
      } else Object.assign(named, feeds);
      const results = await session.run(named);
      const ordered: Outputs = {};
      for (const name of session.outputNames) if (results[name]) ordered[name] = results[name];
      return ordered;
    },
    async release() {
      if (released) return;
      released = true;
      await session.release();
    },
  };
}

/** Open a session, hand it to `use`, and release it whatever happens. */
export async function withSession<T>(
  model: string | Uint8Array,
  use: (session: OrtSession) => Promise<T>,
  settings: SessionSettings = {},
): Promise<T> {
  const session = await openSession(model, settings);
  try {
    return await use(session);
  } finally {
    await session.release();
  }
}

/** Run a model once on CPU (see `sessionOptions`) and return its outputs by name; the session is released. */
export function runOnnxRuntime(
  model: string | Uint8Array,
  feeds: Feeds,
  settings: SessionSettings = {},
): Promise<Outputs> {
  return withSession(model, (session) => session.run(feeds), settings);
}

const ORT_TYPES: Partial<Record<DataType, ort.Tensor.Type>> = {
  [DataType.FLOAT]: 'float32',
  [DataType.DOUBLE]: 'float64',
  [DataType.FLOAT16]: 'float16',
  [DataType.INT8]: 'int8',
  [DataType.INT16]: 'int16',
  [DataType.INT32]: 'int32',
  [DataType.INT64]: 'int64',
  [DataType.UINT8]: 'uint8',
  [DataType.UINT16]: 'uint16',
  [DataType.UINT32]: 'uint32',
  [DataType.UINT64]: 'uint64',
  [DataType.BOOL]: 'bool',
  [DataType.STRING]: 'string',
};

/** The ORT JS type of an ONNX element type, or undefined when ORT's JS API has none (bfloat16, float8, complex...). */
export function ortTypeOf(dataType: DataType): ort.Tensor.Type | undefined {
  return ORT_TYPES[dataType];
}

/** Copy a tensor's bytes into a fresh, aligned typed array of the given kind. */
function copyAs<T>(bytes: Uint8Array, make: (buffer: ArrayBuffer) => T): T {
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return make(copy.buffer);
}

/**
 * An IR tensor (from `decodeTensor`, an initializer, ...) as an ORT tensor. The data is copied, so the result does
 * not alias the model file's buffer. float16 is passed as its bit patterns (Uint16Array), bool as Uint8Array.
 */
export function tensorToOrt(tensor: Tensor): OrtTensor {
  const type = ortTypeOf(tensor.dataType);
  if (!type)
    throw new Error(`tensor '${tensor.name}': ONNX Runtime's JS API has no ${dataTypeName(tensor.dataType)} tensors`);
  const dims = [...tensor.dims];
  if (type === 'string') return new ort.Tensor('string', tensor.strings(), dims);
  const bytes = tensor.bytes();
  switch (type) {
    case 'float32':
      return new ort.Tensor(
        type,
        copyAs(bytes, (buffer) => new Float32Array(buffer)),
        dims,
      );
    case 'float64':
      return new ort.Tensor(
        type,
        copyAs(bytes, (buffer) => new Float64Array(buffer)),
        dims,
      );
    case 'float16':
    case 'uint16':
      return new ort.Tensor(
        type,
        copyAs(bytes, (buffer) => new Uint16Array(buffer)),
        dims,
      );
    case 'int16':
      return new ort.Tensor(
        type,
        copyAs(bytes, (buffer) => new Int16Array(buffer)),
        dims,
      );
    case 'int8':
      return new ort.Tensor(
        type,
        copyAs(bytes, (buffer) => new Int8Array(buffer)),
        dims,
      );
    case 'uint8':
    case 'bool':
      return new ort.Tensor(
        type,
        copyAs(bytes, (buffer) => new Uint8Array(buffer)),
        dims,
      );
    case 'int32':
      return new ort.Tensor(
        type,
        copyAs(bytes, (buffer) => new Int32Array(buffer)),
        dims,
      );
    case 'uint32':
      return new ort.Tensor(
        type,
        copyAs(bytes, (buffer) => new Uint32Array(buffer)),
        dims,
      );
    case 'int64':
      return new ort.Tensor(
        type,
        copyAs(bytes, (buffer) => new BigInt64Array(buffer)),
        dims,
      );
    case 'uint64':
      return new ort.Tensor(
        type,
        copyAs(bytes, (buffer) => new BigUint64Array(buffer)),
        dims,
      );
    default:
      throw new Error(`tensor '${tensor.name}': no conversion to ORT type ${type}`);
  }
}

function describeDims(dims: readonly number[]): string {
  return `[${dims.join(', ')}]`;
}

/** Where two ORT tensors differ (type, dims, or the first differing byte), or undefined when bit-identical. */
export function tensorDifference(a: OrtTensor, b: OrtTensor): string | undefined {
  if (a.type !== b.type) return `types differ: ${a.type} vs ${b.type}`;
  if (a.dims.length !== b.dims.length || a.dims.some((dim, index) => dim !== b.dims[index])) {
    return `dims differ: ${describeDims(a.dims)} vs ${describeDims(b.dims)}`;
  }
  if (a.type === 'string') {
    const left = a.data as string[];
    const right = b.data as string[];
    if (left.length !== right.length) return `string counts differ: ${left.length} vs ${right.length}`;
    const index = left.findIndex((value, at) => value !== right[at]);
    return index < 0
      ? undefined
      : `string ${index} differs: ${JSON.stringify(left[index])} vs ${JSON.stringify(right[index])}`;
  }
  const view = (data: unknown) => {
    const array = data as ArrayBufferView;
    return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
  };
  const left = view(a.data);
  const right = view(b.data);
  if (left.byteLength !== right.byteLength) return `data sizes differ: ${left.byteLength} vs ${right.byteLength} bytes`;
  for (let index = 0; index < left.byteLength; index++) {
    if (left[index] !== right[index]) {
      return `byte ${index} differs (element ${Math.floor((index * a.size) / Math.max(1, left.byteLength))}): ${left[index]} vs ${right[index]}`;
    }
  }
  return undefined;
}

function isOrtTensor(value: Outputs | OrtTensor): value is OrtTensor {
  if (value instanceof ort.Tensor) return true;
  const candidate = value as { type?: unknown; dims?: unknown; data?: unknown };
  return typeof candidate.type === 'string' && Array.isArray(candidate.dims) && candidate.data !== undefined;
}

/**
 * Where two sets of ORT outputs differ, or undefined when they have the same names (in the same order) and every
 * tensor is bit-identical. A single tensor compares like a set of one.
 */
export function outputsDifference(a: Outputs | OrtTensor, b: Outputs | OrtTensor): string | undefined {
  if (isOrtTensor(a) || isOrtTensor(b)) {
    if (!(isOrtTensor(a) && isOrtTensor(b))) return 'a tensor compared with a set of outputs';
    return tensorDifference(a, b);
  }
  const leftNames = Object.keys(a);
  const rightNames = Object.keys(b);
  if (leftNames.join('\0') !== rightNames.join('\0')) {
    return `output names differ: [${leftNames.join(', ')}] vs [${rightNames.join(', ')}]`;
  }
  for (const name of leftNames) {
    const difference = tensorDifference(a[name]!, b[name]!);
    if (difference) return `output '${name}': ${difference}`;
  }
  return undefined;
}

/** True when two ORT outputs (tensors or sets of tensors) are equal byte for byte, NaN payloads included. */
export function bitIdentical(a: Outputs | OrtTensor, b: Outputs | OrtTensor): boolean {
  return outputsDifference(a, b) === undefined;
}
