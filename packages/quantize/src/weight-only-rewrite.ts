/**
 * The graph edits of quantize-weights: a MatMul (or opted-in Gemm) with a constant float32 weight becomes
 * com.microsoft MatMulNBits, or DequantizeLinear (opset 21, block_size) feeding the original op; a Gather of a
 * constant embedding reads a DequantizeLinear of its table.
 */
import {
  BytesData,
  DataType,
  type Graph,
  type Model,
  type NameGenerator,
  Node,
  Tensor,
  tensorType,
  type Value,
} from '@whittle/ir';
import {
  type BlockQuantized,
  type BlockSettings,
  dequantizeLinearLayout,
  integerTensorBytes,
  quantizeBlocks,
  quantizeMatMulNBits,
  type WeightLayout,
} from './weight-only-blockwise.js';

export type WeightOnlyFormat = 'matmulnbits' | 'dequantize-linear';

export interface WeightOnlySettings extends BlockSettings {
  format: WeightOnlyFormat;
  minElements: number;
  /** The model's default-domain opset. */
  opset: number;
}

/** Why a candidate node was left in float. */
export type SkipReason = 'not-constant' | 'too-small' | 'unsupported-form' | 'gather-needs-opset-21';

/** The first opset whose DequantizeLinear takes `block_size` (and int4/uint4). */
export const BLOCKED_DEQUANTIZE_OPSET = 21;

/** A constant float32 matrix, or undefined. */
function constantMatrix(value: Value | undefined): Tensor | undefined {
  const tensor = value?.constant;
  if (!tensor || tensor.dataType !== DataType.FLOAT || tensor.dims.length !== 2) return undefined;
  return tensor;
}

function rankOf(value: Value | undefined): number | undefined {
  return value?.type?.kind === 'tensor' ? value.type.shape?.length : undefined;
}

function elementTypeOf(value: Value | undefined): DataType | undefined {
  return value?.type?.kind === 'tensor' ? value.type.elementType : value?.initializer?.dataType;
}

