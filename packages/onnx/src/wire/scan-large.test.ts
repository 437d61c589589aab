import onnxProto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { lengthDelimitedHeader } from './encode-field.js';
import { messageAt, scanUnknownFields } from './scan.js';
import { concat, ldField, plain, varintField } from './test-support.js';

const { onnx } = onnxProto;

// Speed is measured in `pnpm bench`; these tests prove the properties that make the scan fast.
describe('scanning large models', () => {
  it('skips raw_data by its length without reading it', () => {
    const tensorBytes = 10_000_000;
    const tensorCount = 4;
    const unknownInTensor = varintField(99, 1);
    const unknownInGraph = ldField(16, new Uint8Array([1, 2, 3]));
    const heads = Array.from({ length: tensorCount }, (_, i) =>
      concat(
        plain(onnx.TensorProto.encode({ name: `w${i}`, dataType: 1, dims: [tensorBytes / 4] }).finish()),
        lengthDelimitedHeader(9, tensorBytes),
      ),
    );
    const tensorLength = (i: number) =>
      heads[i]!.length + tensorBytes + (i === tensorCount - 1 ? unknownInTensor.length : 0);
    const graphLength =
      heads.reduce((n, _, i) => n + lengthDelimitedHeader(5, tensorLength(i)).length + tensorLength(i), 0) +
      unknownInGraph.length;
    const modelHead = concat(varintField(1, 8), lengthDelimitedHeader(7, graphLength));
    const model = new Uint8Array(modelHead.length + graphLength);
    // Tensor data made of group tags: any attempt to parse it as fields would throw.
    model.fill(0x0b);
    let pos = 0;
    const put = (bytes: Uint8Array) => {
      model.set(bytes, pos);
      pos += bytes.length;
    };
    put(modelHead);
    for (let i = 0; i < tensorCount; i++) {
      put(lengthDelimitedHeader(5, tensorLength(i)));
      put(heads[i]!);
      pos += tensorBytes;
      if (i === tensorCount - 1) put(unknownInTensor);
    }
    put(unknownInGraph);
    expect(pos).toBe(model.length);
    expect(model.length).toBeGreaterThan(40_000_000);

    const scan = scanUnknownFields(model);
    expect([...scan.keys()]).toEqual(['7:0/5:3', '7:0']);
    expect(plain(scan.get('7:0/5:3')!.fields[0]!)).toEqual(unknownInTensor);
    expect(plain(scan.get('7:0')!.fields[0]!)).toEqual(unknownInGraph);
    expect(messageAt(model, '7:0/5:2')!.length).toBe(tensorLength(2));
  });

  it('scans a model with 100 000 nodes', () => {
    const node = plain(
      onnx.NodeProto.encode({
        name: 'conv',
        opType: 'Conv',
        input: ['x', 'w', 'b'],
        output: ['y'],
        attribute: [
          { name: 'kernel_shape', type: 7, ints: [3, 3] },
          { name: 'pads', type: 7, ints: [1, 1, 1, 1] },
        ],
      }).finish(),
    );
    const field = ldField(1, node);
    const count = 100_000;
    const graph = new Uint8Array(field.length * count);
    for (let i = 0; i < count; i++) graph.set(field, i * field.length);
    const model = concat(ldField(7, concat(graph, ldField(1, concat(node, varintField(9, 1))))));
    const scan = scanUnknownFields(model);
    expect([...scan.keys()]).toEqual([`7:0/1:${count}`]);
  });
});
