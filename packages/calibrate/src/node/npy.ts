/**
 * NumPy `.npy` files (format versions 1.0, 2.0 and 3.0): read into executor tensors, and written from them.
 * https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
 */
import { readFile } from 'node:fs/promises';
import type { ExecutorTensor } from '@whittle/spec';
import { WhittleError } from '@whittle/spec';
import { corruptFileError } from '../dataset.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

type ArrayConstructor =
  | Float32ArrayConstructor
  | Float64ArrayConstructor
  | Uint16ArrayConstructor
  | Int8ArrayConstructor
  | Uint8ArrayConstructor
  | Int16ArrayConstructor
  | Int32ArrayConstructor
  | Uint32ArrayConstructor
  | BigInt64ArrayConstructor
  | BigUint64ArrayConstructor;

interface Kind {
  /** ORT-style element type name. */
  type: string;
  size: number;
  array: ArrayConstructor;
}

/** numpy type code (kind letter + item size) to element type. float16 data is kept as raw bits (Uint16Array). */
const KINDS: Readonly<Record<string, Kind>> = {
  f4: { type: 'float32', size: 4, array: Float32Array },
  f8: { type: 'float64', size: 8, array: Float64Array },
  f2: { type: 'float16', size: 2, array: Uint16Array },
  i1: { type: 'int8', size: 1, array: Int8Array },
  i2: { type: 'int16', size: 2, array: Int16Array },
  i4: { type: 'int32', size: 4, array: Int32Array },
  i8: { type: 'int64', size: 8, array: BigInt64Array },
  u1: { type: 'uint8', size: 1, array: Uint8Array },
  u2: { type: 'uint16', size: 2, array: Uint16Array },
  u4: { type: 'uint32', size: 4, array: Uint32Array },
  u8: { type: 'uint64', size: 8, array: BigUint64Array },
  b1: { type: 'bool', size: 1, array: Uint8Array },
};

/** numpy `descr` for an element type name (little-endian), the inverse of the table above. */
const DESCR_OF: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(KINDS).map(([code, kind]) => [kind.type, `${kind.size === 1 ? '|' : '<'}${code}`]),
);

// ---- a reader for the Python literal numpy writes as the header: {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }

type PyValue = string | number | boolean | null | PyValue[] | { [key: string]: PyValue };

class LiteralParser {
  private at = 0;
  constructor(private readonly text: string) {}

  parse(): PyValue {
    const value = this.value();
    this.space();
    if (this.at !== this.text.length) this.fail('unexpected text after the header dictionary');
    return value;
  }

  private fail(message: string): never {
    throw new SyntaxError(`${message} at character ${this.at}`);
  }

  private space(): void {
    while (this.at < this.text.length && /\s/.test(this.text[this.at]!)) this.at++;
  }

  private value(): PyValue {
    this.space();
    const char = this.text[this.at];
    if (char === '{') return this.dict();
    if (char === '(' || char === '[') return this.sequence(char === '(' ? ')' : ']');
    if (char === "'" || char === '"') return this.string();
    const word = /^(True|False|None|-?\d+L?)/.exec(this.text.slice(this.at));
    if (!word) this.fail('unexpected text in the header');
    this.at += word[0].length;
    if (word[0] === 'True') return true;
    if (word[0] === 'False') return false;
    if (word[0] === 'None') return null;
    return Number(word[0].replace('L', ''));
  }

  private string(): string {
    const quote = this.text[this.at++]!;
    let out = '';
    while (this.at < this.text.length) {
      const char = this.text[this.at++]!;
      if (char === quote) return out;
      if (char === '\\') {
        const next = this.text[this.at++];
        if (next === undefined) break;
        out += next;
      } else out += char;
    }
    return this.fail('unterminated string');
  }

  private sequence(close: string): PyValue[] {
    this.at++;
    const items: PyValue[] = [];
    for (;;) {
      this.space();
      if (this.text[this.at] === close) {
        this.at++;
        return items;
      }
      items.push(this.value());
      this.space();
      const char = this.text[this.at];
      if (char === ',') this.at++;
      else if (char !== close) this.fail(`expected ',' or '${close}'`);
    }
  }

  private dict(): { [key: string]: PyValue } {
    this.at++;
    const out: { [key: string]: PyValue } = {};
    for (;;) {
      this.space();
      if (this.text[this.at] === '}') {
        this.at++;
        return out;
      }
      const key = this.value();
      if (typeof key !== 'string') this.fail('expected a string key');
      this.space();
      if (this.text[this.at] !== ':') this.fail("expected ':'");
      this.at++;
      out[key] = this.value();
      this.space();
      const char = this.text[this.at];
      if (char === ',') this.at++;
      else if (char !== '}') this.fail("expected ',' or '}'");
    }
  }
}

export interface NpyHeader {
  /** Format version: [major, minor]. */
  version: [number, number];
  /** The `descr` as written (`<f4`). */
  descr: string;
  /** ORT-style element type name. */
  type: string;
  dims: number[];
  /** Byte offset of the data. */
  dataOffset: number;
  /** Bytes the data takes. */
  dataLength: number;
}