function bytesOf(values: Float32Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

/** Bytes of every initializer of the model. */
export function initializerBytes(model: Model): number {
  let bytes = 0;
  for (const graph of model.graphs())
    for (const value of graph.initializers) bytes += value.initializer?.byteLength ?? 0;
  return bytes;
}

export class WeightOnlyRewriter {
  /** Float weights some node no longer reads (removed at the end when nothing else does). */
  readonly released = new Set<Value>();
  usedContribOps = false;
  private readonly dequantized = new Map<string, Value>();
  private readonly packed = new Map<string, Value[]>();
  private readonly valueIds = new Map<Value, number>();
  private readonly graphIds = new Map<Graph, number>();

  constructor(
    private readonly names: NameGenerator,
    private readonly settings: WeightOnlySettings,
  ) {}

  /** MatMul(A, W[K, N]) with A of rank 2 or more. */
  matMul(graph: Graph, node: Node): SkipReason | undefined {
    const weight = node.input(1);
    const tensor = constantMatrix(weight);
    if (!tensor || !weight) return 'not-constant';
    if (tensor.elementCount < this.settings.minElements) return 'too-small';
    const input = node.input(0);
    if ((rankOf(input) ?? 0) < 2 || elementTypeOf(input) !== DataType.FLOAT) return 'unsupported-form';
    const [k = 0, n = 0] = tensor.dims;
    if (this.settings.format === 'dequantize-linear') {
      node.setInput(1, this.dequantizeLinear(graph, node, weight, tensor, 0));
    } else {
      const key = `${this.idOf(this.valueIds, weight)}/${this.idOf(this.graphIds, graph)}`;
      // The raw bytes, not toArray(): an unaligned weight is then copied a block at a time, not all at once.
      this.replaceWithMatMulNBits(graph, node, weight, k, n, tensor.bytes(), 'k-by-n', undefined, key);
    }
    this.released.add(weight);
    return undefined;
  }

  /**
   * Gemm(A, B, C) with transA = 0. MatMulNBits: alpha folded into the weight, beta * C (a constant that broadcasts
   * over rows: [N], [1, N] or a scalar) as its bias. DequantizeLinear: the Gemm stays and reads the weight from it.
   */
  gemm(graph: Graph, node: Node): SkipReason | undefined {
    const weight = node.input(1);
    const tensor = constantMatrix(weight);
    if (!tensor || !weight) return 'not-constant';
    if (tensor.elementCount < this.settings.minElements) return 'too-small';
    if ((node.intAttribute('transA', 0) ?? 0) !== 0 || elementTypeOf(node.input(0)) !== DataType.FLOAT) {
      return 'unsupported-form';
    }
    const transB = (node.intAttribute('transB', 0) ?? 0) !== 0;
    const [rows = 0, columns = 0] = tensor.dims;
    const [k, n] = transB ? [columns, rows] : [rows, columns];
    if (this.settings.format === 'dequantize-linear') {
      node.setInput(1, this.dequantizeLinear(graph, node, weight, tensor, transB ? 1 : 0));
      this.released.add(weight);
      return undefined;
    }
    const alpha = node.floatAttribute('alpha', 1) ?? 1;
    const beta = node.floatAttribute('beta', 1) ?? 1;
    const biasInput = node.input(2);
    let bias: Float32Array | undefined;
    if (biasInput) {
      const c = biasInput.constant;
      const broadcastsOverRows =
        c?.dataType === DataType.FLOAT &&
        (c.elementCount === n || c.elementCount === 1) &&
        (c.dims.length < 2 || c.dims[0] === 1);
      if (!c || !broadcastsOverRows) return 'unsupported-form';
      const values = c.toArray() as Float32Array;
      bias = Float32Array.from({ length: n }, (_, index) => beta * values[values.length === 1 ? 0 : index]!);
    }
    // alpha folded in: a Float32Array stores float32(alpha × w), the value the weight is quantized from.
    const bytes =
      alpha === 1
        ? tensor.bytes()
        : bytesOf(Float32Array.from(tensor.toArray() as Float32Array, (value) => alpha * value));
    this.replaceWithMatMulNBits(graph, node, weight, k, n, bytes, transB ? 'n-by-k' : 'k-by-n', bias);
    this.released.add(weight);
    if (biasInput) this.released.add(biasInput);
    return undefined;
  }

  /** Gather(table[V, D], indices): the table quantized along D, dequantized by DequantizeLinear (opset 21). */
  gather(graph: Graph, node: Node): SkipReason | undefined {
    const table = node.input(0);
    const tensor = constantMatrix(table);
    if (!tensor || !table) return 'not-constant';
    if (tensor.elementCount < this.settings.minElements) return 'too-small';
    if (this.settings.opset < BLOCKED_DEQUANTIZE_OPSET) return 'gather-needs-opset-21';
    node.setInput(0, this.dequantizeLinear(graph, node, table, tensor, 1));
    this.released.add(table);
    return undefined;
  }

  private replaceWithMatMulNBits(
    graph: Graph,
    node: Node,
    weight: Value,
    k: number,
    n: number,
    /** The float32 elements of the weight (alpha folded in), little-endian, laid out as `layout` says. */
    bytes: Uint8Array,
    layout: WeightLayout,
    bias: Float32Array | undefined,
    /** Set when the packed weight depends on the weight alone (MatMul), so other readers can share it. */
    cacheKey?: string,
  ): void {
    const packed = this.packedWeights(graph, weight, k, n, bytes, layout, cacheKey);
    const inputs: (Value | undefined)[] = [node.input(0), ...packed];
    if (bias) {
      while (inputs.length < 5) inputs.push(undefined);
      inputs.push(this.initializer(graph, this.names.fresh(`${weight.name}_bias`), DataType.FLOAT, [n], bytesOf(bias)));
    }
    const output = node.output(0)!;
    node.setOutput(0, undefined);
    const replacement = new Node({
      opType: 'MatMulNBits',
      domain: 'com.microsoft',
      name: node.name,
      inputs,
      outputs: [output],
      attributes: [
        { name: 'K', type: 'int', value: k },
        { name: 'N', type: 'int', value: n },
        { name: 'bits', type: 'int', value: this.settings.bits },
        { name: 'block_size', type: 'int', value: this.settings.blockSize },
      ],
    });
    graph.insertBefore(node, replacement);
    graph.removeNode(node);
    this.usedContribOps = true;
  }

  /** B, scales and (asymmetric) zero points of MatMulNBits for a weight [K, N]; shared by readers of one weight. */
  private packedWeights(
    graph: Graph,
    weight: Value,
    k: number,
    n: number,
    bytes: Uint8Array,
    layout: WeightLayout,
    cacheKey: string | undefined,
  ): Value[] {
    const cached = cacheKey ? this.packed.get(cacheKey) : undefined;
    if (cached) return cached;
    const { bits, blockSize } = this.settings;
    const quantized = quantizeMatMulNBits(bytes, k, n, layout, this.settings);
    const base = weight.name;
    const b = this.initializer(
      graph,
      this.names.fresh(`${base}_q${bits}`),
      DataType.UINT8,
      [n, quantized.blocks, (blockSize * bits) / 8],
      quantized.weights,
    );
    const scales = this.initializer(
      graph,
      this.names.fresh(`${base}_scales`),
      DataType.FLOAT,
      [n * quantized.blocks],
      bytesOf(quantized.scales),
    );
    const values = [b, scales];
    const points = quantized.zeroPoints;
    if (points) {
      values.push(
        this.initializer(graph, this.names.fresh(`${base}_zero_points`), DataType.UINT8, [points.length], points),
      );
    }
    if (cacheKey) this.packed.set(cacheKey, values);
    return values;
  }

  /**
   * A DequantizeLinear of the weight, quantized along `axis` (the reduction axis: 0 for a MatMul weight [K, N],
   * 1 for a transposed Gemm weight [N, K] or an embedding [V, D]); one per weight and graph.
   */
  private dequantizeLinear(graph: Graph, node: Node, weight: Value, tensor: Tensor, axis: 0 | 1): Value {
    const key = `${this.idOf(this.valueIds, weight)}/${this.idOf(this.graphIds, graph)}/${axis}`;
    const existing = this.dequantized.get(key);
    if (existing) return existing;
    const [d0 = 0, d1 = 0] = tensor.dims;
    const values = tensor.toArray() as Float32Array;
    // Rows are the vectors quantized along `axis`.
    const [rows, length] = axis === 0 ? [d1, d0] : [d0, d1];
    const read =
      axis === 0
        ? (row: number, index: number) => values[index * d1 + row]!
        : (row: number, index: number) => values[row * d1 + index]!;
    const quantized = quantizeBlocks(rows, length, read, this.settings);
    const blockDims = axis === 0 ? [quantized.blocks, d1] : [d0, quantized.blocks];
    const base = weight.name;
    const x = this.initializer(
      graph,
      this.names.fresh(`${base}_q${this.settings.bits}`),
      quantized.type,
      [d0, d1],
      integerTensorBytes(dequantizeLinearLayout(quantized.values, rows, length, axis), quantized.type),
    );
    const scale = this.initializer(
      graph,
      this.names.fresh(`${base}_scales`),
      DataType.FLOAT,
      blockDims,
      bytesOf(dequantizeLinearLayout(quantized.scales, rows, quantized.blocks, axis)),
    );
    const inputs = [x, scale];
    if (!this.settings.symmetric) inputs.push(this.zeroPointInitializer(graph, base, quantized, rows, axis, blockDims));
    const dequantized = new Node({
      opType: 'DequantizeLinear',
      name: this.names.fresh(`${base}_dequantize`),
      inputs,
      outputs: [this.names.fresh(`${base}_dequantized`)],
      attributes: [
        { name: 'axis', type: 'int', value: axis },
        { name: 'block_size', type: 'int', value: this.settings.blockSize },
      ],
    });
    const result = dequantized.output(0)!;
    result.type = tensorType(DataType.FLOAT, [d0, d1]);
    // First in the graph: every reader of the weight in this graph can share it.
    graph.insertBefore(graph.nodes[0] ?? node, dequantized);
    this.dequantized.set(key, result);
    return result;
  }

  private zeroPointInitializer(
    graph: Graph,
    base: string,
    quantized: BlockQuantized,
    rows: number,
    axis: 0 | 1,
    dims: number[],
  ): Value {
    const points = dequantizeLinearLayout(quantized.zeroPoints, rows, quantized.blocks, axis);
    return this.initializer(
      graph,
      this.names.fresh(`${base}_zero_points`),
      quantized.type,
      dims,
      integerTensorBytes(points, quantized.type),
    );
  }

  /** Add a constant to the graph. */
  private initializer(graph: Graph, name: string, dataType: DataType, dims: number[], bytes: Uint8Array): Value {
    const tensor = new Tensor({ name, dataType, dims, data: new BytesData(bytes) });
    const value = graph.addInitializer(tensor);
    value.type = tensorType(tensor.dataType, [...tensor.dims]);
    return value;
  }

  private idOf<K>(ids: Map<K, number>, key: K): number {
    let id = ids.get(key);
    if (id === undefined) {
      id = ids.size;
      ids.set(key, id);
    }
    return id;
  }
}
