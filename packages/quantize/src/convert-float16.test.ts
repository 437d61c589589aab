import {
  DataType,
  decodeBfloat16,
  decodeFloat16,
  encodeBfloat16,
  encodeFloat16,
  GraphBuilder,
  type Model,
  Node as IrNode,
  type Node,
  Tensor,
  tensorType,
  Value,
} from '@whittle/ir';
import { validateOptions } from '@whittle/core';
import { encodeModel } from '@whittle/onnx';
import { WhittleError } from '@whittle/spec';
import { ort, runOnnxRuntime } from '@whittle/test-fixtures';
import { describe, expect, it } from 'vitest';
import { type ConvertFloat16Options, convertFloat16, Float16Codes } from './convert-float16.js';
import { contextFor, runPass } from './test-support.js';

const f32 = (values: readonly number[]) => Float32Array.from(values);
const weight = (name: string, values: readonly number[], dims = [values.length]) =>
  Tensor.fromArray(name, DataType.FLOAT, dims, f32(values));

function elementType(value: Value | undefined): DataType | undefined {
  return value?.type?.kind === 'tensor' ? value.type.elementType : undefined;
}

function nodesOf(model: Model, opType: string): Node[] {
  return [...model.graph.allNodes()].filter((node) => node.opType === opType);
}

/** x[n] + W, one Add: the smallest graph with a weight. */
function addModel(values: readonly number[], opset = 17): Model {
  const b = new GraphBuilder();
  const x = b.input('x', DataType.FLOAT, [values.length]);
  const w = b.initializer(weight('W', values));
  b.output(b.op('Add', [x, w], { name: 'add', output: 'y' }), tensorType(DataType.FLOAT, [values.length]));
  return b.model({ opsetImports: [{ domain: '', version: opset }] });
}

async function run(model: Model, feeds: Record<string, Float32Array>, dims: Record<string, number[]>) {
  const tensors = Object.fromEntries(
    Object.entries(feeds).map(([name, data]) => [name, new ort.Tensor('float32', data, dims[name]!)]),
  );
  return runOnnxRuntime(encodeModel(model), tensors);
}

/** Round to float16 and back, as a Cast pair would. */
const half = (values: readonly number[]) => decodeFloat16(encodeFloat16(f32(values)));

