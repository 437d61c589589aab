import onnxProto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { WireFormatError } from './errors.js';
import { knownFieldNumbers, ONNX_SCHEMA, type OnnxMessageType } from './onnx-schema.js';
import { fieldSlices, messageAt, pathOf, scanUnknownFields, type UnknownFieldScan } from './scan.js';
import { encode, RICH_PATHS, richModel, richModelBytes } from './test-fixture.js';
import { appendAt, concat, ldField, plain, tag, varintField } from './test-support.js';

const { onnx } = onnxProto;

/** NodeProto.metadata_props (ONNX 1.16): field 9 holding a StringStringEntryProto. */
const nodeMetadata = ldField(9, encode('StringStringEntryProto', { key: 'origin', value: 'pytorch' }));
const modelVarint99 = varintField(99, 300);
const fixed32Field = concat(tag(77, 5), new Uint8Array([1, 2, 3, 4]));
const fixed64Field = concat(tag(2 ** 29 - 1, 1), new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]));
const emptyLdField = ldField(50, new Uint8Array(0));
/** Payload that would throw (a group tag) if anything tried to parse it as a message. */
const opaqueLdField = ldField(1000, new Uint8Array([0x0b, 0xff, 0xff]));
const VARIANTS = [modelVarint99, fixed32Field, fixed64Field, emptyLdField, opaqueLdField];

function fieldNumberOf(field: Uint8Array): number {
  let value = 0;
  let scale = 1;
  for (const b of field) {
    value += (b & 0x7f) * scale;
    scale *= 128;
    if (b < 0x80) break;
  }
  return Math.floor(value / 8);
}

/** Plain-data view of a scan result for toEqual comparisons. */
function summary(scan: UnknownFieldScan): Record<string, { messageType: string; fields: number[][] }> {
  const out: Record<string, { messageType: string; fields: number[][] }> = {};
  for (const [path, entry] of scan)
    out[path] = { messageType: entry.messageType, fields: entry.fields.map((f) => [...f]) };
  return out;
}

function expectViewsOf(scan: UnknownFieldScan, bytes: Uint8Array): void {
  for (const entry of scan.values()) {
    for (const field of entry.fields) {
      expect(field.buffer).toBe(bytes.buffer);
      expect(field.byteOffset).toBeGreaterThanOrEqual(bytes.byteOffset);
      expect(field.byteOffset + field.length).toBeLessThanOrEqual(bytes.byteOffset + bytes.length);
    }
  }
}

describe('pathOf', () => {
  it('builds the documented path format', () => {
    expect(pathOf([])).toBe('');
    expect(pathOf([[7, 0]])).toBe('7:0');
    expect(
      pathOf([
        [7, 0],
        [1, 2],
        [5, 0],
        [6, 0],
      ]),
    ).toBe('7:0/1:2/5:0/6:0');
  });
});

describe('the fixture', () => {
  it('is decoded by onnx-proto and re-encodes to the same bytes', () => {
    const decoded = onnx.ModelProto.decode(richModelBytes);
    expect(plain(onnx.ModelProto.encode(decoded).finish())).toEqual(richModelBytes);
  });

  it('contains one message of every type', () => {
    expect(new Set(RICH_PATHS.map(([, type]) => type))).toEqual(new Set(Object.keys(ONNX_SCHEMA)));
  });
});

describe('messageAt', () => {
  it.each(RICH_PATHS)('%s is the %s it was encoded from', (path, type, message) => {
    const payload = messageAt(richModelBytes, path);
    expect(payload).toBeDefined();
    expect(payload!.buffer).toBe(richModelBytes.buffer);
    expect(plain(payload!)).toEqual(encode(type, message));
  });

  it('returns the whole model for the empty path', () => {
    const all = messageAt(richModelBytes, '')!;
    expect(all.byteOffset).toBe(richModelBytes.byteOffset);
    expect(all.length).toBe(richModelBytes.length);
  });

  it('returns undefined for missing occurrences and non-length-delimited fields', () => {
    expect(messageAt(richModelBytes, '7:1')).toBeUndefined();
    expect(messageAt(richModelBytes, '7:0/1:3')).toBeUndefined();
    expect(messageAt(richModelBytes, '7:0/1:2/5:0/6:0/1:1')).toBeUndefined();
    expect(messageAt(richModelBytes, '1:0')).toBeUndefined(); // ir_version is a varint
    expect(messageAt(richModelBytes, '99:0')).toBeUndefined();
  });

  it('follows paths into fields onnx-proto does not know', () => {
    const model = appendAt(richModelBytes, '7:0/1:2', nodeMetadata);
    expect(plain(messageAt(model, '7:0/1:2/9:0')!)).toEqual(
      encode('StringStringEntryProto', { key: 'origin', value: 'pytorch' }),
    );
  });

  it('rejects malformed paths', () => {
    for (const bad of ['7', '7:0/', '/7:0', '0:0', '7:-1', '7:01', 'a:b', '7:0//1:0', '7:0:1']) {
      expect(() => messageAt(richModelBytes, bad), bad).toThrow(/invalid message path/);
    }
  });
});

