import {
  constantValueOf,
  DataType,
  type Model,
  NameGenerator,
  type Node,
  type NumericArray,
  Tensor,
  tensorType,
  Value,
} from '@whittle/ir';
import type { PassDefinition } from '@whittle/spec';
import { bypassNode, removeValueInfo } from './graph-edits.js';
import { defaultOpset, isAnyGraphOutput, isNestedGraphOutput } from './eliminate-identities.js';

// ---------------------------------------------------------------------------------------------------------------
// Helpers for the fusion passes of this folder: float constants read as float64, written back in their own type.
// ---------------------------------------------------------------------------------------------------------------

/** Element types the fusions compute with (read as float64, stored back in the original type). */
const FUSIBLE_FLOATS = new Set<DataType>([DataType.FLOAT, DataType.DOUBLE]);

/** A float32/float64 constant's elements as float64, or undefined for any other type. */
export function floatValuesOf(tensor: Tensor | undefined): Float64Array | undefined {
  if (!tensor || !FUSIBLE_FLOATS.has(tensor.dataType)) return undefined;
  return Float64Array.from(tensor.toArray() as Float32Array | Float64Array);
}

/** A tensor of `dataType` (float32 or float64) holding `values`, rounded once. */
export function floatTensor(name: string, dataType: DataType, dims: readonly number[], values: Float64Array): Tensor {
  const stored: NumericArray = dataType === DataType.DOUBLE ? values : Float32Array.from(values);
  return Tensor.fromArray(name, dataType, dims, stored);
}

/** The float constant feeding `node`'s input `index`, as float64 with its tensor, when there is one. */
export function floatConstantInput(
  node: Node,
  index: number,
): { tensor: Tensor; values: Float64Array; value: Value } | undefined {
  const value = node.input(index);
  const tensor = constantValueOf(value);
  const values = floatValuesOf(tensor);
  return value && tensor && values ? { tensor, values, value } : undefined;
}

/**
 * Drop a constant nobody reads any more: an initializer that is not a graph input, or a Constant node whose outputs
 * are all unused. Returns true when something was removed.
 */
export function dropIfUnused(value: Value | undefined): boolean {
  if (!value || value.uses.length > 0 || isAnyGraphOutput(value)) return false;
  const graph = value.graph;
  if (!graph) return false;
  if (value.initializer && graph.initializers.includes(value)) {
    if (graph.inputs.includes(value)) return false;
    graph.removeInitializer(value);
    removeValueInfo(value);
    return true;
  }
  const producer = value.producer;
  if (producer?.is('Constant') && producer.graph) {
    const unused = producer.outputs.every(
      (output) => !output || (output.uses.length === 0 && !isAnyGraphOutput(output)),
    );
    if (!unused) return false;
    producer.graph.removeNode(producer);
    removeValueInfo(value);
    return true;
  }
  return false;
}

/**
 * Make `node` read `tensor` at input `index`. An initializer read by this node alone gets the new data in place
 * (its name stays); otherwise a fresh initializer is added to the node's graph and the old constant is dropped when
 * nothing else reads it. Returns the number of constants dropped.
 */
export function replaceConstantInput(node: Node, index: number, tensor: Tensor, names: NameGenerator): number {
  const graph = node.graph;
  if (!graph) throw new Error(`${node.describe()} is not in a graph`);
  const old = node.input(index);
  const type = tensorType(tensor.dataType, [...tensor.dims]);
  if (old?.constant && old.uses.length === 1 && old.uses[0]!.node === node && !isAnyGraphOutput(old)) {
    tensor.name = old.name;
    old.initializer = tensor;
    old.type = type;
    return 0;
  }
  const base = old ? `${old.name}_fused` : `${node.name || node.opType}_bias`;
  const value = graph.addInitializer(tensor, new Value(names.fresh(base), type));
  node.setInput(index, value);
  return dropIfUnused(old) ? 1 : 0;
}

/**
 * The bias of a Gemm after `Y' = Y * scale + shift` per output column: `beta * C * scale + shift`, with C
 * (unidirectionally broadcastable to [M, N]) kept at the smallest shape that holds the result. Undefined when C is
 * present but not a float constant, or has a shape Gemm's broadcasting does not allow.
 */
