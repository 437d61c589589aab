/**
 * Bad inputs at the library level: every malformed model gives its own coded WhittleError, never another
 * exception, never a hang, and never a large allocation.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WhittleError } from '@whittle/spec';
import { Random } from '@whittle/test-fixtures';
import { afterAll, describe, expect, it } from 'vitest';
import {
  addModel,
  conformanceModelPaths,
  modelWithGraph,
  OTHER_FORMATS,
  RANDOM_CASES,
  randomBytes,
  realModelPaths,
  writeBadInputCorpus,
} from './bad-input-corpus.js';
import { OnnxCodes } from './codes.js';
import { decodeModel } from './decode.js';
import { encodeModel } from './encode.js';
import { sniffOtherFormat } from './format-sniffing.js';
import { fileExternalDataSource, readModel } from './node.js';
import { newFieldHeader, readField, WIRE_LENGTH_DELIMITED } from './wire/reader.js';

const root = mkdtempSync(join(tmpdir(), 'whittle-bad-input-'));
const corpusFolder = join(root, 'corpus');
const cases = writeBadInputCorpus(corpusFolder);
const emptyFolder = join(root, 'empty');
mkdirSync(emptyFolder);
/** External data is looked up in an empty folder: anything external fails, through the real path checks. */
const noExternalData = fileExternalDataSource(emptyFolder);

afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Run `load` and return the error it throws; anything but a WhittleError (or no error) fails the test. */
function whittleErrorOf(load: () => unknown): WhittleError {
  let thrown: unknown;
  try {
    load();
  } catch (error) {
    thrown = error;
  }
  if (thrown === undefined) throw new Error('expected loading to fail, but it succeeded');
  if (!WhittleError.is(thrown)) {
    throw new Error(`expected a WhittleError, got: ${thrown instanceof Error ? thrown.stack : String(thrown)}`);
  }
  return thrown;
}

/** Undefined when `load` succeeds; the WhittleError when it throws one; fails the test on any other exception. */
function outcomeOf(load: () => unknown): WhittleError | undefined {
  try {
    load();
    return undefined;
  } catch (error) {
    if (WhittleError.is(error)) return error;
    throw new Error(`expected success or a WhittleError, got: ${error instanceof Error ? error.stack : String(error)}`);
  }
}

const decode = (bytes: Uint8Array) => decodeModel(bytes, { externalData: noExternalData });
const caseNamed = (name: string) => cases.find((entry) => entry.name === name)!;
const realModels = realModelPaths();

describe('the bad-input corpus', () => {
  it('has every case', () => {
    const names = cases.map((entry) => entry.name);
    for (const name of [
      'empty',
      'truncated',
      'format-tflite',
      'format-png',
      'format-json',
      'format-zip',
      'format-npy',
      'graph-cycle',
      'missing-value',
      'duplicate-value',
      'tensor-size-mismatch',
      'tensor-too-large',
      'external-missing',
      'external-too-short',
      'external-parent',
      'external-absolute',
      ...RANDOM_CASES.map(([seed]) => `random-${seed}`),
    ]) {
      expect(names).toContain(name);
    }
    if (process.platform !== 'win32') expect(names).toContain('external-symlink');
    expect(new Set(names).size).toBe(names.length);
  });

  it.each(cases.map((entry) => [entry.name, entry] as const))('%s gives its code from readModel', (_name, entry) => {
    const error = whittleErrorOf(() => readModel(join(corpusFolder, entry.file)));
    expect(entry.codes).toContain(error.code);
    expect(error.message).not.toBe('');
  });
});