describe('convert-float16: weights', () => {
  it('rounds to nearest even, clamps beyond ±65504 (reported), keeps subnormals, raises values below 2^-24', async () => {
    const values = [
      1,
      0.1,
      1 / 3,
      65504,
      65519,
      70000,
      -1e6,
      3e-6,
      -2e-7,
      1e-9,
      -1e-12,
      0,
      -0,
      Number.POSITIVE_INFINITY,
    ];
    const model = addModel(values);
    const result = await runPass(convertFloat16, model, { runtime: 'any' });
    expect(result.changed).toBe(true);
    const w = model.graph.initializers.find((value) => value.name === 'W')!;
    expect(w.initializer!.dataType).toBe(DataType.FLOAT16);
    const bits = w.initializer!.toArray() as Uint16Array;
    const expected = [1, 0.1, 1 / 3, 65504, 65504, 65504, -65504, 3e-6, -2e-7, 2 ** -24, -(2 ** -24), 0, -0, Infinity];
    expect([...bits]).toEqual([...encodeFloat16(f32(expected))]);
    // 3e-6 is a float16 subnormal: kept as the nearest subnormal, not flushed.
    expect(decodeFloat16(bits)[7]).toBeCloseTo(3e-6, 7);
    expect(decodeFloat16(bits)[7]).not.toBe(0);
    expect(result.statistics).toMatchObject({ valuesClamped: 3, valuesRaised: 2, initializersConverted: 1 });
    const clamped = result.reports.filter((report) => report.code === Float16Codes.CLAMPED);
    expect(clamped).toHaveLength(1);
    expect(clamped[0]).toMatchObject({ severity: 'warning', location: { value: 'W' } });
    expect(clamped[0]!.message).toContain("'W'");
    expect(clamped[0]!.message).toContain('3 value(s)');
    expect(result.reports.map((report) => report.code)).toContain(Float16Codes.UNDERFLOW);
  });

  it('honours minPositiveValue 0 (tiny values round, to zero) and a smaller maxValue', async () => {
    const model = addModel([1e-9, 2e4, -3e4, 5]);
    const result = await runPass(convertFloat16, model, { runtime: 'any', minPositiveValue: 0, maxValue: 1e4 });
    const bits = model.graph.initializers[0]!.initializer!.toArray() as Uint16Array;
    expect([...decodeFloat16(bits)]).toEqual([0, 10000, -10000, 5]);
    expect(result.statistics).toMatchObject({ valuesClamped: 2, valuesRaised: 0 });
  });

  it('writes bfloat16 bits (8-bit significand), clamping only beyond the bfloat16 range', async () => {
    const values = [1, 0.1, 1 / 3, 70000, -1e30, 1e-30];
    const model = addModel(values);
    await runPass(convertFloat16, model, { runtime: 'any', type: 'bfloat16' });
    const tensor = model.graph.initializers[0]!.initializer!;
    expect(tensor.dataType).toBe(DataType.BFLOAT16);
    expect([...(tensor.toArray() as Uint16Array)]).toEqual([...encodeBfloat16(f32(values))]);
    expect(decodeBfloat16(tensor.toArray() as Uint16Array)[3]).toBe(70144);
  });

  it('runs in ONNX Runtime with float16 weights', async () => {
    const values = [0.1, -2.7, 100.3, 1e-3];
    const model = addModel(values);
    await runPass(convertFloat16, model, { runtime: 'any' });
    const x = f32([0.2, 3.3, -50.01, 7]);
    const { y } = await run(model, { x }, { x: [4] });
    const hx = half([...x]);
    const hw = half(values);
    // float16 weights. ORT runs the Add in float32 between casts it inserts, then drops cast pairs it deems
    // precision-free (its InsertCastTransformer), so x and the sum may skip their rounding to float16: the result is
    // within the float16 rounding of the operands of hx + hw.
    (y!.data as Float32Array).forEach((value, index) => {
      const sum = hx[index]! + hw[index]!;
      expect(Math.abs(value - sum)).toBeLessThanOrEqual((Math.abs(x[index]!) + Math.abs(sum)) * 2 ** -11);
    });
  });

  it('keeps float32 for readers that need exact values and gives half readers a copy', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, [3]);
    const w = b.initializer(weight('W', [0.1, 0.2, 0.3]));
    const product = b.op('Mul', [x, w], { name: 'mul' });
    const power = b.op('Pow', [product, w], { name: 'pow' });
    b.output(power, tensorType(DataType.FLOAT, [3]));
    const model = b.model();
    const result = await runPass(convertFloat16, model, { runtime: 'any' });
    expect(result.statistics).toMatchObject({ initializersCopied: 1, initializersConverted: 0 });
    const pow = nodesOf(model, 'Pow')[0]!;
    const mul = nodesOf(model, 'Mul')[0]!;
    expect(pow.input(1)!.name).toBe('W');
    expect(pow.input(1)!.initializer!.dataType).toBe(DataType.FLOAT);
    expect(mul.input(1)!.initializer!.dataType).toBe(DataType.FLOAT16);
    expect(elementType(pow.input(0))).toBe(DataType.FLOAT);
  });

  it('stores weights of ops without an ORT CPU half kernel in half precision, cast up; activations stay float32', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, [1, 2, 4, 4]);
    const w = b.initializer(
      weight(
        'W',
        Array.from({ length: 72 }, (_, i) => Math.sin(i)),
        [4, 2, 3, 3],
      ),
    );
    const bias = b.initializer(weight('B', [0.5, -0.5, 0.25, 1]));
    const y = b.op('Conv', [x, w, bias], { name: 'conv', attributes: { pads: [1, 1, 1, 1] } });
    b.output(b.op('Relu', [y], { name: 'relu', output: 'out' }), tensorType(DataType.FLOAT, [1, 4, 4, 4]));
    const model = b.model();
    const reference = await run(model, { x: ramp(32) }, { x: [1, 2, 4, 4] });
    const result = await runPass(convertFloat16, model, {});
    const conv = nodesOf(model, 'Conv')[0]!;
    expect(conv.input(0)!.name).toBe('x');
    expect(conv.input(1)!.producer?.opType).toBe('Cast');
    expect(conv.input(1)!.producer?.input(0)?.initializer?.dataType).toBe(DataType.FLOAT16);
    // Four elements: a Cast would outweigh the bytes saved.
    expect(conv.input(2)!.initializer?.dataType).toBe(DataType.FLOAT);
    expect(result.statistics).toMatchObject({ nodesInHalf: 0, castsInserted: 1, initializersConverted: 1 });
    expect(result.reports.find((report) => report.code === Float16Codes.KEPT_FLOAT)?.message).toContain('Conv ×1');
    const { out } = await run(model, { x: ramp(32) }, { x: [1, 2, 4, 4] });
    const expected = reference.out!.data as Float32Array;
    const actual = out!.data as Float32Array;
    for (let index = 0; index < expected.length; index++) expect(actual[index]).toBeCloseTo(expected[index]!, 2);
  });

  it('keeps a tensor beyond the half range float32 when its readers compute in float32', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, [64]);
    const w = b.initializer(
      weight(
        'W',
        Array.from({ length: 64 }, (_, i) => (i === 3 ? 1e6 : i)),
      ),
    );
    b.output(b.op('Add', [x, w], { output: 'y' }), tensorType(DataType.FLOAT, [64]));
    const model = b.model();
    const result = await runPass(convertFloat16, model, {});
    expect(model.graph.initializers[0]!.initializer!.dataType).toBe(DataType.FLOAT);
    expect(result.reports.filter((report) => report.code === Float16Codes.CLAMPED)).toEqual([]);
  });
});