export function scaledGemmBias(
  gemm: Node,
  n: number,
  scale: Float64Array | undefined,
  shift: Float64Array,
  dataType: DataType,
): Tensor | undefined {
  const beta = gemm.floatAttribute('beta', 1)!;
  const cValue = gemm.input(2);
  if (!cValue) return floatTensor('', dataType, [n], shift);
  const c = floatConstantInput(gemm, 2);
  if (!c || c.tensor.dims.length > 2) return undefined;
  const dims = [...c.tensor.dims];
  while (dims.length < 2) dims.unshift(1);
  const [rows, columns] = dims as [number, number];
  if (columns !== 1 && columns !== n) return undefined;
  const result = new Float64Array(rows * n);
  for (let row = 0; row < rows; row++) {
    for (let column = 0; column < n; column++) {
      const original = c.values[row * columns + (columns === 1 ? 0 : column)]!;
      result[row * n + column] = beta * original * (scale ? scale[column]! : 1) + shift[column]!;
    }
  }
  const outDims = c.tensor.dims.length <= 1 && rows === 1 ? [n] : [rows, n];
  return floatTensor('', dataType, outDims, result);
}

/** Set a Gemm's beta to 1 (after its bias absorbed the old beta). */
export function resetGemmBeta(gemm: Node): void {
  if (gemm.floatAttribute('beta', 1) !== 1) gemm.setAttribute({ name: 'beta', type: 'float', value: 1 });
}

/** The opset where Gemm's C broadcasts unidirectionally (no `broadcast` attribute). */
export const GEMM_BROADCAST_OPSET = 7;

// ---------------------------------------------------------------------------------------------------------------
// The pass
// ---------------------------------------------------------------------------------------------------------------

export type FuseBatchNormOptions = Record<string, never>;

type Target = 'conv' | 'convTranspose' | 'gemm';

interface Affine {
  channels: number;
  scale: Float64Array;
  shift: Float64Array;
  params: Value[];
}

/** An inference BatchNormalization as `y = x * scale + shift` per channel, or undefined when not provably one. */
function inferenceAffine(bn: Node, opset: number): Affine | undefined {
  if (bn.outputs.slice(1).some((output) => output?.isUsed)) return undefined;
  if (bn.intAttribute('training_mode', 0) !== 0) return undefined;
  if (opset < 7 && bn.intAttribute('is_test', 0) !== 1) return undefined;
  if (opset < 9 && bn.intAttribute('spatial', 1) !== 1) return undefined;
  const params = [1, 2, 3, 4].map((index) => floatConstantInput(bn, index));
  const [gamma, beta, mean, variance] = params;
  if (!gamma || !beta || !mean || !variance) return undefined;
  const channels = gamma.values.length;
  for (const param of params) {
    if (param!.tensor.dims.length !== 1 || param!.values.length !== channels) return undefined;
  }
  const epsilon = bn.floatAttribute('epsilon', 1e-5)!;
  const scale = new Float64Array(channels);
  const shift = new Float64Array(channels);
  for (let c = 0; c < channels; c++) {
    scale[c] = gamma.values[c]! / Math.sqrt(variance.values[c]! + epsilon);
    shift[c] = beta.values[c]! - mean.values[c]! * scale[c]!;
  }
  return { channels, scale, shift, params: params.map((param) => param!.value) };
}

/** New weight and bias for a Conv or ConvTranspose followed by the affine map, or undefined when not fusible. */
function convWeights(node: Node, affine: Affine, transposed: boolean): { weight: Tensor; bias: Tensor } | undefined {
  const weight = floatConstantInput(node, 1);
  if (!weight || weight.tensor.dims.length < 3) return undefined;
  const dims = weight.tensor.dims;
  const group = node.intAttribute('group', 1)!;
  if (group < 1) return undefined;
  const outChannels = transposed ? dims[1]! * group : dims[0]!;
  if (outChannels !== affine.channels) return undefined;
  const dataType = weight.tensor.dataType;
  let bias: Float64Array = new Float64Array(outChannels);
  if (node.input(2)) {
    const given = floatConstantInput(node, 2);
    if (!given || given.values.length !== outChannels || given.tensor.dims.length !== 1) return undefined;
    bias = given.values;
  }
  const w = weight.values;
  const spatial = dims.slice(2).reduce((product, dim) => product * dim, 1);
  if (!transposed) {
    for (let m = 0; m < outChannels; m++) {
      const s = affine.scale[m]!;
      for (let index = m * (w.length / outChannels); index < (m + 1) * (w.length / outChannels); index++)
        w[index]! *= s;
    }
  } else {
    // ConvTranspose weight: [C_in, C_out / group, k...]; input channel ci belongs to group floor(ci / (C_in / group)).
    const inChannels = dims[0]!;
    if (inChannels % group !== 0) return undefined;
    const inPerGroup = inChannels / group;
    const outPerGroup = dims[1]!;
    for (let ci = 0; ci < inChannels; ci++) {
      const g = Math.floor(ci / inPerGroup);
      for (let j = 0; j < outPerGroup; j++) {
        const s = affine.scale[g * outPerGroup + j]!;
        const start = (ci * outPerGroup + j) * spatial;
        for (let index = start; index < start + spatial; index++) w[index]! *= s;
      }
    }
  }
  const fusedBias = new Float64Array(outChannels);
  for (let c = 0; c < outChannels; c++) fusedBias[c] = bias[c]! * affine.scale[c]! + affine.shift[c]!;
  return {
    weight: floatTensor('', dataType, dims, w),
    bias: floatTensor(
      '',
      node.input(2) ? constantValueOf(node.input(2))!.dataType : dataType,
      [outChannels],
      fusedBias,
    ),
  };
}

