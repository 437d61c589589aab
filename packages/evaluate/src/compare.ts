import type { CalibrationDataset } from '@whittle/calibrate';
import type { Model, Node, Value } from '@whittle/ir';
import type { Executor, ExecutorFactory, ExecutorTensor } from '@whittle/spec';
import { ErrorAccumulator, type ErrorMetrics, median } from './metrics.js';

export interface CompareOptions {
  executors: ExecutorFactory<Model>;
  /** Also compare every intermediate value the two models share by name, and rank where error enters. */
  perLayer?: boolean;
  /** Timed runs per model (alternating, after two warm-up runs each). Default 20; 0 skips timing. */
  latencyRuns?: number;
  /** Compare at most this many samples. */
  samples?: number;
  threads?: number;
  onProgress?: (done: number, total: number | undefined) => void;
  /** Sees both models' outputs for every sample: for task-level checks (decoded text, class, decision). */
  onOutputs?: (reference: Record<string, ExecutorTensor>, candidate: Record<string, ExecutorTensor>) => void;
}

export interface OutputComparison extends ErrorMetrics {
  name: string;
  /** Why the output could not be compared (missing in the candidate, shapes differ). */
  mismatch?: string;
}

export interface LayerComparison extends ErrorMetrics {
  name: string;
  /** The reference node producing the value. */
  node: string;
  opType: string;
  /**
   * Worst SQNR reaching the node's inputs: compared inputs' own, others' through the values they are computed from
   * (Infinity when fed only by graph inputs and constants).
   */
  inputSqnr: number;
  /** dB lost at this node: inputSqnr − sqnr, both capped at 200 dB. */
  drop: number;
  /**
   * The noise this node adds, as a fraction of its signal's power: 10^(−sqnr/10) − 10^(−inputSqnr/10); negative
   * when it removes noise. What ranks where error enters: a dB drop makes a layer just past exact inputs look worst
   * (200 → 45 dB loses 155 dB while adding noise at 45 dB, which no one would hear), where 20 → 14 dB loses 6.
   */
  addedNoise: number;
}

export interface ComparisonReport {
  samples: number;
  outputs: OutputComparison[];
  latency?: LatencyComparison;
  /** In the reference's node order. */
  layers?: LayerComparison[];
}

/** Values of the main graph worth comparing between two versions of a model: node outputs both models have. */
function sharedValues(reference: Model, candidate: Model): Map<string, Node> {
  const candidateNames = new Set<string>();
  for (const node of candidate.graph.nodes)
    for (const output of node.outputs) if (output) candidateNames.add(output.name);
  const outputs = new Set(reference.graph.outputs.map((value) => value.name));
  const shared = new Map<string, Node>();
  for (const node of reference.graph.nodes) {
    for (const output of node.outputs) {
      if (output && candidateNames.has(output.name) && !outputs.has(output.name)) shared.set(output.name, node);
    }
  }
  return shared;
}

async function timeRuns(first: Executor, second: Executor, sample: Parameters<Executor['run']>[0], runs: number) {
  const times: [number[], number[]] = [[], []];
  for (let warmUp = 0; warmUp < 2; warmUp++) {
    await first.run(sample);
    await second.run(sample);
  }
  // Alternating runs see the same machine load, which matters on noisy machines.
  for (let run = 0; run < runs; run++) {
    for (const [index, executor] of [first, second].entries()) {
      const started = performance.now();
      await executor.run(sample);
      times[index]!.push(performance.now() - started);
    }
  }
  return times.map(median) as [number, number];
}

export interface LatencyComparison {
  referenceMilliseconds: number;
  candidateMilliseconds: number;
  /** candidate / reference. */
  ratio: number;
  runs: number;
}

/**
 * Median latency of two models on one sample, in `runs` alternating runs each after two warm-up runs, on
 * executors made for timing alone (no captured values).
 */
export async function compareLatency(
  reference: Model,
  candidate: Model,
  sample: Parameters<Executor['run']>[0],
  options: { executors: ExecutorFactory<Model>; runs: number; threads?: number },
): Promise<LatencyComparison> {
  const settings = { ...(options.threads ? { threads: options.threads } : {}) };
  const referenceTimed = await options.executors.create(reference, settings);
  try {
    const candidateTimed = await options.executors.create(candidate, settings);
    try {
      const [referenceMilliseconds, candidateMilliseconds] = await timeRuns(
        referenceTimed,
        candidateTimed,
        sample,
        options.runs,
      );
      const ratio = candidateMilliseconds / referenceMilliseconds;
      return { referenceMilliseconds, candidateMilliseconds, ratio, runs: options.runs };
    } finally {
      await candidateTimed.dispose();
    }
  } finally {
    await referenceTimed.dispose();
  }
}

/**
 * Run a reference and a candidate model (say, float and quantized) over the same samples: per-output error
 * metrics, median latency of both measured in the same run, and optionally per-layer errors ranked by where
 * error enters.
 */
