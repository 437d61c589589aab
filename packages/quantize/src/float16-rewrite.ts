/**
 * Applies a Float16Plan: half-precision value types, Casts where a value meets a use of the other precision (one per
 * value, precision and graph), the model's outputs renamed through a final Cast, constant initializers converted
 * (or copied, or kept), and the attributes of half-precision nodes that carry float32 (Cast `to`, ConstantOfShape
 * and Constant values).
 */
import {
  type Attribute,
  DataType,
  type Graph,
  type Model,
  type NameGenerator,
  Node,
  Tensor,
  tensorType,
  Value,
  type ValueType,
} from '@whittle/ir';
import type { DiagnosticInput } from '@whittle/spec';
import type { HalfType } from './float16-ops.js';
import type { Float16Plan, Precision } from './float16-plan.js';
import { float32Values, type HalfRange, toHalfTensor } from './float16-tensors.js';

/** Diagnostic codes of convert-float16, sorted. */
export const Float16Codes = {
  /** Finite float32 values beyond the largest half value written were clamped to it (a warning per tensor). */
  CLAMPED: 'FLOAT16_CLAMPED',
  /** maxValue or minPositiveValue outside the type's range. */
  INVALID_OPTIONS: 'FLOAT16_INVALID_OPTIONS',
  /** Nodes kept in float32, counted by op and reason (a note). */
  KEPT_FLOAT: 'FLOAT16_KEPT_FLOAT',
  /** The model's opset cannot express the conversion (Cast to float16 needs 6, to bfloat16 13). */
  OPSET_TOO_OLD: 'FLOAT16_OPSET_TOO_OLD',
  /** Non-zero values below minPositiveValue were raised to it rather than flushed to zero (one note in all). */
  UNDERFLOW: 'FLOAT16_UNDERFLOW',
} as const;

/**
 * Constant tensors read only by float32 nodes with no half kernel are still stored in half precision and cast up
 * when they have at least this many elements; smaller ones stay float32 (a Cast node would outweigh the bytes saved).
 */
export const CAST_UP_MIN_ELEMENTS = 64;

export interface RewriteSettings {
  type: HalfType;
  range: HalfRange;
  report: (diagnostic: DiagnosticInput) => void;
}

export interface Float16Statistics {
  nodesInHalf: number;
  nodesKeptFloat: number;
  castsInserted: number;
  initializersConverted: number;
  initializersCopied: number;
  valuesClamped: number;
  valuesRaised: number;
}

export class Float16Rewriter {
  readonly statistics: Float16Statistics = {
    nodesInHalf: 0,
    nodesKeptFloat: 0,
    castsInserted: 0,
    initializersConverted: 0,
    initializersCopied: 0,
    valuesClamped: 0,
    valuesRaised: 0,
  };
  private readonly precision = new Map<Value, Precision>();
  private tensorsRaised = 0;
  /** Value types and attributes changed (besides casts and initializers, which have statistics of their own). */
  private edits = 0;
  private readonly casts = new Map<Value, { graph: Graph; to: Precision; output: Value }[]>();

  constructor(
    private readonly model: Model,
    private readonly plan: Float16Plan,
    private readonly names: NameGenerator,
    private readonly settings: RewriteSettings,
  ) {}

  /** Apply the plan; returns whether anything changed. */
  run(): boolean {
    const graphs = [...this.model.graphs()];
    const variables: Value[] = [];
    for (const graph of graphs) {
      for (const value of graph.definedValues()) {
        if (!this.plan.isFloat(value)) continue;
        const precision = this.plan.precisionOf(value);
        if (precision === 'constant') continue;
        this.precision.set(value, precision);
        variables.push(value);
      }
    }
    this.fixModelOutputs(variables);
    for (const value of variables) {
      if (this.precision.get(value) !== 'half') continue;
      this.setElementType(value, this.settings.type);
      // An initializer that is also a model input (a default the caller may override) converts with the input.
      const graph = value.graph;
      if (value.initializer?.dataType === DataType.FLOAT && graph) {
        value.initializer = this.convertTensor(value.initializer, value.name, graph);
        this.statistics.initializersConverted++;
      }
    }
    for (const graph of graphs) if (graph !== this.model.graph) this.fixSubgraphOutputs(graph);
    for (const value of variables) this.castUses(value);
    for (const graph of graphs) for (const value of [...graph.initializers]) this.convertConstant(graph, value);
    for (const [node, mode] of this.plan.modes) {
      if (mode === 'half') {
        this.statistics.nodesInHalf++;
        this.convertAttributes(node);
      } else this.statistics.nodesKeptFloat++;
    }
    const { castsInserted, initializersConverted, initializersCopied, valuesRaised } = this.statistics;
    if (valuesRaised > 0) {
      const minimum = this.settings.range.minPositiveValue;
      this.settings.report({
        code: Float16Codes.UNDERFLOW,
        severity: 'info',
        message: `${valuesRaised} non-zero value(s) in ${this.tensorsRaised} tensor(s) were below ${minimum} and were raised to ±${minimum} rather than flushed to zero`,
      });
    }
    return castsInserted + initializersConverted + initializersCopied + this.edits > 0;
  }