describe('bad input: exact codes', () => {
  it.each([
    ['empty', OnnxCodes.EMPTY_FILE],
    ['truncated', OnnxCodes.INVALID_PROTOBUF],
    ['graph-cycle', OnnxCodes.GRAPH_CYCLE],
    ['missing-value', OnnxCodes.MISSING_VALUE],
    ['duplicate-value', OnnxCodes.DUPLICATE_VALUE],
    ['tensor-size-mismatch', OnnxCodes.TENSOR_SIZE_MISMATCH],
    ['tensor-too-large', OnnxCodes.TENSOR_TOO_LARGE],
    ['external-missing', OnnxCodes.EXTERNAL_DATA_MISSING],
    ['external-too-short', OnnxCodes.EXTERNAL_DATA_TOO_SHORT],
    ['external-parent', OnnxCodes.EXTERNAL_DATA_UNSAFE_PATH],
    ['external-absolute', OnnxCodes.EXTERNAL_DATA_UNSAFE_PATH],
  ])('%s: %s', (name, code) => {
    expect(whittleErrorOf(() => readModel(join(corpusFolder, caseNamed(name).file))).code).toBe(code);
  });

  it.skipIf(process.platform === 'win32')('a link that points outside the folder: EXTERNAL_DATA_UNSAFE_PATH', () => {
    const error = whittleErrorOf(() => readModel(join(corpusFolder, caseNamed('external-symlink').file)));
    expect(error.code).toBe(OnnxCodes.EXTERNAL_DATA_UNSAFE_PATH);
  });

  it('an empty buffer: MODEL_EMPTY_FILE from decodeModel too', () => {
    expect(whittleErrorOf(() => decodeModel(new Uint8Array(0))).code).toBe(OnnxCodes.EMPTY_FILE);
  });

  it('a missing file and a folder: MODEL_FILE_NOT_FOUND and MODEL_FILE_UNREADABLE', () => {
    expect(whittleErrorOf(() => readModel(join(root, 'no-such.onnx'))).code).toBe(OnnxCodes.FILE_NOT_FOUND);
    expect(whittleErrorOf(() => readModel(emptyFolder)).code).toBe(OnnxCodes.FILE_UNREADABLE);
  });

  it('external data without a source: EXTERNAL_DATA_UNAVAILABLE', () => {
    const bytes = readFileSync(join(corpusFolder, caseNamed('external-missing').file));
    expect(whittleErrorOf(() => decodeModel(bytes)).code).toBe(OnnxCodes.EXTERNAL_DATA_UNAVAILABLE);
  });

  it('the external-data checks still accept data inside the folder, links included', () => {
    const folder = join(root, 'external-good');
    mkdirSync(join(folder, 'sub'), { recursive: true });
    writeFileSync(join(folder, 'sub/weights.bin'), new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer));
    const model = readFileSync(join(corpusFolder, caseNamed('external-missing').file));
    writeFileSync(join(folder, 'model.onnx'), model);
    let linked = true;
    try {
      symlinkSync(join(folder, 'sub/weights.bin'), join(folder, 'weights.bin'));
    } catch {
      linked = false;
    }
    if (!linked) writeFileSync(join(folder, 'weights.bin'), readFileSync(join(folder, 'sub/weights.bin')));
    const { model: loaded } = readModel(join(folder, 'model.onnx'));
    const tensor = loaded.graph.initializers[0]!.initializer!;
    expect([...new Float32Array(tensor.bytes().slice().buffer)]).toEqual([1, 2, 3, 4]);
  });

  it('other formats: MODEL_WRONG_FORMAT', () => {
    for (const [format, { bytes }] of Object.entries(OTHER_FORMATS)) {
      const error = whittleErrorOf(() => decode(bytes));
      expect([format, error.code]).toEqual([format, OnnxCodes.WRONG_FORMAT]);
    }
  });

  it.skipIf(realModels.length === 0)('a real TFLite model: MODEL_WRONG_FORMAT', () => {
    const tflite = realModels.find((path) => path.includes('openwakeword'))?.replace(/\.onnx$/, '.tflite');
    if (!tflite) return;
    const error = whittleErrorOf(() => readModel(tflite));
    expect(error.code).toBe(OnnxCodes.WRONG_FORMAT);
    expect(error.message).toContain('TensorFlow Lite');
  });

  it('random bytes: MODEL_INVALID_PROTOBUF or MODEL_NO_GRAPH, never another exception', () => {
    const seen = new Map<string, number>();
    for (let seed = 1; seed <= 200; seed++) {
      const length = [1, 2, 3, 5, 8, 16, 64, 256, 1024, 4096][seed % 10]! + (seed % 7);
      const bytes = randomBytes(seed, length);
      const error = whittleErrorOf(() => decode(bytes));
      // Random bytes that happen to start like another format are named as such.
      const expected = sniffOtherFormat(bytes)
        ? [OnnxCodes.WRONG_FORMAT]
        : [OnnxCodes.INVALID_PROTOBUF, OnnxCodes.NO_GRAPH];
      expect(expected, `seed ${seed}`).toContain(error.code);
      seen.set(error.code, (seen.get(error.code) ?? 0) + 1);
    }
    expect(seen.get(OnnxCodes.INVALID_PROTOBUF)).toBeGreaterThan(100);
  });

  it('the corpus random files are not mistaken for another format', () => {
    for (const [seed, length] of RANDOM_CASES) expect(sniffOtherFormat(randomBytes(seed, length))).toBeUndefined();
  });

  it('absurdly large dims fail fast without allocating: MODEL_TENSOR_TOO_LARGE', () => {
    const shapes = [
      [2 ** 31, 2 ** 31, 16],
      [2 ** 31, 2 ** 31],
      [2 ** 20, 2 ** 20, 2 ** 20],
      [2 ** 50],
      [2 ** 40, 2 ** 20],
    ];
    for (const dims of shapes) {
      const bytes = addModel({ name: 'w', dataType: 1, dims, rawData: new Uint8Array(16) });
      const heapBefore = process.memoryUsage().arrayBuffers;
      const start = performance.now();
      const error = whittleErrorOf(() => decode(bytes));
      const milliseconds = performance.now() - start;
      expect([dims, error.code]).toEqual([dims, OnnxCodes.TENSOR_TOO_LARGE]);
      expect(milliseconds).toBeLessThan(100);
      expect(process.memoryUsage().arrayBuffers - heapBefore).toBeLessThan(16 * 2 ** 20);
    }
  });

  it('a large but possible tensor with no data: MODEL_TENSOR_SIZE_MISMATCH, nothing allocated', () => {
    // float[2^37] is 512 GiB: under the size limit, so it is checked against its (missing) data without allocating.
    const bytes = addModel({ name: 'w', dataType: 1, dims: [2 ** 37] });
    const heapBefore = process.memoryUsage().arrayBuffers;
    expect(whittleErrorOf(() => decode(bytes)).code).toBe(OnnxCodes.TENSOR_SIZE_MISMATCH);
    expect(process.memoryUsage().arrayBuffers - heapBefore).toBeLessThan(16 * 2 ** 20);
  });

  it('negative dims: MODEL_INVALID_TENSOR', () => {
    const bytes = addModel({ name: 'w', dataType: 1, dims: [-4], floatData: [1, 2, 3, 4] });
    expect(whittleErrorOf(() => decode(bytes)).code).toBe(OnnxCodes.INVALID_TENSOR);
  });

  it('a cycle through a subgraph is still a cycle or a missing value, never a crash', () => {
    const bytes = modelWithGraph({
      input: [{ name: 'c', type: { tensorType: { elemType: 9, shape: { dim: [] } } } }],
      node: [
        {
          opType: 'If',
          input: ['c'],
          output: ['a'],
          attribute: [
            {
              name: 'then_branch',
              type: 5,
              g: {
                name: 't',
                node: [{ opType: 'Identity', input: ['b'], output: ['t_out'] }],
                output: [{ name: 't_out' }],
              },
            },
            {
              name: 'else_branch',
              type: 5,
              g: {
                name: 'e',
                node: [{ opType: 'Identity', input: ['b'], output: ['e_out'] }],
                output: [{ name: 'e_out' }],
              },
            },
          ],
        },
        { opType: 'Identity', input: ['a'], output: ['b'] },
      ],
      output: [{ name: 'b' }],
    });
    expect(whittleErrorOf(() => decode(bytes)).code).toBe(OnnxCodes.GRAPH_CYCLE);
  });
});

