/**
 * The node rewrites of `quantize-dynamic`: MatMul, Gemm and Conv with constant float weights become integer
 * products of a dynamically quantized activation and a statically quantized weight, rescaled to float. The graph
 * written is the one ONNX Runtime's own dynamic quantizer writes, so that ORT fuses it (MatMulIntegerToFloat, then
 * DynamicQuantizeMatMul).
 */
import { constantValueOf, DataType, type Dimension, type Graph, type Node, Tensor, type Value } from '@whittle/ir';
import { elementTypeOf, floatValues, type GraphEditor, intAttribute, shapeOf } from './dynamic-support.js';
import {
  type QuantizedWeight,
  quantizeWeight,
  transpose2d,
  uniformZeroPoint,
  weightTensor,
  zeroPointTensor,
} from './dynamic-weights.js';

export interface DynamicSettings {
  weightType: DataType.INT8 | DataType.UINT8;
  perChannel: boolean;
  minElements: number;
  /**
   * 'standard': DynamicQuantizeLinear + MatMulInteger/ConvInteger + Cast + Mul (opset 11 and later).
   * 'contrib': com.microsoft DynamicQuantizeMatMul (older opsets; ONNX Runtime only).
   */
  form: 'standard' | 'contrib';
}

/** Why a node was left as it was, for statistics and notes. */
export type SkipReason =
  | 'not-constant'
  | 'not-float'
  | 'too-small'
  | 'unsupported-shape'
  | 'unsupported-attribute'
  | 'needs-opset-11';

/** The dynamically quantized form of one float activation in one graph: DynamicQuantizeLinear's outputs. */
interface QuantizedActivation {
  values: Value;
  scale: Value;
  zeroPoint: Value;
}

/** Constants made for one weight, shared by every node of a graph that reads the same weight the same way. */
interface WeightConstants {
  weight: QuantizedWeight;
  integers: Value;
  scale: Value;
  zeroPoint: Value;
}

export class DynamicRewriter {
  private readonly activations = new Map<Graph, Map<Value, QuantizedActivation>>();
  private readonly weights = new Map<Graph, Map<string, WeightConstants>>();
  private readonly valueIds = new Map<Value, number>();
  /** Float constants the rewrites stopped reading; removed at the end when nothing else reads them. */
  readonly released = new Set<Value>();

  constructor(
    private readonly editor: GraphEditor,
    private readonly settings: DynamicSettings,
  ) {}

  /** Rewrite a MatMul whose B is a constant float matrix; returns why not when it cannot. */
  matMul(graph: Graph, node: Node): SkipReason | undefined {
    const operands = this.weightOperands(node);
    if (typeof operands === 'string') return operands;
    const { activation, weightValue, weight } = operands;
    if (weight.dims.length < 2) return 'unsupported-shape';
    const axis = this.settings.perChannel && weight.dims.length === 2 ? 1 : undefined;
    const constants = this.weightConstants(graph, weightValue, 'matmul', () =>
      quantizeWeight(floatValues(weight), weight.dims, this.quantization(axis, false)),
    );
    this.emitProduct(graph, node, activation, constants, undefined, undefined);
    return undefined;
  }