  private suffix(precision: Precision): string {
    if (precision === 'float') return 'fp32';
    return this.settings.type === DataType.FLOAT16 ? 'fp16' : 'bf16';
  }

  private halfType(precision: Precision): DataType {
    return precision === 'half' ? this.settings.type : DataType.FLOAT;
  }

  private setElementType(value: Value, elementType: DataType): void {
    if (value.type?.kind === 'tensor' && value.type.elementType === elementType) return;
    value.type = withElementType(value.type, elementType, value.initializer?.dims);
    this.edits++;
  }

  /**
   * A model output whose producer computes in the other precision: the producer writes a new value and a Cast writes
   * the output, so the output keeps its name. The output's other readers read the new value.
   */
  private fixModelOutputs(variables: Value[]): void {
    const graph = this.model.graph;
    const wanted = this.plan.interfacePrecision(graph);
    for (const output of new Set(graph.outputs)) {
      const producer = output.producer;
      const precision = this.precision.get(output);
      if (!producer || precision === undefined || precision === wanted) continue;
      const inner = new Value(this.names.fresh(`${output.name}_${this.suffix(precision)}`));
      inner.type = withElementType(output.type, this.halfType(precision));
      producer.setOutput(producer.outputs.indexOf(output), inner);
      for (const use of [...output.uses]) use.node.setInput(use.index, inner);
      const cast = this.castNode(inner, wanted, output);
      graph.insertAfter(producer, cast);
      this.precision.set(inner, precision);
      this.precision.set(output, wanted);
      this.setElementType(output, this.halfType(wanted));
      variables.push(inner);
    }
  }

  /** Subgraph outputs keep their float32 type: a half value returned by a subgraph goes through a Cast. */
  private fixSubgraphOutputs(graph: Graph): void {
    graph.outputs.forEach((output, index) => {
      if (this.precision.get(output) === 'half') graph.outputs[index] = this.castOf(output, 'float', graph);
    });
  }

  /** Point every use that wants the other precision at a Cast of the value. */
  private castUses(value: Value): void {
    const precision = this.precision.get(value);
    if (precision === undefined) return;
    for (const use of [...value.uses]) {
      const want = this.plan.want(use.node, use.index);
      if (want.precision === 'any' || want.precision === precision) continue;
      const graph = use.node.graph;
      if (graph) use.node.setInput(use.index, this.castOf(value, want.precision, graph));
    }
  }

  private castNode(input: Value, to: Precision, output: Value): Node {
    this.statistics.castsInserted++;
    return new Node({
      opType: 'Cast',
      // Unnamed: a name would add a fifth to the bytes of a cast, and a model may carry hundreds of them.
      inputs: [input],
      outputs: [output],
      attributes: [{ name: 'to', type: 'int', value: this.halfType(to) }],
    });
  }

  /** The value cast to `to`, made once per value, precision and graph: after its producer, or first in the graph. */
  private castOf(value: Value, to: Precision, graph: Graph): Value {
    let made = this.casts.get(value);
    if (!made) {
      made = [];
      this.casts.set(value, made);
    }
    const existing = made.find((cast) => cast.graph === graph && cast.to === to);
    if (existing) return existing.output;
    const output = new Value(this.names.fresh(`${value.name}_${this.suffix(to)}`));
    output.type = withElementType(value.type, this.halfType(to), value.initializer?.dims);
    const cast = this.castNode(value, to, output);
    const producer = value.producer;
    if (producer && producer.graph === graph) graph.insertAfter(producer, cast);
    else {
      const first = graph.nodes[0];
      if (first) graph.insertBefore(first, cast);
      else graph.appendNode(cast);
    }
    made.push({ graph, to, output });
    return output;
  }

