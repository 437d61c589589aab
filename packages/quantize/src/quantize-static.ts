/**
 * The `quantize-static` pass: post-training static quantization into the canonical QDQ form. Activations get
 * QuantizeLinear→DequantizeLinear pairs with parameters from a calibration table, weights become integer constants
 * feeding DequantizeLinear (int8, symmetric, per output channel by default), biases int32 at input × weight scale.
 * See static-placement.ts for where pairs go, static-opset.ts for the domains, static-qat.ts for models that are
 * already (partly) quantized.
 */
import { type Model, NameGenerator } from '@whittle/ir';
import { type PassContext, type PassDefinition, WhittleError } from '@whittle/spec';
import { liftConstants } from '@whittle/transforms';
import { inferTypesForPlanning } from './planning-types.js';
import { foldBatchNorms } from './static-batchnorm.js';
import { QuantizeStaticCodes } from './static-codes.js';
import {
  type QuantizeStaticOptions,
  quantizeStaticOptionsSchema,
  type ResolvedStaticOptions,
  resolveStaticOptions,
} from './static-options.js';
import { ONNX_QDQ_OPSET, importContribDomain, planQdqDomain, upgradeOpset9To10 } from './static-opset.js';
import { StaticPlanner } from './static-planner.js';
import { CONTRIB_DOMAIN, scanExistingQdq } from './static-qat.js';

export { QuantizeStaticCodes } from './static-codes.js';
export type {
  QuantizeStaticOptions,
  StaticActivationType,
  StaticCalibrationTable,
  StaticRange,
  StaticTensorOverride,
  StaticWeightType,
} from './static-options.js';
export { DEFAULT_STATIC_OP_TYPES } from './static-options.js';

/** Bytes of every constant of the model (initializers of all graphs). */
export function constantBytes(model: Model): number {
  let bytes = 0;
  for (const graph of model.graphs())
    for (const value of graph.initializers) bytes += value.initializer?.byteLength ?? 0;
  return bytes;
}

/** Every value name of the model, for matching a calibration table against it. */
function valueNames(model: Model): Set<string> {
  const names = new Set<string>();
  for (const graph of model.graphs()) {
    for (const value of graph.definedValues()) names.add(value.name);
    for (const value of graph.outputs) names.add(value.name);
  }
  return names;
}

/**
 * A table made for another model names none of this model's tensors: that is an error, not a thousand warnings.
 * Some names missing (the model was edited after calibration) is a note; those tensors are reported as missing
 * ranges where they are needed.
 */
function checkTable(model: Model, options: ResolvedStaticOptions, context: PassContext<Model>): void {
  if (options.ranges.size === 0) return;
  const names = valueNames(model);
  let found = 0;
  for (const name of options.ranges.keys()) if (names.has(name)) found++;
  if (found === 0) {
    throw new WhittleError(
      QuantizeStaticCodes.TABLE_MISMATCH,
      `none of the ${options.ranges.size} tensors of the calibration table is in the model: the table was made for another model`,
      { hint: 'calibrate the model being quantized (after the same optimization passes)' },
    );
  }
  if (found < options.ranges.size) {
    context.report({
      code: QuantizeStaticCodes.TABLE_STALE,
      severity: 'info',
      message: `${options.ranges.size - found} of the ${options.ranges.size} tensors of the calibration table are not in the model`,
    });
  }
}