  /** Rewrite a Gemm whose B is a constant float matrix (transB by transposing the stored weight, alpha folded in). */
  gemm(graph: Graph, node: Node): SkipReason | undefined {
    const operands = this.weightOperands(node);
    if (typeof operands === 'string') return operands;
    const { weightValue, weight } = operands;
    let activation = operands.activation;
    if (weight.dims.length !== 2) return 'unsupported-shape';
    const alpha = node.floatAttribute('alpha', 1)!;
    const beta = node.floatAttribute('beta', 1)!;
    const transA = node.intAttribute('transA', 0)!;
    const transB = node.intAttribute('transB', 0)!;
    const [rows, columns] = weight.dims as [number, number];
    const n = transB ? rows : columns;
    const constants = this.weightConstants(graph, weightValue, `gemm/${transB}/${alpha}`, () => {
      let values = floatValues(weight);
      if (transB) values = transpose2d(values, rows, columns);
      if (alpha !== 1) for (let index = 0; index < values.length; index++) values[index] = alpha * values[index]!;
      const dims = transB ? [columns, rows] : [rows, columns];
      return quantizeWeight(values, dims, this.quantization(this.settings.perChannel ? 1 : undefined, false));
    });
    if (transA) {
      const transposed = this.editor.insert(graph, node, {
        opType: 'Transpose',
        base: `${activation.name}_transposed`,
        inputs: [activation],
        attributes: [{ name: 'perm', type: 'ints', value: [1, 0] }],
        types: [{ elementType: DataType.FLOAT }],
      });
      activation = transposed.output(0)!;
    }
    const bias = this.gemmBias(graph, node, node.input(2), beta, n);
    this.emitProduct(graph, node, activation, constants, bias, undefined);
    return undefined;
  }

  /** Rewrite a Conv whose weight is a constant float tensor (standard form only: ConvInteger). */
  conv(graph: Graph, node: Node): SkipReason | undefined {
    if (this.settings.form !== 'standard') return 'needs-opset-11';
    const operands = this.weightOperands(node);
    if (typeof operands === 'string') return operands;
    const { activation, weightValue, weight } = operands;
    if (weight.dims.length < 3) return 'unsupported-shape';
    const biasValue = node.input(2);
    const bias = biasValue ? constantValueOf(biasValue) : undefined;
    if (biasValue && (!bias || bias.dataType !== DataType.FLOAT)) return 'not-constant';
    const channels = weight.dims[0]!;
    const axis = this.settings.perChannel ? 0 : undefined;
    // ConvInteger takes one zero point for the whole weight: per-channel weights are symmetric (int8: 0, uint8: 128).
    const constants = this.weightConstants(graph, weightValue, 'conv', () =>
      quantizeWeight(floatValues(weight), weight.dims, this.quantization(axis, axis !== undefined)),
    );
    let biasConstant: Value | undefined;
    if (bias && biasValue) {
      // [C] → [1, C, 1, ...] so that it adds along the channel axis of [N, C, spatial...].
      const dims = [1, channels, ...weight.dims.slice(2).map(() => 1)];
      biasConstant = this.editor.constant(
        graph,
        `${biasValue.name}_reshaped`,
        Tensor.fromArray('', DataType.FLOAT, dims, floatValues(bias)),
      );
      this.released.add(biasValue);
    }
    this.emitProduct(graph, node, activation, constants, biasConstant, weight.dims.length);
    return undefined;
  }

  /** Input 0 (the activation) and the constant float weight at input 1 that every rewrite starts from, or why not. */
  private weightOperands(node: Node): { activation: Value; weightValue: Value; weight: Tensor } | SkipReason {
    const activation = node.input(0);
    const weightValue = node.input(1);
    const weight = constantValueOf(weightValue);
    if (!activation || !weightValue || !weight) return 'not-constant';
    return this.checkWeight(weight, activation) ?? { activation, weightValue, weight };
  }

  private checkWeight(weight: Tensor, activation: Value): SkipReason | undefined {
    if (weight.dataType !== DataType.FLOAT) return 'not-float';
    const activationType = elementTypeOf(activation);
    if (activationType !== undefined && activationType !== DataType.FLOAT) return 'not-float';
    if (weight.elementCount < this.settings.minElements) return 'too-small';
    return undefined;
  }

  private quantization(axis: number | undefined, forceSymmetric: boolean) {
    const type = this.settings.weightType;
    // ONNX Runtime's defaults: int8 weights symmetric, uint8 weights asymmetric.
    const symmetric = forceSymmetric || type === DataType.INT8;
    return axis === undefined ? { type, symmetric } : { type, symmetric, axis };
  }

