/**
 * Test-only helpers of the quantize tests (never exported from the package): pass contexts and checked pass runs,
 * ONNX Runtime runs of IR models, SQNR, op counts, random data, min-max calibration, and hand-built QDQ graphs
 * (QuantizeLinear / DequantizeLinear around float ops) compared with their lowered QOperator form.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataType, GraphBuilder, type Model, Tensor, type Value, verifyModel } from '@whittle/ir';
import { decodeModel, encodeModel } from '@whittle/onnx';
import type { DiagnosticInput, PassContext, PassDefinition, PassResult } from '@whittle/spec';
import {
  type OrtTensor,
  type Outputs,
  ort,
  type Random,
  runOnnxRuntime,
  type SessionSettings,
} from '@whittle/test-fixtures';
import { hoistBranches, mainGraphIfs } from '@whittle/calibrate';
import { inferShapes } from '@whittle/transforms';
import { expect } from 'vitest';
import { type LowerQOperatorOptions, lowerQOperator } from './lower-qoperator.js';
import { type QuantizeStaticOptions, quantizeStatic } from './quantize-static.js';

/** ONNX Runtime without its warnings in the test output. */
export const QUIET: SessionSettings = { logSeverityLevel: 4 };

/** ONNX Runtime logging errors only: what the quantize-static helpers have always used. */
const ERRORS_ONLY = { logSeverityLevel: 3 as const };

/** A pass context: diagnostics go into `reports`, analyses are computed when asked for, debug checks are on. */
export function contextFor(reports: DiagnosticInput[] = []): PassContext<Model> {
  const context: PassContext<Model> = {
    report: (diagnostic) => reports.push(diagnostic),
    analysis: (analysis, model) => analysis.compute(model, context),
    debug: true,
  };
  return context;
}

/** The verifier's errors. */
export const errorsOf = (model: Model) => verifyModel(model).filter((diagnostic) => diagnostic.severity === 'error');

/** The verifier's errors and warnings: `runChecked` holds passes to this stricter bar. */
export const errorsAndWarningsOf = (model: Model) =>
  verifyModel(model).filter((diagnostic) => diagnostic.severity !== 'info');

/** Run a pass on a model, collecting its diagnostics (shared by `runPass` and `runStatic`). */
async function runWithReports<T>(definition: PassDefinition<T, Model>, model: Model, options: T) {
  const reports: DiagnosticInput[] = [];
  const result = await definition.create(options).run(model, contextFor(reports));
  return { result, reports };
}

/**
 * Run a pass and check what it must keep: no verifier error or warning, the graph outputs' names and types, and
 * nothing left to change on a second run.
 */
export async function runChecked<T>(
  definition: PassDefinition<T, Model>,
  options: T,
  model: Model,
  reports: DiagnosticInput[] = [],
): Promise<PassResult<Model>> {
  const outputs = model.graph.outputs.map((value) => [value.name, value.type]);
  const result = await definition.create(options).run(model, contextFor(reports));
  expect(errorsAndWarningsOf(result.model)).toEqual([]);
  expect(model.graph.outputs.map((value) => [value.name, value.type])).toEqual(outputs);
  expect((await definition.create(options).run(model, contextFor())).changed).toBe(false);
  return result;
}

/** Run a pass with options, check the verifier finds no error, and return the result with its diagnostics. */
export async function runPass<T>(
  definition: PassDefinition<T, Model>,
  model: Model,
  options: T,
): Promise<PassResult<Model> & { reports: DiagnosticInput[] }> {
  const { result, reports } = await runWithReports(definition, model, options);
  expect(errorsOf(result.model)).toEqual([]);
  return { ...result, reports };
}

export async function runStatic(model: Model, options: QuantizeStaticOptions) {
  const { result, reports } = await runWithReports(quantizeStatic, model, options);
  return { ...result, statistics: result.statistics ?? {}, reports };
}

export function runModel(model: Model, feeds: Record<string, OrtTensor>, settings: SessionSettings = QUIET) {
  return runOnnxRuntime(encodeModel(model), feeds, settings);
}

/** Running sums of an SQNR: Σ ref² and Σ (ref − out)². */
interface SignalAndNoise {
  signal: number;
  noise: number;
}

function addSignalAndNoise(sums: SignalAndNoise, reference: ArrayLike<number>, actual: ArrayLike<number>): void {
  for (let index = 0; index < reference.length; index++) {
    const value = reference[index]!;
    sums.signal += value * value;
    sums.noise += (value - actual[index]!) ** 2;
  }
}

function decibels({ signal, noise }: SignalAndNoise): number {
  return noise === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10(signal / noise);
}

