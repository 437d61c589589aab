/**
 * Measured bias correction: after static quantization, the mean of each Conv and Gemm output channel drifts from the
 * float model's. Weight rounding is one cause, and static-bias-correction.ts removes its share analytically; the
 * others only data shows: activations clipped to their range, and noise turned into an offset by non-linearities
 * (the mean of relu(x + noise) is above relu(x)). Squeeze-and-excitation blocks average a whole feature map, so the
 * offsets are all that is left of their signal: in PP-OCR's detector the GlobalAveragePool of an SE block kept 0.2 dB.
 *
 * Here the drift is measured on data and subtracted from each int32 bias, layer after layer in dependency order:
 * correcting a layer changes what the layers after it receive, so correcting all of them from one measurement
 * over-corrects (on the detector the output fell to 0 dB). Layers that depend on none of each other form a level and
 * are corrected together. A level whose corrections lower the output fidelity on the same data is undone; the
 * recognizer, whose early layers' offsets are compensated further on, needs that.
 */
import {
  type CalibrationDataset,
  type ChannelMeanTarget,
  limitDataset,
  recordChannelMeans,
  spreadDataset,
  withTakenBranches,
} from '@whittle/calibrate';
import { ErrorAccumulator } from '@whittle/evaluate';
import { DataType, type Model, type Node, Tensor, type Value } from '@whittle/ir';
import type { ExecutorFactory, ExecutorTensor } from '@whittle/spec';
import { WhittleError } from '@whittle/spec';
import { isDequantizeLinear } from './static-qat.js';

export interface MeasuredBiasCorrectionOptions {
  executors: ExecutorFactory<Model>;
  /**
   * Use at most this many samples (default 128): every level runs them all, and the means settle long before (50
   * were enough on the OCR models).
   */
  samples?: number;
  /**
   * The float model's outputs are kept in memory to score each level: samples past this many bytes of them are not
   * used (default 256 MiB). The more samples, the less the corrections fit the few hard ones: on the OCR classifier,
   * 32 samples took the held-out output SQNR from 28.8 to 16.6 dB, 50 to 31.9 dB.
   */
  outputBudgetBytes?: number;
  threads?: number;
  signal?: AbortSignal;
  /** Runs done and to do (one pass over the samples per level, plus the float model's and a last one). */
  onProgress?: (done: number, total: number) => void;
}

export interface MeasuredBiasCorrectionResult {
  /** Conv and Gemm nodes with an int32 bias whose output the float model has too. */
  layers: number;
  /** Layers whose correction was kept. */
  corrected: number;
  /** Layers whose correction was undone, because it lowered the output fidelity. */
  undone: number;
  samples: number;
  /** Output SQNR on the samples (dB; the mean over float outputs, each at most 100), before and after. */
  fidelityBefore: number;
  fidelityAfter: number;
}

/** A bias the correction can change: a Conv or Gemm reading DequantizeLinear(int32 constant, scale). */
interface CorrectableBias {
  node: Node;
  target: ChannelMeanTarget;
  /** The int32 constant, and a copy of its values that the correction changes and writes back. */
  constant: Value;
  integers: Int32Array;
  scales: ArrayLike<number>;
}

/** Replace the bias constant by one holding the corrected values (a tensor's own bytes are never written to). */
function writeBack(bias: CorrectableBias): void {
  const tensor = bias.constant.initializer!;
  bias.constant.initializer = Tensor.fromArray(
    tensor.name,
    DataType.INT32,
    tensor.dims,
    Int32Array.from(bias.integers),
  );
}

/** Give each bias constant of `model` named like a corrected one the corrected values (names unique in it only). */
function copyBiasesBack(biases: readonly CorrectableBias[], model: Model): void {
  const byName = new Map<string, Value[]>();
  for (const graph of model.graphs()) {
    for (const value of graph.initializers) byName.set(value.name, [...(byName.get(value.name) ?? []), value]);
  }
  for (const bias of biases) {
    const found = byName.get(bias.constant.name);
    if (found?.length === 1) found[0]!.initializer = bias.constant.initializer;
  }
}

const FIDELITY_CEILING = 100;

function constantArray(value: Value | undefined): ArrayLike<number> | undefined {
  const tensor = value?.constant;
  return tensor ? (tensor.toArray() as ArrayLike<number>) : undefined;
}

