/**
 * `upgrade-opset`: raise the default-domain opset of a model (9 to 12) to 13, rewriting each op whose form or
 * meaning changed on the way so the model computes exactly the same. Newer features need opset 13: bfloat16 Cast,
 * per-channel QuantizeLinear/DequantizeLinear.
 *
 * What changed between 9 and 13, and the rewrite:
 * - Slice (10), TopK (10), Clip (11), Pad (11), Squeeze/Unsqueeze (13), Split (13), ReduceSum (13): attributes
 *   became inputs; they move into int64 (or data-typed scalar) initializers.
 * - Upsample (deprecated at 10) becomes Resize with the same mode and `asymmetric` coordinates (Upsample's), nearest
 *   rounding down; Resize-10 (X, scales) gets an empty roi and `asymmetric` too.
 * - Dropout (12): `ratio` moved to an input; in inference Dropout is an identity either way, so attributes go.
 * - Softmax, LogSoftmax, Hardmax (13): they worked on the input flattened to 2-D at `axis` (default 1); now along
 *   one axis (default −1). On the last axis both agree; elsewhere the op is wrapped in Flatten → op → Reshape.
 * - Scatter (deprecated at 11) is ScatterElements.
 * Ops that changed in ways not rewritten here (Scan before 9, Upsample before 9, ...) stop the pass with a clear
 * error naming them; every other op means the same at 13.
 */
import {
  type Attribute,
  DataType,
  type Graph,
  type Model,
  NameGenerator,
  Node,
  stringAttribute,
  Tensor,
  tensorType,
  Value,
} from '@whittle/ir';
import { type PassDefinition, WhittleError } from '@whittle/spec';

export const UpgradeOpsetCodes = {
  /** error: the model's opset is below 9, or an op it holds changed in a way the pass does not rewrite. */
  UNSUPPORTED: 'UPGRADE_OPSET_UNSUPPORTED',
} as const;

export interface UpgradeOpsetOptions {
  /** The opset to reach; 13 (the only target so far). */
  target?: 13;
}

export interface UpgradeOpsetStatistics {
  fromOpset: number;
  toOpset: number;
  nodesRewritten: number;
}

const TARGET = 13;
const OLDEST = 9;

function intsOf(attribute: Attribute | undefined): number[] | undefined {
  return attribute?.type === 'ints' ? attribute.value.map(Number) : undefined;
}

function floatOf(attribute: Attribute | undefined): number | undefined {
  return attribute?.type === 'float' ? attribute.value : undefined;
}

class Rewriter {
  rewritten = 0;

  constructor(
    private readonly names: NameGenerator,
    private readonly opset: number,
  ) {}

  private int64(graph: Graph, base: string, values: readonly number[], scalar = false): Value {
    const name = this.names.fresh(base);
    const dims = scalar ? [] : [values.length];
    const tensor = Tensor.fromArray(name, DataType.INT64, dims, BigInt64Array.from(values, BigInt));
    return graph.addInitializer(tensor, new Value(name, tensorType(DataType.INT64, dims)));
  }

  private float(graph: Graph, base: string, values: readonly number[], dims: number[] = []): Value {
    const name = this.names.fresh(base);
    const tensor = Tensor.fromArray(name, DataType.FLOAT, dims, Float32Array.from(values));
    return graph.addInitializer(tensor, new Value(name, tensorType(DataType.FLOAT, dims)));
  }

  /** An absent optional input. */
  private absent(): undefined {
    return undefined;
  }

  /** Move an ints attribute to input `index` (inputs before it filled with absent ones). */
  private attributeToInput(node: Node, attribute: string, index: number): void {
    const values = intsOf(node.attribute(attribute));
    node.attributes.delete(attribute);
    if (!values) return;
    while (node.inputs.length < index) node.appendInput(this.absent());
    node.truncateInputs(index);
    node.appendInput(this.int64(node.graph!, `${node.name || node.opType}_${attribute}`, values));
  }