  private idOf(value: Value): number {
    let id = this.valueIds.get(value);
    if (id === undefined) {
      id = this.valueIds.size;
      this.valueIds.set(value, id);
    }
    return id;
  }

  private weightConstants(
    graph: Graph,
    weightValue: Value,
    variant: string,
    quantize: () => QuantizedWeight,
  ): WeightConstants {
    let byGraph = this.weights.get(graph);
    if (!byGraph) {
      byGraph = new Map();
      this.weights.set(graph, byGraph);
    }
    const key = `${this.idOf(weightValue)}/${variant}`;
    const cached = byGraph.get(key);
    if (cached) return cached;
    const weight = quantize();
    const base = weightValue.name;
    const perChannel = weight.axis !== undefined;
    const integers = this.editor.constant(graph, `${base}_quantized`, weightTensor('', weight));
    const zeroPoint = this.editor.constant(
      graph,
      `${base}_zero_point`,
      zeroPointTensor('', weight, perChannel && !uniformZeroPoint(weight)),
    );
    // Scales broadcast against the product: [N] for a MatMul, [C, 1, ...] for a Conv's [N, C, spatial...].
    let scaleDims: number[] = [];
    if (perChannel) {
      scaleDims =
        weight.axis === 0 ? [weight.scales.length, ...weight.dims.slice(2).map(() => 1)] : [weight.scales.length];
    }
    const scale = this.editor.constant(
      graph,
      `${base}_scale`,
      Tensor.fromArray('', DataType.FLOAT, scaleDims, Float32Array.from(weight.scales)),
    );
    const constants = { weight, integers, scale, zeroPoint };
    byGraph.set(key, constants);
    this.released.add(weightValue);
    return constants;
  }

  /** DynamicQuantizeLinear of a float activation, made once per graph and shared by its readers there. */
  private activation(graph: Graph, anchor: Node, value: Value): QuantizedActivation {
    let byGraph = this.activations.get(graph);
    if (!byGraph) {
      byGraph = new Map();
      this.activations.set(graph, byGraph);
    }
    const cached = byGraph.get(value);
    if (cached) return cached;
    const shape = shapeOf(value);
    const node = this.editor.insert(graph, anchor, {
      opType: 'DynamicQuantizeLinear',
      base: `${value.name}_dynamic`,
      inputs: [value],
      outputCount: 3,
      types: [
        { elementType: DataType.UINT8, ...(shape ? { shape } : {}) },
        { elementType: DataType.FLOAT, shape: [] },
        { elementType: DataType.UINT8, shape: [] },
      ],
    });
    const quantized = { values: node.output(0)!, scale: node.output(1)!, zeroPoint: node.output(2)! };
    byGraph.set(value, quantized);
    return quantized;
  }