/** Read and check the header of an .npy file (magic, version, header dictionary, dtype, order, shape). */
export function readNpyHeader(bytes: Uint8Array, file?: string): NpyHeader & { bigEndian: boolean } {
  if (bytes.length < 10 || MAGIC.some((byte, index) => bytes[index] !== byte)) {
    throw corruptFileError(file, 'not an .npy file (the magic string \\x93NUMPY is missing)');
  }
  const major = bytes[6]!;
  const minor = bytes[7]!;
  if (major < 1 || major > 3) throw corruptFileError(file, `unsupported .npy format version ${major}.${minor}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lengthSize = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lengthSize) throw corruptFileError(file, 'the .npy file is truncated inside its header');
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = 8 + lengthSize;
  const dataOffset = headerStart + headerLength;
  if (bytes.length < dataOffset) {
    throw corruptFileError(
      file,
      `the .npy file is truncated: the header says ${headerLength} bytes, the file is shorter`,
    );
  }
  const text = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(headerStart, dataOffset));
  let header: PyValue;
  try {
    header = new LiteralParser(text.trim()).parse();
  } catch (error) {
    throw corruptFileError(
      file,
      `the .npy header is not a valid dictionary (${(error as Error).message}): ${text.trim()}`,
      error,
    );
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    throw corruptFileError(file, `the .npy header is not a dictionary: ${text.trim()}`);
  }
  const { descr, fortran_order: fortranOrder, shape } = header;
  if (typeof descr !== 'string') {
    throw corruptFileError(
      file,
      `unsupported .npy dtype ${JSON.stringify(descr)}: structured arrays cannot be fed to a model; save a plain numeric array`,
    );
  }
  if (typeof fortranOrder !== 'boolean') throw corruptFileError(file, "the .npy header has no boolean 'fortran_order'");
  if (
    !Array.isArray(shape) ||
    !shape.every((dim) => typeof dim === 'number' && Number.isSafeInteger(dim) && dim >= 0)
  ) {
    throw corruptFileError(file, `the .npy header has no valid 'shape': ${JSON.stringify(shape)}`);
  }
  const dims = shape as number[];
  const match = /^([<>=|]?)([a-zA-Z]\d+)$/.exec(descr);
  const kind = match ? KINDS[match[2]!] : undefined;
  if (!match || !kind) {
    throw corruptFileError(
      file,
      `unsupported .npy dtype '${descr}' (supported: float16/32/64, int8/16/32/64, uint8/16/32/64, bool)`,
    );
  }
  const bigEndian = match[1] === '>' && kind.size > 1;
  const count = dims.reduce((product, dim) => product * dim, 1);
  if (fortranOrder && dims.filter((dim) => dim > 1).length > 1) {
    throw corruptFileError(
      file,
      `the array is stored in Fortran (column-major) order, which is not supported: save it with np.ascontiguousarray(array) or array.copy(order='C')`,
    );
  }
  return {
    version: [major, minor],
    descr,
    type: kind.type,
    dims,
    dataOffset,
    dataLength: count * kind.size,
    bigEndian,
  };
}

/** Parse an .npy file into a tensor whose data is an aligned copy. Errors: `DATASET_CORRUPT_FILE` naming the file. */
export function decodeNpy(bytes: Uint8Array, file?: string): ExecutorTensor {
  const header = readNpyHeader(bytes, file);
  const available = bytes.length - header.dataOffset;
  if (available < header.dataLength) {
    throw corruptFileError(
      file,
      `the .npy file is truncated: ${header.descr}[${header.dims.join(',')}] needs ${header.dataLength} bytes of data, the file has ${available}`,
    );
  }
  if (available > header.dataLength) {
    throw corruptFileError(
      file,
      `the .npy file has ${available - header.dataLength} bytes after the data of ${header.descr}[${header.dims.join(',')}]`,
    );
  }
  const kind = KINDS[/[a-zA-Z]\d+$/.exec(header.descr)![0]]!;
  // A fresh copy (not `slice`, which is a view on a Node Buffer): aligned for the typed array, owned by the tensor.
  const copy = new Uint8Array(header.dataLength);
  copy.set(bytes.subarray(header.dataOffset, header.dataOffset + header.dataLength));
  if (header.bigEndian) {
    for (let start = 0; start < copy.length; start += kind.size) copy.subarray(start, start + kind.size).reverse();
  }
  const data = new kind.array(copy.buffer, 0, copy.length / kind.size);
  return { type: header.type, dims: header.dims, data };
}

/** Read an .npy file from disk. */
export async function readNpyFile(path: string): Promise<ExecutorTensor> {
  return decodeNpy(await readFile(path), path);
}

/** Write a tensor as an .npy file (format 1.0, little-endian, C order; 2.0 when the header needs it). */
export function encodeNpy(tensor: ExecutorTensor): Uint8Array {
  const descr = DESCR_OF[tensor.type];
  if (descr === undefined || !ArrayBuffer.isView(tensor.data)) {
    throw new WhittleError('NPY_UNSUPPORTED_TYPE', `cannot write ${tensor.type} tensors as .npy`);
  }
  const shape = tensor.dims.length === 1 ? `(${tensor.dims[0]},)` : `(${tensor.dims.join(', ')})`;
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  let major = 1;
  let prefix = 10;
  if (dict.length + 1 + prefix > 0xffff) {
    major = 2;
    prefix = 12;
  }
  const padded = Math.ceil((prefix + dict.length + 1) / 64) * 64;
  const header = `${dict.padEnd(padded - prefix - 1, ' ')}\n`;
  const data = new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
  const out = new Uint8Array(padded + data.byteLength);
  out.set(MAGIC, 0);
  out[6] = major;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, header.length, true);
  else view.setUint32(8, header.length, true);
  for (let index = 0; index < header.length; index++) out[prefix + index] = header.charCodeAt(index);
  out.set(data, padded);
  return out;
}