/** Offsets where a top-level field of the model ends (a cut there leaves a well-formed, shorter message). */
function topLevelBoundaries(bytes: Uint8Array): Set<number> {
  const boundaries = new Set<number>();
  const header = newFieldHeader();
  for (let position = 0; position < bytes.length; position = header.end) {
    readField(bytes, position, bytes.length, header);
    boundaries.add(header.end);
  }
  return boundaries;
}

describe.skipIf(realModels.length === 0)('truncated real models', () => {
  it.each(realModels.map((path) => [path.split('/').pop()!, path] as const))(
    '%s: every cut gives a WhittleError, fast',
    (_name, path) => {
      const whole = new Uint8Array(readFileSync(path));
      const boundaries = topLevelBoundaries(whole);
      const cuts = new Set<number>();
      for (let cut = 1; cut <= 64; cut++) cuts.add(cut);
      for (let step = 1; step < 150; step++) cuts.add(Math.floor((whole.length * step) / 150));
      for (const boundary of boundaries) for (const delta of [-1, 0, 1]) cuts.add(boundary + delta);
      const random = new Random(whole.length);
      for (let index = 0; index < 50; index++) cuts.add(random.integer(1, whole.length));
      let slowest = 0;
      for (const cut of [...cuts].filter((cut) => cut > 0 && cut < whole.length).sort((a, b) => a - b)) {
        const start = performance.now();
        const error = outcomeOf(() => decode(whole.subarray(0, cut)));
        slowest = Math.max(slowest, performance.now() - start);
        // Only a cut between two top-level fields after the graph can leave a loadable model (it lacks the rest).
        if (!error) expect(boundaries.has(cut), `cut at ${cut} of ${whole.length} loaded`).toBe(true);
      }
      expect(slowest).toBeLessThan(2000);
    },
  );
});

