import { constantValueOf, type Model, NameGenerator, type Node, type Value } from '@whittle/ir';
import type { PassDefinition } from '@whittle/spec';
import { defaultOpset, isAnyGraphOutput, isNestedGraphOutput } from './eliminate-identities.js';
import {
  dropIfUnused,
  floatConstantInput,
  floatTensor,
  floatValuesOf,
  GEMM_BROADCAST_OPSET,
  replaceConstantInput,
  resetGemmBeta,
  scaledGemmBias,
} from './fuse-batchnorm.js';
import { bypassNode } from './graph-edits.js';

export type FuseBiasAddOptions = Record<string, never>;

/**
 * The per-output-channel values of a constant added to a tensor of rank `rank` whose channels lie on axis 1, or
 * undefined when the constant is not shaped like such a bias (every dim 1 except, possibly, the channel one) or would
 * broadcast the sum to a larger shape.
 */
function perChannel(dims: readonly number[], values: Float64Array, rank: number, channels: number) {
  if (dims.length > rank) return undefined;
  const channelAxis = 1 - (rank - dims.length);
  for (let axis = 0; axis < dims.length; axis++) {
    const dim = dims[axis]!;
    if (axis === channelAxis ? dim !== 1 && dim !== channels : dim !== 1) return undefined;
  }
  const result = new Float64Array(channels);
  for (let c = 0; c < channels; c++) result[c] = values.length === 1 ? values[0]! : values[c]!;
  return result;
}

/** Output channels and output rank of a Conv, ConvTranspose or Gemm whose weight is a known constant. */
function producerShape(node: Node): { channels: number; rank: number } | undefined {
  const weight = constantValueOf(node.input(1));
  if (!weight) return undefined;
  const dims = weight.dims;
  if (node.is('Conv')) return dims.length >= 3 ? { channels: dims[0]!, rank: dims.length } : undefined;
  if (node.is('ConvTranspose')) {
    const group = node.intAttribute('group', 1)!;
    return dims.length >= 3 ? { channels: dims[1]! * group, rank: dims.length } : undefined;
  }
  if (node.is('Gemm') && dims.length === 2) {
    return { channels: node.intAttribute('transB', 0) === 1 ? dims[0]! : dims[1]!, rank: 2 };
  }
  return undefined;
}

/**
 * Conv / ConvTranspose / Gemm followed by `Add` (either operand order) or `Sub` (producer first) of a constant shaped
 * as a per-output-channel bias ([C], [1, C, 1, 1], a scalar, ...): the constant folds into the producer's bias.
 */
export const fuseBiasAdd: PassDefinition<FuseBiasAddOptions, Model> = {
  name: 'fuse-bias-add',
  description: 'Fold an Add (or Sub) of a per-output-channel constant after Conv, ConvTranspose or Gemm into its bias',
  options: { type: 'object', properties: {}, additionalProperties: false },
  create() {
    return {
      name: 'fuse-bias-add',
      run(model) {
        const opset = defaultOpset(model) ?? 1;
        let names: NameGenerator | undefined;
        const statistics: Record<string, number> = { biasesFused: 0, constantsRemoved: 0 };
        for (const graph of [...model.graphs()]) {
          for (const add of graph.nodes) {
            if (add.graph !== graph || !(add.is('Add') || add.is('Sub'))) continue;
            if (!add.output(0) || isNestedGraphOutput(add.output(0)!)) continue;
            const fusion = match(add, opset);
            if (!fusion) continue;
            const { producer, output, addend, constant } = fusion;
            const shape = producerShape(producer)!;
            let bias: ReturnType<typeof floatTensor> | undefined;
            if (producer.is('Gemm')) {
              const weightType = constantValueOf(producer.input(1))!.dataType;
              bias = scaledGemmBias(producer, shape.channels, undefined, addend, weightType);
            } else if (producer.input(2)) {
              const current = floatConstantInput(producer, 2);
              if (current && current.values.length === shape.channels && current.tensor.dims.length === 1) {
                const sum = new Float64Array(shape.channels);
                for (let c = 0; c < shape.channels; c++) sum[c] = current.values[c]! + addend[c]!;
                bias = floatTensor('', current.tensor.dataType, [shape.channels], sum);
              }
            } else {
              bias = floatTensor('', constantValueOf(producer.input(1))!.dataType, [shape.channels], addend);
            }
            if (!bias) continue;
            names ??= new NameGenerator(model);
            statistics.constantsRemoved! += replaceConstantInput(producer, 2, bias, names);
            if (producer.is('Gemm')) resetGemmBeta(producer);
            if (!bypassNode(add, output)) throw new Error(`fuse-bias-add: could not bypass ${add.describe()}`);
            if (dropIfUnused(constant)) statistics.constantsRemoved!++;
            statistics.biasesFused!++;
          }
        }
        const changed = statistics.biasesFused! > 0;
        return { model, changed, ...(changed ? {} : { preserved: 'all' as const }), statistics };
      },
    };
  },
};

function match(
  add: Node,
  opset: number,
): { producer: Node; output: Value; addend: Float64Array; constant: Value } | undefined {
  const orders = add.is('Sub') ? [[0, 1] as const] : ([[0, 1] as const, [1, 0] as const] as const);
  for (const [producerSide, constantSide] of orders) {
    const output = add.input(producerSide);
    const constant = add.input(constantSide);
    const producer = output?.producer;
    if (!output || !constant || !producer || producer.graph !== add.graph || producer.output(0) !== output) continue;
    if (!(producer.is('Conv') || producer.is('ConvTranspose') || producer.is('Gemm'))) continue;
    if (producer.is('Gemm') && opset < GEMM_BROADCAST_OPSET) continue;
    if (output.uses.length !== 1 || isAnyGraphOutput(output)) continue;
    if (producer.outputs.some((value, index) => index > 0 && value?.isUsed)) continue;
    const shape = producerShape(producer);
    const tensor = constantValueOf(constant);
    const values = floatValuesOf(tensor);
    const weight = constantValueOf(producer.input(1));
    if (!shape || !tensor || !values || !weight || tensor.dataType !== weight.dataType) continue;
    const addend = perChannel(tensor.dims, values, shape.rank, shape.channels);
    if (!addend) continue;
    if (add.is('Sub')) for (let c = 0; c < addend.length; c++) addend[c] = -addend[c]!;
    return { producer, output, addend, constant };
  }
  return undefined;
}
