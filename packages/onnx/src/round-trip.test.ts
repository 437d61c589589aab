import { DataType, GraphBuilder, Tensor } from '@whittle/ir';
import { describe, expect, it } from 'vitest';
import { decodeModel } from './decode.js';
import { encodeModel } from './encode.js';
import { onnx } from './proto.js';
import { scanUnknownFields } from './wire/index.js';
import { RICH_PATHS, richModelBytes } from './wire/test-fixture.js';
import { appendAt, ldField, varintField } from './wire/test-support.js';

/** The rich fixture keeps one tensor in 'weights.bin': serve zeros for it. */
const zeros = {
  size: () => 1 << 20,
  read: (_location: string, _offset: number, length: number) => new Uint8Array(length),
};
const decodeRich = (bytes: Uint8Array) => decodeModel(bytes, { externalData: zeros });

/** Compare two serialized models as messages (field order and packing may differ; content may not). */
function asObject(bytes: Uint8Array) {
  return onnx.ModelProto.toObject(onnx.ModelProto.decode(bytes), { longs: String, bytes: String, defaults: true });
}

describe('lossless round trip', () => {
  it('keeps every field onnx-proto knows, functions and training info included', () => {
    const { model } = decodeRich(richModelBytes);
    const written = encodeModel(model);
    expect(asObject(written)).toEqual(asObject(richModelBytes));
  });

  it('carries unknown fields back at the same place', () => {
    // A field the schema lacks on every message the IR models (NodeProto.metadata_props is field 9 in ONNX 1.16).
    const modeled = RICH_PATHS.filter(([, type]) =>
      ['ModelProto', 'GraphProto', 'NodeProto', 'AttributeProto', 'TensorProto'].includes(type),
    ).map(([path]) => path);
    let bytes = richModelBytes;
    for (const path of modeled) bytes = appendAt(bytes, path, ldField(99, new TextEncoder().encode(`at ${path}`)));
    const { model, diagnostics } = decodeRich(bytes);
    expect(diagnostics.filter((diagnostic) => diagnostic.code === 'ONNX_UNKNOWN_FIELD_DROPPED')).toEqual([]);
    const before = scanUnknownFields(bytes);
    const after = scanUnknownFields(encodeModel(model));
    const text = (scan: typeof before) =>
      new Map(
        [...scan].map(([path, entry]) => [path, entry.fields.map((field) => Buffer.from(field).toString('hex'))]),
      );
    expect(text(after)).toEqual(text(before));
    expect(after.size).toBe(modeled.length);
  });

  it('reports unknown fields it cannot carry', () => {
    const bytes = appendAt(richModelBytes, '7:0/11:0/2:0', varintField(42, 7));
    const { diagnostics } = decodeRich(bytes);
    expect(diagnostics.map((diagnostic) => [diagnostic.code, diagnostic.location?.path])).toContainEqual([
      'ONNX_UNKNOWN_FIELD_DROPPED',
      '7:0/11:0/2:0',
    ]);
  });

  it('keeps int64 attributes and tensors exact beyond 2^53', () => {
    const builder = new GraphBuilder();
    const x = builder.input('x', DataType.INT64, [4]);
    const big = 9223372036854775807n;
    const starts = builder.initializer(
      Tensor.fromArray('starts', DataType.INT64, [1], BigInt64Array.from([-big - 1n])),
    );
    const y = builder.op('Slice', [x, starts], { attributes: { ends: { type: 'ints', value: [big, 2 ** 53 + 2] } } });
    builder.output(y);
    const written = encodeModel(builder.model());
    const { model } = decodeModel(written);
    const node = model.graph.nodes[0]!;
    expect(node.attribute('ends')).toMatchObject({ type: 'ints', value: [big, 2n ** 53n + 2n] });
    expect(Array.from(model.graph.initializers[0]!.initializer!.toArray() as BigInt64Array)).toEqual([-big - 1n]);
  });

  it('keeps raw data as a view into the input (no copy)', () => {
    const builder = new GraphBuilder();
    const x = builder.input('x', DataType.FLOAT, [1024]);
    const weight = builder.initializer(Tensor.fromArray('w', DataType.FLOAT, [1024], new Float32Array(1024).fill(2)));
    builder.output(builder.op('Mul', [x, weight]));
    const bytes = encodeModel(builder.model());
    const { model } = decodeModel(bytes);
    const data = model.graph.initializers[0]!.initializer!.bytes();
    expect(data.buffer).toBe(bytes.buffer);
  });

  it('writes typed-field tensors back in their field', () => {
    const proto = onnx.ModelProto.decode(richModelBytes);
    const typed = proto.graph!.initializer!.filter((tensor) => (tensor.floatData?.length ?? 0) > 0);
    expect(typed.length).toBeGreaterThan(0);
    const again = onnx.ModelProto.decode(encodeModel(decodeRich(richModelBytes).model));
    for (const tensor of typed) {
      const match = again.graph!.initializer!.find((candidate) => candidate.name === tensor.name)!;
      expect(Array.from(match.floatData ?? [])).toEqual(Array.from(tensor.floatData ?? []));
      expect(match.rawData?.length ?? 0).toBe(0);
    }
  });
});