  /**
   * A constant float32 initializer: converted in place when every reader computes in half precision or only needs
   * float32 for want of a kernel (those read a Cast); kept float32, with a half copy for the half readers, when a
   * reader must see the exact float32 values (blocked ops, shape arithmetic, subgraph or kept model outputs).
   */
  private convertConstant(graph: Graph, value: Value): void {
    const tensor = value.constant;
    if (!tensor || !this.plan.isFloat(value) || tensor.dataType !== DataType.FLOAT) return;
    const halfUses: { node: Node; index: number }[] = [];
    const floatUses: { node: Node; index: number }[] = [];
    let exact = false;
    let halfOutput = false;
    for (const use of value.uses) {
      const want = this.plan.want(use.node, use.index);
      if (want.precision === 'half') halfUses.push(use);
      else if (want.precision === 'float') {
        floatUses.push(use);
        exact ||= want.exact;
      }
    }
    for (const returning of graph.allGraphs()) {
      if (!returning.outputs.includes(value)) continue;
      if (this.plan.interfacePrecision(returning) === 'half') halfOutput = true;
      else exact = true;
    }
    // Float32 readers never see clamped values: a tensor beyond the half range stays float32 for them.
    if (floatUses.length > 0 && !exact && exceedsRange(tensor, this.settings.range.maxValue)) exact = true;
    if (halfUses.length === 0 && !halfOutput && (exact || floatUses.length === 0)) return;
    if (halfUses.length === 0 && !halfOutput && tensor.elementCount < CAST_UP_MIN_ELEMENTS) return;
    if (exact) {
      const copy = new Value(this.names.fresh(`${value.name}_${this.suffix('half')}`));
      const converted = this.convertTensor(tensor, copy.name, graph);
      graph.addInitializer(converted, copy);
      copy.type = tensorType(this.settings.type, [...converted.dims]);
      for (const use of halfUses) use.node.setInput(use.index, copy);
      if (halfOutput) {
        // The model's output keeps its name: the half copy takes it over.
        const name = value.name;
        rename(value, copy.name);
        rename(copy, name);
        graph.outputs.forEach((output, index) => {
          if (output === value) graph.outputs[index] = copy;
        });
      }
      this.statistics.initializersCopied++;
      return;
    }
    value.initializer = this.convertTensor(tensor, value.name, graph);
    this.setElementType(value, this.settings.type);
    this.statistics.initializersConverted++;
    for (const use of floatUses) {
      const consumerGraph = use.node.graph;
      if (consumerGraph) use.node.setInput(use.index, this.castOf(value, 'float', consumerGraph));
    }
  }

  private convertTensor(tensor: Tensor, name: string, graph: Graph, node?: Node): Tensor {
    const { tensor: converted, clamped, raised } = toHalfTensor(tensor, this.settings.type, this.settings.range, name);
    this.statistics.valuesClamped += clamped;
    this.statistics.valuesRaised += raised;
    const location = {
      graph: graph.name,
      ...(node ? { node: node.name || node.opType } : { value: tensor.name || name }),
    };
    const what = node ? `${node.describe()}'s value` : `tensor '${tensor.name || name}'`;
    if (clamped > 0) {
      this.settings.report({
        code: Float16Codes.CLAMPED,
        severity: 'warning',
        message: `${what}: ${clamped} value(s) beyond ±${this.settings.range.maxValue} clamped to ±${this.settings.range.maxValue}`,
        location,
      });
    }
    if (raised > 0) this.tensorsRaised++;
    return converted;
  }

  /** Float32 constants carried by attributes of a node that now computes in half precision. */
  private convertAttributes(node: Node): void {
    const graph = node.graph;
    if (!graph) return;
    const type = this.settings.type;
    if (node.is('Cast')) {
      if (node.intAttribute('to') === DataType.FLOAT) {
        node.setAttribute({ name: 'to', type: 'int', value: type });
        this.edits++;
      }
      return;
    }
    if (node.is('ConstantOfShape')) {
      const value = node.tensorAttribute('value');
      if (!value) {
        node.setAttribute({
          name: 'value',
          type: 'tensor',
          value: Tensor.fromArray('', type, [1], new Uint16Array(1)),
        });
        this.edits++;
      } else if (value.dataType === DataType.FLOAT) {
        node.setAttribute({ name: 'value', type: 'tensor', value: this.convertTensor(value, value.name, graph, node) });
        this.edits++;
      }
      return;
    }
    if (node.is('Constant')) {
      const [attribute] = node.attributes.values();
      const tensor = attribute ? floatTensorOfConstant(attribute) : undefined;
      if (!attribute || !tensor) return;
      node.attributes.delete(attribute.name);
      node.setAttribute({ name: 'value', type: 'tensor', value: this.convertTensor(tensor, tensor.name, graph, node) });
      this.edits++;
    }
  }
}

/** The FLOAT tensor a Constant's value attribute holds (value, value_float, value_floats), if any. */
function floatTensorOfConstant(attribute: Attribute): Tensor | undefined {
  if (attribute.name === 'value' && attribute.type === 'tensor' && attribute.value.dataType === DataType.FLOAT) {
    return attribute.value;
  }
  if (attribute.name === 'value_float' && attribute.type === 'float') {
    return Tensor.fromArray('', DataType.FLOAT, [], Float32Array.of(attribute.value));
  }
  if (attribute.name === 'value_floats' && attribute.type === 'floats') {
    return Tensor.fromArray('', DataType.FLOAT, [attribute.value.length], Float32Array.from(attribute.value));
  }
  return undefined;
}

/** True when a finite value of the FLOAT tensor has a magnitude beyond `maxValue`. */
function exceedsRange(tensor: Tensor, maxValue: number): boolean {
  for (const value of float32Values(tensor)) {
    const magnitude = Math.abs(value);
    if (magnitude > maxValue && magnitude !== Number.POSITIVE_INFINITY) return true;
  }
  return false;
}

function withElementType(type: ValueType | undefined, elementType: DataType, dims?: readonly number[]): ValueType {
  if (type?.kind === 'tensor') return { ...type, elementType };
  return tensorType(elementType, dims ? [...dims] : undefined);
}

function rename(value: Value, name: string): void {
  value.name = name;
  if (value.initializer) value.initializer.name = name;
}
