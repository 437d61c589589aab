/**
 * The `convert-float16` pass: float32 models to float16 or bfloat16.
 *
 * What it does, in order:
 * 1. lift-constants (Constant nodes become initializers, subgraphs included) and infer-shapes (every value needs an
 *    element type to be converted safely).
 * 2. A plan (float16-plan.ts): every node that reads or writes float32 runs in half precision unless it is blocked
 *    — `blockOps` (default DEFAULT_FLOAT16_BLOCK_OPS, each with its reason in FLOAT16_BLOCK_REASONS), `blockNodes`,
 *    ops whose schema has no half type at the model's opset, float shape arithmetic (values cast from integers:
 *    float16 is exact only up to 2048), control flow (If/Loop/Scan keep float32 interfaces; their bodies are
 *    converted inside), other domains, values of unknown type — or, with `runtime: 'onnxruntime-cpu'` (the
 *    default), the op has no half kernel in ONNX Runtime's CPU EP (float16-ops.ts lists the ones it has). Data
 *    movement ops (Reshape, Transpose, Concat, ...) take the precision of their data, so they add no casts; on
 *    onnxruntime-cpu so do the few compute ops with half kernels (Clip, Max, Min, Round, ...).
 *
 *    ONNX Runtime 1.30's CPU EP (linux-x64, probed op by op, checked by float16-ops.test.ts) has float16 kernels
 *    only for data movement and a handful of ops; for every other float16 node it inserts Casts to float32 around
 *    it. So on onnxruntime-cpu the converted model stores its weights in half precision and computes in float32
 *    (weights rounded, activations not): half the size, float32 speed, no float16 overflow. `runtime: 'any'`
 *    converts the computation too, for runtimes with half kernels (ORT still runs it, casting per node).
 * 3. The rewrite (float16-rewrite.ts): Casts where a value meets a use of the other precision, one per value and
 *    graph; with `keepIoTypes` the model's inputs and outputs stay float32 (outputs keep their names through a
 *    final Cast). Constant initializers become half precision when their readers compute in it; readers kept in
 *    float32 for want of a runtime kernel read a Cast of the half tensor (the size win stays; ONNX Runtime folds
 *    such casts at session start when optimizations are on); readers blocked for accuracy keep the exact float32
 *    tensor (half readers get a copy). Cast `to`, ConstantOfShape and Constant values of half nodes follow.
 *
 * Range handling (float16-tensors.ts): finite values beyond `maxValue` (default: the type's largest finite value,
 * 65504 for float16) are clamped to it and reported (FLOAT16_CLAMPED, a warning per tensor with the count); values
 * in the subnormal range are kept as subnormals (no flush to zero: float16 subnormals reach down to 2^-24 and ONNX
 * Runtime computes with them); non-zero values below `minPositiveValue` (default: the smallest subnormal, 2^-24 for
 * float16) are raised to it, as onnxconverter-common does, so no non-zero weight becomes zero (FLOAT16_UNDERFLOW,
 * a note). minPositiveValue 0 lets such values round, possibly to zero.
 *
 * bfloat16: ONNX Runtime's CPU EP has bfloat16 kernels only for data movement ops (and Cast, LayerNormalization,
 * Sign), and none is inserted automatically, so with the default runtime every compute op stays float32 and reads
 * its weights through Casts from bfloat16: the model halves in size and runs, computing in float32. Its JS API has
 * no bfloat16 tensors: keep `keepIoTypes`. bfloat16 needs opset 13 (Cast from bfloat16); older models are refused
 * with FLOAT16_OPSET_TOO_OLD rather than silently upgraded.
 */
import { DataType, type Model, NameGenerator, type Node, type Value } from '@whittle/ir';
import { liftConstants } from '@whittle/transforms';
import { inferTypesForPlanning } from './planning-types.js';
import { type PassDefinition, WhittleError } from '@whittle/spec';
import { DEFAULT_FLOAT16_BLOCK_OPS, type HalfType, halfLimits } from './float16-ops.js';
import { Float16Plan, type KeptReason } from './float16-plan.js';
import { Float16Codes, Float16Rewriter } from './float16-rewrite.js';

export { Float16Codes } from './float16-rewrite.js';
export { DEFAULT_FLOAT16_BLOCK_OPS, FLOAT16_BLOCK_REASONS, ortCpuHalfKernels } from './float16-ops.js';

