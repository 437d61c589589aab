/**
 * The two halves of `quantize-static`: planning walks every graph in topological order (a subgraph right after the
 * node that holds it) and decides, node by node, what to quantize, all or nothing per node; emission then writes
 * the Q/DQ pairs, integer weights and int32 biases. Planning before writing lets a bias use the final parameters of
 * its input, and lets a node be skipped whole when one of its tensors has no range.
 */
import {
  DataType,
  type Graph,
  type Model,
  type NameGenerator,
  Node,
  type NumericArray,
  Tensor,
  topologicalOrder,
  tensorType,
  Value,
  type ValueType,
} from '@whittle/ir';
import type { DiagnosticInput } from '@whittle/spec';
import { computeQuantizationParameters, INTEGER_RANGES } from './quantization-parameters.js';
import { biasScales, biasWeightScaleFloors, quantizeBias } from './static-bias.js';
import { meansFitInput, weightRoundingShift } from './static-bias-correction.js';
import { QuantizeStaticCodes } from './static-codes.js';
import type { ResolvedStaticOptions, ResolvedTensorOverride } from './static-options.js';
import {
  type FoldedActivation,
  foldableActivation,
  isGraphOutput,
  type OpPlacement,
  placementOf,
  relativePrecisionReader,
  roleOf,
  sharingBlocker,
} from './static-placement.js';
import {
  dequantizeAfter,
  type ExistingParameters,
  isDequantizeLinear,
  quantizeReading,
  readQdqParameters,
} from './static-qat.js';
import { quantizeStaticBytes, type StaticQuantizedTensor, weightChannelAxis } from './static-weights.js';
import { floatsOfBytes } from './weight-kernels.js';

/** Per-tensor parameters of an activation. */
export interface ActivationParameters {
  scale: number;
  zeroPoint: number;
  type: DataType;
}

/** How a float tensor is, or is to be, quantized. */
interface TensorQuantization {
  value: Value;
  /** Per-tensor parameters; undefined for a per-channel or run-time-computed existing pair. */
  params: ActivationParameters | undefined;
  /** Per-channel scales of an existing DQ (a weight stored as integers). */
  channelScales: Float32Array | undefined;
  /** What quantized readers read: the (existing or new) DQ's output; undefined until emitted. */
  read: Value | undefined;
  /** Take the scale and zero point values of another tensor (data movement shares its input's parameters). */
  sharedWith: TensorQuantization | undefined;
  scaleValue: Value | undefined;
  zeroPointValue: Value | undefined;
}

type SkipReason = 'excluded' | 'missingRange' | 'floatInput' | 'unsupported';

interface WeightNeed {
  index: number;
  value: Value;
  axis: number | undefined;
}

interface NodePlan {
  node: Node;
  /** Activation inputs to point at an existing DQ's output. */
  reroutes: { index: number; state: TensorQuantization }[];
  weights: WeightNeed[];
  /** Constant inputs quantized per tensor in the activation type (Add/Mul constants, ...). */
  constants: { index: number; value: Value }[];
  bias: { index: number; value: Value } | undefined;
  /** The state of the data input, whose scale a bias takes. */
  input: TensorQuantization | undefined;
  /** Scales of a weight already stored as integers (QAT), or of a weight input quantized as an activation. */
  weightScales: Float32Array | undefined;
  /** A weight input that is not constant, quantized as an activation: its scale is known once planned. */
  weightState: TensorQuantization | undefined;
}

export interface StaticStatistics {
  nodesQuantized: number;
  nodesAlreadyQuantized: number;
  weightsQuantized: number;
  biasesQuantized: number;
  /** Biases shifted by the mean error of their op's rounded weights (bias correction). */
  biasesCorrected: number;
  constantsQuantized: number;
  activationsFolded: number;
  quantizeLinearNodes: number;
  dequantizeLinearNodes: number;
  skippedExcluded: number;
  skippedMissingRange: number;
  skippedFloatInput: number;
  skippedUnsupported: number;
}

export interface StaticPlannerSettings {
  options: ResolvedStaticOptions;
  names: NameGenerator;
  domain: string;
  opset: number;
  report: (diagnostic: DiagnosticInput) => void;
}

interface EmittedWeight {
  quantized: StaticQuantizedTensor;
  integers: Value;
  scale: Value;
  /**
   * Absent on int32 biases (always 0, DequantizeLinear's default): 4 bytes per channel less. Weights keep theirs:
   * ONNX Runtime fuses a Gemm's Q/DQ group only when its weight has one.
   */
  zeroPoint: Value | undefined;
  /** The DQ output per graph that reads it (one DQ per graph; ONNX Runtime duplicates shared DQs itself). */
  dequantized: Map<Graph, Value>;
}

const KEY_SEPARATOR = '\u0000';

