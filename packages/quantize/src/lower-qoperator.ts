import { type Model, NameGenerator, type Node, type Value } from '@whittle/ir';
import type { PassDefinition } from '@whittle/spec';
import { removeValueInfo } from '@whittle/transforms';
import { GraphEditor, removeUnusedConstants } from './dynamic-support.js';
import { CONTRIB_DOMAIN, dequantizeOf, isDequantize, isQuantize } from './qoperator-params.js';
import { LOWERABLE_OPS, QOperatorLowering } from './qoperator-rules.js';

/** Diagnostic codes of lower-qoperator, sorted. */
export const LowerQOperatorCodes = {
  /** The model's opset has no QLinearConv / QLinearMatMul (they came in opset 10): nothing is lowered. */
  OPSET_TOO_OLD: 'LOWER_QOPERATOR_OPSET_TOO_OLD',
} as const;

export interface LowerQOperatorOptions {
  /** Float op types whose QDQ groups are lowered; default every supported one. */
  ops?: string[];
  /**
   * Use ONNX Runtime's com.microsoft QLinearAdd, QLinearMul, QLinearConcat, QLinearAveragePool,
   * QLinearGlobalAveragePool, QLinearLeakyRelu and QLinearSigmoid. Off: those groups keep their Q/DQ.
   */
  useContribOps?: boolean;
}

/** The first opset with QLinearConv and QLinearMatMul. */
const QLINEAR_OPSET = 10;

/**
 * Lower the canonical QDQ form (DequantizeLinear → float op → QuantizeLinear, constant scales and zero points) to
 * QOperator ops that compute on integers: Conv → QLinearConv (per-channel weights, int32 bias), MatMul →
 * QLinearMatMul (per-tensor A, per-tensor or per-column B), Add/Mul/Concat/AveragePool/GlobalAveragePool/LeakyRelu/
 * Sigmoid → com.microsoft QLinear ops. A Relu/Clip between the op and its Q folds away when the Q already clips to
 * its range, or becomes an integer Clip. Ops that only move values (MaxPool, Reshape, Transpose, Slice, Pad...) run
 * on the integers when the Q/DQ around them carry the same parameters. Every group that cannot be written this way
 * keeps its Q/DQ, so the result computes what the QDQ model computes (to within one quantization step: QOperator
 * kernels round once where the QDQ graph rounds in float).
 */
export const lowerQOperator: PassDefinition<LowerQOperatorOptions, Model> = {
  name: 'lower-qoperator',
  description:
    'Rewrite QDQ groups (DequantizeLinear → op → QuantizeLinear) into QOperator ops (QLinearConv, QLinearMatMul, ' +
    'com.microsoft QLinearAdd/Mul/Concat/pools/LeakyRelu/Sigmoid) and integer data movement',
  options: {
    type: 'object',
    properties: {
      ops: {
        type: 'array',
        items: { type: 'string', enum: [...LOWERABLE_OPS] },
        default: [...LOWERABLE_OPS],
        description: 'float op types whose QDQ groups are lowered',
      },
      useContribOps: {
        type: 'boolean',
        default: true,
        description: 'use ONNX Runtime com.microsoft QLinear ops (Add, Mul, Concat, pools, LeakyRelu, Sigmoid)',
      },
    },
    additionalProperties: false,
  },
  create(options) {
    const ops = new Set(options.ops ?? LOWERABLE_OPS);
    const useContribOps = options.useContribOps ?? true;
    return {
      name: 'lower-qoperator',
      run(model, context) {
        const opset = model.opsetVersion('') ?? 0;
        const candidates = [...model.graphs()].flatMap((graph) =>
          graph.nodes
            .filter((node) => (node.domain === '' || node.domain === 'ai.onnx') && ops.has(node.opType))
            .filter((node) => node.inputs.some((input) => dequantizeOf(input)))
            .map((node) => ({ graph, node })),
        );
        const statistics = {
          nodesLowered: 0,
          nodesOnIntegers: 0,
          activationsFolded: 0,
          groupsKept: candidates.length,
          quantizeLinearRemoved: 0,
          dequantizeLinearRemoved: 0,
        };
        if (candidates.length === 0) return { model, changed: false, preserved: 'all', statistics };
        if (opset < QLINEAR_OPSET) {
          context.report({
            code: LowerQOperatorCodes.OPSET_TOO_OLD,
            severity: 'warning',
            message: `the model imports opset ${opset}; QOperator ops need ${QLINEAR_OPSET}`,
          });
          return { model, changed: false, preserved: 'all', statistics };
        }
        const countQ = () => countNodes(model, isQuantize);
        const countDQ = () => countNodes(model, isDequantize);
        const quantizersBefore = countQ();
        const dequantizersBefore = countDQ();
        const lowering = new QOperatorLowering(new GraphEditor(new NameGenerator(model)), { opset, useContribOps });
        for (const { graph, node } of candidates) {
          if (node.graph !== graph) continue;
          const outcome = lowering.lower(graph, node);
          if (outcome === 'qlinear') statistics.nodesLowered++;
          else if (outcome === 'integer') statistics.nodesOnIntegers++;
        }
        const changed = statistics.nodesLowered + statistics.nodesOnIntegers > 0;
        if (!changed) return { model, changed: false, preserved: 'all', statistics };
        // DQs nothing reads any more go, then the constants only they (and the removed nodes) read.
        const released = new Set<Value>(lowering.released);
        for (const dq of lowering.dequantizers) {
          const graph = dq.graph;
          const output = dq.output(0);
          if (!graph || !output || output.isUsed) continue;
          for (const input of dq.inputs) if (input) released.add(input);
          graph.removeNode(dq);
          removeValueInfo(output);
        }
        removeUnusedConstants(released);
        if (lowering.contribUsed && model.opsetVersion(CONTRIB_DOMAIN) === undefined) {
          model.opsetImports.push({ domain: CONTRIB_DOMAIN, version: 1 });
        }
        statistics.activationsFolded = lowering.activationsFolded;
        statistics.groupsKept = candidates.length - statistics.nodesLowered - statistics.nodesOnIntegers;
        statistics.quantizeLinearRemoved = quantizersBefore - countQ();
        statistics.dequantizeLinearRemoved = dequantizersBefore - countDQ();
        return { model, changed: true, statistics };
      },
    };
  },
};

function countNodes(model: Model, predicate: (node: Node) => boolean): number {
  let count = 0;
  for (const node of model.graph.allNodes()) if (predicate(node)) count++;
  return count;
}
