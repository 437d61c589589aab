/**
 * The rewrites of `lower-qoperator`: one QDQ group (DQ inputs → float op → [Relu/Clip →] Q) at a time becomes the
 * QOperator op computing on integers, or, for ops that only move or pick values, the same op reading and writing
 * integers with the Q/DQ around it gone.
 */
import { constantValueOf, type Attribute, DataType, type Graph, type Node, Tensor, type Value } from '@whittle/ir';
import { removeValueInfo } from '@whittle/transforms';
import { floatAttribute, type GraphEditor, intAttribute } from './dynamic-support.js';
import {
  activationBounds,
  activationStep,
  CONTRIB_DOMAIN,
  dequantizeOf,
  isEightBit,
  isGraphOutput,
  isPerTensor,
  type OutputGroup,
  outputGroupOf,
  type QuantParams,
  sameParams,
} from './qoperator-params.js';
import { roundHalfToEven } from './quantization-parameters.js';

/** Ops that compute new values: written as QOperator ops (contrib ones need `useContribOps`). */
export const QLINEAR_OPS = [
  'Conv',
  'MatMul',
  'Add',
  'Mul',
  'Concat',
  'AveragePool',
  'GlobalAveragePool',
  'LeakyRelu',
  'Sigmoid',
] as const;

/** Ops that move, pick or clip values: run on the integers when the Q/DQ around them carry the same parameters. */
export const INTEGER_OPS = [
  'MaxPool',
  'Reshape',
  'Transpose',
  'Squeeze',
  'Unsqueeze',
  'Flatten',
  'Slice',
  'Gather',
  'Split',
  'Pad',
  'Resize',
  'Identity',
  'Relu',
  'Clip',
] as const;

export const LOWERABLE_OPS: readonly string[] = [...QLINEAR_OPS, ...INTEGER_OPS];

const CONTRIB_OPS: Readonly<Record<string, string>> = {
  Add: 'QLinearAdd',
  Mul: 'QLinearMul',
  Concat: 'QLinearConcat',
  AveragePool: 'QLinearAveragePool',
  GlobalAveragePool: 'QLinearGlobalAveragePool',
  LeakyRelu: 'QLinearLeakyRelu',
  Sigmoid: 'QLinearSigmoid',
};

/** Opsets from which an op takes 8-bit integer inputs (Clip, MaxPool: 12; Pad with an integer pad value: 11). */
const INTEGER_OPSET: Readonly<Record<string, number>> = { Clip: 12, Relu: 12, MaxPool: 12, Pad: 11, Flatten: 9 };
/** Ops ONNX Runtime runs on 8-bit integers only. */
const EIGHT_BIT_ONLY = new Set(['MaxPool', 'Resize', 'Relu', 'Clip']);

export type LoweringOutcome = 'qlinear' | 'integer' | undefined;

export interface LoweringSettings {
  opset: number;
  useContribOps: boolean;
}

export class QOperatorLowering {
  /** DQ nodes whose readers were rewritten; removed at the end when nothing reads them any more. */
  readonly dequantizers = new Set<Node>();
  /** Values removed nodes read (scales, zero points, biases); removed when they are unused constants. */
  readonly released = new Set<Value>();
  contribUsed = false;
  activationsFolded = 0;
  private readonly zeros = new Map<string, Value>();

  constructor(
    private readonly editor: GraphEditor,
    private readonly settings: LoweringSettings,
  ) {}