function ramp(count: number): Float32Array {
  return Float32Array.from({ length: count }, (_, i) => Math.cos(i) * 2);
}

describe('convert-float16: casts and types', () => {
  function chain(): Model {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, [4]);
    const a = b.op('Relu', [x], { name: 'relu1' });
    const e = b.op('Exp', [a], { name: 'exp' });
    const r = b.op('Neg', [e], { name: 'neg', output: 'y' });
    b.output(r, tensorType(DataType.FLOAT, [4]));
    return b.model();
  }

  it('inserts Casts at the model inputs and outputs and around blocked ops; outputs keep their names', async () => {
    const model = chain();
    const x = f32([0.5, -1, 2, 3.25]);
    const reference = await run(model, { x }, { x: [4] });
    const result = await runPass(convertFloat16, model, { runtime: 'any' });
    expect(model.graph.nodes.map((node) => node.opType)).toEqual([
      'Cast',
      'Relu',
      'Cast',
      'Exp',
      'Cast',
      'Neg',
      'Cast',
    ]);
    const [castIn, relu, castUp, exp, castDown, neg, castOut] = model.graph.nodes;
    expect(castIn!.intAttribute('to')).toBe(DataType.FLOAT16);
    expect(elementType(relu!.output(0))).toBe(DataType.FLOAT16);
    expect(castUp!.intAttribute('to')).toBe(DataType.FLOAT);
    expect(elementType(exp!.output(0))).toBe(DataType.FLOAT);
    expect(castDown!.intAttribute('to')).toBe(DataType.FLOAT16);
    expect(elementType(neg!.output(0))).toBe(DataType.FLOAT16);
    expect(castOut!.output(0)!.name).toBe('y');
    expect(elementType(model.graph.outputs[0])).toBe(DataType.FLOAT);
    expect(elementType(model.graph.inputs[0])).toBe(DataType.FLOAT);
    expect(result.statistics).toMatchObject({ castsInserted: 4, nodesInHalf: 2 });
    const { y } = await run(model, { x }, { x: [4] });
    const expected = reference.y!.data as Float32Array;
    for (let i = 0; i < 4; i++) {
      expect(Math.abs((y!.data as Float32Array)[i]! - expected[i]!)).toBeLessThan(Math.abs(expected[i]!) * 2 ** -10);
    }
  });

  it('converts the model interface too without keepIoTypes', async () => {
    const model = chain();
    await runPass(convertFloat16, model, { runtime: 'any', keepIoTypes: false });
    expect(elementType(model.graph.inputs[0])).toBe(DataType.FLOAT16);
    expect(elementType(model.graph.outputs[0])).toBe(DataType.FLOAT16);
    expect(model.graph.outputs[0]!.name).toBe('y');
    expect(model.graph.nodes.map((node) => node.opType)).toEqual(['Relu', 'Cast', 'Exp', 'Cast', 'Neg']);
    const x = new ort.Tensor('float16', encodeFloat16(f32([0.5, -1, 2, 3])), [4]);
    const { y } = await runOnnxRuntime(encodeModel(model), { x });
    expect(y!.type).toBe('float16');
  });

  it('blocks nodes by name or output name, with wildcards', async () => {
    const model = chain();
    await runPass(convertFloat16, model, { runtime: 'any', blockOps: [], blockNodes: ['rel?1', 'y'] });
    const byName = Object.fromEntries(model.graph.nodes.map((node) => [node.name, node]));
    expect(elementType(byName.relu1!.output(0))).toBe(DataType.FLOAT);
    expect(elementType(byName.exp!.output(0))).toBe(DataType.FLOAT16);
    expect(elementType(nodesOf(model, 'Neg')[0]!.output(0))).toBe(DataType.FLOAT);
  });

  it('changes nothing on a second run', async () => {
    for (const options of [
      { runtime: 'any' },
      {},
      { type: 'bfloat16' },
      { keepIoTypes: false, runtime: 'any' },
    ] as const) {
      const model = chain();
      // A weight, so that the default (ORT CPU) plan has something to convert.
      const neg = nodesOf(model, 'Neg')[0]!;
      const w = model.graph.addInitializer(
        weight(
          'W',
          Array.from({ length: 256 }, (_, i) => i / 7),
          [64, 4],
        ),
      );
      w.type = tensorType(DataType.FLOAT, [64, 4]);
      const product = new Value('product', tensorType(DataType.FLOAT, [64, 4]));
      model.graph.insertAfter(neg, new IrNode({ opType: 'Mul', inputs: [neg.output(0), w], outputs: [product] }));
      model.graph.outputs.push(product);
      expect((await runPass(convertFloat16, model, options as ConvertFloat16Options)).changed).toBe(true);
      const bytes = encodeModel(model);
      const second = await runPass(convertFloat16, model, options as ConvertFloat16Options);
      expect(second.changed).toBe(false);
      expect(encodeModel(model)).toEqual(bytes);
    }
  });

  it('follows Cast `to`, ConstantOfShape and Constant values of half nodes', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, [2, 3]);
    const shape = b.op('Shape', [x], { name: 'shape' });
    const filled = b.op('ConstantOfShape', [shape], {
      name: 'fill',
      attributes: { value: Tensor.fromArray('', DataType.FLOAT, [1], f32([1.5])) },
    });
    const counts = b.initializer(
      Tensor.fromArray('counts', DataType.INT64, [2, 3], BigInt64Array.from([1n, 2n, 3n, 4n, 5n, 6n])),
    );
    const asFloat = b.op('Cast', [counts], { name: 'cast', attributes: { to: DataType.FLOAT } });
    const sum = b.op('Add', [b.op('Mul', [x, filled], { name: 'mul' }), asFloat], { name: 'add' });
    const scale = b.op('Constant', [], { name: 'scale', attributes: { value_float: 0.25 } });
    b.output(b.op('Mul', [sum, scale], { name: 'scaled', output: 'y' }), tensorType(DataType.FLOAT, [2, 3]));
    const model = b.model();
    const x0 = f32([1, 2, 3, 4, 5, 6]);
    const reference = await run(model, { x: x0 }, { x: [2, 3] });
    await runPass(convertFloat16, model, { runtime: 'any' });
    const cast = model.graph.nodes.find((node) => node.name === 'cast')!;
    expect(cast.intAttribute('to')).toBe(DataType.FLOAT16);
    const fill = model.graph.nodes.find((node) => node.name === 'fill')!;
    expect(fill.tensorAttribute('value')!.dataType).toBe(DataType.FLOAT16);
    expect(decodeFloat16(fill.tensorAttribute('value')!.toArray() as Uint16Array)[0]).toBe(1.5);
    // The Constant was lifted to an initializer and converted with the others.
    expect(nodesOf(model, 'Constant')).toEqual([]);
    expect(model.graph.initializers.find((value) => value.name === scale.name)?.initializer?.dataType).toBe(
      DataType.FLOAT16,
    );
    const { y } = await run(model, { x: x0 }, { x: [2, 3] });
    expect([...(y!.data as Float32Array)]).toEqual([...(reference.y!.data as Float32Array)]);
  });

  it('keeps float shape arithmetic in float32 (float16 integers stop at 2048)', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, [1, 'n']);
    const shape = b.op('Shape', [x], { name: 'shape' });
    const size = b.op('Cast', [shape], { name: 'to_float', attributes: { to: DataType.FLOAT } });
    const scaled = b.op('Mul', [size, b.initializer(weight('ratio', [1, 0.5]))], { name: 'scale' });
    const back = b.op('Cast', [b.op('Floor', [scaled], { name: 'floor' })], {
      name: 'to_int',
      attributes: { to: DataType.INT64 },
    });
    const ones = b.op('ConstantOfShape', [back], {
      name: 'ones',
      attributes: { value: Tensor.fromArray('', DataType.FLOAT, [1], f32([1])) },
    });
    b.output(b.op('Relu', [ones], { output: 'y' }), tensorType(DataType.FLOAT));
    const model = b.model();
    await runPass(convertFloat16, model, { runtime: 'any' });
    const byName = Object.fromEntries(model.graph.nodes.map((node) => [node.name, node]));
    expect(byName.to_float!.intAttribute('to')).toBe(DataType.FLOAT);
    expect(elementType(byName.scale!.output(0))).toBe(DataType.FLOAT);
    expect(byName.scale!.input(1)!.initializer!.dataType).toBe(DataType.FLOAT);
    expect(elementType(byName.floor!.output(0))).toBe(DataType.FLOAT);
    const { y } = await runOnnxRuntime(encodeModel(model), {
      x: new ort.Tensor('float32', new Float32Array(4099), [1, 4099]),
    });
    expect(y!.dims).toEqual([1, 2049]);
  });

  it('converts If branches inside, keeping float32 at their interface', async () => {
    const branch = (name: string, op: string) => {
      const sub = new GraphBuilder(name);
      return { sub, op };
    };
    const outer = new GraphBuilder();
    const x = outer.input('x', DataType.FLOAT, [3]);
    const flag = outer.input('flag', DataType.BOOL, []);
    const w = outer.initializer(weight('W', [1.5, -2, 0.25]));
    const made = [branch('then', 'Mul'), branch('else', 'Sub')].map(({ sub, op }) => {
      const out = sub.op(op, [x, w], { name: `${op}_in_branch` });
      sub.output(out, tensorType(DataType.FLOAT, [3]));
      return sub.graph;
    });
    const y = outer.op('If', [flag], { name: 'if', attributes: { then_branch: made[0]!, else_branch: made[1]! } });
    y.type = tensorType(DataType.FLOAT, [3]);
    outer.output(outer.op('Relu', [y], { output: 'y' }), tensorType(DataType.FLOAT, [3]));
    const model = outer.model();
    const x0 = f32([1, 2, 3]);
    const feeds = (value: boolean) => ({
      x: new ort.Tensor('float32', x0, [3]),
      flag: new ort.Tensor('bool', Uint8Array.of(value ? 1 : 0), []),
    });
    const before = [
      await runOnnxRuntime(encodeModel(model), feeds(true)),
      await runOnnxRuntime(encodeModel(model), feeds(false)),
    ];
    const result = await runPass(convertFloat16, model, { runtime: 'any' });
    expect(result.changed).toBe(true);
    for (const graph of made) {
      expect(elementType(graph.outputs[0])).toBe(DataType.FLOAT);
      expect(graph.nodes.map((node) => node.opType)).toEqual(['Cast', expect.any(String), 'Cast']);
    }
    expect(w.initializer!.dataType).toBe(DataType.FLOAT16);
    const after = [
      await runOnnxRuntime(encodeModel(model), feeds(true)),
      await runOnnxRuntime(encodeModel(model), feeds(false)),
    ];
    expect([...(after[0]!.y!.data as Float32Array)]).toEqual([...(before[0]!.y!.data as Float32Array)]);
    expect([...(after[1]!.y!.data as Float32Array)]).toEqual([...(before[1]!.y!.data as Float32Array)]);
    expect((await runPass(convertFloat16, model, { runtime: 'any' })).changed).toBe(false);
  });
});