export interface ConvertFloat16Options {
  /** The half type written. Default float16. */
  type?: 'float16' | 'bfloat16';
  /** Keep the model's float32 inputs and outputs float32 (Casts at the edges). Default true. */
  keepIoTypes?: boolean;
  /** Ops kept in float32; replaces DEFAULT_FLOAT16_BLOCK_OPS. */
  blockOps?: string[];
  /** Node names (or output names) kept in float32; `*` and `?` are wildcards. */
  blockNodes?: string[];
  /** Smallest non-zero magnitude written (smaller ones are raised to it). Default: the type's smallest subnormal. */
  minPositiveValue?: number;
  /** Largest magnitude written (larger finite ones are clamped to it). Default: the type's largest finite value. */
  maxValue?: number;
  /**
   * `onnxruntime-cpu`: also keep float32 around ops ONNX Runtime's CPU EP has no half kernel for (it would cast
   * around each of them itself, or, for bfloat16, fail to load). `any`: convert every op the schemas allow.
   */
  runtime?: 'onnxruntime-cpu' | 'any';
}

const DEFAULTS = { type: 'float16', keepIoTypes: true, blockNodes: [], runtime: 'onnxruntime-cpu' } as const;

/** The first opset whose Cast converts to the type: float16 since Cast-6 (an int `to`), bfloat16 since Cast-13. */
const MINIMUM_OPSET: Readonly<Record<HalfType, number>> = { [DataType.FLOAT16]: 6, [DataType.BFLOAT16]: 13 };

function invalid(message: string): never {
  throw new WhittleError(Float16Codes.INVALID_OPTIONS, `convert-float16: ${message}`);
}

/** A matcher for names with `*` (any run of characters) and `?` (one character). */
function globMatcher(patterns: readonly string[]): (name: string) => boolean {
  const expressions = patterns.map(
    (pattern) =>
      new RegExp(
        `^${pattern
          .replace(/[.+^${}()|[\]\\]/g, '\\$&')
          .replace(/\*/g, '.*')
          .replace(/\?/g, '.')}$`,
      ),
  );
  return (name) => expressions.some((expression) => expression.test(name));
}

/** True when the model has any float32 tensor: a typed value, an initializer or a Constant's value. */
function hasFloat32(model: Model): boolean {
  const isFloat = (value: Value | undefined) =>
    value?.type?.kind === 'tensor'
      ? value.type.elementType === DataType.FLOAT
      : value?.initializer?.dataType === DataType.FLOAT;
  for (const graph of model.graphs()) {
    if ([...graph.inputs, ...graph.outputs, ...graph.valueInfo, ...graph.initializers].some(isFloat)) return true;
    for (const node of graph.nodes) {
      if (node.outputs.some(isFloat)) return true;
      if (node.is('Constant') || node.is('ConstantOfShape')) {
        for (const attribute of node.attributes.values()) {
          if (attribute.type === 'float' || attribute.type === 'floats') return true;
          if (attribute.type === 'tensor' && attribute.value.dataType === DataType.FLOAT) return true;
        }
        if (node.is('ConstantOfShape') && !node.attributes.has('value')) return true;
      }
    }
  }
  return false;
}

function initializerBytes(model: Model): number {
  let bytes = 0;
  for (const graph of model.graphs())
    for (const value of graph.initializers) bytes += value.initializer?.byteLength ?? 0;
  return bytes;
}

const REASONS: Readonly<Record<KeptReason, string>> = {
  blocked: 'blocked',
  schema: 'no half type in the schema',
  runtime: 'no half kernel in the runtime',
  'shape-arithmetic': 'shape arithmetic',
  'control-flow': 'control flow interface',
  'unknown-type': 'unknown types',
  domain: 'other domain',
};

function keptSummary(kept: ReadonlyMap<Node, KeptReason>): string {
  const byReason = new Map<KeptReason, Map<string, number>>();
  for (const [node, reason] of kept) {
    const ops = byReason.get(reason) ?? new Map<string, number>();
    ops.set(node.opType, (ops.get(node.opType) ?? 0) + 1);
    byReason.set(reason, ops);
  }
  return [...byReason]
    .map(([reason, ops]) => `${REASONS[reason]}: ${[...ops].map(([op, count]) => `${op} ×${count}`).join(', ')}`)
    .join('; ');
}

/**
 * Convert float32 weights and computation to float16 or bfloat16, keeping float32 where half precision loses
 * accuracy or the runtime has no kernel, with Casts at the boundaries.
 */
