/**
 * Test-only: hand-built QDQ graphs (QuantizeLinear / DequantizeLinear around float ops) and the comparison of a QDQ
 * model with its lowered form in ONNX Runtime, in quantization steps of each output.
 */
import { DataType, GraphBuilder, type Model, Tensor, type Value } from '@whittle/ir';
import { decodeModel, encodeModel } from '@whittle/onnx';
import { type OrtTensor, ort, type Random } from '@whittle/test-fixtures';
import { expect } from 'vitest';
import { inferShapes } from '@whittle/transforms';
import { contextFor, randomFloats, runChecked, runModel } from './dynamic-test-support.js';
import { type LowerQOperatorOptions, lowerQOperator } from './lower-qoperator.js';

type IntegerType = DataType.UINT8 | DataType.INT8 | DataType.INT32;

const arrayOf = (type: IntegerType, values: number[]) =>
  type === DataType.INT8
    ? Int8Array.from(values)
    : type === DataType.UINT8
      ? Uint8Array.from(values)
      : Int32Array.from(values);

export class QdqBuilder {
  readonly b = new GraphBuilder();
  private count = 0;

  constructor(private readonly random: Random) {}

  private name(base: string) {
    this.count++;
    return `${base}_${this.count}`;
  }

  scalar(type: DataType.FLOAT | IntegerType, value: number): Value {
    const data = type === DataType.FLOAT ? Float32Array.of(value) : arrayOf(type, [value]);
    return this.b.initializer(Tensor.fromArray(this.name('c'), type, [], data));
  }

  vector(type: DataType.FLOAT | IntegerType, values: number[]): Value {
    const data = type === DataType.FLOAT ? Float32Array.from(values) : arrayOf(type, values);
    return this.b.initializer(Tensor.fromArray(this.name('v'), type, [values.length], data));
  }

  quantize(x: Value, scale: number, zeroPoint: number, type: DataType.UINT8 | DataType.INT8 = DataType.UINT8): Value {
    return this.b.op('QuantizeLinear', [x, this.scalar(DataType.FLOAT, scale), this.scalar(type, zeroPoint)]);
  }

  dequantize(x: Value, scale: number, zeroPoint: number, type: IntegerType = DataType.UINT8): Value {
    return this.b.op('DequantizeLinear', [x, this.scalar(DataType.FLOAT, scale), this.scalar(type, zeroPoint)]);
  }

  int64(values: number[]): Value {
    return this.b.initializer(
      Tensor.fromArray(this.name('i'), DataType.INT64, [values.length], BigInt64Array.from(values, BigInt)),
    );
  }

  /** Q then DQ with the same parameters: an activation in QDQ form. */
  qdq(x: Value, scale: number, zeroPoint: number, type: DataType.UINT8 | DataType.INT8 = DataType.UINT8): Value {
    return this.dequantize(this.quantize(x, scale, zeroPoint, type), scale, zeroPoint, type);
  }

  /** Random integer weights feeding a DQ: per tensor, or per channel along `axis` with scales [dims[axis]]. */
  weight(
    dims: number[],
    options: { type?: DataType.UINT8 | DataType.INT8; axis?: number; scale?: number; zeroPoint?: number } = {},
  ): { value: Value; scales: number[] } {
    const { type = DataType.INT8, axis } = options;
    const count = dims.reduce((product, dim) => product * dim, 1);
    const low = type === DataType.INT8 ? -127 : 0;
    const high = type === DataType.INT8 ? 127 : 255;
    const values = Array.from({ length: count }, () => Math.round(this.random.uniform(low, high)));
    const integers = this.b.initializer(Tensor.fromArray(this.name('w'), type, dims, arrayOf(type, values)));
    const base = options.scale ?? 0.01;
    const zero = options.zeroPoint ?? (type === DataType.INT8 ? 0 : 128);
    if (axis === undefined) return { value: this.dequantize(integers, base, zero, type), scales: [base] };
    const channels = dims[axis]!;
    const scales = Array.from({ length: channels }, (_, index) => Math.fround(base * (1 + index / channels)));
    const value = this.b.op(
      'DequantizeLinear',
      [
        integers,
        this.vector(DataType.FLOAT, scales),
        this.vector(
          type,
          Array.from(scales, () => zero),
        ),
      ],
      { attributes: { axis } },
    );
    return { value, scales };
  }