export async function compareModels(
  reference: Model,
  candidate: Model,
  dataset: CalibrationDataset,
  options: CompareOptions,
): Promise<ComparisonReport> {
  const shared = options.perLayer ? sharedValues(reference, candidate) : new Map<string, Node>();
  const capture = [...shared.keys()];
  const settings = { ...(options.threads ? { threads: options.threads } : {}) };
  const referenceExecutor = await options.executors.create(reference, { ...settings, capture });
  const candidateExecutor = await options.executors.create(candidate, { ...settings, capture });
  const outputs = new Map<string, ErrorAccumulator>();
  const layers = new Map<string, ErrorAccumulator>(capture.map((name) => [name, new ErrorAccumulator()]));
  const missing = new Map<string, string>();
  let samples = 0;
  let firstSample: Parameters<Executor['run']>[0] | undefined;
  try {
    const total =
      options.samples !== undefined && dataset.size !== undefined
        ? Math.min(options.samples, dataset.size)
        : (options.samples ?? dataset.size);
    for await (const sample of dataset.samples()) {
      if (options.samples !== undefined && samples >= options.samples) break;
      firstSample ??= sample;
      const expected = await referenceExecutor.run(sample);
      const actual = await candidateExecutor.run(sample);
      options.onOutputs?.(expected, actual);
      for (const name of reference.graph.outputs.map((value) => value.name)) {
        const candidateTensor = actual[name];
        if (!candidateTensor) {
          missing.set(name, 'the candidate has no output of this name');
          continue;
        }
        const accumulator = outputs.get(name) ?? new ErrorAccumulator();
        outputs.set(name, accumulator);
        accumulator.add(expected[name]!, candidateTensor);
      }
      for (const [name, accumulator] of layers) {
        const left = expected[name];
        const right = actual[name];
        if (left && right && left.type.startsWith('float') && right.type.startsWith('float'))
          accumulator.add(left, right);
      }
      samples++;
      options.onProgress?.(samples, total);
    }
  } finally {
    await referenceExecutor.dispose();
    await candidateExecutor.dispose();
  }
  const report: ComparisonReport = {
    samples,
    outputs: reference.graph.outputs.map((value) => {
      const accumulator = outputs.get(value.name);
      const metrics = accumulator?.result() ?? new ErrorAccumulator().result();
      const mismatch = missing.get(value.name) ?? accumulator?.mismatch;
      return { name: value.name, ...metrics, ...(mismatch ? { mismatch } : {}) };
    }),
  };
  const runs = options.latencyRuns ?? 20;
  if (runs > 0 && firstSample) {
    const timing = { executors: options.executors, runs, threads: options.threads };
    report.latency = await compareLatency(reference, candidate, firstSample, timing);
  }
  if (options.perLayer) report.layers = rankLayers(shared, layers);
  return report;
}

/** float32 rounding alone stays above ~140 dB: beyond 200 dB, differences in SQNR mean nothing. */
const capped = (sqnr: number) => Math.min(sqnr, 200);

/** Noise power over signal power, from an SQNR in dB (0 for an exact value). */
const noiseRatio = (sqnr: number) => 10 ** (-sqnr / 10);

function rankLayers(shared: Map<string, Node>, layers: Map<string, ErrorAccumulator>): LayerComparison[] {
  const sqnrs = new Map<string, number>();
  const upstream = new Map<Value, number>();
  /**
   * The SQNR reaching a value: its own when it was compared, else the worst among the compared values it is
   * computed from (a value the candidate renamed or fused away, a BatchNormalization folded into its Conv, is
   * looked through instead of counting as exact). Graph inputs and constants are exact.
   */
  const reaching = (value: Value | undefined): number => {
    if (!value) return Number.POSITIVE_INFINITY;
    const known = sqnrs.get(value.name) ?? upstream.get(value);
    if (known !== undefined) return known;
    upstream.set(value, Number.POSITIVE_INFINITY); // guards against cycles through malformed graphs
    const producer = value.producer;
    const result = producer
      ? Math.min(Number.POSITIVE_INFINITY, ...producer.inputs.map(reaching))
      : Number.POSITIVE_INFINITY;
    upstream.set(value, result);
    return result;
  };
  const results: LayerComparison[] = [];
  for (const [name, node] of shared) {
    const metrics = layers.get(name)!.result();
    if (metrics.elements === 0) continue;
    sqnrs.set(name, metrics.sqnr);
    const inputSqnr = Math.min(Number.POSITIVE_INFINITY, ...node.inputs.map(reaching));
    const drop = capped(inputSqnr) - capped(metrics.sqnr);
    // No signal at all (SQNR −Infinity) on both sides says nothing about this layer: 0, not Infinity − Infinity.
    const added = noiseRatio(metrics.sqnr) - noiseRatio(inputSqnr);
    const addedNoise = Number.isNaN(added) ? 0 : added;
    results.push({ name, node: node.name, opType: node.opType, inputSqnr, drop, addedNoise, ...metrics });
  }
  return results;
}