/** Where the fields are: tag and length positions of every message the walk can parse (best effort, nested). */
interface FieldSpot {
  start: number;
  /** First byte after the tag (the length varint for length-delimited fields, the value for varints). */
  afterTag: number;
  payloadStart: number;
  end: number;
  wireType: number;
}

function fieldSpots(bytes: Uint8Array): FieldSpot[] {
  const spots: FieldSpot[] = [];
  const walk = (start: number, end: number, depth: number): boolean => {
    const found: FieldSpot[] = [];
    const header = newFieldHeader();
    for (let position = start; position < end; position = header.end) {
      try {
        readField(bytes, position, end, header);
      } catch {
        return false;
      }
      let afterTag = header.start + 1;
      while (bytes[afterTag - 1]! >= 0x80) afterTag++;
      found.push({
        start: header.start,
        afterTag,
        payloadStart: header.payloadStart,
        end: header.end,
        wireType: header.wireType,
      });
    }
    spots.push(...found);
    if (depth < 16) {
      for (const spot of found) {
        if (spot.wireType === WIRE_LENGTH_DELIMITED && spot.end > spot.payloadStart)
          walk(spot.payloadStart, spot.end, depth + 1);
      }
    }
    return true;
  };
  walk(0, bytes.length, 0);
  return spots;
}

function encodeVarint(value: bigint): number[] {
  const out: number[] = [];
  let rest = BigInt.asUintN(64, value);
  do {
    const low = Number(rest & 0x7fn);
    rest >>= 7n;
    out.push(rest > 0n ? low | 0x80 : low);
  } while (rest > 0n);
  return out;
}

const INTERESTING = [
  0n,
  1n,
  2n,
  7n,
  127n,
  128n,
  255n,
  2n ** 14n,
  2n ** 21n,
  2n ** 28n,
  2n ** 31n - 1n,
  2n ** 31n,
  2n ** 32n,
  2n ** 53n,
  2n ** 63n,
  -1n,
];