describe('fieldSlices', () => {
  it('returns every functions / training_info / sparse_initializer field verbatim, as views', () => {
    const functions = fieldSlices(richModelBytes, 25);
    expect(functions.map(plain)).toEqual(richModel.functions!.map((f) => ldField(25, encode('FunctionProto', f))));
    const training = fieldSlices(richModelBytes, 20);
    expect(training.map(plain)).toEqual(
      richModel.trainingInfo!.map((t) => ldField(20, encode('TrainingInfoProto', t))),
    );
    const graph = messageAt(richModelBytes, '7:0')!;
    const sparse = fieldSlices(graph, 15);
    expect(sparse.map(plain)).toEqual(
      richModel.graph!.sparseInitializer!.map((s) => ldField(15, encode('SparseTensorProto', s))),
    );
    for (const slice of [...functions, ...training, ...sparse]) expect(slice.buffer).toBe(richModelBytes.buffer);
  });

  it('returns complete fields of every wire type and nothing for absent fields', () => {
    const message = concat(varintField(1, 5), fixed32Field, ldField(1, new Uint8Array([7])), fixed64Field);
    expect(fieldSlices(message, 1).map(plain)).toEqual([varintField(1, 5), ldField(1, new Uint8Array([7]))]);
    expect(fieldSlices(message, 77).map(plain)).toEqual([fixed32Field]);
    expect(fieldSlices(message, 2 ** 29 - 1).map(plain)).toEqual([fixed64Field]);
    expect(fieldSlices(message, 42)).toEqual([]);
    expect(fieldSlices(new Uint8Array(0), 1)).toEqual([]);
  });

  it('throws on malformed messages', () => {
    expect(() => fieldSlices(new Uint8Array([0x0a, 0x05, 0x01]), 1)).toThrow(WireFormatError);
  });
});

