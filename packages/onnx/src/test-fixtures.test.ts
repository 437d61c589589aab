/** The helpers of @whittle/test-fixtures that the conformance and real-model tests rely on. */
import { readFileSync } from 'node:fs';
import { DataType, Tensor } from '@whittle/ir';
import {
  bitIdentical,
  conformanceCases,
  ort,
  outputsDifference,
  Random,
  runOnnxRuntime,
  tensorToOrt,
} from '@whittle/test-fixtures';
import { describe, expect, it } from 'vitest';
import { decodeTensor } from './decode.js';

describe('tensorToOrt', () => {
  it('converts every element type ORT’s JS API has, from unaligned views too', () => {
    const cases: [DataType, string, ArrayLike<number | bigint>][] = [
      [DataType.FLOAT, 'float32', Float32Array.from([1.5, -2, Number.NaN])],
      [DataType.DOUBLE, 'float64', Float64Array.from([1.5, -2, Number.POSITIVE_INFINITY])],
      [DataType.FLOAT16, 'float16', Uint16Array.from([0x3c00, 0xc000, 0x7e01])],
      [DataType.INT8, 'int8', Int8Array.from([-128, 0, 127])],
      [DataType.INT16, 'int16', Int16Array.from([-32768, 0, 32767])],
      [DataType.INT32, 'int32', Int32Array.from([-(2 ** 31), 0, 2 ** 31 - 1])],
      [DataType.INT64, 'int64', BigInt64Array.from([-(2n ** 63n), 0n, 2n ** 63n - 1n])],
      [DataType.UINT8, 'uint8', Uint8Array.from([0, 1, 255])],
      [DataType.UINT16, 'uint16', Uint16Array.from([0, 1, 65535])],
      [DataType.UINT32, 'uint32', Uint32Array.from([0, 1, 2 ** 32 - 1])],
      [DataType.UINT64, 'uint64', BigUint64Array.from([0n, 1n, 2n ** 64n - 1n])],
      [DataType.BOOL, 'bool', Uint8Array.from([1, 0, 1])],
    ];
    for (const [dataType, ortType, values] of cases) {
      const typed = values as unknown as ArrayBufferView;
      const source = new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
      // One byte in: the view is not aligned for any multi-byte type.
      const shifted = new Uint8Array(source.byteLength + 1);
      shifted.set(source, 1);
      const view = shifted.subarray(1);
      const tensor = new Tensor({
        name: 't',
        dataType,
        dims: [3],
        data: { kind: 'view', byteLength: view.byteLength, bytes: () => view },
      });
      const converted = tensorToOrt(tensor);
      expect(converted.type).toBe(ortType);
      expect([...converted.dims]).toEqual([3]);
      const data = converted.data as ArrayBufferView;
      expect(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)).toEqual(source);
    }
    const strings = tensorToOrt(Tensor.fromStrings('s', [2], ['a', 'ß']));
    expect(strings.type).toBe('string');
    expect(strings.data).toEqual(['a', 'ß']);
    expect(() => tensorToOrt(Tensor.fromArray('b', DataType.BFLOAT16, [1], Uint16Array.from([0x3f80])))).toThrow(
      /bfloat16/,
    );
  });

  it('feeds conformance inputs that ORT runs to the expected outputs', async () => {
    const found = conformanceCases().find((testCase) => testCase.id === 'node/test_abs');
    if (!found) return;
    const set = found.dataSets[0]!;
    const read = (file: string) => tensorToOrt(decodeTensor(new Uint8Array(readFileSync(file))));
    const outputs = await runOnnxRuntime(found.modelPath, set.inputs.map(read));
    expect(bitIdentical(outputs.y!, read(set.outputs[0]!))).toBe(true);
  });
});

describe('bitIdentical', () => {
  const float = (...values: number[]) => new ort.Tensor('float32', Float32Array.from(values), [values.length]);

  it('compares bits: NaN payloads, signed zeros, types and dims all count', () => {
    expect(bitIdentical(float(1, Number.NaN), float(1, Number.NaN))).toBe(true);
    expect(bitIdentical(float(0), float(-0))).toBe(false);
    const otherNaN = new Float32Array(1);
    new Uint32Array(otherNaN.buffer)[0] = 0x7fc00001;
    expect(bitIdentical(float(Number.NaN), new ort.Tensor('float32', otherNaN, [1]))).toBe(false);
    expect(bitIdentical(float(1, 2), new ort.Tensor('float32', Float32Array.from([1, 2]), [1, 2]))).toBe(false);
    expect(bitIdentical(float(1), new ort.Tensor('int32', Int32Array.from([1]), [1]))).toBe(false);
    expect(bitIdentical({ a: float(1), b: float(2) }, { a: float(1), b: float(2) })).toBe(true);
    expect(outputsDifference({ a: float(1) }, { b: float(1) })).toMatch(/names differ/);
    expect(outputsDifference({ a: float(1, 2) }, { a: float(1, 3) })).toMatch(/output 'a': byte 6/);
  });
});

describe('Random', () => {
  it('repeats for a seed and differs between seeds', () => {
    const draw = (seed: number) => {
      const random = new Random(seed);
      return Array.from({ length: 5 }, () => random.next());
    };
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7)).not.toEqual(draw(8));
    expect(draw(7).every((value) => value >= 0 && value < 1)).toBe(true);
  });

  it('draws integers, picks and bytes within their ranges', () => {
    const random = new Random(3);
    const integers = Array.from({ length: 200 }, () => random.integer(-2, 3));
    expect(new Set(integers)).toEqual(new Set([-2, -1, 0, 1, 2]));
    expect(['a', 'b']).toContain(random.pick(['a', 'b']));
    const bytes = random.bytes(1000);
    expect(bytes.length).toBe(1000);
    expect(new Set(bytes).size).toBeGreaterThan(200);
  });
});