function splice(bytes: Uint8Array, at: number, remove: number, insert: ArrayLike<number>): Uint8Array {
  at = Math.min(at, bytes.length);
  remove = Math.min(remove, bytes.length - at);
  const out = new Uint8Array(bytes.length - remove + insert.length);
  out.set(bytes.subarray(0, at), 0);
  out.set(insert, at);
  out.set(bytes.subarray(at + remove), at + insert.length);
  return out;
}

type Mutator = (bytes: Uint8Array, random: Random, spots: FieldSpot[]) => Uint8Array;

/** Positions worth hitting: mostly tags and lengths (random offsets in a big model are nearly always weights). */
const aimedPosition = (bytes: Uint8Array, random: Random, spots: FieldSpot[]): number => {
  if (spots.length === 0 || random.next() < 0.25) return random.integer(0, bytes.length);
  const spot = random.pick(spots);
  return random.next() < 0.5 ? spot.start : Math.min(spot.afterTag, bytes.length - 1);
};

const MUTATORS: Record<string, Mutator> = {
  flip(bytes, random, spots) {
    const out = bytes.slice();
    const count = random.integer(1, 9);
    for (let index = 0; index < count; index++) {
      const position = aimedPosition(out, random, spots);
      out[position] = random.next() < 0.5 ? out[position]! ^ (1 << random.integer(0, 8)) : random.integer(0, 256);
    }
    return out;
  },
  truncate(bytes, random, spots) {
    return bytes.slice(
      0,
      random.next() < 0.5 ? random.integer(1, bytes.length) : aimedPosition(bytes, random, spots) || 1,
    );
  },
  splice(bytes, random, spots) {
    const at = aimedPosition(bytes, random, spots);
    const insert =
      random.next() < 0.5
        ? random.bytes(random.integer(1, 32))
        : bytes.slice(random.integer(0, bytes.length), undefined).subarray(0, random.integer(1, 256));
    return splice(bytes, at, random.integer(0, 8), insert);
  },
  duplicate(bytes, random, spots) {
    if (spots.length > 0 && random.next() < 0.7) {
      const spot = random.pick(spots);
      const field = bytes.slice(spot.start, spot.end);
      return splice(bytes, random.next() < 0.5 ? spot.end : spot.start, 0, field);
    }
    const from = random.integer(0, bytes.length);
    const range = bytes.slice(from, from + random.integer(1, 512));
    return splice(bytes, random.integer(0, bytes.length), 0, range);
  },
  varint(bytes, random, spots) {
    const candidates = spots.filter((spot) => spot.wireType === WIRE_LENGTH_DELIMITED || spot.wireType === 0);
    if (candidates.length === 0)
      return splice(bytes, random.integer(0, bytes.length), 1, encodeVarint(random.pick(INTERESTING)));
    const spot = random.pick(candidates);
    const at = random.next() < 0.2 ? spot.start : spot.afterTag;
    let old = at;
    while (old < bytes.length && bytes[old]! >= 0x80) old++;
    const value = random.next() < 0.7 ? random.pick(INTERESTING) : BigInt(random.integer(0, 2 ** 31));
    return splice(bytes, at, Math.min(old + 1, bytes.length) - at, encodeVarint(value));
  },
  remove(bytes, random, spots) {
    if (spots.length > 0 && random.next() < 0.7) {
      const spot = random.pick(spots);
      return splice(bytes, spot.start, spot.end - spot.start, []);
    }
    const from = random.integer(0, bytes.length);
    return splice(bytes, from, Math.min(random.integer(1, 64), bytes.length - from), []);
  },
};

/** A protobuf field as parsed by the best-effort walk: length-delimited payloads that parse are kept as messages. */
interface WireField {
  tag: Uint8Array;
  wireType: number;
  /** The value bytes (the payload, for length-delimited fields). */
  value: Uint8Array;
  children?: WireField[];
}