  rewrite(node: Node): void {
    const graph = node.graph!;
    const base = node.name || node.opType;
    const from = this.opset;
    switch (node.opType) {
      case 'Slice':
        if (from < 10) {
          const axes = intsOf(node.attribute('axes'));
          const starts = intsOf(node.attribute('starts')) ?? [];
          const ends = intsOf(node.attribute('ends')) ?? [];
          for (const name of ['starts', 'ends', 'axes']) node.attributes.delete(name);
          node.truncateInputs(1);
          node.appendInput(this.int64(graph, `${base}_starts`, starts));
          node.appendInput(this.int64(graph, `${base}_ends`, ends));
          if (axes) node.appendInput(this.int64(graph, `${base}_axes`, axes));
          this.rewritten++;
        }
        break;
      case 'TopK':
        if (from < 10) {
          const k = node.intAttribute('k', 1) ?? 1;
          node.attributes.delete('k');
          node.truncateInputs(1);
          node.appendInput(this.int64(graph, `${base}_k`, [k]));
          this.rewritten++;
        }
        break;
      case 'Clip':
        if (from < 11) {
          const low = floatOf(node.attribute('min'));
          const high = floatOf(node.attribute('max'));
          node.attributes.delete('min');
          node.attributes.delete('max');
          node.truncateInputs(1);
          node.appendInput(low === undefined ? this.absent() : this.float(graph, `${base}_min`, [low]));
          if (high !== undefined) node.appendInput(this.float(graph, `${base}_max`, [high]));
          this.rewritten++;
        }
        break;
      case 'Pad':
        if (from < 11) {
          const pads = intsOf(node.attribute('pads')) ?? [];
          const value = floatOf(node.attribute('value')) ?? 0;
          node.attributes.delete('pads');
          node.attributes.delete('value');
          node.truncateInputs(1);
          node.appendInput(this.int64(graph, `${base}_pads`, pads));
          if (value !== 0) node.appendInput(this.float(graph, `${base}_value`, [value]));
          this.rewritten++;
        }
        break;
      case 'Squeeze':
      case 'Unsqueeze':
        if (node.attribute('axes')) {
          this.attributeToInput(node, 'axes', 1);
          this.rewritten++;
        }
        break;
      case 'ReduceSum':
        if (node.attribute('axes')) {
          this.attributeToInput(node, 'axes', 1);
          this.rewritten++;
        }
        break;
      case 'Split':
        if (node.attribute('split')) {
          this.attributeToInput(node, 'split', 1);
          this.rewritten++;
        }
        break;
      case 'Dropout':
        if (from < 12 && (node.attribute('ratio') || node.attribute('is_test'))) {
          node.attributes.delete('ratio');
          node.attributes.delete('is_test');
          this.rewritten++;
        }
        break;
      case 'Scatter':
        this.replaceOpType(node, 'ScatterElements');
        break;
      case 'Upsample':
        this.upsampleToResize(node);
        break;
      case 'Resize':
        if (from === 10) this.resize10(node);
        break;
      case 'Softmax':
      case 'LogSoftmax':
      case 'Hardmax':
        this.singleAxis(node);
        break;
      default:
        break;
    }
  }

  private unsupported(node: Node): never {
    throw new WhittleError(
      UpgradeOpsetCodes.UNSUPPORTED,
      `${node.describe()} cannot be raised from opset ${this.opset} to ${TARGET}`,
      { location: { graph: node.graph?.name ?? '', node: node.name } },
    );
  }

  private replaceOpType(node: Node, opType: string): void {
    const replacement = new Node({
      opType,
      name: node.name,
      inputs: [...node.inputs],
      attributes: [...node.attributes.values()],
    });
    this.swap(node, replacement);
    this.rewritten++;
  }

  /** Put `replacement` (built without outputs) where `node` was, writing the node's output values. */
  private swap(node: Node, replacement: Node): void {
    const graph = node.graph!;
    node.outputs.forEach((output, index) => {
      node.setOutput(index, undefined);
      replacement.appendOutput(output);
    });
    graph.insertBefore(node, replacement);
    graph.removeNode(node, { force: true });
  }

  private upsampleToResize(node: Node): void {
    if (this.opset < 9 || node.inputs.length < 2) this.unsupported(node);
    const mode = node.stringAttribute('mode', 'nearest') ?? 'nearest';
    const attributes: Attribute[] = [
      stringAttribute('mode', mode === 'linear' ? 'linear' : 'nearest'),
      stringAttribute('coordinate_transformation_mode', 'asymmetric'),
    ];
    if (mode !== 'linear') attributes.push(stringAttribute('nearest_mode', 'floor'));
    const replacement = new Node({
      opType: 'Resize',
      name: node.name,
      inputs: [node.input(0), this.absent(), node.input(1)],
      attributes,
    });
    this.swap(node, replacement);
    this.rewritten++;
  }