async function runStatic(model: Model, options: ResolvedStaticOptions, context: PassContext<Model>) {
  // Weights wherever they live: Constant nodes (subgraphs too) become initializers first.
  const lifted = await liftConstants.create({}).run(model, context);
  // The table names the tensors of the model as calibrated, before any folding.
  checkTable(model, options, context);
  const batchNormsFolded = options.foldBatchNorm ? await foldBatchNorms(model, context) : 0;
  // Element types tell float activations from integer shapes and indices.
  const dropAddedValueInfo = await inferTypesForPlanning(model, context);

  const existing = scanExistingQdq(model);
  if (existing.quantizeNodes + existing.dequantizeNodes > 0) {
    context.report({
      code: QuantizeStaticCodes.ALREADY_QUANTIZED,
      severity: 'info',
      message:
        `the model already holds ${existing.quantizeNodes} QuantizeLinear and ${existing.dequantizeNodes} ` +
        `DequantizeLinear (${existing.integerWeights} integer constants); their tensors and parameters are kept`,
    });
  }

  const weightBytesBefore = constantBytes(model);
  const domainPlan = planQdqDomain(model, { perChannel: options.perChannel, sixteenBit: options.sixteenBit });
  const planner = new StaticPlanner({
    options,
    names: new NameGenerator(model),
    domain: domainPlan.domain,
    opset: domainPlan.opset,
    report: (diagnostic) => context.report(diagnostic),
  });
  planner.plan(model);
  const quantized = planner.hasWork;
  if (quantized) {
    planner.emit();
    if (domainPlan.domain === CONTRIB_DOMAIN) {
      importContribDomain(model);
      context.report({
        code: QuantizeStaticCodes.CONTRIB_OPS,
        severity: 'info',
        message:
          `default opset ${domainPlan.opset} has no ${options.sixteenBit ? '16-bit' : 'per-channel'} QuantizeLinear/DequantizeLinear; ` +
          `ONNX Runtime's com.microsoft ones are used`,
      });
    }
    if (domainPlan.upgrade) {
      upgradeOpset9To10(model, new NameGenerator(model));
      context.report({
        code: QuantizeStaticCodes.OPSET_UPGRADED,
        severity: 'info',
        message: `default opset raised from 9 to ${ONNX_QDQ_OPSET} so that ONNX Runtime can fuse the Q/DQ groups (QLinearConv, QLinearMatMul)`,
      });
    } else if (domainPlan.opset < ONNX_QDQ_OPSET) {
      context.report({
        code: QuantizeStaticCodes.OPSET_TOO_OLD,
        severity: 'warning',
        message:
          `default opset ${domainPlan.opset} stays (${domainPlan.upgradeBlockers.join(', ')}): ONNX Runtime's QDQ fusions ` +
          `create opset-10 ops, so run it with graph optimizations at 'basic' or convert the model to opset ≥ 10`,
      });
    }
  }
  planner.reportUnusedOverrides();
  dropAddedValueInfo();
  const statistics = planner.statistics;
  const changed = quantized || lifted.changed || batchNormsFolded > 0;
  return {
    model,
    changed,
    ...(changed ? {} : { preserved: 'all' as const }),
    statistics: {
      ...statistics,
      batchNormsFolded,
      weightBytesBefore,
      weightBytesAfter: constantBytes(model),
      existingQuantizeLinearNodes: existing.quantizeNodes,
      existingDequantizeLinearNodes: existing.dequantizeNodes,
    },
  };
}

/**
 * Post-training static quantization into QDQ form. Options: `calibrationTable` (ranges by tensor name),
 * `weightType` (int8), `activationType` (uint8), `perChannel` (true), `symmetricWeights` (true),
 * `symmetricActivations` (false), `opTypes`, `exclude`, `overrides`, `foldBatchNorm` (true: BatchNormalization after
 * Conv/ConvTranspose/Gemm is folded in first, see static-batchnorm.ts).
 */
export const quantizeStatic: PassDefinition<QuantizeStaticOptions, Model> = {
  name: 'quantize-static',
  description:
    'Post-training static quantization: QuantizeLinear/DequantizeLinear around Conv, Gemm, MatMul, Add, Mul, ' +
    'pooling and data movement, int8 per-channel weights and int32 biases, ranges from a calibration table',
  options: quantizeStaticOptionsSchema,
  create(options) {
    const resolved = resolveStaticOptions(options);
    return {
      name: 'quantize-static',
      run: (model, context) => runStatic(model, resolved, context),
    };
  },
};
