import { DataType, type Model, type Value } from '@whittle/ir';
import type { Executor, ExecutorFactory, ExecutorTensor } from '@whittle/spec';
import { WhittleError } from '@whittle/spec';
import { withTakenBranches } from './branches.js';
import {
  type ChannelMeanRecorder,
  type ChannelMeans,
  type ChannelMeanTarget,
  channelMeanTargets,
  createChannelMeanSession,
} from './channel-means.js';
import { type CalibrationDataset, firstSample, limitDataset, type Sample } from './dataset.js';
import { TensorObserver } from './observer.js';
import { addStatisticsOutputs, planReductions, ReductionRecorder } from './reduced-statistics.js';
import type { RangeOptions } from './range-methods.js';
import {
  type CalibrationTable,
  type CreateCalibrationTableOptions,
  createCalibrationTable,
  modelFingerprint,
} from './table.js';

export interface CalibrateOptions {
  executors: ExecutorFactory<Model>;
  method: RangeOptions;
  /** Tensors to calibrate; default: the model's float inputs and the float outputs of main-graph nodes. */
  tensors?: readonly string[];
  /** Use at most this many samples. */
  samples?: number;
  /**
   * Bytes of captured tensors one run may return. Past it, tensors are captured in groups, one pass over the data
   * per group, so memory stays bounded on large models. Default 1 GiB.
   */
  captureBudgetBytes?: number;
  threads?: number;
  /** Histogram bins per tensor (default 2048). */
  bins?: number;
  /**
   * Keep histograms in the table so it can be re-targeted to other methods later. Default: true, except for
   * min-max, which then runs reductions inside the runtime instead of copying every activation out (much faster).
   */
  histograms?: boolean;
  /**
   * Min-max without histograms: also record each tensor's mean and standard deviation. Off by default: they take two
   * more reductions per tensor, and ranges do not need them. (Histograms always record them.)
   */
  moments?: boolean;
  /**
   * Also record the per-channel means of every calibrated Conv, Gemm and MatMul input (`statistics.channelMeans`),
   * which quantize-static's bias correction reads: ReduceMean nodes in the same session, no pass of their own.
   */
  channelMeans?: boolean;
  onProgress?: (progress: CalibrationProgress) => void;
  signal?: AbortSignal;
}

export interface CalibrationProgress {
  /** Sample runs done, over all groups. */
  done: number;
  total: number | undefined;
  group: number;
  groups: number;
}

const FLOAT_TYPES = new Set([DataType.FLOAT, DataType.FLOAT16, DataType.BFLOAT16, DataType.DOUBLE]);

/** Main-graph values whose ranges quantization needs: float (or untyped) graph inputs and node outputs. */
export function calibrationTensors(model: Model): string[] {
  const names: string[] = [];
  const wanted = (type: Model['graph']['inputs'][number]['type']) =>
    type === undefined || (type.kind === 'tensor' && FLOAT_TYPES.has(type.elementType));
  for (const input of model.graph.inputs) if (!input.initializer && wanted(input.type)) names.push(input.name);
  for (const node of model.graph.nodes) {
    for (const output of node.outputs) if (output?.name && wanted(output.type)) names.push(output.name);
  }
  return names;
}

/** Bytes of a tensor per sample when its shape is static; undefined when it is not known. */
function staticBytes(value: Value | undefined): number | undefined {
  const type = value?.type;
  if (type?.kind !== 'tensor' || !type.shape || !type.shape.every((dim) => typeof dim === 'number')) return undefined;
  const elements = (type.shape as number[]).reduce((product, dim) => product * dim, 1);
  return elements * (type.elementType === DataType.DOUBLE ? 8 : type.elementType === DataType.FLOAT ? 4 : 2);
}

/**
 * Run `handle` on every sample, in order; stops with CALIBRATION_ABORTED when the signal fires and with
 * DATASET_EMPTY when the dataset gave nothing. Returns how many samples there were.
 */
async function forEachSample(
  dataset: CalibrationDataset,
  signal: AbortSignal | undefined,
  handle: (sample: Sample, index: number) => Promise<void>,
): Promise<number> {
  let count = 0;
  for await (const sample of dataset.samples()) {
    if (signal?.aborted) throw new WhittleError('CALIBRATION_ABORTED', `calibration stopped after ${count} samples`);
    await handle(sample, count);
    count++;
  }
  if (count === 0) throw new WhittleError('DATASET_EMPTY', `the dataset (${dataset.description}) gave no samples`);
  return count;
}

/** The table of the observed tensors, with their channel means if recorded; `model` is the one the caller gave. */
async function tableFrom(
  model: Model,
  options: CalibrateOptions,
  samples: number,
  tensors: CreateCalibrationTableOptions['tensors'],
  histograms: boolean,
  channelMeans: ReadonlyMap<string, ChannelMeans> | undefined,
): Promise<CalibrationTable> {
  return createCalibrationTable({
    model: {
      fingerprint: await modelFingerprint(model),
      ...(model.producerName ? { producer: model.producerName } : {}),
    },
    method: options.method,
    samples,
    tensors,
    createdAt: new Date(),
    histograms,
    ...(channelMeans ? { channelMeans } : {}),
  });
}

function tensorBytes(tensor: ExecutorTensor): number {
  return ArrayBuffer.isView(tensor.data) ? tensor.data.byteLength : 0;
}

