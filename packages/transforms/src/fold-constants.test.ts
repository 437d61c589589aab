import {
  type AttributeShorthand,
  DataType,
  encodeFloat16,
  type Graph,
  GraphBuilder,
  type Model,
  Tensor,
  tensorType,
  type Value,
} from '@whittle/ir';
import { encodeModel } from '@whittle/onnx';
import type { DiagnosticInput } from '@whittle/spec';
import { ort, outputsDifference, runOnnxRuntime } from '@whittle/test-fixtures';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_FOLD_MAX_SIZE_INCREASE,
  type FoldConstantsOptions,
  FoldConstantsCodes,
  foldConstants,
} from './fold-constants.js';
import { contextFor, errorsOf } from './test-support.js';

async function fold(model: Model, options: Partial<FoldConstantsOptions> = {}, reports: DiagnosticInput[] = []) {
  return foldConstants.create(options).run(model, contextFor(reports));
}

/** Fold, check the IR, and check that a second run changes nothing. */
async function foldChecked(model: Model, options: Partial<FoldConstantsOptions> = {}) {
  const result = await fold(model, options);
  expect(errorsOf(model)).toEqual([]);
  const again = await fold(model, options);
  expect(again.changed).toBe(false);
  expect(again.statistics?.nodesFolded).toBe(0);
  return result;
}

const f32 = (name: string, dims: number[], values: number[]) =>
  Tensor.fromArray(name, DataType.FLOAT, dims, Float32Array.from(values));
const i64 = (name: string, dims: number[], values: number[]) =>
  Tensor.fromArray(
    name,
    DataType.INT64,
    dims,
    BigInt64Array.from(values, (value) => BigInt(value)),
  );

const opTypes = (graph: Graph) => graph.nodes.map((node) => node.opType);
const initializerNames = (graph: Graph) => graph.initializers.map((value) => value.name);
const floats = (value: Value) => Array.from(value.initializer!.toArray() as Float32Array);
const int64s = (value: Value) => Array.from(value.initializer!.toArray() as BigInt64Array, Number);

async function sameOutputs(model: Model, before: Uint8Array, feeds: Record<string, ort.Tensor>) {
  const expected = await runOnnxRuntime(before, feeds);
  const actual = await runOnnxRuntime(encodeModel(model), feeds);
  expect(outputsDifference(expected, actual)).toBeUndefined();
}