function typedArrayOf(type: DataType, values: readonly number[]): NumericArray {
  switch (type) {
    case DataType.INT8:
      return Int8Array.from(values);
    case DataType.UINT8:
      return Uint8Array.from(values);
    case DataType.INT16:
      return Int16Array.from(values);
    case DataType.UINT16:
      return Uint16Array.from(values);
    default:
      return Int32Array.from(values);
  }
}

/**
 * A bias as the vector the integer kernels add per output channel, or undefined when it is not one: Conv and
 * ConvTranspose biases are 1-D; a Gemm's C of shape [N] or [1, N] is used as [N], a single value is repeated for
 * per-channel weights (C broadcasts over the output either way).
 */
function biasVector(node: Node, value: Value, channels: number): Float32Array | undefined {
  const tensor = value.constant;
  if (!tensor) return undefined;
  const values = tensor.toArray() as Float32Array;
  if (node.opType !== 'Gemm') return tensor.dims.length === 1 ? values : undefined;
  if (values.length === 1)
    return channels > 1 ? new Float32Array(channels).fill(values[0]!) : Float32Array.from(values);
  const { dims } = tensor;
  const rowVector = dims.length === 1 || (dims.length === 2 && dims[0] === 1);
  return rowVector ? values : undefined;
}

/** Nodes of a graph in topological order (as written when the graph has a cycle, which the verifier reports). */
function* walk(graph: Graph): Generator<Node> {
  for (const node of topologicalOrder(graph) ?? graph.nodes) {
    yield node;
    for (const subgraph of node.subgraphs()) yield* walk(subgraph);
  }
}

function withShape(type: ValueType | undefined, elementType: DataType): ValueType {
  if (type?.kind === 'tensor') return type.shape ? tensorType(elementType, [...type.shape]) : tensorType(elementType);
  return tensorType(elementType);
}

export class StaticPlanner {
  readonly statistics: StaticStatistics = {
    nodesQuantized: 0,
    nodesAlreadyQuantized: 0,
    weightsQuantized: 0,
    biasesQuantized: 0,
    biasesCorrected: 0,
    constantsQuantized: 0,
    activationsFolded: 0,
    quantizeLinearNodes: 0,
    dequantizeLinearNodes: 0,
    skippedExcluded: 0,
    skippedMissingRange: 0,
    skippedFloatInput: 0,
    skippedUnsupported: 0,
  };
  private readonly states = new Map<Value, TensorQuantization>();
  /** New pairs, in the order they were decided (a shared tensor after the one it shares with). */
  private readonly plans: TensorQuantization[] = [];
  private readonly nodePlans: NodePlan[] = [];
  private readonly reportedMissing = new Set<string>();
  /** Names whose override set the parameters of something quantized: the others are reported as unused. */
  private readonly usedOverrides = new Set<string>();
  private readonly keptFloat = new Set<Node>();
  private readonly weights = new Map<string, EmittedWeight>();
  private readonly replacedConstants = new Set<Value>();
  private readonly options: ResolvedStaticOptions;

  constructor(private readonly settings: StaticPlannerSettings) {
    this.options = settings.options;
  }

  /** Decide what to quantize in every graph of the model. */
  plan(model: Model): void {
    const pending: Node[] = [];
    for (const node of walk(model.graph)) {
      if (node.domain !== '' && node.domain !== 'ai.onnx') continue;
      if (!this.options.opTypes.has(node.opType)) continue;
      if (this.options.excluded(node)) {
        this.skip('excluded');
        continue;
      }
      if (this.visit(node) === 'floatInput') pending.push(node);
    }
    // An op seen before the op that quantizes its input: once that input is quantized, it follows.
    let progress = true;
    while (progress && pending.length > 0) {
      progress = false;
      for (const node of [...pending]) {
        if (this.visit(node) !== 'floatInput') {
          pending.splice(pending.indexOf(node), 1);
          progress = true;
        }
      }
    }
    this.statistics.skippedFloatInput += pending.length;
  }

  /**
   * Plan one node. Conv, ConvTranspose, Gemm and MatMul are always quantized (where the time goes); every other op
   * only next to them: when one of its float inputs is already quantized. An Add or Mul among float ops would only
   * add rounding (and a layer norm's `variance + eps` rounded to 0 divides by zero) without an integer kernel.
   */
  private visit(node: Node): SkipReason | undefined {
    const placement = placementOf(node);
    if (placement.kind === 'shared') return this.visitShared(node, placement);
    if (this.keptForRelativePrecision(node)) return 'unsupported';
    if (!placement.anchor && !this.hasQuantizedInput(node, placement)) return 'floatInput';
    this.visitComputed(node, placement);
    return undefined;
  }