/** Signal-to-quantization-noise ratio in dB: 10 log10(Σ ref² / Σ (ref - q)²). */
export function sqnr(reference: ArrayLike<number>, quantized: ArrayLike<number>): number {
  const sums = { signal: 0, noise: 0 };
  addSignalAndNoise(sums, reference, quantized);
  return decibels(sums);
}

/** SQNR in dB over every float output; −∞ when an output is missing. */
export function outputsSqnr(reference: Outputs, actual: Outputs): number {
  const sums = { signal: 0, noise: 0 };
  for (const [name, expected] of Object.entries(reference)) {
    if (expected.type !== 'float32') continue;
    const got = actual[name];
    if (!got) return Number.NEGATIVE_INFINITY;
    addSignalAndNoise(sums, expected.data as Float32Array, got.data as Float32Array);
  }
  return decibels(sums);
}

/**
 * SQNR in dB over every float output, expecting each output's type and dims to match; −∞ when the noise is NaN,
 * ∞ when the outputs are identical.
 */
export function checkedOutputsSqnr(reference: Outputs, actual: Outputs): number {
  const sums = { signal: 0, noise: 0 };
  for (const [name, tensor] of Object.entries(reference)) {
    if (tensor.type !== 'float32') continue;
    const other = actual[name];
    expect(other?.type, `output ${name}`).toBe('float32');
    expect(other?.dims).toEqual(tensor.dims);
    addSignalAndNoise(sums, tensor.data as Float32Array, other!.data as Float32Array);
  }
  if (Number.isNaN(sums.noise)) return Number.NEGATIVE_INFINITY;
  return decibels(sums);
}

/** Nodes of each op type, subgraphs included. */
export function opCounts(model: Model): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const node of model.graph.allNodes()) counts[node.opType] = (counts[node.opType] ?? 0) + 1;
  return counts;
}

export const opTypesOf = (model: Model) => model.graph.nodes.map((node) => node.opType);

export function randomFloats(random: Random, count: number, low = -1, high = 1): Float32Array {
  return Float32Array.from({ length: count }, () => random.uniform(low, high));
}

export function floatTensor(name: string, dims: number[], values: ArrayLike<number>): Tensor {
  return Tensor.fromArray(name, DataType.FLOAT, dims, Float32Array.from(values));
}

export function floatFeed(dims: number[], values: ArrayLike<number>): OrtTensor {
  return new ort.Tensor('float32', Float32Array.from(values), dims);
}

/** Deterministic pseudo-random floats in [low, high) from a seed alone (no `Random` needed). */
export function seededFloats(count: number, seed: number, low = -1, high = 1): Float32Array {
  let state = seed >>> 0 || 1;
  return Float32Array.from({ length: count }, () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return low + ((state % 1_000_003) / 1_000_003) * (high - low);
  });
}

/** The elements of a constant as numbers (int64 included). */
export function numbersOf(tensor: Tensor): number[] {
  return Array.from(tensor.toArray() as ArrayLike<number | bigint>, Number);
}

/**
 * Move the nodes (and initializers) of every main-graph If's `then_branch` into the main graph, before the If, so
 * that their values can be graph outputs (ONNX Runtime returns main-graph values only). The If stays, its then
 * branch now returning the moved values: the model computes the same, and always runs that branch's ops.
 */
export function inlineThenBranches(model: Model): void {
  hoistBranches(model, new Map(mainGraphIfs(model).map(({ node }) => [node, 'then_branch' as const])));
}

/**
 * What the model computes for a float value after quantization: the output of the DequantizeLinear that follows
 * its QuantizeLinear, or the value itself where it is not quantized.
 */
export function quantizedView(model: Model, name: string): Value | undefined {
  for (const graph of model.graphs()) {
    const value = graph.findValue(name);
    if (!value) continue;
    const quantize = value.uses.find((use) => use.node.opType === 'QuantizeLinear')?.node;
    const dequantize = quantize?.output(0)?.uses.find((use) => use.node.opType === 'DequantizeLinear')?.node;
    return dequantize?.output(0) ?? value;
  }
  return undefined;
}

/** Make values graph outputs (main graph), by name. */
export function exposeValues(model: Model, values: readonly Value[]): void {
  for (const value of values) if (!model.graph.outputs.includes(value)) model.graph.outputs.push(value);
}

/** A deep copy, through the ONNX encoding. */
export function copyModel(model: Model): Model {
  return decodeModel(encodeModel(model)).model;
}