/** The bias of a quantized Conv or Gemm, when it is an int32 constant only this node reads. */
function correctableBias(node: Node, referenceValues: ReadonlyMap<string, Value>): CorrectableBias | undefined {
  if (!node.is('Conv') && !node.is('Gemm')) return undefined;
  const output = node.output(0);
  const dequantize = node.input(2)?.producer;
  if (!output || !dequantize || !isDequantizeLinear(dequantize) || dequantize.output(0)?.uses.length !== 1)
    return undefined;
  const integersValue = dequantize.input(0);
  const tensor = integersValue?.constant;
  if (!tensor || tensor.dataType !== DataType.INT32 || tensor.dims.length !== 1 || integersValue.uses.length !== 1)
    return undefined;
  const scales = constantArray(dequantize.input(1));
  const channels = tensor.dims[0]!;
  if (!scales || (scales.length !== 1 && scales.length !== channels)) return undefined;
  const reference = referenceValues.get(output.name);
  if (!reference) return undefined;
  const weight = node.input(1);
  const weightDims = (weight?.producer && isDequantizeLinear(weight.producer) ? weight.producer.input(0) : weight)
    ?.constant?.dims;
  const rank = node.is('Gemm') ? 2 : weightDims?.length;
  if (rank === undefined) return undefined;
  return {
    node,
    target: { value: output, axis: 1, rank, channels },
    constant: integersValue,
    integers: Int32Array.from(tensor.toArray() as Int32Array),
    scales,
  };
}

/**
 * Levels of layers: a layer's level is one more than the highest level among the layers it depends on, so the
 * layers of a level depend on none of each other.
 */
function levelsOf(model: Model, biases: readonly CorrectableBias[]): CorrectableBias[][] {
  const byNode = new Map(biases.map((bias) => [bias.node, bias]));
  const depth = new Map<Node, number>();
  const levels: CorrectableBias[][] = [];
  for (const node of model.graph.nodes) {
    let level = 0;
    for (const input of node.inputs) {
      const producer = input?.producer;
      const known = producer && depth.get(producer);
      if (producer && known !== undefined) level = Math.max(level, known + (byNode.has(producer) ? 1 : 0));
    }
    depth.set(node, level);
    const bias = byNode.get(node);
    if (!bias) continue;
    const members = levels[level] ?? [];
    members.push(bias);
    levels[level] = members;
  }
  return levels.filter(Boolean);
}

function isFloatTensor(tensor: ExecutorTensor | undefined): tensor is ExecutorTensor {
  return tensor !== undefined && (tensor.type === 'float32' || tensor.type === 'float64');
}

/**
 * How close the quantized model's outputs are to the float model's: the mean over float outputs of each one's SQNR
 * over all samples (signal and noise summed over samples first, as `whittle compare` reports it: a per-sample mean
 * would let the many easy samples of a classifier outvote the few that decide its accuracy).
 */
class OutputFidelity {
  private readonly accumulators = new Map<string, ErrorAccumulator>();

  add(expected: Readonly<Record<string, ExecutorTensor>>, actual: Readonly<Record<string, ExecutorTensor>>): void {
    for (const [name, reference] of Object.entries(expected)) {
      const candidate = actual[name];
      if (!isFloatTensor(candidate)) continue;
      let accumulator = this.accumulators.get(name);
      if (!accumulator) {
        accumulator = new ErrorAccumulator();
        this.accumulators.set(name, accumulator);
      }
      accumulator.add(reference, candidate);
    }
  }

  /** In dB, each output's capped at FIDELITY_CEILING; NaN when no output could be compared. */
  result(): number {
    const values = [...this.accumulators.values()]
      .filter((accumulator) => !accumulator.mismatch)
      .map((accumulator) => Math.min(accumulator.result().sqnr, FIDELITY_CEILING));
    return values.length === 0 ? Number.NaN : values.reduce((sum, value) => sum + value, 0) / values.length;
  }
}

/**
 * Measure the drift of every Conv and Gemm output channel of `quantized` (QDQ form, as quantize-static writes it)
 * from `reference` (the float model it was made from; outputs matched by name) on `dataset`, and subtract it from the
 * int32 biases, level by level. Changes `quantized` in place; `reference` is left as it was.
 */