  /** An op whose output feeds Log, Reciprocal, Sqrt or a divisor stays float (reported once, counted unsupported). */
  private keptForRelativePrecision(node: Node): boolean {
    const output = node.output(0);
    const reader = output && relativePrecisionReader(output);
    if (!reader) return false;
    if (!this.keptFloat.has(node)) {
      this.keptFloat.add(node);
      this.skip('unsupported');
      this.settings.report({
        code: QuantizeStaticCodes.KEPT_FOR_RELATIVE_PRECISION,
        severity: 'info',
        message: `${node.describe()} stays in float: its output reaches ${reader.describe()}, which needs relative precision (rounding to a fixed step turns small values into 0)`,
        location: { graph: node.graph?.name ?? '', node: node.name, value: output!.name },
      });
    }
    return true;
  }

  private hasQuantizedInput(node: Node, placement: OpPlacement): boolean {
    return node.inputs.some((value, index) => {
      const role = roleOf(placement, index);
      if (!value || role === 'ignore' || role === 'bias' || value.constant) return false;
      return this.stateOf(value) !== undefined;
    });
  }

  /** True when planning found anything to write. */
  get hasWork(): boolean {
    return this.plans.length > 0 || this.nodePlans.some((plan) => this.nodePlanHasWork(plan));
  }

  private nodePlanHasWork(plan: NodePlan): boolean {
    return (
      plan.weights.length > 0 ||
      plan.constants.length > 0 ||
      plan.bias !== undefined ||
      plan.reroutes.some(({ index, state }) => state.read !== undefined && plan.node.input(index) !== state.read)
    );
  }

  private skip(reason: SkipReason): void {
    switch (reason) {
      case 'excluded':
        this.statistics.skippedExcluded++;
        break;
      case 'missingRange':
        this.statistics.skippedMissingRange++;
        break;
      case 'floatInput':
        this.statistics.skippedFloatInput++;
        break;
      case 'unsupported':
        this.statistics.skippedUnsupported++;
        break;
    }
  }

  // ---- facts about values -------------------------------------------------------------------------------------

  private isFloat(value: Value): boolean {
    const type = value.type;
    if (type?.kind === 'tensor') return type.elementType === DataType.FLOAT;
    if (type !== undefined) return false;
    if (value.initializer) return value.initializer.dataType === DataType.FLOAT;
    const override = this.options.overrides.get(value.name);
    return this.options.ranges.has(value.name) || (override?.min !== undefined && override.max !== undefined);
  }

  private isFloatConstant(value: Value): boolean {
    return value.constant?.dataType === DataType.FLOAT;
  }

  /** The state of a value quantized by the input model (between a Q and a DQ) or planned earlier. */
  private stateOf(value: Value): TensorQuantization | undefined {
    const known = this.states.get(value);
    if (known) return known;
    const producer = value.producer;
    let state: TensorQuantization | undefined;
    if (producer && isDequantizeLinear(producer)) state = this.existingState(value, readQdqParameters(producer), value);
    else {
      const quantize = quantizeReading(value);
      if (quantize) {
        const dequantize = dequantizeAfter(quantize);
        state = this.existingState(value, readQdqParameters(quantize), dequantize?.output(0) ?? value);
      }
    }
    if (state) this.states.set(value, state);
    return state;
  }

  private existingState(value: Value, found: ExistingParameters | undefined, read: Value): TensorQuantization {
    const perTensor = found !== undefined && found.scales.length === 1;
    return {
      value,
      params: perTensor
        ? { scale: found.scales[0]!, zeroPoint: found.zeroPoints[0] ?? 0, type: found.type }
        : undefined,
      channelScales: found && !perTensor ? found.scales : undefined,
      read,
      sharedWith: undefined,
      scaleValue: found?.scaleValue,
      zeroPointValue: found?.zeroPointValue,
    };
  }

  /** The override of a weight or constant, noted as used: the caller quantizes it with the override. */
  private overrideFor(name: string): ResolvedTensorOverride | undefined {
    const override = this.options.overrides.get(name);
    if (override) this.usedOverrides.add(name);
    return override;
  }

  /** A warning per override that set nothing: a name the model lacks, or a tensor left in float or folded away. */
  reportUnusedOverrides(): void {
    for (const name of this.options.overrides.keys()) {
      if (this.usedOverrides.has(name)) continue;
      this.settings.report({
        code: QuantizeStaticCodes.OVERRIDE_UNUSED,
        severity: 'warning',
        message:
          `the override of '${name}' set nothing: no tensor of that name is quantized (missing, left in float, ` +
          'or folded into an activation whose own override wins)',
        location: { value: name, path: `options.overrides.${name}` },
      });
    }
  }

  private rangeOf(name: string): { min: number | undefined; max: number | undefined } {
    const override = this.options.overrides.get(name);
    const table = this.options.ranges.get(name);
    return { min: override?.min ?? table?.min, max: override?.max ?? table?.max };
  }