/** Split tensors into groups whose captured bytes per sample stay within the budget (each group holds at least one). */
function groupsWithin(sizes: ReadonlyMap<string, number>, budget: number): string[][] {
  const groups: string[][] = [];
  let current: string[] = [];
  let bytes = 0;
  for (const [name, size] of sizes) {
    if (current.length > 0 && bytes + size > budget) {
      groups.push(current);
      current = [];
      bytes = 0;
    }
    current.push(name);
    bytes += size;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

/**
 * Run a dataset through the model and return a calibration table: each tensor's statistics (histogram, extremes,
 * moving averages) and its range by the chosen method. Observers have a fixed size, so memory does not grow with
 * the number of samples, and tensors are captured in groups when capturing all of them at once would not fit.
 * Tensors inside the If branches the first sample takes are calibrated too (on a copy of the model with those
 * branches hoisted); the table keeps the names, which quantize-static finds inside the branches.
 */
export async function calibrate(
  model: Model,
  dataset: CalibrationDataset,
  options: CalibrateOptions,
): Promise<CalibrationTable> {
  const data = options.samples === undefined ? dataset : limitDataset(dataset, options.samples);
  const runnable = await withTakenBranches(model, data, options.executors);
  const names = [...new Set(options.tensors ?? calibrationTensors(runnable))];
  const wanted = new Set(names);
  const meanTargets = options.channelMeans
    ? channelMeanTargets(runnable).filter((target) => wanted.has(target.value.name))
    : [];
  if (options.method.method === 'minmax' && options.histograms !== true) {
    return calibrateByReduction(model, runnable, data, names, meanTargets, options);
  }
  const budget = options.captureBudgetBytes ?? 2 ** 30;
  const settings = options.threads ? { threads: options.threads } : {};
  const observers = new Map(
    names.map((name) => [name, new TensorObserver(name, options.bins ? { bins: options.bins } : {})]),
  );

  // Sizes: from static shapes where known, else measured by one run of the first sample capturing everything.
  const values = new Map([...runnable.graph.definedValues()].map((value) => [value.name, value]));
  const sizes = new Map<string, number>();
  const unknown = names.filter((name) => {
    const bytes = staticBytes(values.get(name));
    if (bytes !== undefined) sizes.set(name, bytes);
    return bytes === undefined;
  });
  let probe: { executor: Executor; recorder: ChannelMeanRecorder; outputs: Record<string, ExecutorTensor> } | undefined;
  if (unknown.length > 0) {
    // With the channel means: the probe's session serves the first group when there is only one.
    const session = await createChannelMeanSession(runnable, meanTargets, options.executors, {
      ...settings,
      capture: names,
    });
    const outputs = await session.executor.run(await firstSample(data));
    for (const name of names) sizes.set(name, outputs[name] ? tensorBytes(outputs[name]) : 0);
    probe = { ...session, outputs };
  }
  const groups = groupsWithin(new Map(names.map((name) => [name, sizes.get(name) ?? 0])), budget);
  // The probe captured everything: when one group holds all tensors, its session and first run are reused.
  const reuse = groups.length === 1 ? probe : undefined;
  if (probe && !reuse) await probe.executor.dispose();

  let done = 0;
  let samples = 0;
  let means: ChannelMeanRecorder | undefined;
  for (const [index, group] of groups.entries()) {
    // The channel means come from the first group's session alone: one pass over the data is enough.
    const session =
      reuse ??
      (await createChannelMeanSession(runnable, index === 0 ? meanTargets : [], options.executors, {
        ...settings,
        capture: group,
      }));
    const executor = session.executor;
    if (index === 0) means = session.recorder;
    try {
      samples = await forEachSample(data, options.signal, async (sample, position) => {
        const outputs = position === 0 && reuse ? reuse.outputs : await executor.run(sample);
        for (const name of group) {
          const tensor = outputs[name];
          if (tensor) observers.get(name)!.observe(tensor);
        }
        session.recorder.record(outputs);
        done++;
        const total = data.size === undefined ? undefined : data.size * groups.length;
        options.onProgress?.({ done, total, group: index, groups: groups.length });
      });
    } finally {
      await executor.dispose();
    }
  }
  return tableFrom(model, options, samples, observers, options.histograms !== false, means?.means());
}

/**
 * Min-max calibration from reductions computed by the runtime: a few scalars per measured tensor per sample, the
 * rest derived from them or constant (see `planReductions`).
 */
async function calibrateByReduction(
  model: Model,
  runnable: Model,
  dataset: CalibrationDataset,
  names: readonly string[],
  meanTargets: readonly ChannelMeanTarget[],
  options: CalibrateOptions,
): Promise<CalibrationTable> {
  const plan = planReductions(runnable, names, { moments: options.moments === true });
  // The reductions last: other outputs added after them would run first and keep every reduced tensor alive to the
  // end of the run (see addStatisticsOutputs).
  const {
    executor,
    recorder: means,
    added,
  } = await createChannelMeanSession(
    runnable,
    meanTargets,
    options.executors,
    options.threads ? { threads: options.threads } : {},
    (model) => addStatisticsOutputs(model, plan),
  );
  const recorder = new ReductionRecorder(plan, added!);
  let samples: number;
  try {
    samples = await forEachSample(dataset, options.signal, async (sample, position) => {
      const outputs = await executor.run(sample);
      recorder.record(outputs);
      means.record(outputs);
      options.onProgress?.({ done: position + 1, total: dataset.size, group: 0, groups: 1 });
    });
  } finally {
    await executor.dispose();
  }
  recorder.finish(samples);
  return tableFrom(model, options, samples, recorder.observers, false, means.means());
}