export const convertFloat16: PassDefinition<ConvertFloat16Options, Model> = {
  name: 'convert-float16',
  description:
    'Convert float32 weights and computation to float16 or bfloat16; blocked ops (and, for onnxruntime-cpu, ops ' +
    'without a half kernel) stay float32 behind Casts; out-of-range weights are clamped and reported',
  options: {
    type: 'object',
    properties: {
      type: {
        type: 'string',
        enum: ['float16', 'bfloat16'],
        default: DEFAULTS.type,
        description: 'the half type written',
      },
      keepIoTypes: {
        type: 'boolean',
        default: DEFAULTS.keepIoTypes,
        description: 'keep float32 model inputs and outputs (Casts at the edges)',
      },
      blockOps: {
        type: 'array',
        items: { type: 'string' },
        default: [...DEFAULT_FLOAT16_BLOCK_OPS],
        description: 'ops kept in float32 (replaces the default list of ops that lose accuracy or range)',
      },
      blockNodes: {
        type: 'array',
        items: { type: 'string' },
        default: [],
        description: 'node or output names kept in float32 (* and ? are wildcards)',
      },
      minPositiveValue: {
        type: 'number',
        minimum: 0,
        description:
          'smallest non-zero magnitude written; smaller values are raised to it (default: smallest subnormal)',
      },
      maxValue: {
        type: 'number',
        exclusiveMinimum: 0,
        description: 'largest magnitude written; larger finite values are clamped (default: largest finite value)',
      },
      runtime: {
        type: 'string',
        enum: ['onnxruntime-cpu', 'any'],
        default: DEFAULTS.runtime,
        description: 'onnxruntime-cpu also keeps float32 around ops without a half kernel in ONNX Runtime’s CPU EP',
      },
    },
    additionalProperties: false,
  },
  create(options) {
    const type: HalfType = (options.type ?? DEFAULTS.type) === 'bfloat16' ? DataType.BFLOAT16 : DataType.FLOAT16;
    const limits = halfLimits(type);
    const maxValue = options.maxValue ?? limits.max;
    const minPositiveValue = options.minPositiveValue ?? limits.minPositive;
    if (!(maxValue > 0 && maxValue <= limits.max)) {
      invalid(`maxValue must be in (0, ${limits.max}] for ${options.type ?? DEFAULTS.type}, got ${maxValue}`);
    }
    if (!(minPositiveValue >= 0 && minPositiveValue < maxValue)) {
      invalid(`minPositiveValue must be in [0, maxValue), got ${minPositiveValue}`);
    }
    const keepIoTypes = options.keepIoTypes ?? DEFAULTS.keepIoTypes;
    const blockOps = new Set(options.blockOps ?? DEFAULT_FLOAT16_BLOCK_OPS);
    const matches = globMatcher(options.blockNodes ?? DEFAULTS.blockNodes);
    const isBlockedNode = (node: Node) =>
      (node.name !== '' && matches(node.name)) ||
      node.outputs.some((value) => value !== undefined && matches(value.name));
    const runtime = options.runtime ?? DEFAULTS.runtime;
    return {
      name: 'convert-float16',
      async run(model, context) {
        if (!hasFloat32(model)) {
          const weightBytesBefore = initializerBytes(model);
          return {
            model,
            changed: false,
            preserved: 'all',
            statistics: { nodesInHalf: 0, castsInserted: 0, weightBytesBefore, weightBytesAfter: weightBytesBefore },
          };
        }
        const opset = model.opsetVersion('') ?? 0;
        if (opset < MINIMUM_OPSET[type]) {
          throw new WhittleError(
            Float16Codes.OPSET_TOO_OLD,
            `the model imports opset ${opset}; Cast to ${type === DataType.FLOAT16 ? 'float16' : 'bfloat16'} needs opset ${MINIMUM_OPSET[type]}`,
            {
              hint:
                type === DataType.BFLOAT16
                  ? 'run the upgrade-opset pass first (whittle quantize --mode bf16 does), or use type float16'
                  : 'convert the model to opset 6 or later first',
            },
          );
        }
        const lifted = await liftConstants.create({}).run(model, context);
        // Measured after lifting, so weights held by Constant nodes count too.
        const weightBytesBefore = initializerBytes(model);
        const dropAddedValueInfo = await inferTypesForPlanning(model, context);
        const plan = new Float16Plan(model, { type, opset, keepIoTypes, blockOps, isBlockedNode, runtime });
        const rewriter = new Float16Rewriter(model, plan, new NameGenerator(model), {
          type,
          range: { maxValue, minPositiveValue },
          report: (diagnostic) => context.report(diagnostic),
        });
        const converted = rewriter.run();
        dropAddedValueInfo();
        if (converted && plan.kept.size > 0) {
          context.report({
            code: Float16Codes.KEPT_FLOAT,
            severity: 'info',
            message: `${plan.kept.size} node(s) stay float32 — ${keptSummary(plan.kept)}`,
          });
        }
        const changed = converted || lifted.changed;
        return {
          model,
          changed,
          ...(changed ? {} : { preserved: 'all' as const }),
          statistics: { ...rewriter.statistics, weightBytesBefore, weightBytesAfter: initializerBytes(model) },
        };
      },
    };
  },
};
