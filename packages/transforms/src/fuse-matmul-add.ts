import { constantValueOf, DataType, type Model, Node, type Value } from '@whittle/ir';
import type { PassDefinition } from '@whittle/spec';
import { defaultOpset, isAnyGraphOutput, knownRankOf } from './eliminate-identities.js';
import { GEMM_BROADCAST_OPSET } from './fuse-batchnorm.js';
import { removeValueInfo } from './graph-edits.js';

export type FuseMatMulAddOptions = Record<string, never>;

/** Element types Gemm takes in every opset from 7 on. */
const GEMM_TYPES = new Set<DataType>([DataType.FLOAT, DataType.DOUBLE, DataType.FLOAT16]);

/**
 * `MatMul(A, B) + C` → `Gemm(A, B, C)` where the result is provably the same: A has rank 2 (known from its type or
 * its producer), B is a constant matrix [K, N], C a constant that broadcasts over the columns only ([N], [1, N], a
 * scalar), so the sum keeps MatMul's [M, N] shape. Needs opset 7+ (Gemm's unidirectional broadcasting of C).
 */
export const fuseMatMulAdd: PassDefinition<FuseMatMulAddOptions, Model> = {
  name: 'fuse-matmul-add',
  description: 'Turn MatMul (2-D input, constant 2-D weight) + Add of a constant row bias into Gemm',
  options: { type: 'object', properties: {}, additionalProperties: false },
  create() {
    return {
      name: 'fuse-matmul-add',
      run(model) {
        const opset = defaultOpset(model) ?? 1;
        let fused = 0;
        if (opset >= GEMM_BROADCAST_OPSET) {
          for (const graph of [...model.graphs()]) {
            for (const add of graph.nodes) {
              if (add.graph !== graph || !add.is('Add')) continue;
              const found = match(add);
              if (!found) continue;
              const { matmul, bias } = found;
              const output = add.output(0)!;
              const gemm = new Node({
                opType: 'Gemm',
                name: matmul.name,
                inputs: [matmul.input(0), matmul.input(1), bias],
                attributes: [],
              });
              const product = matmul.output(0)!;
              add.setOutput(0, undefined);
              gemm.appendOutput(output);
              graph.insertBefore(add, gemm);
              graph.removeNode(add);
              graph.removeNode(matmul);
              removeValueInfo(product);
              fused++;
            }
          }
        }
        const changed = fused > 0;
        return {
          model,
          changed,
          ...(changed ? {} : { preserved: 'all' as const }),
          statistics: { matMulsFused: fused },
        };
      },
    };
  },
};

function match(add: Node): { matmul: Node; bias: Value } | undefined {
  for (const [productSide, biasSide] of [
    [0, 1],
    [1, 0],
  ] as const) {
    const product = add.input(productSide);
    const bias = add.input(biasSide);
    const matmul = product?.producer;
    if (!product || !bias || !matmul?.is('MatMul') || matmul.graph !== add.graph) continue;
    if (product.uses.length !== 1 || isAnyGraphOutput(product)) continue;
    const a = matmul.input(0);
    if (!a || knownRankOf(a) !== 2) continue;
    const weight = constantValueOf(matmul.input(1));
    const constant = constantValueOf(bias);
    if (!weight || !constant || weight.dims.length !== 2) continue;
    if (!GEMM_TYPES.has(weight.dataType) || constant.dataType !== weight.dataType) continue;
    const n = weight.dims[1]!;
    const dims = constant.dims;
    const rowBias =
      dims.length <= 2 && dims.every((dim, axis) => (axis === dims.length - 1 ? dim === n || dim === 1 : dim === 1));
    if (!rowBias) continue;
    return { matmul, bias };
  }
  return undefined;
}