  /**
   * Parameters from the overrides and the table; `fallback` completes a range they leave open. With them, the names
   * of the overrides they took: the value's own, and that of an op output folded into it (`foldedFrom`, never
   * quantized itself) for its type or symmetry when the value has no override, for its range when the fallback
   * (that output's range) filled a bound.
   */
  private activationParameters(
    value: Value,
    fallback?: { min: number; max: number },
    foldedFrom?: Value,
  ): { params: ActivationParameters; overrides: string[] } | undefined {
    let { min, max } = this.rangeOf(value.name);
    const filled = fallback !== undefined && (min === undefined || max === undefined);
    if (fallback) {
      min ??= fallback.min;
      max ??= fallback.max;
    }
    if (min === undefined || max === undefined) return undefined;
    const own = this.options.overrides.get(value.name);
    const carried = foldedFrom ? this.options.overrides.get(foldedFrom.name) : undefined;
    const overrides = own ? [value.name] : [];
    if (foldedFrom && carried) {
      const kind = !own && (carried.type !== undefined || carried.symmetric !== undefined);
      const range = filled && (carried.min !== undefined || carried.max !== undefined);
      if (kind || range) overrides.push(foldedFrom.name);
    }
    return { params: this.parametersFor(min, max, own ?? carried), overrides };
  }

  private parametersFor(min: number, max: number, override: ResolvedTensorOverride | undefined): ActivationParameters {
    const type = override?.type ?? this.options.activationType;
    const symmetric = override?.symmetric ?? this.options.symmetricActivations;
    return computeQuantizationParameters(Math.min(min, max), Math.max(min, max), type, { symmetric });
  }

  /** The range a folded activation's output takes, from the range of the op's output. */
  private foldedRange(output: Value, folded: FoldedActivation): { min: number; max: number } | undefined {
    const { min, max } = this.rangeOf(output.name);
    if (min === undefined || max === undefined) return undefined;
    const clamp = (value: number) => Math.min(folded.high, Math.max(folded.low, value));
    return { min: clamp(min), max: clamp(max) };
  }

  private reportMissing(node: Node, name: string): void {
    if (this.reportedMissing.has(name)) return;
    this.reportedMissing.add(name);
    this.settings.report({
      code: QuantizeStaticCodes.MISSING_RANGE,
      severity: 'warning',
      message: `tensor '${name}' has no range in the calibration table${this.options.hasTable ? '' : ' (none given)'}; ${node.describe()} stays in float`,
      location: { graph: node.graph?.name ?? '', node: node.name, value: name },
    });
  }

  // ---- planning ------------------------------------------------------------------------------------------------

  private newState(value: Value, params: ActivationParameters, sharedWith?: TensorQuantization): TensorQuantization {
    return {
      value,
      params,
      channelScales: undefined,
      read: undefined,
      sharedWith,
      scaleValue: undefined,
      zeroPointValue: undefined,
    };
  }

  private commitState(state: TensorQuantization): TensorQuantization {
    const known = this.states.get(state.value);
    if (known) return known;
    this.states.set(state.value, state);
    this.plans.push(state);
    return state;
  }

  private emptyPlan(node: Node): NodePlan {
    return {
      node,
      reroutes: [],
      weights: [],
      constants: [],
      bias: undefined,
      input: undefined,
      weightScales: undefined,
      weightState: undefined,
    };
  }

  private recordNode(plan: NodePlan, added: number): void {
    this.nodePlans.push(plan);
    if (added > 0 || this.nodePlanHasWork(plan)) this.statistics.nodesQuantized++;
    else this.statistics.nodesAlreadyQuantized++;
  }