  private resize10(node: Node): void {
    const mode = node.stringAttribute('mode', 'nearest') ?? 'nearest';
    node.setAttribute(stringAttribute('coordinate_transformation_mode', 'asymmetric'));
    if (mode === 'nearest') node.setAttribute(stringAttribute('nearest_mode', 'floor'));
    const scales = node.input(1)!;
    node.truncateInputs(1);
    node.appendInput(this.absent());
    node.appendInput(scales);
    this.rewritten++;
  }

  /**
   * Softmax-style ops before 13 normalize the input flattened to 2-D at `axis` (default 1). On the last axis that is
   * one axis; elsewhere Flatten(axis) → op(axis −1) → Reshape back to the input's shape.
   */
  private singleAxis(node: Node): void {
    if (this.opset >= 13) return;
    const axis = node.intAttribute('axis', 1) ?? 1;
    const input = node.input(0)!;
    const rank = input.type?.kind === 'tensor' ? input.type.shape?.length : undefined;
    if (axis === -1 || (rank !== undefined && (axis === rank - 1 || axis + rank === rank - 1))) {
      node.setAttribute({ name: 'axis', type: 'int', value: -1 });
      this.rewritten++;
      return;
    }
    const graph = node.graph!;
    const base = node.name || node.opType;
    const shape = new Node({
      opType: 'Shape',
      name: this.names.fresh(`${base}_shape`),
      inputs: [input],
      outputs: [new Value(this.names.fresh(`${base}_input_shape`))],
    });
    const flatten = new Node({
      opType: 'Flatten',
      name: this.names.fresh(`${base}_flatten`),
      inputs: [input],
      outputs: [new Value(this.names.fresh(`${base}_flat`))],
      attributes: [{ name: 'axis', type: 'int', value: axis }],
    });
    graph.insertBefore(node, shape);
    graph.insertBefore(node, flatten);
    const output = node.output(0)!;
    const flatOutput = new Value(this.names.fresh(`${base}_flat_output`));
    const replacement = new Node({
      opType: node.opType,
      name: node.name,
      inputs: [flatten.output(0)!],
      outputs: [flatOutput],
      attributes: [{ name: 'axis', type: 'int', value: -1 }],
    });
    const reshape = new Node({
      opType: 'Reshape',
      name: this.names.fresh(`${base}_reshape`),
      inputs: [flatOutput, shape.output(0)!],
      outputs: [],
    });
    graph.insertBefore(node, replacement);
    node.setOutput(0, undefined);
    graph.removeNode(node, { force: true });
    reshape.appendOutput(output);
    graph.insertAfter(replacement, reshape);
    this.rewritten++;
  }
}

/** Raise the model to opset 13 in place; returns what changed. */
export function upgradeOpset(model: Model): UpgradeOpsetStatistics {
  const fromOpset = model.opsetVersion('') ?? 1;
  if (fromOpset >= TARGET) return { fromOpset, toOpset: fromOpset, nodesRewritten: 0 };
  if (fromOpset < OLDEST) {
    throw new WhittleError(
      UpgradeOpsetCodes.UNSUPPORTED,
      `the model imports opset ${fromOpset}; upgrade-opset starts from opset ${OLDEST}`,
      { location: { path: 'opset_import' } },
    );
  }
  const rewriter = new Rewriter(new NameGenerator(model), fromOpset);
  for (const graph of [...model.graphs()]) {
    for (const node of [...graph.nodes]) {
      if (node.domain !== '' && node.domain !== 'ai.onnx') continue;
      rewriter.rewrite(node);
    }
  }
  for (const entry of model.opsetImports) if (entry.domain === '' || entry.domain === 'ai.onnx') entry.version = TARGET;
  return { fromOpset, toOpset: TARGET, nodesRewritten: rewriter.rewritten };
}

export const upgradeOpsetPass: PassDefinition<UpgradeOpsetOptions, Model> = {
  name: 'upgrade-opset',
  description:
    'Raise the default-domain opset (9 to 12) to 13, rewriting the ops whose form or meaning changed, so newer ' +
    'features (bfloat16 Cast, per-channel Q/DQ) can be used',
  options: {
    type: 'object',
    properties: { target: { description: 'the opset to reach', enum: [13], default: 13 } },
    additionalProperties: false,
  },
  create() {
    return {
      name: 'upgrade-opset',
      run(model) {
        const statistics = upgradeOpset(model);
        return {
          model,
          changed: statistics.fromOpset !== statistics.toOpset,
          statistics: { ...statistics },
        };
      },
    };
  },
};