  /**
   * Replace `node` by the product of its quantized activation and weight, rescaled, plus a bias; the node's output
   * value (name, type, readers) moves to the last node written. `convRank` set: a ConvInteger with the node's
   * attributes; otherwise a MatMulInteger.
   */
  private emitProduct(
    graph: Graph,
    node: Node,
    activation: Value,
    constants: WeightConstants,
    bias: Value | undefined,
    convRank: number | undefined,
  ): void {
    const output = node.output(0)!;
    const base = node.name || output.name;
    node.setOutput(0, undefined);
    if (this.settings.form === 'contrib') {
      // DynamicQuantizeMatMul(A, B, b_scale, b_zero_point, bias): what ORT fuses the standard form into.
      const inline = bias && this.isRowBias(bias, constants.weight.dims.at(-1)!);
      const fused = this.editor.insert(graph, node, {
        opType: 'DynamicQuantizeMatMul',
        domain: 'com.microsoft',
        base,
        inputs: [activation, constants.integers, constants.scale, constants.zeroPoint, inline ? bias : undefined],
        ...(bias && !inline ? {} : { outputs: [output] }),
        types: [{ elementType: DataType.FLOAT }],
      });
      if (bias && !inline) this.addBias(graph, node, fused.output(0)!, bias, output);
      graph.removeNode(node);
      return;
    }
    const quantized = this.activation(graph, node, activation);
    const integer = this.editor.insert(graph, node, {
      opType: convRank === undefined ? 'MatMulInteger' : 'ConvInteger',
      base: `${base}_integer`,
      inputs: [quantized.values, constants.integers, quantized.zeroPoint, constants.zeroPoint],
      attributes: convRank === undefined ? [] : [...node.attributes.values()],
      types: [{ elementType: DataType.INT32 }],
    });
    const cast = this.editor.insert(graph, node, {
      opType: 'Cast',
      base: `${base}_float`,
      inputs: [integer.output(0)],
      attributes: [intAttribute('to', DataType.FLOAT)],
      types: [{ elementType: DataType.FLOAT }],
    });
    const scales = this.editor.insert(graph, node, {
      opType: 'Mul',
      base: `${base}_scales`,
      inputs: [quantized.scale, constants.scale],
      types: [{ elementType: DataType.FLOAT }],
    });
    const rescaled = this.editor.insert(graph, node, {
      opType: 'Mul',
      base: `${base}_rescaled`,
      inputs: [cast.output(0), scales.output(0)],
      ...(bias ? {} : { outputs: [output] }),
      types: [{ elementType: DataType.FLOAT }],
    });
    if (bias) this.addBias(graph, node, rescaled.output(0)!, bias, output);
    graph.removeNode(node);
  }

  private addBias(graph: Graph, anchor: Node, product: Value, bias: Value, output: Value): void {
    this.editor.insert(graph, anchor, {
      opType: 'Add',
      base: `${output.name}_bias`,
      inputs: [product, bias],
      outputs: [output],
    });
  }

  /** A constant [N] bias (what ORT folds into MatMulIntegerToFloat and DynamicQuantizeMatMul). */
  private isRowBias(bias: Value, n: number): boolean {
    const tensor = constantValueOf(bias);
    return tensor !== undefined && tensor.dims.length === 1 && tensor.dims[0] === n;
  }

  /**
   * Gemm's C times beta, added after the product: a constant that broadcasts along rows becomes a constant [N]
   * (so ORT folds it into its fused kernel); another constant is scaled as it is; a computed C is multiplied by
   * beta at run time when beta is not 1.
   */
  private gemmBias(graph: Graph, node: Node, c: Value | undefined, beta: number, n: number): Value | undefined {
    if (!c || beta === 0) return undefined;
    const tensor = constantValueOf(c);
    if (tensor && tensor.dataType === DataType.FLOAT) {
      const values = floatValues(tensor);
      for (let index = 0; index < values.length; index++) values[index] = beta * values[index]!;
      const dims = tensor.dims;
      const rowLike = dims.length <= 2 && dims.slice(0, -1).every((dim) => dim === 1);
      let data = values;
      let shape: readonly Dimension[] = dims;
      if (rowLike && values.length === n) shape = [n];
      else if (rowLike && values.length === 1 && n > 1) {
        data = new Float32Array(n).fill(values[0]!);
        shape = [n];
      }
      this.released.add(c);
      return this.editor.constant(
        graph,
        `${c.name}_bias`,
        Tensor.fromArray('', DataType.FLOAT, shape as number[], data),
      );
    }
    if (beta === 1) return c;
    const scaled = this.editor.insert(graph, node, {
      opType: 'Mul',
      base: `${c.name}_beta`,
      inputs: [
        c,
        this.editor.constant(
          graph,
          `${c.name}_beta_value`,
          Tensor.fromArray('', DataType.FLOAT, [], Float32Array.of(beta)),
        ),
      ],
      types: [{ elementType: DataType.FLOAT }],
    });
    return scaled.output(0)!;
  }
}
