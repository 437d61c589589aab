/**
 * The `quantize-weights` pass: weight-only block-wise quantization to int4 or int8, no calibration data.
 *
 * - MatMul(A, W) with a constant float32 W [K, N] (and A of rank 2 or more): W is quantized in blocks of
 *   `blockSize` along K, one float32 scale per block (and a zero point when asymmetric; the last block of a K that
 *   is not a multiple of the block size is padded). `format: 'matmulnbits'` (default) writes ONNX Runtime's
 *   com.microsoft MatMulNBits, which runs at any opset; `'dequantize-linear'` writes standard ONNX
 *   DequantizeLinear (opset 21: `block_size`, int4) feeding the MatMul, and refuses older opsets
 *   (QUANTIZE_OPSET_TOO_OLD) rather than upgrading them.
 * - Gemm (opt in with opTypes): as MatMul, with transB honoured; MatMulNBits gets alpha folded into the weight and
 *   beta * C as its bias (C must be a constant row vector); DequantizeLinear leaves the Gemm reading the weight.
 * - Gather of a constant embedding [V, D]: quantized along D and dequantized by DequantizeLinear (opset 21) before
 *   the Gather. Below opset 21 there is no standard form (MatMulNBits does not gather): such tables stay float32,
 *   with a note (QUANTIZE_WEIGHTS_GATHER_KEPT_FLOAT).
 *
 * Symmetric weights use the narrow signed range (scale = max|w| / 7 for int4, / 127 for int8); in MatMulNBits they
 * are stored offset by its default zero point (8 or 128), so no zero point input is written. 4-bit values are
 * packed two per byte, low nibble first, as MatMulNBits and ONNX int4 tensors both store them.
 */
import type { Model, Node } from '@whittle/ir';
import { NameGenerator } from '@whittle/ir';
import { liftConstants } from '@whittle/transforms';
import { inferTypesForPlanning } from './planning-types.js';
import { type PassDefinition, WhittleError } from '@whittle/spec';
import {
  BLOCKED_DEQUANTIZE_OPSET,
  initializerBytes,
  type SkipReason,
  type WeightOnlyFormat,
  WeightOnlyRewriter,
} from './weight-only-rewrite.js';

/** Diagnostic codes of quantize-weights, sorted. */
export const QuantizeWeightsCodes = {
  /** Gather tables stay float32: the model's opset has no DequantizeLinear with block_size (21). */
  GATHER_KEPT_FLOAT: 'QUANTIZE_WEIGHTS_GATHER_KEPT_FLOAT',
  /** bits or blockSize outside the values the pass supports. */
  INVALID_OPTIONS: 'QUANTIZE_INVALID_OPTIONS',
  /** format 'dequantize-linear' needs opset 21; the model imports an older one. */
  OPSET_TOO_OLD: 'QUANTIZE_OPSET_TOO_OLD',
  /** MatMulNBits was written: the model runs in ONNX Runtime only. */
  USED_CONTRIB_OPS: 'QUANTIZE_WEIGHTS_USED_CONTRIB_OPS',
} as const;

export type WeightOnlyOpType = 'MatMul' | 'Gemm' | 'Gather';

export interface QuantizeWeightsOptions {
  /** Bits per weight. Default 4. */
  bits?: 4 | 8;
  /** Weights per block along the reduction axis, each block with its own scale. Default 32. */
  blockSize?: 32 | 64 | 128;
  /** Symmetric (no zero points) or asymmetric blocks. Default true. */
  symmetric?: boolean;
  /** com.microsoft MatMulNBits (ONNX Runtime, any opset) or DequantizeLinear (opset 21). Default matmulnbits. */
  format?: WeightOnlyFormat;
  /** Weights with fewer elements stay float32. Default 4096. */
  minElements?: number;
  /** Ops whose weights are quantized. Default MatMul and Gather; Gemm is opt-in. */
  opTypes?: WeightOnlyOpType[];
}

const DEFAULTS = {
  bits: 4,
  blockSize: 32,
  symmetric: true,
  format: 'matmulnbits',
  minElements: 4096,
  opTypes: ['MatMul', 'Gather'],
} as const;

/**
 * Weight-only block-wise int4/int8 quantization of MatMul (and opted-in Gemm) weights and Gather tables.
 */