  /** Compute and concat ops: each float input and output quantized with parameters of its own. */
  private visitComputed(node: Node, placement: OpPlacement): void {
    const plan = this.emptyPlan(node);
    const fresh: { value: Value; params: ActivationParameters; applied: string[] }[] = [];
    const unionOutputs: Value[] = [];
    const missing: string[] = [];
    /** Parameters of the activation inputs (undefined where unknown), for a Concat output without a range. */
    const inputParams: (ActivationParameters | undefined)[] = [];
    let floatInputs = 0;

    node.inputs.forEach((value, index) => {
      const role = roleOf(placement, index);
      if (!value || role === 'ignore') return;
      if (role === 'bias') {
        if (!isDequantizeLinear(value.producer) && this.isFloatConstant(value)) plan.bias = { index, value };
        return;
      }
      if (role === 'weight') {
        if (isDequantizeLinear(value.producer)) {
          const state = this.stateOf(value);
          plan.weightScales = state?.channelScales ?? (state?.params ? Float32Array.of(state.params.scale) : undefined);
          floatInputs++;
          return;
        }
        if (this.isFloatConstant(value)) {
          const dims = value.constant!.dims;
          const axis = this.options.perChannel ? weightChannelAxis(node, index, dims.length) : undefined;
          plan.weights.push({ index, value, axis });
          floatInputs++;
          return;
        }
      }
      if (!this.isFloat(value)) {
        // Integer and boolean inputs (shapes, indices, masks) are left alone. A value of unknown type is float
        // only if calibration saw it; without a range it cannot be told apart from an integer one.
        if (value.type === undefined && !value.initializer) missing.push(value.name);
        return;
      }
      floatInputs++;
      const state = this.stateOf(value);
      if (state) {
        plan.reroutes.push({ index, state });
        inputParams.push(state.params);
        if (index === 0) plan.input = state;
        if (role === 'weight') plan.weightState = state;
        return;
      }
      if (this.isFloatConstant(value)) {
        plan.constants.push({ index, value });
        inputParams.push(undefined);
        return;
      }
      const planned = this.activationParameters(value);
      if (!planned) {
        missing.push(value.name);
        return;
      }
      fresh.push({ value, params: planned.params, applied: planned.overrides });
      inputParams.push(planned.params);
    });
    // An op on integers only (shape arithmetic) is not a candidate.
    if (floatInputs === 0 && missing.length === 0) return;

    const outputs =
      placement.outputs === 'all'
        ? node.outputs.filter((value): value is Value => value !== undefined && this.isFloat(value))
        : placement.outputs.map((index) => node.output(index)).filter((value): value is Value => value !== undefined);
    let folded: FoldedActivation | undefined;
    for (const output of outputs) {
      folded =
        placement.kind === 'compute' && outputs.length === 1
          ? foldableActivation(output, this.settings.opset)
          : undefined;
      const target = folded?.output ?? output;
      if (this.stateOf(target)) continue;
      const planned = folded
        ? this.activationParameters(target, this.foldedRange(output, folded), output)
        : this.activationParameters(target);
      if (planned) fresh.push({ value: target, params: planned.params, applied: planned.overrides });
      else if (placement.kind === 'concat') unionOutputs.push(target);
      else missing.push(target.name);
    }
    // Concat without a calibrated output range: the union of its inputs' quantized ranges, which loses nothing.
    const union = unionOutputs.length > 0 ? this.unionOf(inputParams) : undefined;
    for (const output of unionOutputs) {
      if (!union) missing.push(output.name);
      else
        fresh.push({
          value: output,
          params: this.parametersFor(union.min, union.max, this.options.overrides.get(output.name)),
          applied: this.options.overrides.has(output.name) ? [output.name] : [],
        });
    }

    if (missing.length > 0) {
      for (const name of missing) this.reportMissing(node, name);
      this.skip('missingRange');
      return;
    }
    for (const { value, params, applied } of fresh) {
      for (const name of applied) this.usedOverrides.add(name);
      const state = this.commitState(this.newState(value, params));
      if (node.input(0) === value) plan.input = state;
    }
    if (folded && fresh.some(({ value }) => value === folded.output)) this.statistics.activationsFolded++;
    this.recordNode(plan, fresh.length);
  }

  /** The float range covered by every one of these per-tensor parameters, or undefined if one is unknown. */
  private unionOf(params: readonly (ActivationParameters | undefined)[]): { min: number; max: number } | undefined {
    if (params.length === 0) return undefined;
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (const entry of params) {
      const integers = entry && INTEGER_RANGES[entry.type];
      if (!entry || !integers) return undefined;
      min = Math.min(min, (integers.min - entry.zeroPoint) * entry.scale);
      max = Math.max(max, (integers.max - entry.zeroPoint) * entry.scale);
    }
    return { min, max };
  }

  /**
   * Data movement, MaxPool, Resize: quantized only when the input already is; the outputs share its parameters
   * (an output with an override of its own gets its own). Returns the reason when the node is left in float.
   */
  private visitShared(node: Node, placement: OpPlacement): SkipReason | undefined {
    const input = node.input(0);
    const state = input ? this.stateOf(input) : undefined;
    if (!state?.params) return 'floatInput';
    if (sharingBlocker(node, this.settings.opset) !== undefined) {
      this.skip('unsupported');
      return 'unsupported';
    }
    const plan = this.emptyPlan(node);
    plan.reroutes.push({ index: 0, state });
    plan.input = state;
    const outputs =
      placement.outputs === 'all'
        ? node.outputs.filter((value): value is Value => value !== undefined)
        : placement.outputs.map((index) => node.output(index)).filter((value): value is Value => value !== undefined);
    let added = 0;
    for (const output of outputs) {
      if (output.type !== undefined && !this.isFloat(output)) continue;
      if (this.stateOf(output)) continue;
      const override = this.options.overrides.get(output.name);
      const own = override !== undefined && (override.type !== undefined || this.hasRange(output));
      const params = own ? this.activationParameters(output, this.unionOf([state.params]))?.params : state.params;
      if (!params) continue;
      this.commitState(this.newState(output, params, own ? undefined : state));
      if (own) this.usedOverrides.add(output.name);
      added++;
    }
    this.recordNode(plan, added);
    return undefined;
  }

  private hasRange(value: Value): boolean {
    const { min, max } = this.rangeOf(value.name);
    return min !== undefined && max !== undefined;
  }

  // ---- emission ------------------------------------------------------------------------------------------------

