import { DataType, GraphBuilder, type Model, Tensor, type Value } from '@whittle/ir';
import { encodeModel } from '@whittle/onnx';
import { ortExecutorFactory } from '@whittle/runtime-ort';
import type { ExecutorTensor } from '@whittle/spec';
import { describe, expect, it } from 'vitest';
import { calibrate, calibrationTensors } from './calibrate.js';
import { type CalibrationDataset, datasetFromSamples, type Sample } from './dataset.js';
import {
  addStatisticsOutputs,
  type Derivation,
  derivedStatistics,
  planReductions,
  type SampleStatistics,
} from './reduced-statistics.js';
import { normalValues } from './test-support.js';

const F = DataType.FLOAT;
const minmax = { method: 'minmax', symmetric: false, bits: 8 } as const;

/** Min-max by observing every value (histograms), which the reductions must agree with. */
const observedTable = (model: Model, dataset: CalibrationDataset) =>
  calibrate(model, dataset, { executors: ortExecutorFactory, method: minmax, histograms: true });

/**
 * x [2, 8] through ops whose extremes follow from their input's (Mul by a negative constant, Add, Relu, Clip with
 * Constant-node bounds, Reshape, Div, Sub from a constant) and ops whose do not (x · x, Add of a per-column
 * constant). Intermediates have no declared type, as in models exported by converters.
 */
function chain(opset = 13): Model {
  const b = new GraphBuilder();
  const x = b.input('x', F, [2, 8]);
  const scalar = (name: string, value: number) => b.initializer(Tensor.fromArray(name, F, [], Float32Array.of(value)));
  const scaled = b.op('Mul', [scalar('minus_two', -2), x], { output: 'scaled' });
  const shifted = b.op('Add', [scaled, scalar('three', 3)], { output: 'shifted' });
  const relu = b.op('Relu', [shifted], { output: 'relu' });
  const low = b.op('Constant', [], { output: 'low', attributes: { value_float: 0.5 } });
  const high = b.op('Constant', [], {
    output: 'high',
    attributes: { value: Tensor.fromArray('', F, [], Float32Array.of(4.25)) },
  });
  const clipped = b.op('Clip', [relu, low, high], { output: 'clipped' });
  const shape = b.initializer(Tensor.fromArray('shape', DataType.INT64, [1], BigInt64Array.of(16n)));
  const flat = b.op('Reshape', [clipped, shape], { output: 'flat' });
  const quarter = b.op('Div', [flat, scalar('four', 4)], { output: 'quarter' });
  const flipped = b.op('Sub', [scalar('ten', 10), quarter], { output: 'flipped' });
  const square = b.op('Mul', [x, x], { output: 'square' });
  const columns = b.initializer(Tensor.fromArray('columns', F, [8], normalValues(8, 3)));
  const biased = b.op('Add', [square, columns], { output: 'biased' });
  b.output(flipped, { kind: 'tensor', elementType: F });
  b.output(biased, { kind: 'tensor', elementType: F });
  return b.model({ opsetImports: [{ domain: '', version: opset }] });
}

function samplesOf(count: number, seed: number, scale = 2): Sample[] {
  return Array.from({ length: count }, (_, index) => ({
    x: { type: 'float32', dims: [2, 8], data: normalValues(16, seed + index, scale) } as ExecutorTensor,
  }));
}

const names = (values: readonly Value[]) => values.map((value) => value.name);

