/**
 * Test-only helpers of the quantize-static tests (never exported from the package): a pass context, min-max
 * calibration by exposing every float intermediate tensor to ONNX Runtime, SQNR, and the op types of ONNX Runtime's
 * optimized graph (to see which Q/DQ groups it fused into integer kernels).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataType, type Model, Node, type Tensor, Value } from '@whittle/ir';
import { decodeModel, encodeModel } from '@whittle/onnx';
import type { DiagnosticInput, PassContext } from '@whittle/spec';
import { type OrtTensor, ort } from '@whittle/test-fixtures';
import { inferShapes } from '@whittle/transforms';
import { type QuantizeStaticOptions, quantizeStatic } from './quantize-static.js';

export function contextFor(reports: DiagnosticInput[] = []): PassContext<Model> {
  const context: PassContext<Model> = {
    report: (diagnostic) => reports.push(diagnostic),
    analysis: (analysis, model) => analysis.compute(model, context),
    debug: true,
  };
  return context;
}

export async function runStatic(model: Model, options: QuantizeStaticOptions) {
  const reports: DiagnosticInput[] = [];
  const result = await quantizeStatic.create(options).run(model, contextFor(reports));
  return { ...result, statistics: result.statistics ?? {}, reports };
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
  const main = model.graph;
  for (const node of main.nodes) {
    if (!node.is('If')) continue;
    const branch = node.attribute('then_branch');
    if (branch?.type !== 'graph') continue;
    const graph = branch.value;
    for (const value of [...graph.initializers]) {
      const tensor = value.initializer!;
      graph.removeInitializer(value);
      main.addInitializer(tensor, value);
    }
    for (const inner of graph.nodes) {
      graph.removeNode(inner, { force: true });
      main.insertBefore(node, inner);
      inner.inputs.forEach((value, index) => {
        inner.setInput(index, value);
      });
    }
    // ONNX Runtime rejects a branch that returns an outer value directly: return it through an Identity.
    graph.outputs.forEach((value, index) => {
      const identity = new Node({
        opType: 'Identity',
        name: `${value.name}_inlined`,
        inputs: [value],
        outputs: [new Value(`${value.name}_inlined`, value.type)],
      });
      graph.appendNode(identity);
      graph.outputs[index] = identity.output(0)!;
    });
  }
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

export function copyModel(model: Model): Model {
  return decodeModel(encodeModel(model)).model;
}

const QUIET = { logSeverityLevel: 3 as const };

/** Run with ONNX Runtime (CPU, one thread) at an optimization level; outputs by name. */
export async function runModel(
  model: Model | Uint8Array,
  feeds: Record<string, OrtTensor>,
  optimization: 'disabled' | 'all' = 'all',
): Promise<Record<string, OrtTensor>> {
  const bytes = model instanceof Uint8Array ? model : encodeModel(model);
  const session = await ort.InferenceSession.create(bytes, {
    graphOptimizationLevel: optimization,
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    ...QUIET,
  });
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
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
    ...QUIET,
  });
  try {
    for (const feeds of feedsList) {
      const results = await session.run(feeds);
      for (const [name, tensor] of Object.entries(results)) {
        if (tensor.type !== 'float32') continue;
        const data = tensor.data as Float32Array;
        let min = Number.POSITIVE_INFINITY;
        let max = Number.NEGATIVE_INFINITY;
        for (const value of data) {
          if (!Number.isFinite(value)) continue;
          if (value < min) min = value;
          if (value > max) max = value;
        }
        if (min > max) continue;
        const known = tensors[name];
        tensors[name] = known ? { min: Math.min(known.min, min), max: Math.max(known.max, max) } : { min, max };
      }
      for (const name of Object.keys(feeds)) {
        const data = feeds[name]!.data;
        if (!(data instanceof Float32Array)) continue;
        const min = data.reduce((a, b) => Math.min(a, b), Number.POSITIVE_INFINITY);
        const max = data.reduce((a, b) => Math.max(a, b), Number.NEGATIVE_INFINITY);
        const known = tensors[name];
        tensors[name] = known ? { min: Math.min(known.min, min), max: Math.max(known.max, max) } : { min, max };
      }
    }
  } finally {
    await session.release();
  }
  return { tensors };
}

/** Signal-to-quantization-noise ratio in dB: 10 log10(Σ ref² / Σ (ref - q)²). */
export function sqnr(reference: ArrayLike<number>, quantized: ArrayLike<number>): number {
  let signal = 0;
  let noise = 0;
  for (let index = 0; index < reference.length; index++) {
    const value = reference[index]!;
    signal += value * value;
    noise += (value - quantized[index]!) ** 2;
  }
  return noise === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10(signal / noise);
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
      ...QUIET,
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

/** Op types of a model with counts (all graphs). */
export function opCounts(model: Model): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const graph of model.graphs()) {
    for (const node of graph.nodes) counts[node.opType] = (counts[node.opType] ?? 0) + 1;
  }
  return counts;
}

/** Deterministic pseudo-random floats in [low, high). */
export function randomFloats(count: number, seed: number, low = -1, high = 1): Float32Array {
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