  /** Write every planned pair, weight, constant and bias into the model. */
  emit(): void {
    for (const state of this.plans) this.emitActivation(state);
    for (const plan of this.nodePlans) this.emitNode(plan);
    for (const value of this.replacedConstants) {
      const graph = value.graph;
      if (!graph || value.isUsed) continue;
      graph.removeInitializer(value);
      const info = graph.valueInfo.indexOf(value);
      if (info >= 0) graph.valueInfo.splice(info, 1);
    }
  }

  private scalarInitializer(graph: Graph, base: string, type: DataType, value: number): Value {
    const name = this.settings.names.fresh(base);
    const data = type === DataType.FLOAT ? Float32Array.of(value) : typedArrayOf(type, [value]);
    return graph.addInitializer(Tensor.fromArray(name, type, [], data), new Value(name, tensorType(type, [])));
  }

  private initializer(graph: Graph, base: string, type: DataType, dims: readonly number[], data: NumericArray): Value {
    const name = this.settings.names.fresh(base);
    return graph.addInitializer(Tensor.fromArray(name, type, dims, data), new Value(name, tensorType(type, [...dims])));
  }

  private qdqNode(
    opType: 'QuantizeLinear' | 'DequantizeLinear',
    base: string,
    inputs: Value[],
    output: Value,
    axis?: number,
  ): Node {
    if (opType === 'QuantizeLinear') this.statistics.quantizeLinearNodes++;
    else this.statistics.dequantizeLinearNodes++;
    return new Node({
      opType,
      domain: this.settings.domain,
      name: this.settings.names.fresh(`${base}_${opType}`),
      inputs,
      outputs: [output],
      attributes: axis === undefined ? [] : [{ name: 'axis', type: 'int', value: axis }],
    });
  }

  private emitActivation(state: TensorQuantization): void {
    const value = state.value;
    const graph = value.graph;
    const params = state.params!;
    if (!graph) return;
    const source = state.sharedWith;
    if (source?.scaleValue && (source.zeroPointValue || source.params?.type === DataType.UINT8)) {
      state.scaleValue = source.scaleValue;
      state.zeroPointValue = source.zeroPointValue;
    } else {
      state.scaleValue = this.scalarInitializer(graph, `${value.name}_scale`, DataType.FLOAT, params.scale);
      state.zeroPointValue = this.scalarInitializer(graph, `${value.name}_zero_point`, params.type, params.zeroPoint);
    }
    const inputs = [state.scaleValue, ...(state.zeroPointValue ? [state.zeroPointValue] : [])];
    const quantized = new Value(
      this.settings.names.fresh(`${value.name}_quantized`),
      withShape(value.type, params.type),
    );
    const dequantized = new Value(
      this.settings.names.fresh(`${value.name}_dequantized`),
      withShape(value.type, DataType.FLOAT),
    );
    if (value.type) dequantized.type = structuredClone(value.type);
    const quantize = this.qdqNode('QuantizeLinear', value.name, [value, ...inputs], quantized);
    const dequantize = this.qdqNode('DequantizeLinear', value.name, [quantized, ...inputs], dequantized);
    const producer = value.producer;
    if (producer && producer.graph === graph) graph.insertAfter(producer, quantize);
    else {
      const first = graph.nodes[0];
      if (first) graph.insertBefore(first, quantize);
      else graph.appendNode(quantize);
    }
    graph.insertAfter(quantize, dequantize);
    for (const use of [...value.uses]) if (use.node !== quantize) use.node.setInput(use.index, dequantized);
    if (isGraphOutput(value) && !graph.inputs.includes(value)) {
      // Graph outputs keep their names (callers address them by name): the DQ output takes it over. (A graph input
      // returned as it is stays so.)
      const name = value.name;
      value.name = this.settings.names.fresh(`${name}_float`);
      dequantized.name = name;
      for (const returning of [graph, ...graph.nestedGraphs()]) {
        returning.outputs.forEach((output, index) => {
          if (output === value) returning.outputs[index] = dequantized;
        });
      }
    }
    state.read = dequantized;
  }

  private emitNode(plan: NodePlan): void {
    const { node } = plan;
    for (const { index, state } of plan.reroutes) {
      if (state.read && node.input(index) !== state.read && node.input(index) === state.value)
        node.setInput(index, state.read);
    }
    let weightScales =
      plan.weightScales ?? (plan.weightState?.params ? Float32Array.of(plan.weightState.params.scale) : undefined);
    let shift: Float64Array | undefined;
    const means = this.inputChannelMeans(plan);
    for (const need of plan.weights) {
      // Read once (external data is read from its file on each call).
      const bytes = need.value.constant!.bytes();
      const emitted = this.emitWeight(node, need, this.biasFloors(plan, need), bytes);
      weightScales = emitted.quantized.scales;
      // The float values as an array only here: a full copy when their bytes are not 4-byte aligned.
      if (means) shift = weightRoundingShift(node, floatsOfBytes(bytes), emitted.quantized, means);
    }
    for (const { index, value } of plan.constants) this.emitConstant(node, index, value);
    if (shift && !plan.bias) this.placeBiasCorrection(plan, shift);
    if (plan.bias) this.emitBias(plan, weightScales, shift);
  }