describe('convert-float16: Constant nodes that stay nodes', () => {
  it('turns value_float of a Constant returned by the model into a half `value`', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, [2]);
    b.output(b.op('Relu', [x], { output: 'y' }), tensorType(DataType.FLOAT, [2]));
    b.output(
      b.op('Constant', [], { name: 'k', output: 'k', attributes: { value_float: 0.1 } }),
      tensorType(DataType.FLOAT, []),
    );
    const model = b.model();
    await runPass(convertFloat16, model, { runtime: 'any', keepIoTypes: false });
    const constant = nodesOf(model, 'Constant')[0]!;
    expect([...constant.attributes.keys()]).toEqual(['value']);
    const value = constant.tensorAttribute('value')!;
    expect(value.dataType).toBe(DataType.FLOAT16);
    expect(value.dims).toEqual([]);
    expect([...(value.toArray() as Uint16Array)]).toEqual([...encodeFloat16([0.1])]);
    expect(elementType(model.graph.outputs[1])).toBe(DataType.FLOAT16);
    const x0 = new ort.Tensor('float16', encodeFloat16([1, -1]), [2]);
    const { k } = await runOnnxRuntime(encodeModel(model), { x: x0 });
    expect(k!.type).toBe('float16');
  });
});

describe('convert-float16: refusals', () => {
  it('refuses bfloat16 below opset 13 and float16 below opset 6, without touching the model', async () => {
    for (const [opset, options] of [
      [11, { type: 'bfloat16' }],
      [5, {}],
    ] as const) {
      const model = addModel([1, 2], opset);
      const bytes = encodeModel(model);
      const error = await Promise.resolve()
        .then(() => convertFloat16.create(options as ConvertFloat16Options).run(model, contextFor()))
        .catch((caught: unknown) => caught);
      expect(WhittleError.is(error) && error.code).toBe(Float16Codes.OPSET_TOO_OLD);
      expect(WhittleError.is(error) && error.hint).toBeTruthy();
      expect(encodeModel(model)).toEqual(bytes);
    }
  });

  it('rejects out-of-range options', () => {
    expect(() => convertFloat16.create({ maxValue: 1e6 })).toThrow(/maxValue/);
    expect(() => convertFloat16.create({ minPositiveValue: 1, maxValue: 0.5 })).toThrow(/minPositiveValue/);
    expect(() => convertFloat16.create({ type: 'bfloat16', maxValue: 1e30 })).not.toThrow();
  });

  it('leaves a model without float32 alone', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.INT64, [2]);
    b.output(b.op('Neg', [x], { output: 'y' }), tensorType(DataType.INT64, [2]));
    const result = await runPass(convertFloat16, b.model(), {});
    expect(result.changed).toBe(false);
  });
});

describe('convert-float16: options schema', () => {
  it('validates and fills in defaults like a pipeline does', async () => {
    const options = validateOptions(convertFloat16, { type: 'bfloat16' });
    expect(options).toMatchObject({ type: 'bfloat16', keepIoTypes: true, runtime: 'onnxruntime-cpu', blockNodes: [] });
    expect(options.blockOps).toContain('Pow');
    expect(() => validateOptions(convertFloat16, { type: 'float8' })).toThrow();
    expect(() => validateOptions(convertFloat16, { maxValue: 0 })).toThrow();
    expect(() => validateOptions(convertFloat16, { blockOp: ['Exp'] })).toThrow();
    const text = validateOptions(
      convertFloat16,
      { 'keep-io-types': 'false' },
      { coerceTypes: true, acceptKebabCase: true },
    );
    expect(text.keepIoTypes).toBe(false);
  });
});