  lower(graph: Graph, node: Node): LoweringOutcome {
    switch (node.opType) {
      case 'Conv':
        return this.conv(graph, node);
      case 'MatMul':
        return this.matMul(graph, node);
      case 'Add':
      case 'Mul':
        return this.binary(graph, node);
      case 'Concat':
        return this.concat(graph, node);
      case 'AveragePool':
      case 'GlobalAveragePool':
      case 'LeakyRelu':
      case 'Sigmoid':
        return this.unary(graph, node);
      case 'Relu':
      case 'Clip':
        return this.clip(graph, node);
      default:
        return this.onIntegers(graph, node);
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // QLinear ops
  // ---------------------------------------------------------------------------------------------------------------

  private conv(graph: Graph, node: Node): LoweringOutcome {
    const x = dequantizeOf(node.input(0));
    const w = dequantizeOf(node.input(1));
    if (!x || !w || !isPerTensor(x) || !this.supportedPair(x.type, w.type)) return undefined;
    const channels = constantValueOf(w.integer)?.dims[0] ?? shapeDim(w.integer, 0);
    if (!isPerTensor(w) && (w.axis !== 0 || channels !== w.scales.length)) return undefined;
    const group = this.outputGroup(graph, node, x.type);
    if (!group) return undefined;
    let bias: Value | undefined;
    const biasInput = node.input(2);
    if (biasInput) {
      bias = this.integerBias(graph, biasInput, x, w);
      if (!bias) return undefined;
    }
    const inputs = this.twoOperandInputs(graph, x, w, group.primary);
    if (bias) inputs.push(bias);
    this.replace(graph, node, group, { opType: 'QLinearConv', inputs, attributes: [...node.attributes.values()] });
    return 'qlinear';
  }

  private matMul(graph: Graph, node: Node): LoweringOutcome {
    const a = dequantizeOf(node.input(0));
    const b = dequantizeOf(node.input(1));
    if (!a || !b || !isPerTensor(a) || !this.supportedPair(a.type, b.type)) return undefined;
    if (!isPerTensor(b)) {
      // Per column of a 2-D B ([K, N], scales [N]): QLinearMatMul's b_scale may be a 1-D tensor of N elements.
      const dims = constantValueOf(b.integer)?.dims ?? shapeOf(b.integer);
      if (dims?.length !== 2 || b.axis !== 1 || dims[1] !== b.scales.length) return undefined;
    }
    const group = this.outputGroup(graph, node, a.type);
    if (!group) return undefined;
    const inputs = this.twoOperandInputs(graph, a, b, group.primary);
    this.replace(graph, node, group, { opType: 'QLinearMatMul', inputs, attributes: [] });
    return 'qlinear';
  }

  private binary(graph: Graph, node: Node): LoweringOutcome {
    if (!this.settings.useContribOps) return undefined;
    const a = dequantizeOf(node.input(0));
    const b = dequantizeOf(node.input(1));
    if (!a || !b || !isPerTensor(a) || !isPerTensor(b) || a.type !== b.type || !isEightBit(a.type)) return undefined;
    const group = this.outputGroup(graph, node, a.type);
    if (!group) return undefined;
    const inputs = this.twoOperandInputs(graph, a, b, group.primary);
    this.replace(graph, node, group, {
      opType: CONTRIB_OPS[node.opType]!,
      domain: CONTRIB_DOMAIN,
      inputs,
      attributes: [],
    });
    return 'qlinear';
  }

  /** Concat of integers when every input and the output share parameters; QLinearConcat otherwise. */
  private concat(graph: Graph, node: Node): LoweringOutcome {
    const inputs = node.inputs.map((input) => dequantizeOf(input));
    if (inputs.length === 0 || inputs.some((params) => !params || !isPerTensor(params))) return undefined;
    const params = inputs as QuantParams[];
    const type = params[0]!.type;
    if (params.some((item) => item.type !== type)) return undefined;
    const group = this.outputGroup(graph, node, type, false);
    if (!group) return undefined;
    if (params.every((item) => sameParams(item, group.primary))) return this.onIntegers(graph, node);
    if (!this.settings.useContribOps || !isEightBit(type)) return undefined;
    const operands = this.scaleAndZeroPoint(graph, group.primary);
    for (const item of params) operands.push(...this.quantizedInput(graph, item));
    this.replace(graph, node, group, {
      opType: 'QLinearConcat',
      domain: CONTRIB_DOMAIN,
      inputs: operands,
      attributes: [intAttribute('axis', node.intAttribute('axis', 0)!)],
    });
    return 'qlinear';
  }

  private unary(graph: Graph, node: Node): LoweringOutcome {
    if (!this.settings.useContribOps) return undefined;
    const x = dequantizeOf(node.input(0));
    if (!x || !isPerTensor(x) || !isEightBit(x.type)) return undefined;
    let attributes: Attribute[] = [];
    if (node.opType === 'AveragePool') {
      const dilations = node.intsAttribute('dilations');
      if (dilations?.some((dilation) => dilation !== 1)) return undefined;
      attributes = [...node.attributes.values()].filter((attribute) => attribute.name !== 'dilations');
      attributes.push(intAttribute('channels_last', 0));
    } else if (node.opType === 'GlobalAveragePool') attributes = [intAttribute('channels_last', 0)];
    else if (node.opType === 'LeakyRelu') attributes = [floatAttribute('alpha', node.floatAttribute('alpha', 0.01)!)];
    const group = this.outputGroup(graph, node, x.type, false);
    if (!group) return undefined;
    const inputs = [...this.quantizedInput(graph, x), ...this.scaleAndZeroPoint(graph, group.primary)];
    this.replace(graph, node, group, { opType: CONTRIB_OPS[node.opType]!, domain: CONTRIB_DOMAIN, inputs, attributes });
    return 'qlinear';
  }

  /** Both input types as ONNX Runtime's QLinearConv / QLinearMatMul take them: u8 × (u8 | s8), s8 × s8. */
  private supportedPair(input: DataType, weight: DataType): boolean {
    if (input === DataType.UINT8) return weight === DataType.UINT8 || weight === DataType.INT8;
    return input === DataType.INT8 && weight === DataType.INT8;
  }

  /** The Qs after the op, of the input's type; a Relu/Clip on the way is folded or becomes an integer Clip. */
  private outputGroup(graph: Graph, node: Node, type: DataType, allowActivation = true): OutputGroup | undefined {
    const output = node.output(0);
    if (!output || node.outputs.slice(1).some((value) => value?.isUsed)) return undefined;
    const group = outputGroupOf(output, graph, this.settings.opset, allowActivation);
    if (!group || group.primary.type !== type) return undefined;
    if (group.activation) {
      const bounds = activationBounds(group.activation, group.primary);
      if (!bounds.redundant && (this.settings.opset < 12 || !isEightBit(type))) return undefined;
    }
    return group;
  }

  /**
   * The Conv bias as int32 at scale x_scale × w_scale: the DQ's integers when its scale is that product (zero point
   * 0), otherwise the float bias (constant, or a DQ of a constant) quantized again.
   */
  private integerBias(graph: Graph, value: Value, x: QuantParams, w: QuantParams): Value | undefined {
    const xScale = x.scales[0]!;
    const products = Array.from(w.scales, (scale) => Math.fround(xScale * scale));
    const dq = dequantizeOf(value);
    let floats: Float32Array | undefined;
    if (dq) {
      if (dq.type === DataType.INT32 && dq.zeroPoints.every((zero) => zero === 0)) {
        const matches =
          dq.scales.length === products.length || dq.scales.length === 1
            ? products.every((product, index) => {
                const scale = dq.scales[dq.scales.length === 1 ? 0 : index]!;
                return Math.abs(scale - product) <= 1e-6 * product;
              })
            : false;
        if (matches && (dq.scales.length === products.length || products.length === 1)) {
          this.dequantizers.add(dq.node);
          return dq.integer;
        }
      }
      const integers = constantValueOf(dq.integer);
      if (!integers) return undefined;
      const raw = Array.from(integers.toArray() as ArrayLike<number>);
      floats = Float32Array.from(raw, (item, index) => {
        const channel = dq.scales.length === 1 ? 0 : index % dq.scales.length;
        return (item - dq.zeroPoints[channel]!) * dq.scales[channel]!;
      });
      this.dequantizers.add(dq.node);
    } else {
      const tensor = constantValueOf(value);
      if (!tensor || tensor.dataType !== DataType.FLOAT) return undefined;
      floats = Float32Array.from(tensor.toArray() as Float32Array);
      this.released.add(value);
    }
    const data = Int32Array.from(floats, (item, index) => {
      const scale = products[products.length === 1 ? 0 : index]!;
      return Math.max(-2147483648, Math.min(2147483647, roundHalfToEven(item / scale)));
    });
    return this.editor.constant(
      graph,
      `${value.name}_int32`,
      Tensor.fromArray('', DataType.INT32, [data.length], data),
    );
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Ops on integers
  // ---------------------------------------------------------------------------------------------------------------

  /**
   * DQ → op → Q with the same parameters on both sides: the op reads the DQ's integers and writes the Q's output
   * (Concat: every input; Split: every output).
   */
  private onIntegers(graph: Graph, node: Node): LoweringOutcome {
    const { opType } = node;
    if (this.settings.opset < (INTEGER_OPSET[opType] ?? 1)) return undefined;
    const dataInputs = opType === 'Concat' ? node.inputs.map((_, index) => index) : [0];
    const input = dequantizeOf(node.input(0));
    if (!input || !isPerTensor(input)) return undefined;
    if (EIGHT_BIT_ONLY.has(opType) && !isEightBit(input.type)) return undefined;
    for (const index of dataInputs) {
      const params = dequantizeOf(node.input(index));
      if (!params || !sameParams(params, input)) return undefined;
    }
    // Other inputs (shapes, indices, pads) must not be quantized values.
    if (node.inputs.some((value, index) => !dataInputs.includes(index) && dequantizeOf(value))) return undefined;
    if (opType === 'Resize' && node.stringAttribute('mode', 'nearest') === 'cubic') return undefined;
    let padValue: Value | undefined;
    if (opType === 'Pad') {
      if (node.stringAttribute('mode', 'constant') === 'constant') {
        const constant = node.input(2);
        const values = constant ? constantValueOf(constant)?.toArray() : [0];
        if (values?.length !== 1 || Number(values[0]) !== 0) return undefined;
        padValue = this.zeroPointValue(graph, input);
      }
    }
    const outputs = opType === 'Split' ? node.outputs : [node.output(0)];
    if (opType !== 'Split' && node.outputs.slice(1).some((value) => value?.isUsed)) return undefined;
    const groups: OutputGroup[] = [];
    for (const output of outputs) {
      if (!output) return undefined;
      const group = outputGroupOf(output, graph, this.settings.opset, false);
      if (!group || !sameParams(group.primary, input)) return undefined;
      groups.push(group);
    }
    for (const index of dataInputs) {
      const dq = node.input(index)!.producer!;
      node.setInput(index, dq.input(0));
      this.dequantizers.add(dq);
    }
    if (padValue) {
      while (node.inputs.length < 3) node.appendInput(undefined);
      if (node.input(2)) this.released.add(node.input(2)!);
      node.setInput(2, padValue);
    }
    outputs.forEach((output, index) => {
      const group = groups[index]!;
      const integer = this.detachOutputs(group);
      node.setOutput(index, integer);
      this.removeQuantizers(graph, group);
      removeValueInfo(output!);
    });
    return 'integer';
  }

  /** A Relu/Clip between a DQ and a Q of the same parameters: gone when the Q already clips, else an integer Clip. */
  private clip(graph: Graph, node: Node): LoweringOutcome {
    const input = dequantizeOf(node.input(0));
    const output = node.output(0);
    if (!input || !output || !isPerTensor(input) || !isEightBit(input.type)) return undefined;
    if (node.inputs.slice(1).some((value) => value !== undefined && dequantizeOf(value))) return undefined;
    const group = outputGroupOf(output, graph, this.settings.opset, false);
    if (!group || !sameParams(group.primary, input)) return undefined;
    const step = activationStep(node, this.settings.opset);
    if (!step) return undefined;
    const bounds = activationBounds(step, input);
    const bypass = bounds.redundant && !isGraphOutput(group.primary.integer);
    // Otherwise an integer Clip, which ONNX has from opset 12.
    if (!bypass && this.settings.opset < 12) return undefined;
    const dq = node.input(0)!.producer!;
    this.dequantizers.add(dq);
    if (bypass) {
      // The op does nothing the Q does not: Q's readers read the DQ's integers.
      for (const quantizer of group.quantizers) {
        const value = quantizer.output(0)!;
        value.replaceAllUsesWith(input.integer);
        removeValueInfo(value);
        this.released.add(quantizer.input(1)!);
        if (quantizer.input(2)) this.released.add(quantizer.input(2)!);
        graph.removeNode(quantizer, { force: true });
      }
      graph.removeNode(node, { force: true });
      removeValueInfo(output);
      return 'integer';
    }
    const anchor = this.firstOf(graph, group.quantizers);
    const integer = this.detachOutputs(group);
    this.integerClip(graph, anchor, input.integer, input, bounds, integer);
    this.removeQuantizers(graph, group);
    for (const value of node.inputs.slice(1)) if (value) this.released.add(value);
    graph.removeNode(node, { force: true });
    removeValueInfo(output);
    return 'integer';
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Graph edits
  // ---------------------------------------------------------------------------------------------------------------

  /**
   * Write the lowered op before the first Q of the group, giving it the primary Q's output (through an integer
   * Clip when a Relu/Clip on the way narrows the range), and remove the float op, the activation and the Qs.
   */
  private replace(
    graph: Graph,
    node: Node,
    group: OutputGroup,
    lowered: { opType: string; domain?: string; inputs: (Value | undefined)[]; attributes: Attribute[] },
  ): void {
    if (lowered.domain === CONTRIB_DOMAIN) this.contribUsed = true;
    for (const input of node.inputs) {
      const producer = input?.producer;
      if (producer && input && dequantizeOf(input)) this.dequantizers.add(producer);
      else if (input) this.released.add(input);
    }
    const anchor = this.firstOf(graph, group.quantizers);
    const activation = group.activation;
    const bounds = activation ? activationBounds(activation, group.primary) : undefined;
    const integer = this.detachOutputs(group);
    const narrowed = bounds !== undefined && !bounds.redundant;
    const base = node.name || integer.name;
    const written = this.editor.insert(graph, anchor, {
      opType: lowered.opType,
      domain: lowered.domain ?? '',
      base,
      inputs: lowered.inputs,
      ...(narrowed ? { types: [{ elementType: group.primary.type }] } : { outputs: [integer] }),
      attributes: lowered.attributes,
    });
    if (narrowed) this.integerClip(graph, anchor, written.output(0)!, group.primary, bounds, integer);
    this.removeQuantizers(graph, group);
    if (activation) {
      this.activationsFolded++;
      for (const value of activation.node.inputs.slice(1)) if (value) this.released.add(value);
      graph.removeNode(activation.node, { force: true });
      removeValueInfo(activation.node.output(0)!);
    }
    graph.removeNode(node, { force: true });
    removeValueInfo(node.output(0)!);
  }

  /**
   * Free the primary Q's output value for a new producer and point the other Qs' readers at it; the Q nodes stay
   * (as anchors) until `removeQuantizers`.
   */
  private detachOutputs(group: OutputGroup): Value {
    const primary = group.primary.node;
    const integer = primary.output(0)!;
    for (const quantizer of group.quantizers) {
      if (quantizer === primary) continue;
      const value = quantizer.output(0)!;
      value.replaceAllUsesWith(integer);
      removeValueInfo(value);
    }
    primary.setOutput(0, undefined);
    return integer;
  }

  private removeQuantizers(graph: Graph, group: OutputGroup): void {
    for (const quantizer of group.quantizers) {
      this.released.add(quantizer.input(1)!);
      if (quantizer.input(2)) this.released.add(quantizer.input(2)!);
      graph.removeNode(quantizer, { force: true });
    }
  }

  private integerClip(
    graph: Graph,
    anchor: Node,
    input: Value,
    params: QuantParams,
    bounds: { low: number; high: number },
    output: Value,
  ): void {
    const scalar = (name: string, value: number) =>
      this.editor.constant(
        graph,
        name,
        Tensor.fromArray(
          '',
          params.type,
          [],
          params.type === DataType.INT8 ? Int8Array.of(value) : Uint8Array.of(value),
        ),
      );
    this.editor.insert(graph, anchor, {
      opType: 'Clip',
      base: `${output.name}_clip`,
      inputs: [input, scalar(`${output.name}_low`, bounds.low), scalar(`${output.name}_high`, bounds.high)],
      outputs: [output],
    });
  }

  /** The earliest of some nodes of a graph (where a node replacing them all can go). */
  private firstOf(graph: Graph, nodes: readonly Node[]): Node {
    let first = nodes[0]!;
    let index = graph.indexOfNode(first);
    for (const node of nodes.slice(1)) {
      const position = graph.indexOfNode(node);
      if (position < index) {
        first = node;
        index = position;
      }
    }
    return first;
  }

  /** The (scale, zero point) input pair a QLinear op takes for each quantized tensor, its output included. */
  private scaleAndZeroPoint(graph: Graph, params: QuantParams): Value[] {
    return [params.scale, this.zeroPointOf(graph, params)];
  }

  /** A QLinear op's inputs for one quantized operand: its integers, then its scale and zero point. */
  private quantizedInput(graph: Graph, params: QuantParams): Value[] {
    return [params.integer, ...this.scaleAndZeroPoint(graph, params)];
  }

  /** Inputs of a two-operand QLinear op (QLinearConv, QLinearMatMul, QLinearAdd...): a, b, then the output. */
  private twoOperandInputs(graph: Graph, a: QuantParams, b: QuantParams, output: QuantParams): Value[] {
    return [
      ...this.quantizedInput(graph, a),
      ...this.quantizedInput(graph, b),
      ...this.scaleAndZeroPoint(graph, output),
    ];
  }

  /** A zero point input: the Q/DQ's own, or a shared zero of its type (QLinear ops require one). */
  private zeroPointOf(graph: Graph, params: QuantParams): Value {
    return params.zeroPoint ?? this.zeroPointValue(graph, params);
  }

  /** A scalar constant holding the zero point of `params`' type and value (the pad value of integer padding). */
  private zeroPointValue(graph: Graph, params: QuantParams): Value {
    const zero = params.zeroPoints[0] ?? 0;
    if (params.zeroPoint && constantValueOf(params.zeroPoint)?.dims.length === 0) return params.zeroPoint;
    const key = `${graph.name}/${params.type}/${zero}`;
    const cached = this.zeros.get(key);
    if (cached && cached.graph === graph) return cached;
    const data =
      params.type === DataType.INT8
        ? Int8Array.of(zero)
        : params.type === DataType.UINT8
          ? Uint8Array.of(zero)
          : params.type === DataType.INT16
            ? Int16Array.of(zero)
            : params.type === DataType.UINT16
              ? Uint16Array.of(zero)
              : Int32Array.of(zero);
    const value = this.editor.constant(graph, 'zero_point', Tensor.fromArray('', params.type, [], data));
    this.zeros.set(key, value);
    return value;
  }
}

function shapeOf(value: Value): readonly (number | string | null)[] | undefined {
  return value.type?.kind === 'tensor' ? value.type.shape : undefined;
}

function shapeDim(value: Value, index: number): number | undefined {
  const dim = shapeOf(value)?.[index];
  return typeof dim === 'number' ? dim : undefined;
}