describe('fold-constants', () => {
  it('folds a shape computation into one initializer and drops the constants it consumed', async () => {
    const builder = new GraphBuilder();
    const x = builder.input('x', DataType.FLOAT, ['batch', 2, 4]);
    const weight = builder.initializer(f32('w', [2, 4], [1, 2, 3, 4, 5, 6, 7, 8]));
    const shape = builder.op('Shape', [weight]);
    const width = builder.op('Gather', [shape, builder.initializer(i64('one', [], [1]))]);
    const column = builder.op('Unsqueeze', [width, builder.initializer(i64('zero_axis', [1], [0]))]);
    const target = builder.op('Concat', [builder.initializer(i64('minus_one', [1], [-1])), column], {
      output: 'target',
      attributes: { axis: 0 },
    });
    builder.output(builder.op('Reshape', [x, target], { output: 'y' }));
    const model = builder.model();
    const before = encodeModel(model);

    const result = await foldChecked(model);
    expect(result.changed).toBe(true);
    // w, the three index constants and the three intermediate results folded on the way.
    expect(result.statistics).toEqual({ nodesFolded: 4, constantsRemoved: 7, foldsRefusedForSize: 0 });
    expect(opTypes(model.graph)).toEqual(['Reshape']);
    expect(initializerNames(model.graph)).toEqual(['target']);
    expect(int64s(target)).toEqual([-1, 4]);
    expect(target.type).toEqual(tensorType(DataType.INT64, [2]));
    expect(model.graph.nodes[0]!.input(1)).toBe(target);
    const feeds = {
      x: new ort.Tensor(
        'float32',
        Float32Array.from({ length: 24 }, (_, i) => i),
        [3, 2, 4],
      ),
    };
    await sameOutputs(model, before, feeds);
  });

  it('keeps the name of a graph output by producing it with a Constant node', async () => {
    const builder = new GraphBuilder();
    const x = builder.input('x', DataType.FLOAT, [2]);
    const a = builder.initializer(f32('a', [2], [1, 2]));
    const b = builder.initializer(f32('b', [2], [0.5, 0.25]));
    const sum = builder.op('Add', [a, b], { output: 'sum' });
    builder.output(sum, tensorType(DataType.FLOAT, ['n']));
    builder.output(builder.op('Mul', [x, sum], { output: 'y' }));
    const model = builder.model();
    const before = encodeModel(model);

    const result = await foldChecked(model);
    expect(result.statistics).toMatchObject({ nodesFolded: 1, constantsRemoved: 2 });
    expect(model.graph.outputs.map((value) => value.name)).toEqual(['sum', 'y']);
    expect(opTypes(model.graph)).toEqual(['Constant', 'Mul']);
    expect(sum.producer?.opType).toBe('Constant');
    expect(sum.type).toEqual(tensorType(DataType.FLOAT, ['n']));
    expect(Array.from(sum.producer!.tensorAttribute('value')!.toArray() as Float32Array)).toEqual([1.5, 2.25]);
    expect(model.graph.initializers).toEqual([]);
    await sameOutputs(model, before, { x: new ort.Tensor('float32', Float32Array.of(2, 3), [2]) });
  });

  it('folds Split into its used outputs and drops the unused one', async () => {
    const builder = new GraphBuilder();
    const x = builder.input('x', DataType.FLOAT, [2]);
    const [left, right] = builder.node('Split', [builder.initializer(f32('whole', [4], [1, 2, 3, 4]))], {
      outputs: ['left', 'right'],
      attributes: { axis: 0 },
    });
    builder.output(builder.op('Add', [x, left!], { output: 'y' }));
    const model = builder.model();
    const before = encodeModel(model);

    const result = await foldChecked(model);
    expect(result.statistics).toMatchObject({ nodesFolded: 1, constantsRemoved: 1 });
    expect(initializerNames(model.graph)).toEqual(['left']);
    expect(floats(left!)).toEqual([1, 2]);
    expect(right!.graph?.findValue('right')).toBeUndefined();
    await sameOutputs(model, before, { x: new ort.Tensor('float32', Float32Array.of(10, 20), [2]) });
  });

  it('reads Constant nodes as constants and removes those it leaves unused', async () => {
    const builder = new GraphBuilder();
    const x = builder.input('x', DataType.FLOAT, [2]);
    const scale = builder.op('Constant', [], { output: 'scale', attributes: { value: f32('', [2], [2, 4]) } });
    const shared = builder.op('Constant', [], { output: 'shared', attributes: { value: f32('', [], [0.5]) } });
    const product = builder.op('Mul', [scale, shared], { output: 'product' });
    const scaled = builder.op('Mul', [x, product], { output: 'scaled' });
    builder.output(builder.op('Add', [scaled, shared], { output: 'y' }));
    const model = builder.model();
    const before = encodeModel(model);

    const result = await foldChecked(model);
    expect(result.statistics).toMatchObject({ nodesFolded: 1, constantsRemoved: 1 });
    expect(opTypes(model.graph)).toEqual(['Constant', 'Mul', 'Add']);
    expect(model.graph.nodes[0]!.output(0)).toBe(shared);
    expect(floats(product)).toEqual([1, 2]);
    await sameOutputs(model, before, { x: new ort.Tensor('float32', Float32Array.of(1, 1), [2]) });
  });

  it('keeps a constant that other nodes still read', async () => {
    const builder = new GraphBuilder();
    const x = builder.input('x', DataType.FLOAT, [1, 2]);
    const weight = builder.initializer(f32('w', [2, 2], [1, 2, 3, 4]));
    const product = builder.op('MatMul', [x, weight], { output: 'product' });
    const shape = builder.op('Shape', [weight], { output: 'shape' });
    builder.output(builder.op('Reshape', [product, shape], { output: 'y' }));
    const model = builder.model();
    const result = await foldChecked(model);
    expect(result.statistics).toMatchObject({ nodesFolded: 1, constantsRemoved: 0 });
    expect(initializerNames(model.graph)).toEqual(['w', 'shape']);
  });

  it('folds inside subgraphs, into the subgraph, but never the node that holds them', async () => {
    const builder = new GraphBuilder();
    const condition = builder.input('condition', DataType.BOOL, []);
    const x = builder.input('x', DataType.FLOAT, [1]);
    const outer = builder.initializer(f32('outer', [1], [10]));
    const branch = (name: string, value: number): Graph => {
      const body = new GraphBuilder(name);
      const inner = body.initializer(f32(`${name}_inner`, [1], [value]));
      const folded = body.op('Mul', [outer, inner], { output: `${name}_folded` });
      body.output(body.op('Add', [folded, x], { output: `${name}_out` }));
      return body.graph;
    };
    const chosen = builder.op('If', [condition], {
      output: 'chosen',
      attributes: { then_branch: branch('then', 2), else_branch: branch('else', 3) },
    });
    builder.output(chosen);
    const model = builder.model();
    const before = encodeModel(model);

    const result = await foldChecked(model);
    expect(result.statistics).toMatchObject({ nodesFolded: 2, constantsRemoved: 3 });
    const [thenGraph, elseGraph] = model.graph.nodes[0]!.subgraphs();
    expect(opTypes(model.graph)).toEqual(['If']);
    expect(initializerNames(thenGraph!)).toEqual(['then_folded']);
    expect(initializerNames(elseGraph!)).toEqual(['else_folded']);
    expect(initializerNames(model.graph)).toEqual([]);
    for (const flag of [0, 1]) {
      await sameOutputs(model, before, {
        condition: new ort.Tensor('bool', Uint8Array.of(flag), []),
        x: new ort.Tensor('float32', Float32Array.of(1), [1]),
      });
    }
  });

  it('never folds random operators, other domains, overridable initializers or refused values', async () => {
    const builder = new GraphBuilder();
    const constant = builder.initializer(f32('c', [2], [1, 2]));
    builder.output(builder.op('RandomUniformLike', [constant], { output: 'random' }));
    builder.output(builder.op('Relu', [constant], { output: 'custom', domain: 'com.acme' }));
    const overridable = builder.initializer(f32('default', [2], [1, 2]));
    builder.graph.addInput(overridable);
    builder.output(builder.op('Neg', [overridable], { output: 'negated' }));
    const numerator = builder.initializer(i64('n', [1], [1]));
    builder.output(builder.op('Div', [numerator, builder.initializer(i64('d', [1], [0]))], { output: 'undefined' }));
    const model = builder.model({
      opsetImports: [
        { domain: '', version: 17 },
        { domain: 'com.acme', version: 1 },
      ],
    });
    const reports: DiagnosticInput[] = [];
    const result = await fold(model, {}, reports);
    expect(result.changed).toBe(false);
    expect(result.preserved).toBe('all');
    expect(opTypes(model.graph)).toEqual(['RandomUniformLike', 'Relu', 'Neg', 'Div']);
    expect(reports).toEqual([]);
  });

  it('refuses folds that would blow the model up, unless the limits are raised', async () => {
    const build = () => {
      const builder = new GraphBuilder();
      const x = builder.input('x', DataType.FLOAT, [512, 512]);
      const zeros = builder.op('ConstantOfShape', [builder.initializer(i64('shape', [2], [512, 512]))]);
      builder.output(builder.op('Add', [x, zeros], { output: 'y' }));
      return builder.model();
    };
    const model = build();
    const refused = await foldChecked(model);
    expect(refused.changed).toBe(false);
    expect(refused.statistics).toEqual({ nodesFolded: 0, constantsRemoved: 0, foldsRefusedForSize: 1 });
    expect(opTypes(model.graph)).toEqual(['ConstantOfShape', 'Add']);

    const allowed = build();
    const result = await foldChecked(allowed, { maxSizeIncrease: 2 ** 20 });
    expect(result.statistics).toMatchObject({ nodesFolded: 1 });
    expect(allowed.graph.initializers[0]!.initializer!.dims).toEqual([512, 512]);

    const capped = build();
    const capResult = await fold(capped, { maxSizeIncrease: 2 ** 30, maxElements: 1000 });
    expect(capResult.changed).toBe(false);
    expect(capResult.statistics).toMatchObject({ foldsRefusedForSize: 0 });
  });

  it('does not widen weights: a float16 to float32 Cast of a large weight stays', async () => {
    const build = (count: number) => {
      const builder = new GraphBuilder();
      const x = builder.input('x', DataType.FLOAT, [count]);
      const half = builder.initializer(
        Tensor.fromArray('half', DataType.FLOAT16, [count], encodeFloat16(new Float32Array(count).fill(0.5))),
      );
      const widened = builder.op('Cast', [half], { attributes: { to: DataType.FLOAT } });
      builder.output(builder.op('Mul', [x, widened], { output: 'y' }));
      return builder.model();
    };
    // Growth = 4 bytes - 2 freed bytes per element.
    const small = build(DEFAULT_FOLD_MAX_SIZE_INCREASE / 2);
    expect((await foldChecked(small)).statistics).toMatchObject({ nodesFolded: 1, constantsRemoved: 1 });
    const large = build(DEFAULT_FOLD_MAX_SIZE_INCREASE / 2 + 1);
    expect((await foldChecked(large)).statistics).toMatchObject({ nodesFolded: 0, foldsRefusedForSize: 1 });
  });

  it('does not copy part of a weight that other nodes still read', async () => {
    const build = (rows: number, shared: boolean) => {
      const builder = new GraphBuilder();
      const x = builder.input('x', DataType.FLOAT, [1, 64]);
      const weight = builder.initializer(f32('w', [128, 64], new Array(128 * 64).fill(1)));
      const part = builder.op('Slice', [
        weight,
        builder.initializer(i64('starts', [1], [0])),
        builder.initializer(i64('ends', [1], [rows])),
      ]);
      const transposed = builder.op('Transpose', [part]);
      builder.output(builder.op('MatMul', [x, transposed], { output: 'y' }));
      if (shared) builder.output(builder.op('MatMul', [x, builder.op('Transpose', [weight])], { output: 'z' }));
      return builder.model();
    };
    // 64 rows of 64 floats are exactly 16 KiB: allowed. 65 rows are not, while the whole weight stays.
    expect((await foldChecked(build(64, true))).statistics).toMatchObject({ nodesFolded: 3 });
    const refused = await foldChecked(build(65, true));
    expect(refused.statistics).toMatchObject({ nodesFolded: 0, foldsRefusedForSize: 2 });
    // Read nowhere else, the weight is freed by the fold: nothing grows, so any size folds.
    const alone = build(128, false);
    expect((await foldChecked(alone)).statistics).toMatchObject({ nodesFolded: 2, foldsRefusedForSize: 0 });
    expect(initializerNames(alone.graph)).toHaveLength(1);
  });

  it('reports results that contradict the declared output type and keeps the node', async () => {
    const builder = new GraphBuilder();
    const x = builder.input('x', DataType.INT32, [2]);
    const shape = builder.op('Shape', [builder.initializer(f32('c', [2], [1, 2]))], { output: 'shape' });
    shape.type = tensorType(DataType.INT32, [2]);
    builder.output(builder.op('Add', [x, shape], { output: 'y' }));
    const model = builder.model();
    const reports: DiagnosticInput[] = [];
    const result = await fold(model, {}, reports);
    expect(result.changed).toBe(false);
    expect(reports.map((report) => report.code)).toEqual([FoldConstantsCodes.TYPE_MISMATCH]);
    expect(reports[0]!.location).toMatchObject({ value: 'shape' });
  });

  it('folds nodes listed out of topological order', async () => {
    const builder = new GraphBuilder();
    const x = builder.input('x', DataType.FLOAT, [2]);
    const a = builder.initializer(f32('a', [2], [1, 2]));
    const first = builder.op('Neg', [a], { output: 'first' });
    const second = builder.op('Abs', [first], { output: 'second' });
    builder.output(builder.op('Add', [x, second], { output: 'y' }));
    const model = builder.model();
    const [neg, abs, add] = model.graph.nodes;
    model.graph.setNodeOrder([abs!, neg!, add!]);
    const result = await fold(model);
    expect(result.statistics).toMatchObject({ nodesFolded: 2 });
    expect(floats(second)).toEqual([1, 2]);
  });

  it('evaluates with the model’s opset: Unsqueeze axes as an attribute in opset 11', async () => {
    const builder = new GraphBuilder();
    const x = builder.input('x', DataType.FLOAT, [1, 2]);
    const unsqueezed = builder.op('Unsqueeze', [builder.initializer(f32('row', [2], [1, 2]))], {
      attributes: { axes: [0] as AttributeShorthand },
    });
    builder.output(builder.op('Add', [x, unsqueezed], { output: 'y' }));
    const model = builder.model({ opsetImports: [{ domain: '', version: 11 }] });
    expect((await foldChecked(model)).statistics).toMatchObject({ nodesFolded: 1 });
    expect(model.graph.initializers[0]!.initializer!.dims).toEqual([1, 2]);
  });

  it('leaves models of IR version 3 alone with a note', async () => {
    const builder = new GraphBuilder();
    const x = builder.input('x', DataType.FLOAT, [1]);
    const negated = builder.op('Neg', [builder.initializer(f32('c', [1], [1]))]);
    builder.output(builder.op('Add', [x, negated], { output: 'y' }));
    const model = builder.model({ irVersion: 3 });
    const reports: DiagnosticInput[] = [];
    expect((await fold(model, {}, reports)).changed).toBe(false);
    expect(reports.map((report) => report.code)).toEqual([FoldConstantsCodes.OLD_IR_VERSION]);
  });

  it('declares camelCase options with defaults', () => {
    const schema = foldConstants.options as { properties: Record<string, { default: number }> };
    expect(Object.keys(schema.properties)).toEqual(['maxElements', 'maxSizeIncrease']);
    expect(schema.properties.maxSizeIncrease!.default).toBe(DEFAULT_FOLD_MAX_SIZE_INCREASE);
  });
});