function parseFields(bytes: Uint8Array, start: number, end: number, depth: number): WireField[] | undefined {
  const fields: WireField[] = [];
  const header = newFieldHeader();
  for (let position = start; position < end; position = header.end) {
    try {
      readField(bytes, position, end, header);
    } catch {
      return undefined;
    }
    let afterTag = header.start + 1;
    while (bytes[afterTag - 1]! >= 0x80) afterTag++;
    const field: WireField = {
      tag: bytes.subarray(header.start, afterTag),
      wireType: header.wireType,
      value: bytes.subarray(header.wireType === WIRE_LENGTH_DELIMITED ? header.payloadStart : afterTag, header.end),
    };
    if (header.wireType === WIRE_LENGTH_DELIMITED && depth < 16 && header.end > header.payloadStart) {
      const children = parseFields(bytes, header.payloadStart, header.end, depth + 1);
      if (children) field.children = children;
    }
    fields.push(field);
  }
  return fields;
}

function serializeFields(fields: readonly WireField[]): Uint8Array {
  const parts: ArrayLike<number>[] = [];
  const add = (list: readonly WireField[]): number => {
    let size = 0;
    for (const field of list) {
      parts.push(field.tag);
      size += field.tag.length;
      if (field.wireType !== WIRE_LENGTH_DELIMITED) {
        parts.push(field.value);
        size += field.value.length;
        continue;
      }
      const lengthSlot = parts.length;
      parts.push([]);
      let length = field.value.length;
      if (field.children) length = add(field.children);
      else parts.push(field.value);
      const header = encodeVarint(BigInt(length));
      parts[lengthSlot] = header;
      size += header.length + length;
    }
    return size;
  };
  const out = new Uint8Array(add(fields));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Every message (list of fields) in the tree, the root included. */
function messagesOf(root: WireField[]): WireField[][] {
  const messages: WireField[][] = [];
  const visit = (list: WireField[]) => {
    messages.push(list);
    for (const field of list) if (field.children) visit(field.children);
  };
  visit(root);
  return messages;
}

/** Deep copy of the parts of a tree a structural mutation changes (lists and field objects, not the bytes). */
function copyTree(list: readonly WireField[]): WireField[] {
  return list.map((field) => ({ ...field, ...(field.children ? { children: copyTree(field.children) } : {}) }));
}

type StructuralMutator = (root: WireField[], random: Random) => void;

/** Mutations that keep the wire format valid, so they reach the checks past the protobuf parser. */
const STRUCTURAL: Record<string, StructuralMutator> = {
  dropField(root, random) {
    const message = random.pick(messagesOf(root).filter((list) => list.length > 0));
    message.splice(random.integer(0, message.length), 1);
  },
  duplicateField(root, random) {
    const message = random.pick(messagesOf(root).filter((list) => list.length > 0));
    const field = random.pick(message);
    message.splice(random.integer(0, message.length + 1), 0, copyTree([field])[0]!);
  },
  swapFields(root, random) {
    const message = random.pick(messagesOf(root).filter((list) => list.length > 1));
    const first = random.integer(0, message.length);
    const second = random.integer(0, message.length);
    [message[first], message[second]] = [message[second]!, message[first]!];
  },
  graftField(root, random) {
    const messages = messagesOf(root).filter((list) => list.length > 0);
    const field = random.pick(random.pick(messages));
    const target = random.pick(messages);
    // A copy: the field may be grafted into its own subtree.
    target.splice(random.integer(0, target.length + 1), 0, copyTree([field])[0]!);
  },
  renumberField(root, random) {
    const message = random.pick(messagesOf(root).filter((list) => list.length > 0));
    const index = random.integer(0, message.length);
    const field = message[index]!;
    message[index] = {
      ...field,
      tag: Uint8Array.from(encodeVarint(BigInt(random.integer(1, 26) * 8 + field.wireType))),
    };
  },
  changeVarint(root, random) {
    const varints = messagesOf(root).flatMap((list) => list.filter((field) => field.wireType === 0));
    if (varints.length === 0) return;
    const field = random.pick(varints);
    field.value = Uint8Array.from(
      encodeVarint(random.next() < 0.7 ? random.pick(INTERESTING) : BigInt(random.integer(0, 64))),
    );
  },
  swapStrings(root, random) {
    const strings = messagesOf(root).flatMap((list) =>
      list.filter((field) => field.wireType === WIRE_LENGTH_DELIMITED && field.value.length < 64),
    );
    if (strings.length < 2) return;
    random.pick(strings).value = random.pick(strings).value;
  },
};

/** Deeper local runs: WHITTLE_FUZZ_SEED picks other mutations, WHITTLE_FUZZ_SCALE multiplies their number. */
const FUZZ_SEED = Number(process.env.WHITTLE_FUZZ_SEED ?? 0);
const FUZZ_SCALE = Math.max(1, Number(process.env.WHITTLE_FUZZ_SCALE ?? 1));

describe('mutation fuzz', () => {
  const conformance = conformanceModelPaths([
    'test_if',
    'test_loop11',
    'test_scan9_sum',
    'test_sequence_insert_at_back',
    'test_optional_get_element',
    'test_constant',
    'test_conv_with_strides_padding',
    'test_cast_FLOAT_to_STRING',
    'test_lstm_defaults',
    'test_range_float_type_positive_delta_expanded',
  ]);
  const models = [
    ...realModels.map((path) => ({ path, mutations: 150 })),
    ...conformance.map((path) => ({ path, mutations: 65 })),
  ];

  it('every mutated model loads or throws a WhittleError, each in bounded time', () => {
    expect(models.length).toBeGreaterThan(0);
    const started = performance.now();
    const counts = { loaded: 0, rejected: 0 };
    const codes = new Map<string, number>();
    let slowest = { milliseconds: 0, label: '' };
    for (const { path, mutations } of models) {
      const original = new Uint8Array(readFileSync(path));
      const spots = fieldSpots(original);
      const tree = parseFields(original, 0, original.length, 0) ?? [];
      const random = new Random(original.length ^ 0x5eed ^ FUZZ_SEED);
      const names = [...Object.keys(MUTATORS), ...Object.keys(STRUCTURAL)];
      for (let index = 0; index < mutations * FUZZ_SCALE; index++) {
        const name = names[index % names.length]!;
        let mutated: Uint8Array;
        if (name in MUTATORS) mutated = MUTATORS[name]!(original, random, spots);
        else {
          const copy = copyTree(tree);
          const rounds = random.integer(1, 4);
          for (let round = 0; round < rounds; round++) STRUCTURAL[name]!(copy, random);
          mutated = serializeFields(copy);
        }
        const label = `${path} mutation #${index} (${name})`;
        const start = performance.now();
        let error: WhittleError | undefined;
        try {
          error = outcomeOf(() => {
            const { model } = decode(mutated);
            // What `whittle run` does next: write it back (external data read through the same checks).
            encodeModel(model);
          });
        } catch (failure) {
          throw new Error(`${label}: ${(failure as Error).message}`);
        }
        const milliseconds = performance.now() - start;
        if (milliseconds > slowest.milliseconds) slowest = { milliseconds, label };
        expect(milliseconds, label).toBeLessThan(2000);
        if (error) {
          counts.rejected++;
          codes.set(error.code, (codes.get(error.code) ?? 0) + 1);
        } else counts.loaded++;
      }
    }
    const total = performance.now() - started;
    console.info(
      `fuzz: ${counts.loaded + counts.rejected} mutations in ${Math.round(total)} ms (slowest ${Math.round(slowest.milliseconds)} ms: ${slowest.label}); ` +
        `${counts.loaded} loaded, rejected: ${JSON.stringify(Object.fromEntries(codes))}`,
    );
    expect(counts.rejected).toBeGreaterThan(0);
    expect(total).toBeLessThan(20_000 * FUZZ_SCALE);
  });
});