describe('scanUnknownFields', () => {
  it('finds nothing in a model that uses every known field', () => {
    expect(scanUnknownFields(richModelBytes).size).toBe(0);
    expect(scanUnknownFields(new Uint8Array(0)).size).toBe(0);
  });

  it('finds the documented examples at the right paths with the exact bytes', () => {
    const subgraphNodeField = ldField(16, new Uint8Array([1, 2, 3]));
    let model = richModelBytes;
    model = appendAt(model, '7:0/1:2', nodeMetadata);
    model = appendAt(model, '', modelVarint99);
    model = appendAt(model, '7:0/5:3', fixed32Field);
    model = appendAt(model, '7:0/1:2/5:0/6:0/1:0', subgraphNodeField);
    const scan = scanUnknownFields(model);
    expect(summary(scan)).toEqual({
      '': { messageType: 'ModelProto', fields: [[...modelVarint99]] },
      '7:0/1:2': { messageType: 'NodeProto', fields: [[...nodeMetadata]] },
      '7:0/5:3': { messageType: 'TensorProto', fields: [[...fixed32Field]] },
      '7:0/1:2/5:0/6:0/1:0': { messageType: 'NodeProto', fields: [[...subgraphNodeField]] },
    });
    expectViewsOf(scan, model);
    // The same bytes are what onnx-proto silently drops.
    expect(plain(onnx.ModelProto.encode(onnx.ModelProto.decode(model)).finish())).toEqual(richModelBytes);
  });

  it.each(RICH_PATHS.map(([path, type], i) => [path, type, i] as const))(
    'finds an unknown field inside the %s (%s)',
    (path, type: OnnxMessageType, i) => {
      const extra = VARIANTS[i % VARIANTS.length]!;
      expect(knownFieldNumbers(type)).not.toContain(fieldNumberOf(extra));
      const model = appendAt(richModelBytes, path, extra);
      const scan = scanUnknownFields(model);
      expect(summary(scan)).toEqual({ [path]: { messageType: type, fields: [[...extra]] } });
      expectViewsOf(scan, model);
      expect(plain(onnx.ModelProto.encode(onnx.ModelProto.decode(model)).finish())).toEqual(richModelBytes);
    },
  );

  it('finds unknown fields everywhere at once, and keeps their order within a message', () => {
    let model = richModelBytes;
    const expected: Record<string, { messageType: string; fields: number[][] }> = {};
    RICH_PATHS.forEach(([path, type], i) => {
      const first = VARIANTS[i % VARIANTS.length]!;
      const second = VARIANTS[(i + 1) % VARIANTS.length]!;
      model = appendAt(appendAt(model, path, first), path, second);
      expected[path] = { messageType: type, fields: [[...first], [...second]] };
    });
    expect(summary(scanUnknownFields(model))).toEqual(expected);
  });

  it('counts occurrences of known fields only, whatever unknown fields sit between them', () => {
    const node = (name: string) => ldField(1, encode('NodeProto', { name, opType: 'Relu' }));
    const unknownInNode = concat(nodeMetadata, encode('NodeProto', { name: 'n1' }), emptyLdField);
    const graph = concat(modelVarint99, node('n0'), fixed32Field, ldField(1, unknownInNode), node('n2'));
    const model = ldField(7, graph);
    expect(summary(scanUnknownFields(model))).toEqual({
      '7:0': { messageType: 'GraphProto', fields: [[...modelVarint99], [...fixed32Field]] },
      '7:0/1:1': { messageType: 'NodeProto', fields: [[...nodeMetadata], [...emptyLdField]] },
    });
    expect(plain(messageAt(model, '7:0/1:1')!)).toEqual(unknownInNode);
  });

  it('does not descend into unknown, opaque or packed fields', () => {
    const tensor = concat(
      ldField(1, new Uint8Array([0x0b, 0x0c])), // "packed dims" that would be groups if parsed as fields
      ldField(9, new Uint8Array([0x0b, 0x0f, 0xff])), // raw_data
      opaqueLdField,
    );
    const model = ldField(7, ldField(5, tensor));
    expect(summary(scanUnknownFields(model))).toEqual({
      '7:0/5:0': { messageType: 'TensorProto', fields: [[...opaqueLdField]] },
    });
  });

  it('skips a known sub-message field that is not length-delimited, but still counts it', () => {
    const graph = ldField(2, new Uint8Array([103]));
    const model = concat(varintField(7, 1), ldField(7, concat(graph, modelVarint99)));
    expect(summary(scanUnknownFields(model))).toEqual({
      '7:1': { messageType: 'GraphProto', fields: [[...modelVarint99]] },
    });
  });

  it('works on a view into a larger buffer', () => {
    const model = appendAt(richModelBytes, '7:0/5:3', fixed32Field);
    const big = new Uint8Array(model.length + 20);
    big.set(model, 10);
    const view = big.subarray(10, 10 + model.length);
    const scan = scanUnknownFields(view);
    expect(summary(scan)).toEqual({ '7:0/5:3': { messageType: 'TensorProto', fields: [[...fixed32Field]] } });
    const field = scan.get('7:0/5:3')!.fields[0]!;
    expect(field.buffer).toBe(big.buffer);
    expect(plain(big.subarray(field.byteOffset, field.byteOffset + field.length))).toEqual(fixed32Field);
    expect(plain(messageAt(view, '7:0/5:3')!)).toEqual(
      concat(encode('TensorProto', richModel.graph!.initializer![3]!), fixed32Field),
    );
  });

  it('handles nesting deeper than the JS call stack would allow', () => {
    // 20 000 levels of TypeProto -> Sequence -> TypeProto ... (the scanner keeps its own stack).
    let type = concat(ldField(6, new Uint8Array([100])), modelVarint99);
    const depth = 10_000;
    for (let i = 0; i < depth; i++) type = ldField(4, ldField(1, type));
    const model = ldField(7, ldField(11, ldField(2, type)));
    const scan = scanUnknownFields(model);
    expect(scan.size).toBe(1);
    const [path, entry] = [...scan][0]!;
    expect(path).toBe(`7:0/11:0/2:0${'/4:0/1:0'.repeat(depth)}`);
    expect(entry.messageType).toBe('TypeProto');
    expect(plain(entry.fields[0]!)).toEqual(modelVarint99);
  });
});