export async function correctBiasesOnData(
  reference: Model,
  quantized: Model,
  dataset: CalibrationDataset,
  options: MeasuredBiasCorrectionOptions,
): Promise<MeasuredBiasCorrectionResult> {
  // Spread over the data: the first 128 windows of streamed audio come from one or two recordings.
  let data = spreadDataset(dataset, options.samples ?? 128);
  const budget = options.outputBudgetBytes ?? 2 ** 28;
  // Layers inside If branches (Silero VAD's Convs) are measured on copies with the taken branches hoisted into the
  // main graph, as calibration does; the corrected biases go back to `quantized` by name at the end.
  const floatModel = await withTakenBranches(reference, data, options.executors);
  const working = await withTakenBranches(quantized, data, options.executors);
  const referenceValues = new Map<string, Value>();
  for (const node of floatModel.graph.nodes) {
    for (const output of node.outputs) if (output) referenceValues.set(output.name, output);
  }
  const biases = working.graph.nodes
    .map((node) => correctableBias(node, referenceValues))
    .filter((bias): bias is CorrectableBias => bias !== undefined);
  const levels = levelsOf(working, biases);
  const settings = options.threads ? { threads: options.threads } : {};
  const total = levels.length + 2;
  let runsDone = 0;

  /**
   * One pass of `model` over the samples with channel means for `targets`; `visit` sees each sample's outputs first,
   * and ends the pass before that sample by returning false.
   */
  const pass = async (
    model: Model,
    targets: readonly ChannelMeanTarget[],
    visit: (outputs: Record<string, ExecutorTensor>, index: number) => boolean | undefined,
  ) => {
    const recorder = recordChannelMeans(model, targets);
    let executor: Awaited<ReturnType<ExecutorFactory<Model>['create']>>;
    try {
      executor = await options.executors.create(model, settings);
    } finally {
      recorder.restore();
    }
    let index = 0;
    try {
      for await (const sample of data.samples()) {
        options.signal?.throwIfAborted();
        const outputs = await executor.run(sample);
        if (visit(outputs, index) === false) break;
        recorder.record(outputs);
        index++;
      }
    } finally {
      await executor.dispose();
    }
    if (index === 0) throw new WhittleError('DATASET_EMPTY', `the dataset (${dataset.description}) gave no samples`);
    options.onProgress?.(++runsDone, total);
    return { means: recorder.means(), samples: index };
  };

  // The float model's means and outputs, once.
  const expected: Record<string, ExecutorTensor>[] = [];
  const outputNames = floatModel.graph.outputs.map((value) => value.name);
  const referenceTargets = biases.map(({ target }) => ({ ...target, value: referenceValues.get(target.value.name)! }));
  let keptBytes = 0;
  const floatPass = await pass(floatModel, referenceTargets, (outputs) => {
    const kept = outputNames
      .filter((name) => isFloatTensor(outputs[name]))
      .map((name) => [name, outputs[name]!] as const);
    const bytes = kept.reduce((sum, [, tensor]) => sum + (tensor.data as ArrayBufferView).byteLength, 0);
    if (expected.length > 0 && keptBytes + bytes > budget) return false;
    keptBytes += bytes;
    expected.push(Object.fromEntries(kept));
    return true;
  });
  const referenceMeans = floatPass.means;
  // The quantized model's passes see the samples the float model's outputs were kept for.
  data = limitDataset(data, floatPass.samples);

  /** A pass of the quantized model: the means of `targets` and the mean fidelity of its outputs. */
  const measure = async (targets: readonly ChannelMeanTarget[]) => {
    const fidelity = new OutputFidelity();
    const { means } = await pass(working, targets, (outputs, index) => {
      fidelity.add(expected[index]!, outputs);
      return true;
    });
    return { means, fidelity: fidelity.result() };
  };

  let best = Number.NEGATIVE_INFINITY;
  let fidelityBefore = Number.NaN;
  let corrected = 0;
  let undone = 0;
  /** The integer steps the last level added, to undo it. */
  let lastLevel: { bias: CorrectableBias; steps: Int32Array }[] = [];
  const undoLastLevel = () => {
    for (const { bias, steps } of lastLevel) {
      for (let channel = 0; channel < steps.length; channel++) bias.integers[channel]! -= steps[channel]!;
      writeBack(bias);
    }
    corrected -= lastLevel.length;
    undone += lastLevel.length;
    lastLevel = [];
  };

  for (let index = 0; index <= levels.length; index++) {
    const level = levels[index] ?? [];
    // The corrections so far are in place: this pass scores them and measures the next level's drift. (When the
    // last level is undone, this level's drift was measured with it in place: a small error, and the next score
    // judges the result.)
    const { means, fidelity } = await measure(level.map((bias) => bias.target));
    if (index === 0) fidelityBefore = fidelity;
    if (fidelity < best) undoLastLevel();
    else best = fidelity;
    lastLevel = [];
    for (const bias of level) {
      const name = bias.target.value.name;
      const measured = means.get(name)?.values;
      const float = referenceMeans.get(name)?.values;
      if (!measured || !float || measured.length !== bias.integers.length) continue;
      const steps = new Int32Array(measured.length);
      for (let channel = 0; channel < steps.length; channel++) {
        const scale = bias.scales.length === 1 ? bias.scales[0]! : bias.scales[channel]!;
        if (!(scale > 0)) continue;
        const step = Math.round((float[channel]! - measured[channel]!) / scale);
        const next = bias.integers[channel]! + step;
        // int32 limits: a step that would overflow is not taken.
        if (next > 2147483647 || next < -2147483648) continue;
        steps[channel] = step;
        bias.integers[channel] = next;
      }
      writeBack(bias);
      lastLevel.push({ bias, steps });
      corrected++;
    }
  }
  if (working !== quantized) copyBiasesBack(biases, quantized);
  // Undoing a level returns to the state the best score was measured on, so `best` is the final state's score.
  return {
    layers: biases.length,
    corrected,
    undone,
    samples: floatPass.samples,
    fidelityBefore,
    fidelityAfter: best,
  };
}