export const quantizeWeights: PassDefinition<QuantizeWeightsOptions, Model> = {
  name: 'quantize-weights',
  description:
    'Weight-only block-wise int4/int8 quantization of MatMul (optionally Gemm) weights and Gather tables: ' +
    'com.microsoft MatMulNBits or DequantizeLinear (opset 21)',
  options: {
    type: 'object',
    properties: {
      bits: { type: 'integer', enum: [4, 8], default: DEFAULTS.bits, description: 'bits per weight' },
      blockSize: {
        type: 'integer',
        enum: [32, 64, 128],
        default: DEFAULTS.blockSize,
        description: 'weights per block along the reduction axis (one scale each)',
      },
      symmetric: {
        type: 'boolean',
        default: DEFAULTS.symmetric,
        description: 'symmetric blocks (no zero points)',
      },
      format: {
        type: 'string',
        enum: ['matmulnbits', 'dequantize-linear'],
        default: DEFAULTS.format,
        description: 'com.microsoft MatMulNBits (ONNX Runtime) or DequantizeLinear with block_size (opset 21)',
      },
      minElements: {
        type: 'integer',
        minimum: 0,
        default: DEFAULTS.minElements,
        description: 'weights with fewer elements stay float32',
      },
      opTypes: {
        type: 'array',
        items: { type: 'string', enum: ['MatMul', 'Gemm', 'Gather'] },
        default: [...DEFAULTS.opTypes],
        description: 'ops whose weights are quantized (Gemm is opt-in)',
      },
    },
    additionalProperties: false,
  },
  create(options) {
    const bits = options.bits ?? DEFAULTS.bits;
    const blockSize = options.blockSize ?? DEFAULTS.blockSize;
    const symmetric = options.symmetric ?? DEFAULTS.symmetric;
    const format = options.format ?? DEFAULTS.format;
    const minElements = options.minElements ?? DEFAULTS.minElements;
    const opTypes = new Set<string>(options.opTypes ?? DEFAULTS.opTypes);
    if (bits !== 4 && bits !== 8) {
      throw new WhittleError(
        QuantizeWeightsCodes.INVALID_OPTIONS,
        `quantize-weights: bits must be 4 or 8, got ${bits}`,
      );
    }
    if (![32, 64, 128].includes(blockSize)) {
      throw new WhittleError(
        'QUANTIZE_INVALID_OPTIONS',
        `quantize-weights: blockSize must be 32, 64 or 128, got ${blockSize}`,
      );
    }
    return {
      name: 'quantize-weights',
      async run(model, context) {
        const opset = model.opsetVersion('') ?? 0;
        const candidates: { node: Node; graph: NonNullable<Node['graph']> }[] = [];
        for (const graph of model.graphs()) {
          for (const node of graph.nodes) {
            if ((node.domain === '' || node.domain === 'ai.onnx') && opTypes.has(node.opType)) {
              candidates.push({ node, graph });
            }
          }
        }
        let weightBytesBefore = initializerBytes(model);
        const statistics = (matMuls: number, gemms: number, gathers: number, skipped: number) => ({
          matMulsQuantized: matMuls,
          gemmsQuantized: gemms,
          gathersQuantized: gathers,
          nodesSkipped: skipped,
          weightBytesBefore,
          weightBytesAfter: initializerBytes(model),
        });
        if (candidates.length === 0) {
          return { model, changed: false, preserved: 'all', statistics: statistics(0, 0, 0, 0) };
        }
        if (format === 'dequantize-linear' && opset < BLOCKED_DEQUANTIZE_OPSET) {
          throw new WhittleError(
            QuantizeWeightsCodes.OPSET_TOO_OLD,
            `the model imports opset ${opset}; DequantizeLinear with block_size needs opset ${BLOCKED_DEQUANTIZE_OPSET}`,
            {
              hint: "use format 'matmulnbits' (ONNX Runtime's com.microsoft MatMulNBits runs at any opset), or convert the model to opset 21 first",
            },
          );
        }
        // Weights held by Constant nodes (PaddleOCR's, Silero's) become initializers first.
        const lifted = await liftConstants.create({}).run(model, context);
        weightBytesBefore = initializerBytes(model);
        // MatMulNBits needs A's rank; the values keep their types once the entries are dropped.
        const dropAddedValueInfo = await inferTypesForPlanning(model, context);
        dropAddedValueInfo();
        const rewriter = new WeightOnlyRewriter(new NameGenerator(model), {
          bits,
          blockSize,
          symmetric,
          format,
          minElements,
          opset,
        });
        const counts = { MatMul: 0, Gemm: 0, Gather: 0 } as Record<string, number>;
        const skipped = new Map<SkipReason, number>();
        for (const { node, graph } of candidates) {
          const reason =
            node.opType === 'MatMul'
              ? rewriter.matMul(graph, node)
              : node.opType === 'Gemm'
                ? rewriter.gemm(graph, node)
                : rewriter.gather(graph, node);
          if (reason) skipped.set(reason, (skipped.get(reason) ?? 0) + 1);
          else counts[node.opType] = (counts[node.opType] ?? 0) + 1;
        }
        const gathersKept = skipped.get('gather-needs-opset-21') ?? 0;
        if (gathersKept > 0) {
          context.report({
            code: QuantizeWeightsCodes.GATHER_KEPT_FLOAT,
            severity: 'info',
            message: `${gathersKept} Gather table(s) stay float32: the model imports opset ${opset}, block-wise DequantizeLinear needs ${BLOCKED_DEQUANTIZE_OPSET}`,
          });
        }
        const quantized = (counts.MatMul ?? 0) + (counts.Gemm ?? 0) + (counts.Gather ?? 0);
        const skippedCount = candidates.length - quantized;
        if (quantized === 0) {
          const statisticsNow = statistics(0, 0, 0, skippedCount);
          return lifted.changed
            ? { model, changed: true, statistics: statisticsNow }
            : { model, changed: false, preserved: 'all', statistics: statisticsNow };
        }
        for (const value of rewriter.released) if (!value.isUsed) value.graph?.removeInitializer(value);
        if (rewriter.usedContribOps) {
          if (model.opsetVersion('com.microsoft') === undefined) {
            model.opsetImports.push({ domain: 'com.microsoft', version: 1 });
          }
          context.report({
            code: QuantizeWeightsCodes.USED_CONTRIB_OPS,
            severity: 'info',
            message: 'weights were written as com.microsoft MatMulNBits, which only ONNX Runtime runs',
          });
        }
        return {
          model,
          changed: true,
          statistics: statistics(counts.MatMul ?? 0, counts.Gemm ?? 0, counts.Gather ?? 0, skippedCount),
        };
      },
    };
  },
};
