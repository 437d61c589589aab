import { DataType, type Model, NameGenerator } from '@whittle/ir';
import type { PassDefinition } from '@whittle/spec';
import { type DynamicSettings, DynamicRewriter, type SkipReason } from './dynamic-rewrite.js';
import { constantBytes, GraphEditor, globMatcher, isExcluded, removeUnusedConstants } from './dynamic-support.js';

/** Diagnostic codes of quantize-dynamic, sorted. */
export const QuantizeDynamicCodes = {
  /** Conv needs DynamicQuantizeLinear and ConvInteger (opset 11); such Convs are left in float. */
  CONV_NEEDS_OPSET_11: 'QUANTIZE_DYNAMIC_CONV_NEEDS_OPSET_11',
  /** The model imports an opset below 11 and contrib operators are off: nothing is quantized. */
  OPSET_TOO_OLD: 'QUANTIZE_DYNAMIC_OPSET_TOO_OLD',
  /** MatMul/Gemm of an opset below 11 written as com.microsoft DynamicQuantizeMatMul (ONNX Runtime only). */
  USED_CONTRIB_OPS: 'QUANTIZE_DYNAMIC_USED_CONTRIB_OPS',
} as const;

export type DynamicOpType = 'MatMul' | 'Gemm' | 'Conv';

export interface QuantizeDynamicOptions {
  /** Type of the stored weights: int8 (symmetric, ONNX Runtime's default) or uint8 (asymmetric). */
  weightType?: 'int8' | 'uint8';
  /** One scale per output channel (MatMul/Gemm: per column of B; Conv: per output channel). */
  perChannel?: boolean;
  /** Operators to quantize. Conv is opt-in: it pays when the weights are large. */
  opTypes?: DynamicOpType[];
  /** Node names (or output names) to leave in float; `*` and `?` are wildcards. */
  exclude?: string[];
  /** Weights with fewer elements stay in float (the rescaling would cost more than it saves). */
  minElements?: number;
  /**
   * Below opset 11 (no DynamicQuantizeLinear), write MatMul and Gemm as com.microsoft DynamicQuantizeMatMul, which
   * ONNX Runtime runs at any opset. When false, such models are left as they are.
   */
  useContribOps?: boolean;
}

const DEFAULTS = {
  weightType: 'int8',
  perChannel: false,
  opTypes: ['MatMul', 'Gemm'],
  exclude: [],
  minElements: 1024,
  useContribOps: true,
} as const;

/** The first opset with DynamicQuantizeLinear (MatMulInteger and ConvInteger came in 10). */
const DYNAMIC_OPSET = 11;

/**
 * Dynamic quantization: no data needed. Every MatMul, Gemm (and, opted in, Conv) with a constant float weight gets
 * an integer weight, and its activation is quantized to uint8 at run time:
 * `DynamicQuantizeLinear(x) → MatMulInteger/ConvInteger → Cast(float) → Mul(x_scale × w_scale) [→ Add(bias)]`,
 * the form ONNX Runtime's quantize_dynamic writes and fuses into MatMulIntegerToFloat / DynamicQuantizeMatMul.
 * Gemm's transB is applied to the stored weight, alpha folded into it, beta into the bias. Subgraphs included.
 *
 * ONNX Runtime 1.30 CPU kernels: MatMulInteger and ConvInteger run every uint8/int8 pairing (int8 weights with
 * uint8 activations included); MatMulInteger takes per-column weight zero points, ConvInteger only one zero point
 * for the whole weight, so per-channel Conv weights are symmetric (int8: 0, uint8: 128) and only the scales vary.
 * DynamicQuantizeLinear arrived in opset 11; older models get com.microsoft DynamicQuantizeMatMul (any opset, ORT
 * only) for MatMul/Gemm, and their Convs stay in float.
 */