/** New B and C for a Gemm followed by the affine map over its output columns. */
function gemmWeights(node: Node, affine: Affine): { weight: Tensor; bias: Tensor } | undefined {
  const b = floatConstantInput(node, 1);
  if (b?.tensor.dims.length !== 2) return undefined;
  const transB = node.intAttribute('transB', 0) === 1;
  const [rows, columns] = b.tensor.dims as [number, number];
  const n = transB ? rows : columns;
  if (n !== affine.channels) return undefined;
  const w = b.values;
  for (let row = 0; row < rows; row++) {
    for (let column = 0; column < columns; column++) w[row * columns + column]! *= affine.scale[transB ? row : column]!;
  }
  const bias = scaledGemmBias(node, n, affine.scale, affine.shift, b.tensor.dataType);
  if (!bias) return undefined;
  return { weight: floatTensor('', b.tensor.dataType, b.tensor.dims, w), bias };
}

export const fuseBatchNorm: PassDefinition<FuseBatchNormOptions, Model> = {
  name: 'fuse-batchnorm',
  description:
    'Fold inference BatchNormalization into the Conv, ConvTranspose or Gemm before it (float64 math, stored in the weight type)',
  options: { type: 'object', properties: {}, additionalProperties: false },
  create() {
    return {
      name: 'fuse-batchnorm',
      run(model) {
        const opset = defaultOpset(model) ?? 1;
        let names: NameGenerator | undefined;
        const statistics: Record<string, number> = {
          batchNormsFused: 0,
          intoConv: 0,
          intoConvTranspose: 0,
          intoGemm: 0,
          constantsRemoved: 0,
        };
        for (const graph of [...model.graphs()]) {
          for (const bn of graph.nodes) {
            if (!bn.is('BatchNormalization') || bn.graph !== graph) continue;
            const x = bn.input(0);
            const producer = x?.producer;
            const y = bn.output(0);
            if (!y || isNestedGraphOutput(y)) continue;
            if (!x || !producer || producer.graph !== graph || producer.output(0) !== x) continue;
            if (x.uses.length !== 1 || isAnyGraphOutput(x)) continue;
            if (producer.outputs.some((output, index) => index > 0 && output?.isUsed)) continue;
            let target: Target;
            if (producer.is('Conv')) target = 'conv';
            else if (producer.is('ConvTranspose')) target = 'convTranspose';
            else if (producer.is('Gemm') && opset >= GEMM_BROADCAST_OPSET) target = 'gemm';
            else continue;
            const affine = inferenceAffine(bn, opset);
            if (!affine) continue;
            const fused =
              target === 'gemm'
                ? gemmWeights(producer, affine)
                : convWeights(producer, affine, target === 'convTranspose');
            if (!fused) continue;
            names ??= new NameGenerator(model);
            statistics.constantsRemoved! += replaceConstantInput(producer, 1, fused.weight, names);
            statistics.constantsRemoved! += replaceConstantInput(producer, 2, fused.bias, names);
            if (target === 'gemm') resetGemmBeta(producer);
            if (!bypassNode(bn, x)) throw new Error(`fuse-batchnorm: could not bypass ${bn.describe()}`);
            for (const param of affine.params) if (dropIfUnused(param)) statistics.constantsRemoved!++;
            statistics.batchNormsFused!++;
            statistics[target === 'conv' ? 'intoConv' : target === 'gemm' ? 'intoGemm' : 'intoConvTranspose']!++;
          }
        }
        const changed = statistics.batchNormsFused! > 0;
        return { model, changed, ...(changed ? {} : { preserved: 'all' as const }), statistics };
      },
    };
  },
};