describe('planReductions', () => {
  it('measures what it must, derives monotonic and data-movement ops, reduces constants once', () => {
    const model = chain();
    const plan = planReductions(model, calibrationTensors(model), { moments: false });
    expect(names(plan.measured)).toEqual(['x', 'square', 'biased']);
    expect([...plan.derived.keys()]).toEqual(['scaled', 'shifted', 'relu', 'clipped', 'flat', 'quarter', 'flipped']);
    expect(plan.derived.get('scaled')).toMatchObject({ sources: ['x'], decreasing: true });
    expect(plan.derived.get('flipped')).toMatchObject({ sources: ['quarter'], decreasing: true });
    expect(plan.derived.get('flat')).toMatchObject({ sources: ['clipped'], sameElements: true });
    expect(plan.constants.get('low')).toEqual({ count: 1, min: 0.5, max: 0.5 });
    expect(plan.constants.get('high')).toEqual({ count: 1, min: 4.25, max: 4.25 });
    // Known float32 from the input's declared type through every op of the chain.
    expect(names([...plan.float32])).toEqual(['x', 'square', 'biased']);
    expect(plan.order.indexOf('clipped')).toBeLessThan(plan.order.indexOf('flat'));
  });

  it('with moments, derives only through data movement (the others change mean and spread)', () => {
    const model = chain();
    const plan = planReductions(model, calibrationTensors(model), { moments: true });
    expect([...plan.derived.keys()]).toEqual(['flat']);
    expect(plan.constants.get('low')).toEqual({ count: 1, min: 0.5, max: 0.5, sum: 0.5, sumOfSquares: 0.25 });
  });

  it('derives only from planned tensors, and leaves out names that are not main-graph values', () => {
    const model = chain();
    const plan = planReductions(model, ['relu', 'clipped', 'nothing'], { moments: false });
    expect(names(plan.measured)).toEqual(['relu']);
    expect([...plan.derived.keys()]).toEqual(['clipped']);
    expect(plan.order).toEqual(['relu', 'clipped']);
  });
});