  /** An int32 bias at scale inputScale × weightScales[c]. */
  bias(values: number[], inputScale: number, weightScales: number[]): Value {
    const scales = values.map((_, index) =>
      Math.fround(inputScale * weightScales[weightScales.length === 1 ? 0 : index]!),
    );
    const integers = this.b.initializer(
      Tensor.fromArray(
        this.name('b'),
        DataType.INT32,
        [values.length],
        Int32Array.from(values, (value, index) => Math.round(value / scales[index]!)),
      ),
    );
    const perChannel = weightScales.length > 1;
    return this.b.op(
      'DequantizeLinear',
      perChannel
        ? [
            integers,
            this.vector(DataType.FLOAT, scales),
            this.vector(
              DataType.INT32,
              values.map(() => 0),
            ),
          ]
        : [integers, this.scalar(DataType.FLOAT, scales[0]!), this.scalar(DataType.INT32, 0)],
      perChannel ? { attributes: { axis: 0 } } : {},
    );
  }

  input(name: string, dims: number[]): Value {
    return this.b.input(name, DataType.FLOAT, dims);
  }

  output(value: Value, name?: string): Value {
    if (name) value.name = name;
    return this.b.output(value);
  }

  model(opset = 13): Model {
    return this.b.model({ opsetImports: [{ domain: '', version: opset }] });
  }

  feed(dims: number[], low = -1, high = 1) {
    return new ort.Tensor(
      'float32',
      randomFloats(
        this.random,
        dims.reduce((product, dim) => product * dim, 1),
        low,
        high,
      ),
      dims,
    );
  }
}

export interface Agreement {
  /** Largest difference between the QDQ model's and the lowered model's outputs, in steps of the output's scale. */
  maxSteps: number;
  /** Share of output elements that agree exactly. */
  exact: number;
}

/**
 * Lower a QDQ model (a copy), check the pass's invariants, run both in ONNX Runtime (no graph optimizations, so
 * ORT does not fuse the QDQ form itself) and measure how far the outputs are apart, in steps of `steps[name]`.
 */
export async function lowerAndCompare(
  model: Model,
  feeds: Record<string, OrtTensor>,
  steps: Record<string, number>,
  options: LowerQOperatorOptions = {},
): Promise<{ lowered: Model; agreement: Agreement; statistics: Record<string, number> }> {
  const lowered = decodeModel(encodeModel(model)).model;
  const result = await runChecked(lowerQOperator, options, lowered);
  const before = await runModel(model, feeds);
  const after = await runModel(lowered, feeds);
  expect(Object.keys(after)).toEqual(Object.keys(before));
  let maxSteps = 0;
  let equal = 0;
  let total = 0;
  for (const [name, expected] of Object.entries(before)) {
    const a = expected.data as ArrayLike<number>;
    const b = after[name]!.data as ArrayLike<number>;
    const step = steps[name] ?? 1;
    for (let index = 0; index < a.length; index++) {
      // Outputs are multiples of the step up to float rounding: count whole steps.
      const difference = Math.round((Math.abs(a[index]! - b[index]!) / step) * 1000) / 1000;
      maxSteps = Math.max(maxSteps, difference);
      if (a[index] === b[index]) equal++;
      total++;
    }
  }
  if (process.env.WHITTLE_REPORT) console.info(`maxSteps ${maxSteps} exact ${((100 * equal) / total).toFixed(1)}%`);
  return {
    lowered,
    agreement: { maxSteps, exact: total === 0 ? 1 : equal / total },
    statistics: result.statistics ?? {},
  };
}

/**
 * Min-max ranges of every float value of the main graph over some feeds (made outputs for one run each): a
 * calibration table in the `{ tensors: { name: { min, max } } }` form quantize-static reads.
 */
export async function minMaxRanges(
  model: Model,
  feedsList: readonly Record<string, OrtTensor>[],
): Promise<{ tensors: Record<string, { min: number; max: number }> }> {
  const probe = decodeModel(encodeModel(model)).model;
  await inferShapes.create({}).run(probe, contextFor());
  const graph = probe.graph;
  const outputs = new Set(graph.outputs);
  for (const node of graph.nodes) {
    for (const value of node.outputs) {
      if (!value || outputs.has(value) || value.type?.kind !== 'tensor') continue;
      if (value.type.elementType !== DataType.FLOAT) continue;
      graph.outputs.push(value);
      outputs.add(value);
    }
  }
  const tensors: Record<string, { min: number; max: number }> = {};
  const widen = (name: string, data: Float32Array) => {
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (const value of data) {
      if (!Number.isFinite(value)) continue;
      if (value < min) min = value;
      if (value > max) max = value;
    }
    if (min > max) return;
    const known = tensors[name];
    tensors[name] = known ? { min: Math.min(known.min, min), max: Math.max(known.max, max) } : { min, max };
  };
  for (const feeds of feedsList) {
    const results = await runModel(probe, feeds);
    for (const [name, tensor] of Object.entries({ ...feeds, ...results })) {
      if (tensor.type === 'float32') widen(name, tensor.data as Float32Array);
    }
  }
  return { tensors };
}