  /** The per-channel means of the op's data input bias correction reads, when the table has them. */
  private inputChannelMeans(plan: NodePlan): readonly number[] | undefined {
    const input = plan.input?.value;
    const means = input && this.options.channelMeans.get(input.name);
    if (!means) return undefined;
    const rank = input.type?.kind === 'tensor' ? input.type.shape?.length : undefined;
    return meansFitInput(plan.node, means.axis, rank) ? means.values : undefined;
  }

  /**
   * Where the shift goes when the op has no bias of its own (emitBias subtracts it from one): a new bias for a Conv
   * or Gemm, or the constant of the Add that alone reads a MatMul's output. Elsewhere the shift is dropped.
   */
  private placeBiasCorrection(plan: NodePlan, shift: Float64Array): void {
    const { node } = plan;
    if (node.opType === 'Conv' || node.opType === 'Gemm') {
      if (!plan.input?.params || node.input(2)) return;
      const bias = this.initializer(
        node.graph!,
        `${node.name || node.opType}_bias`,
        DataType.FLOAT,
        [shift.length],
        new Float32Array(shift.length),
      );
      node.setInput(2, bias);
      plan.bias = { index: 2, value: bias };
      return;
    }
    if (node.opType === 'MatMul' && this.correctFollowingAdd(node, shift)) this.statistics.biasesCorrected++;
  }

  /** MatMul → Add(constant [N]): the constant is the bias (read by nothing else, so it can change in place). */
  private correctFollowingAdd(node: Node, shift: Float64Array): boolean {
    const output = node.output(0);
    if (output?.uses.length !== 1 || isGraphOutput(output)) return false;
    const add = output.uses[0]!.node;
    if (!add.is('Add')) return false;
    const constant = add.input(1 - output.uses[0]!.index);
    const tensor = constant?.constant;
    if (!constant || !tensor || tensor.dataType !== DataType.FLOAT || tensor.elementCount !== shift.length)
      return false;
    if (constant.uses.length !== 1 || isGraphOutput(constant) || tensor.dims.at(-1) !== shift.length) return false;
    const values = Float32Array.from(tensor.toArray() as Float32Array, (value, index) => value - shift[index]!);
    constant.initializer = Tensor.fromArray(tensor.name, DataType.FLOAT, tensor.dims, values);
    return true;
  }

  private dequantizeFor(node: Node, emitted: EmittedWeight, base: string): Value {
    const graph = node.graph!;
    const known = emitted.dequantized.get(graph);
    if (known) return known;
    const { quantized } = emitted;
    const output = new Value(
      this.settings.names.fresh(`${base}_dequantized`),
      tensorType(DataType.FLOAT, [...quantized.dims]),
    );
    const dequantize = this.qdqNode(
      'DequantizeLinear',
      base,
      [emitted.integers, emitted.scale, ...(emitted.zeroPoint ? [emitted.zeroPoint] : [])],
      output,
      quantized.axis,
    );
    graph.insertBefore(node, dequantize);
    emitted.dequantized.set(graph, output);
    return output;
  }

  private emitQuantized(value: Value, key: string, quantize: () => StaticQuantizedTensor): EmittedWeight {
    const known = this.weights.get(key);
    if (known) return known;
    const graph = value.graph!;
    const quantized = quantize();
    const perChannel = quantized.scales.length > 1 || quantized.axis !== undefined;
    const paramDims = perChannel ? [quantized.scales.length] : [];
    const emitted: EmittedWeight = {
      quantized,
      integers: this.initializer(graph, `${value.name}_quantized`, quantized.type, quantized.dims, quantized.data),
      scale: this.initializer(graph, `${value.name}_scale`, DataType.FLOAT, paramDims, quantized.scales),
      zeroPoint:
        quantized.type === DataType.INT32 && quantized.zeroPoints.every((zeroPoint) => zeroPoint === 0)
          ? undefined
          : this.initializer(
              graph,
              `${value.name}_zero_point`,
              quantized.type,
              paramDims,
              typedArrayOf(quantized.type, Array.from(quantized.zeroPoints)),
            ),
      dequantized: new Map(),
    };
    this.weights.set(key, emitted);
    this.replacedConstants.add(value);
    return emitted;
  }

  private readonly identities = new Map<object, number>();
  /** A cache key: objects by identity, other parts by value. */
  private keyOf(...parts: unknown[]): string {
    return parts
      .map((part) => {
        if (typeof part !== 'object' || part === null) return String(part);
        let id = this.identities.get(part);
        if (id === undefined) {
          id = this.identities.size;
          this.identities.set(part, id);
        }
        return `#${id}`;
      })
      .join(KEY_SEPARATOR);
  }