/**
 * Run with ONNX Runtime (CPU, one thread) at an optimization level; outputs by name. The quantize-static tests
 * compare ONNX Runtime's optimized (fused) run, so they need the level, which `runModel` does not take.
 */
export async function runOnOneThread(
  model: Model | Uint8Array,
  feeds: Record<string, OrtTensor>,
  optimization: 'disabled' | 'all' = 'all',
): Promise<Record<string, OrtTensor>> {
  const bytes = model instanceof Uint8Array ? model : encodeModel(model);
  const session = await ort.InferenceSession.create(bytes, {
    graphOptimizationLevel: optimization,
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    ...ERRORS_ONLY,
  });
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

type Range = { min: number; max: number };

/** Min and max of the finite values, or undefined when there is none. */
function finiteRange(data: Float32Array): Range | undefined {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const value of data) {
    if (!Number.isFinite(value)) continue;
    if (value < min) min = value;
    if (value > max) max = value;
  }
  return min > max ? undefined : { min, max };
}

/** Widen the range recorded for `name` to take in `range` (calibration over several runs). */
function widenRange(tensors: Record<string, Range>, name: string, range: Range | undefined): void {
  if (!range) return;
  const known = tensors[name];
  tensors[name] = known ? { min: Math.min(known.min, range.min), max: Math.max(known.max, range.max) } : range;
}

/**
 * Min-max calibration: every float value of the main graph becomes an output, the model runs on each feed, and
 * each value's range over all runs is recorded (what @whittle/calibrate's min-max observer computes).
 */
export async function minMaxTable(
  model: Model,
  feedsList: readonly Record<string, OrtTensor>[],
): Promise<{ tensors: Record<string, { min: number; max: number }> }> {
  const probe = copyModel(model);
  inlineThenBranches(probe);
  await inferShapes.create({}).run(probe, contextFor());
  const graph = probe.graph;
  const outputs = new Set(graph.outputs);
  for (const value of [...graph.inputs, ...graph.nodes.flatMap((node) => node.outputs)]) {
    if (!value || outputs.has(value) || value.initializer) continue;
    if (value.type?.kind !== 'tensor' || value.type.elementType !== DataType.FLOAT) continue;
    graph.outputs.push(value);
    outputs.add(value);
  }
  const tensors: Record<string, { min: number; max: number }> = {};
  const session = await ort.InferenceSession.create(encodeModel(probe), {
    graphOptimizationLevel: 'disabled',
    intraOpNumThreads: 1,
    ...ERRORS_ONLY,
  });
  try {
    for (const feeds of feedsList) {
      const results = await session.run(feeds);
      for (const [name, tensor] of Object.entries(results)) {
        if (tensor.type !== 'float32') continue;
        widenRange(tensors, name, finiteRange(tensor.data as Float32Array));
      }
      for (const name of Object.keys(feeds)) {
        const data = feeds[name]!.data;
        if (!(data instanceof Float32Array)) continue;
        const min = data.reduce((a, b) => Math.min(a, b), Number.POSITIVE_INFINITY);
        const max = data.reduce((a, b) => Math.max(a, b), Number.NEGATIVE_INFINITY);
        widenRange(tensors, name, { min, max });
      }
    }
  } finally {
    await session.release();
  }
  return { tensors };
}

/** Op types (domain-prefixed unless default) of the graph ONNX Runtime runs after its optimizations, with counts. */
export async function optimizedOpCounts(model: Model): Promise<Record<string, number>> {
  const folder = mkdtempSync(join(tmpdir(), 'whittle-static-'));
  const path = join(folder, 'optimized.onnx');
  try {
    const session = await ort.InferenceSession.create(encodeModel(model), {
      graphOptimizationLevel: 'all',
      optimizedModelFilePath: path,
      intraOpNumThreads: 1,
      ...ERRORS_ONLY,
    });
    await session.release();
    const { model: optimized } = decodeModel(new Uint8Array(readFileSync(path)));
    const counts: Record<string, number> = {};
    for (const graph of optimized.graphs()) {
      for (const node of graph.nodes) {
        const key = node.domain && node.domain !== 'ai.onnx' ? `${node.domain}::${node.opType}` : node.opType;
        counts[key] = (counts[key] ?? 0) + 1;
      }
    }
    return counts;
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

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
  const lowered = copyModel(model);
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
  const probe = copyModel(model);
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
  for (const feeds of feedsList) {
    const results = await runModel(probe, feeds);
    for (const [name, tensor] of Object.entries({ ...feeds, ...results })) {
      if (tensor.type === 'float32') widenRange(tensors, name, finiteRange(tensor.data as Float32Array));
    }
  }
  return { tensors };
}