export const quantizeDynamic: PassDefinition<QuantizeDynamicOptions, Model> = {
  name: 'quantize-dynamic',
  description:
    'Quantize MatMul/Gemm (and opted-in Conv) weights to int8 and their activations at run time ' +
    '(DynamicQuantizeLinear + MatMulInteger/ConvInteger), no calibration data needed',
  options: {
    type: 'object',
    properties: {
      weightType: {
        type: 'string',
        enum: ['int8', 'uint8'],
        default: DEFAULTS.weightType,
        description: 'weight type: int8 (symmetric) or uint8 (asymmetric)',
      },
      perChannel: {
        type: 'boolean',
        default: DEFAULTS.perChannel,
        description: 'one weight scale per output channel',
      },
      opTypes: {
        type: 'array',
        items: { type: 'string', enum: ['MatMul', 'Gemm', 'Conv'] },
        default: [...DEFAULTS.opTypes],
        description: 'operators to quantize (Conv is opt-in)',
      },
      exclude: {
        type: 'array',
        items: { type: 'string' },
        default: [],
        description: 'node or output names to keep in float (* and ? are wildcards)',
      },
      minElements: {
        type: 'integer',
        minimum: 0,
        default: DEFAULTS.minElements,
        description: 'weights with fewer elements stay in float',
      },
      useContribOps: {
        type: 'boolean',
        default: DEFAULTS.useContribOps,
        description: 'below opset 11, write com.microsoft DynamicQuantizeMatMul (ONNX Runtime only)',
      },
    },
    additionalProperties: false,
  },
  create(options) {
    const weightType = (options.weightType ?? DEFAULTS.weightType) === 'uint8' ? DataType.UINT8 : DataType.INT8;
    const opTypes = new Set<string>(options.opTypes ?? DEFAULTS.opTypes);
    const excluded = globMatcher(options.exclude ?? []);
    const minElements = options.minElements ?? DEFAULTS.minElements;
    const perChannel = options.perChannel ?? DEFAULTS.perChannel;
    const useContribOps = options.useContribOps ?? DEFAULTS.useContribOps;
    return {
      name: 'quantize-dynamic',
      run(model, context) {
        const opset = model.opsetVersion('') ?? 0;
        const weightBytesBefore = constantBytes(model);
        const unchanged = (nodesSkipped: number) => ({
          model,
          changed: false,
          preserved: 'all' as const,
          statistics: { nodesQuantized: 0, nodesSkipped, weightBytesBefore, weightBytesAfter: weightBytesBefore },
        });
        const form: DynamicSettings['form'] = opset >= DYNAMIC_OPSET ? 'standard' : 'contrib';
        const candidates = [...model.graphs()].flatMap((graph) =>
          graph.nodes
            .filter((node) => node.domain === '' || node.domain === 'ai.onnx')
            .filter((node) => opTypes.has(node.opType) && !isExcluded(node, excluded))
            .map((node) => ({ graph, node })),
        );
        if (candidates.length === 0) return unchanged(0);
        if (form === 'contrib' && !useContribOps) {
          context.report({
            code: QuantizeDynamicCodes.OPSET_TOO_OLD,
            severity: 'warning',
            message: `the model imports opset ${opset}; dynamic quantization needs ${DYNAMIC_OPSET} (DynamicQuantizeLinear) or contrib operators`,
          });
          return unchanged(candidates.length);
        }
        const rewriter = new DynamicRewriter(new GraphEditor(new NameGenerator(model)), {
          weightType,
          perChannel,
          minElements,
          form,
        });
        let nodesQuantized = 0;
        const skipped = new Map<SkipReason, number>();
        for (const { graph, node } of candidates) {
          if (node.graph !== graph) continue;
          const reason =
            node.opType === 'MatMul'
              ? rewriter.matMul(graph, node)
              : node.opType === 'Gemm'
                ? rewriter.gemm(graph, node)
                : rewriter.conv(graph, node);
          if (reason) skipped.set(reason, (skipped.get(reason) ?? 0) + 1);
          else nodesQuantized++;
        }
        const convsLeft = skipped.get('needs-opset-11') ?? 0;
        if (convsLeft > 0) {
          context.report({
            code: QuantizeDynamicCodes.CONV_NEEDS_OPSET_11,
            severity: 'info',
            message: `${convsLeft} Conv node(s) stay in float: the model imports opset ${opset}, ConvInteger with DynamicQuantizeLinear needs ${DYNAMIC_OPSET}`,
          });
        }
        if (nodesQuantized === 0) return unchanged(candidates.length);
        if (form === 'contrib') {
          if (model.opsetVersion('com.microsoft') === undefined) {
            model.opsetImports.push({ domain: 'com.microsoft', version: 1 });
          }
          context.report({
            code: QuantizeDynamicCodes.USED_CONTRIB_OPS,
            severity: 'info',
            message: `the model imports opset ${opset} (below ${DYNAMIC_OPSET}): MatMul/Gemm were written as com.microsoft DynamicQuantizeMatMul, which only ONNX Runtime runs`,
          });
        }
        removeUnusedConstants(rewriter.released);
        return {
          model,
          changed: true,
          statistics: {
            nodesQuantized,
            nodesSkipped: candidates.length - nodesQuantized,
            weightBytesBefore,
            weightBytesAfter: constantBytes(model),
          },
        };
      },
    };
  },
};