  private emitWeight(node: Node, need: WeightNeed, floors: Float32Array | undefined, bytes: Uint8Array): EmittedWeight {
    const { value, axis, index } = need;
    const override = this.overrideFor(value.name);
    const type = override?.type ?? this.options.weightType;
    const symmetric = override?.symmetric ?? this.options.symmetricWeights;
    const range = override?.min !== undefined || override?.max !== undefined ? override : undefined;
    const settings = {
      type,
      symmetric,
      narrow: true,
      axis,
      range: range && { min: range.min, max: range.max },
    };
    const dims = value.constant!.dims;
    let key = this.keyOf(value, 'weight', axis, type, symmetric, range?.min, range?.max);
    // The shared quantization of this constant, made here when a floor must be checked against its scales.
    let natural = this.weights.get(key)?.quantized;
    if (floors) {
      natural ??= quantizeStaticBytes(bytes, dims, settings);
      const scales = natural.scales;
      // Only when a floor binds does the weight differ from the shared quantization of the same constant.
      if (scales.some((scale, channel) => (floors[floors.length === 1 ? 0 : channel] ?? 0) > scale)) {
        key = this.keyOf(value, 'weight', axis, type, symmetric, range?.min, range?.max, ...floors);
        natural = undefined;
      }
    }
    const isNew = !this.weights.has(key);
    const minimumScales = natural ? undefined : floors;
    const emitted = this.emitQuantized(
      value,
      key,
      () => natural ?? quantizeStaticBytes(bytes, dims, { ...settings, minimumScales }),
    );
    if (isNew) this.statistics.weightsQuantized++;
    node.setInput(index, this.dequantizeFor(node, emitted, value.name));
    return emitted;
  }

  private emitConstant(node: Node, index: number, value: Value): void {
    const override = this.overrideFor(value.name);
    const type = override?.type ?? this.options.activationType;
    const symmetric = override?.symmetric ?? this.options.symmetricActivations;
    const range = override?.min !== undefined || override?.max !== undefined ? override : undefined;
    const key = this.keyOf(value, 'constant', type, symmetric, range?.min, range?.max);
    const isNew = !this.weights.has(key);
    const emitted = this.emitQuantized(value, key, () =>
      quantizeStaticBytes(value.constant!.bytes(), value.constant!.dims, {
        type,
        symmetric,
        range: range && { min: range.min, max: range.max },
      }),
    );
    if (isNew) this.statistics.constantsQuantized++;
    node.setInput(index, this.dequantizeFor(node, emitted, value.name));
  }

  /** Minimum weight scales that keep the node's bias within int32, when the node has a float constant bias. */
  private biasFloors(plan: NodePlan, need: WeightNeed): Float32Array | undefined {
    const inputScale = plan.input?.params?.scale;
    const dims = need.value.constant!.dims;
    const channels = need.axis === undefined ? 1 : (dims[need.axis] ?? 1);
    const vector = plan.bias && biasVector(plan.node, plan.bias.value, channels);
    if (inputScale === undefined || !vector) return undefined;
    return biasWeightScaleFloors(vector, inputScale, channels);
  }

  private emitBias(plan: NodePlan, weightScales: Float32Array | undefined, shift: Float64Array | undefined): void {
    const { node } = plan;
    const bias = plan.bias!;
    const inputScale = plan.input?.params?.scale;
    let vector = biasVector(node, bias.value, weightScales?.length ?? 1);
    const correction = shift?.length === vector?.length ? shift : undefined;
    if (vector && correction) vector = vector.map((value, index) => value - correction[index]!);
    if (inputScale === undefined || !weightScales || !vector) return;
    if (node.opType === 'Gemm' && (node.floatAttribute('beta', 1) ?? 1) !== 1) return;
    const scales = biasScales(node, vector.length, inputScale, weightScales);
    if (!scales) return;
    // A corrected bias belongs to its node alone.
    const key = this.keyOf(bias.value, 'bias', inputScale, weightScales, correction ? node : undefined);
    const isNew = !this.weights.has(key);
    let saturated = 0;
    const emitted = this.emitQuantized(bias.value, key, () => {
      const quantized = quantizeBias(vector, scales);
      saturated = quantized.saturated;
      return quantized;
    });
    if (isNew) this.statistics.biasesQuantized++;
    if (correction) this.statistics.biasesCorrected++;
    if (saturated > 0) {
      this.settings.report({
        code: QuantizeStaticCodes.BIAS_OVERFLOW,
        severity: 'warning',
        message: `${saturated} element(s) of bias '${bias.value.name}' of ${node.describe()} exceed int32 at scale input × weight and were saturated`,
        location: { graph: node.graph?.name ?? '', node: node.name, value: bias.value.name },
      });
    }
    node.setInput(bias.index, this.dequantizeFor(node, emitted, bias.value.name));
  }
}