/** Two upsamplings joined by a Concat: nearest by integer scales (derived) and half-pixel (not derived). */
function upsampling(): Model {
  const b = new GraphBuilder();
  const x = b.input('x', F, [1, 2, 3, 4]);
  const scales = b.initializer(Tensor.fromArray('scales', F, [4], Float32Array.of(1, 1, 2, 2)));
  const nearest = { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' };
  const squashed = b.op('Sigmoid', [x], { output: 'squashed' });
  const up = b.op('Resize', [squashed, undefined, scales], { output: 'up', attributes: nearest });
  const squared = b.op('Mul', [x, x], { output: 'squared' });
  const halfPixel = { ...nearest, coordinate_transformation_mode: 'half_pixel', nearest_mode: 'round_prefer_floor' };
  const other = b.op('Resize', [squared, undefined, scales], { output: 'other', attributes: halfPixel });
  const joined = b.op('Concat', [up, other], { output: 'joined', attributes: { axis: 1 } });
  b.output(joined, { kind: 'tensor', elementType: F });
  return b.model({ opsetImports: [{ domain: '', version: 13 }] });
}

describe('derivedStatistics', () => {
  const derivation = (fields: Partial<Derivation>): Derivation => ({
    sources: ['x'],
    map: (value) => value,
    decreasing: false,
    sameElements: false,
    repeats: 1,
    ...fields,
  });

  it('maps the extremes, swaps them for a decreasing op, and passes non-finite and empty samples on', () => {
    const negate = derivation({ map: (value) => -value, decreasing: true });
    expect(derivedStatistics([{ count: 4, min: -1, max: 3, sum: 2 }], negate)).toEqual({ count: 4, min: -3, max: 1 });
    expect(derivedStatistics(['non-finite'], negate)).toBe('non-finite');
    expect(derivedStatistics(['not-float'], negate)).toBe('not-float');
    expect(derivedStatistics([{ count: 0, min: 0, max: 0 }], negate)).toEqual({ count: 0, min: 0, max: 0 });
    const overflow = derivation({ map: (value) => Math.fround(value * 1e30) });
    expect(derivedStatistics([{ count: 1, min: 1e10, max: 1e10 }], overflow)).toBe('non-finite');
  });

  it('joins a Concat’s inputs and counts repeated elements, sums included when the elements are the same', () => {
    const concat = derivation({ sources: ['a', 'b', 'c'], sameElements: true });
    const inputs: SampleStatistics[] = [
      { count: 2, min: 1, max: 2, sum: 3, sumOfSquares: 5 },
      { count: 0, min: 0, max: 0, sum: 0, sumOfSquares: 0 },
      { count: 3, min: -4, max: 0, sum: -6, sumOfSquares: 20 },
    ];
    expect(derivedStatistics(inputs, concat)).toEqual({ count: 5, min: -4, max: 2, sum: -3, sumOfSquares: 25 });
    expect(derivedStatistics([inputs[0]!, 'non-finite'], concat)).toBe('non-finite');
    const upsample = derivation({ sameElements: true, repeats: 4 });
    expect(derivedStatistics([{ count: 2, min: 1, max: 2, sum: 3, sumOfSquares: 5 }], upsample)).toEqual({
      count: 8,
      min: 1,
      max: 2,
      sum: 12,
      sumOfSquares: 20,
    });
    expect(derivedStatistics([{ count: 2, min: 1, max: 2 }], upsample)).toEqual({ count: 8, min: 1, max: 2 });
  });
});

describe('addStatisticsOutputs', () => {
  it('adds each tensor’s nodes in reverse order and the shared Concat last; restore puts the model back', () => {
    const model = chain();
    const before = encodeModel(model);
    const plan = planReductions(model, calibrationTensors(model), { moments: false });
    const added = addStatisticsOutputs(model, plan);
    const nodes = model.graph.nodes;
    // onnxruntime runs nodes depth first from the last leaf: the values Concat must be last, and the nodes of the
    // first tensor (x) must come after those of later tensors, so that each is reduced as soon as it exists.
    expect(nodes.at(-1)!.opType).toBe('Concat');
    expect(nodes.at(-1)!.output(0)!.name).toBe(added.shared!.values);
    const firstReader = (name: string) =>
      nodes.findIndex((node) => node.inputs[0]?.name === name && node.is('Reshape'));
    expect(firstReader('x')).toBeGreaterThan(firstReader('square'));
    expect(firstReader('square')).toBeGreaterThan(firstReader('biased'));
    // Rows of min, max and the count as a float.
    expect(added.outputs.get('x')).toEqual({ offset: 0, count: 0, sum: undefined });
    expect(added.outputs.get('biased')).toEqual({ offset: 6, count: 2, sum: undefined });
    added.restore();
    expect(Buffer.from(encodeModel(model)).equals(Buffer.from(before))).toBe(true);
  });
});

describe('addStatisticsOutputs on many tensors', () => {
  it('joins them by a tree of small Concats, the root last, with the same results', async () => {
    const b = new GraphBuilder();
    let value = b.input('x', F, [2, 8]);
    for (let index = 0; index < 40; index++) value = b.op('Sigmoid', [value], { output: `s${index}` });
    b.output(value, { kind: 'tensor', elementType: F });
    const model = b.model({ opsetImports: [{ domain: '', version: 13 }] });
    const plan = planReductions(model, calibrationTensors(model), { moments: false });
    const added = addStatisticsOutputs(model, plan);
    const concats = model.graph.nodes.filter((node) => node.is('Concat'));
    expect(concats.length).toBeGreaterThan(3);
    expect(concats.every((node) => node.inputs.length <= 32)).toBe(true);
    expect(model.graph.nodes.at(-1)!.output(0)!.name).toBe(added.shared!.values);
    added.restore();
    const dataset = datasetFromSamples(samplesOf(3, 160, 4));
    const reduced = await calibrate(model, dataset, { executors: ortExecutorFactory, method: minmax });
    const observed = await observedTable(model, dataset);
    expect(Object.keys(reduced.tensors)).toHaveLength(41);
    for (const [name, tensor] of Object.entries(observed.tensors)) {
      const other = reduced.tensors[name]!;
      expect([other.min, other.max, other.statistics.count], name).toEqual([
        tensor.min,
        tensor.max,
        tensor.statistics.count,
      ]);
    }
  });
});

describe('calibrate by reductions', () => {
  it('gives the ranges, counts and moving averages of observing every value, bit for bit', async () => {
    const model = chain();
    const dataset = datasetFromSamples(samplesOf(5, 20));
    const reduced = await calibrate(model, dataset, { executors: ortExecutorFactory, method: minmax });
    const observed = await observedTable(model, dataset);
    expect(Object.keys(reduced.tensors).sort()).toEqual(Object.keys(observed.tensors).sort());
    for (const [name, tensor] of Object.entries(observed.tensors)) {
      const other = reduced.tensors[name]!;
      expect([other.min, other.max], name).toEqual([tensor.min, tensor.max]);
      expect(other.statistics.count, name).toBe(tensor.statistics.count);
      expect(other.statistics.movingAverage, name).toEqual(tensor.statistics.movingAverage);
      expect(other.statistics.mean, name).toBeUndefined();
      expect(other.statistics.std, name).toBeUndefined();
    }
    // Relu then Clip [0.5, 4.25] of 3 - 2x: the clip bounds are reached by these samples.
    expect(reduced.tensors.clipped!.statistics).toMatchObject({ min: 0.5, max: 4.25 });
  });

  it('records mean and standard deviation with moments', async () => {
    const model = chain();
    const dataset = datasetFromSamples(samplesOf(4, 40));
    const reduced = await calibrate(model, dataset, { executors: ortExecutorFactory, method: minmax, moments: true });
    const observed = await observedTable(model, dataset);
    for (const [name, tensor] of Object.entries(observed.tensors)) {
      const other = reduced.tensors[name]!.statistics;
      expect([other.min, other.max], name).toEqual([tensor.statistics.min, tensor.statistics.max]);
      // From float32 sums inside the runtime, so close rather than equal.
      expect(other.mean, name).toBeCloseTo(tensor.statistics.mean!, 4);
      expect(other.std, name).toBeCloseTo(tensor.statistics.std!, 4);
    }
  });

  it('calibrates only the tensors asked for, with the same ranges', async () => {
    const model = chain();
    const dataset = datasetFromSamples(samplesOf(3, 60));
    const all = await calibrate(model, dataset, { executors: ortExecutorFactory, method: minmax });
    const some = await calibrate(model, dataset, {
      executors: ortExecutorFactory,
      method: minmax,
      tensors: ['flipped', 'square'],
    });
    expect(Object.keys(some.tensors).sort()).toEqual(['flipped', 'square']);
    for (const name of ['flipped', 'square']) expect(some.tensors[name]).toEqual(all.tensors[name]);
  });

  it('counts a sample with an infinity apart, for the tensors derived from it too', async () => {
    const model = chain();
    const [first, second] = samplesOf(2, 80);
    const broken = new Float32Array(first!.x!.data as Float32Array);
    broken[5] = Number.POSITIVE_INFINITY;
    const dataset = datasetFromSamples([{ x: { type: 'float32', dims: [2, 8], data: broken } }, second!]);
    const table = await calibrate(model, dataset, { executors: ortExecutorFactory, method: minmax });
    expect(table.tensors.x!.statistics).toMatchObject({ count: 16, infinityCount: 1 });
    expect(table.tensors.scaled!.statistics).toMatchObject({ count: 16, infinityCount: 1 });
    expect(table.tensors.low!.statistics).toMatchObject({ count: 2, infinityCount: 0 });
  });

  it('derives nearest-neighbour upsampling and Concat, moments included', async () => {
    const model = upsampling();
    const plan = planReductions(model, calibrationTensors(model), { moments: true });
    expect(names(plan.measured)).toEqual(['x', 'squashed', 'squared', 'other']);
    expect(plan.derived.get('up')).toMatchObject({ sources: ['squashed'], repeats: 4 });
    // A Sigmoid keeps the shape: its count is its input's, no Shape of its own.
    expect([...plan.sameCount]).toEqual([['squashed', 'x']]);
    const added = addStatisticsOutputs(model, plan);
    expect(added.outputs.get('squashed')).toEqual({ offset: 5, count: undefined, sum: 7 });
    expect(model.graph.nodes.filter((node) => node.is('Shape'))).toHaveLength(3);
    added.restore();
    expect(plan.derived.get('joined')).toMatchObject({ sources: ['up', 'other'], repeats: 1 });
    const dataset = datasetFromSamples(
      Array.from({ length: 3 }, (_, index) => ({
        x: { type: 'float32', dims: [1, 2, 3, 4], data: normalValues(24, 120 + index, 3) } as ExecutorTensor,
      })),
    );
    for (const moments of [false, true]) {
      const reduced = await calibrate(model, dataset, { executors: ortExecutorFactory, method: minmax, moments });
      const observed = await observedTable(model, dataset);
      for (const [name, tensor] of Object.entries(observed.tensors)) {
        const other = reduced.tensors[name]!.statistics;
        expect([other.min, other.max, other.count], name).toEqual([
          tensor.statistics.min,
          tensor.statistics.max,
          tensor.statistics.count,
        ]);
        if (moments) expect(other.mean, name).toBeCloseTo(tensor.statistics.mean!, 4);
      }
    }
  });

  it('counts a tensor that takes its count from an input whose values are not finite', async () => {
    const model = upsampling();
    const data = normalValues(24, 140);
    data[7] = Number.NEGATIVE_INFINITY;
    const dataset = datasetFromSamples([{ x: { type: 'float32', dims: [1, 2, 3, 4], data } }]);
    const table = await calibrate(model, dataset, { executors: ortExecutorFactory, method: minmax });
    expect(table.tensors.x).toBeUndefined();
    // Sigmoid(-inf) = 0: the squashed values are finite, and there are as many as x has.
    expect(table.tensors.squashed!.statistics).toMatchObject({ count: 24, min: 0, infinityCount: 0 });
    expect(table.tensors.up!.statistics.count).toBe(96);
  });

  it('calibrates a float64 input whose float32 Cast is the only float32 tensor (no count of its own)', async () => {
    // `single` takes its count from `x`, which has outputs of its own: the shared rows then carry no count at all.
    const b = new GraphBuilder();
    const x = b.input('x', DataType.DOUBLE, [2, 3]);
    b.output(b.op('Cast', [x], { output: 'single', attributes: { to: F } }), { kind: 'tensor', elementType: F });
    const model = b.model({ opsetImports: [{ domain: '', version: 13 }] });
    const data = Float64Array.of(0.5, -1.5, 2, 3, -4, 0.25);
    const dataset = datasetFromSamples([{ x: { type: 'float64', dims: [2, 3], data } }]);
    const table = await calibrate(model, dataset, { executors: ortExecutorFactory, method: minmax });
    expect(table.tensors.single!.statistics).toMatchObject({ count: 6, min: -4, max: 3 });
  });

  it('adds nothing for a sample whose tensors are empty', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', F, ['rows', 4]);
    const y = b.op('Sigmoid', [x], { output: 'y' });
    b.output(b.op('Mul', [y, y], { output: 'z' }), { kind: 'tensor', elementType: F });
    const model = b.model({ opsetImports: [{ domain: '', version: 13 }] });
    const dataset = datasetFromSamples([
      { x: { type: 'float32', dims: [0, 4], data: new Float32Array(0) } },
      { x: { type: 'float32', dims: [2, 4], data: Float32Array.of(1, -2, 3, 4, 5, 6, -7, 8) } },
    ]);
    const table = await calibrate(model, dataset, { executors: ortExecutorFactory, method: minmax });
    expect(table.tensors.x!.statistics).toMatchObject({ count: 8, min: -7, max: 8, infinityCount: 0 });
    expect(table.tensors.z!.statistics.count).toBe(8);
  });

  it('gives tensors of unknown element type outputs of their own, and skips the integer ones', async () => {
    // Sin is not among the ops whose output type is known without inference; Shape gives int64.
    const b = new GraphBuilder();
    const x = b.input('x', F, [2, 8]);
    const sine = b.op('Sin', [x], { output: 'sine' });
    const clipped = b.op('Clip', [sine], { output: 'clipped', attributes: { min: -0.5, max: 0.75 } });
    b.op('Shape', [clipped], { output: 'shape' });
    b.output(clipped, { kind: 'tensor', elementType: F });
    const model = b.model({ opsetImports: [{ domain: '', version: 9 }] });
    const plan = planReductions(model, calibrationTensors(model), { moments: false });
    expect(names(plan.measured)).toEqual(['x', 'sine', 'shape']);
    expect(names([...plan.float32])).toEqual(['x']);
    // Clip of opset 9 takes its bounds as attributes.
    expect(plan.derived.get('clipped')).toMatchObject({ sources: ['sine'] });
    const dataset = datasetFromSamples(samplesOf(3, 100));
    const reduced = await calibrate(model, dataset, { executors: ortExecutorFactory, method: minmax });
    const observed = await observedTable(model, dataset);
    expect(Object.keys(reduced.tensors).sort()).toEqual(['clipped', 'sine', 'x']);
    for (const [name, tensor] of Object.entries(observed.tensors)) {
      expect([reduced.tensors[name]!.min, reduced.tensors[name]!.max], name).toEqual([tensor.min, tensor.max]);
      expect(reduced.tensors[name]!.statistics.count, name).toBe(tensor.statistics.count);
    }
  });
});
