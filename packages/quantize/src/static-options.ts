/**
 * Options of `quantize-static`: the JSON Schema (the one source for validation, pipeline files and CLI help), the
 * defaults, and their resolution into what the planner uses (ranges by tensor name, an exclusion matcher).
 */
import { DataType, type Node } from '@whittle/ir';
import { type JsonSchema, WhittleError } from '@whittle/spec';
import type { ChannelMeans } from './static-bias-correction.js';
import { QuantizeStaticCodes } from './static-codes.js';

export type StaticWeightType = 'int8' | 'uint8';
export type StaticActivationType = 'uint8' | 'int8' | 'int16';
export type StaticOverrideType = 'uint8' | 'int8' | 'int16' | 'uint16';

/** A tensor's observed range; a calibration table's entries carry more (method, statistics), which is ignored. */
export interface StaticRange {
  min: number;
  max: number;
}

/**
 * The calibration table as `quantize-static` reads it: @whittle/calibrate's parsed table (tensors by name, each
 * with at least `min` and `max`) or the plain `{ tensors: { name: { min, max } } }`. A bare record of ranges by name
 * is accepted too.
 */
export type StaticCalibrationTable =
  | { tensors: Readonly<Record<string, StaticRange>>; [key: string]: unknown }
  | Readonly<Record<string, StaticRange>>;

export interface StaticTensorOverride {
  /** Integer type of this tensor (activations), or of this weight. */
  type?: StaticOverrideType;
  /** Range to use instead of (or to complete) the table's. For a weight: one range for the whole tensor. */
  min?: number;
  max?: number;
  symmetric?: boolean;
}

export interface QuantizeStaticOptions {
  calibrationTable?: StaticCalibrationTable;
  /** Integer type of Conv/ConvTranspose/Gemm/MatMul weights. Default int8. */
  weightType?: StaticWeightType;
  /** Integer type of activations. Default uint8. */
  activationType?: StaticActivationType;
  /** One scale per output channel of a weight. Default true. */
  perChannel?: boolean;
  /** Weights symmetric (zero point 0, int8 range [-127, 127]). Default true. */
  symmetricWeights?: boolean;
  /** Activations symmetric. Default false (asymmetric: a zero point takes the range's offset). */
  symmetricActivations?: boolean;
  /** Op types (default domain) to quantize. */
  opTypes?: string[];
  /** Op types, node names or glob patterns (`*` any run of characters, `?` one) of nodes left in float. */
  exclude?: string[];
  /** Per tensor: type, range, symmetry. */
  overrides?: Record<string, StaticTensorOverride>;
  /**
   * Fold BatchNormalization into the Conv, ConvTranspose or Gemm before it, so that the pair quantizes the
   * normalized output rather than the raw one. Default true.
   */
  foldBatchNorm?: boolean;
  /**
   * Subtract from each Conv, Gemm and MatMul bias the mean error its rounded weights add, from the per-channel
   * means of the op's input in the calibration table (tables without them: no correction). Default true.
   */
  biasCorrection?: boolean;
}

/** Ops that only move or select values: their outputs share their input's parameters. */
export const STATIC_DATA_MOVEMENT_OPS = [
  'Reshape',
  'Transpose',
  'Squeeze',
  'Unsqueeze',
  'Flatten',
  'Slice',
  'Split',
  'Pad',
  'Gather',
] as const;

export const DEFAULT_STATIC_OP_TYPES: readonly string[] = [
  'Conv',
  'ConvTranspose',
  'Gemm',
  'MatMul',
  'Add',
  'Mul',
  'Concat',
  'MaxPool',
  'AveragePool',
  'GlobalAveragePool',
  'Resize',
  ...STATIC_DATA_MOVEMENT_OPS,
];

export const quantizeStaticOptionsSchema: JsonSchema = {
  type: 'object',
  properties: {
    calibrationTable: {
      description:
        'Ranges by tensor name: a calibration table from @whittle/calibrate, or { tensors: { name: { min, max } } }',
      type: 'object',
    },
    weightType: { description: 'Integer type of weights', enum: ['int8', 'uint8'], default: 'int8' },
    activationType: {
      description: 'Integer type of activations',
      enum: ['uint8', 'int8', 'int16'],
      default: 'uint8',
    },
    perChannel: { description: 'One weight scale per output channel', type: 'boolean', default: true },
    symmetricWeights: { description: 'Weights with zero point 0 (int8: range ±127)', type: 'boolean', default: true },
    symmetricActivations: {
      description: 'Activations with a symmetric range (default: asymmetric, a zero point per tensor)',
      type: 'boolean',
      default: false,
    },
    opTypes: {
      description: 'Op types (default domain) to quantize',
      type: 'array',
      items: { type: 'string' },
      default: [...DEFAULT_STATIC_OP_TYPES],
    },
    exclude: {
      description: 'Op types, node names or glob patterns (* and ?) of nodes left in float',
      type: 'array',
      items: { type: 'string' },
      default: [],
    },
    overrides: {
      description: 'Per tensor name: { type, min, max, symmetric }',
      type: 'object',
      additionalProperties: {
        type: 'object',
        properties: {
          type: { enum: ['uint8', 'int8', 'int16', 'uint16'] },
          min: { type: 'number' },
          max: { type: 'number' },
          symmetric: { type: 'boolean' },
        },
        additionalProperties: false,
      },
      default: {},
    },
    foldBatchNorm: {
      description:
        'Fold BatchNormalization into the Conv/ConvTranspose/Gemm before it, so the normalized output is quantized',
      type: 'boolean',
      default: true,
    },
    biasCorrection: {
      description:
        "Correct each Conv/Gemm/MatMul bias for the mean error of its rounded weights (needs the table's channel means)",
      type: 'boolean',
      default: true,
    },
  },
  additionalProperties: false,
};

const TYPES: Readonly<Record<StaticOverrideType, DataType>> = {
  uint8: DataType.UINT8,
  int8: DataType.INT8,
  int16: DataType.INT16,
  uint16: DataType.UINT16,
};

export function staticDataType(name: StaticOverrideType): DataType {
  return TYPES[name];
}

export interface ResolvedTensorOverride {
  type?: DataType;
  min?: number;
  max?: number;
  symmetric?: boolean;
}

export interface ResolvedStaticOptions {
  ranges: ReadonlyMap<string, StaticRange>;
  /** Per-channel means of tensors, for bias correction (empty when it is off or the table has none). */
  channelMeans: ReadonlyMap<string, ChannelMeans>;
  /** Whether a table was given at all (no table: every range must come from overrides). */
  hasTable: boolean;
  weightType: DataType.INT8 | DataType.UINT8;
  activationType: DataType;
  perChannel: boolean;
  symmetricWeights: boolean;
  symmetricActivations: boolean;
  opTypes: ReadonlySet<string>;
  excluded: (node: Node) => boolean;
  overrides: ReadonlyMap<string, ResolvedTensorOverride>;
  /** Some tensor is to be 16-bit (needs opset 21 or the contrib ops). */
  sixteenBit: boolean;
  foldBatchNorm: boolean;
}

function invalid(message: string, path: string): never {
  throw new WhittleError(QuantizeStaticCodes.INVALID_OPTIONS, message, { location: { path } });
}

function isRange(value: unknown): value is StaticRange {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as StaticRange).min === 'number' &&
    typeof (value as StaticRange).max === 'number'
  );
}

/** The entries of any accepted table shape, by tensor name. */
function tableEntries(table: unknown): [string, unknown][] {
  if (table === undefined || table === null) return [];
  if (typeof table !== 'object') invalid('calibrationTable must be an object', 'options.calibrationTable');
  const record = table as Record<string, unknown>;
  const tensors = record.tensors;
  if (Array.isArray(tensors)) {
    return tensors.map((entry, index) => {
      const name = (entry as { name?: unknown })?.name;
      if (typeof name !== 'string') invalid(`tensor entry ${index} has no name`, `options.calibrationTable.tensors`);
      return [name, entry];
    });
  }
  if (typeof tensors === 'object' && tensors !== null && !isRange(tensors)) {
    return Object.entries(tensors as Record<string, unknown>);
  }
  return Object.entries(record).filter(([, value]) => isRange(value));
}

/** Ranges by tensor name from any accepted table shape; entries without numeric min/max are rejected. */
export function tableRanges(table: unknown): Map<string, StaticRange> {
  const ranges = new Map<string, StaticRange>();
  for (const [name, entry] of tableEntries(table)) {
    if (!isRange(entry)) invalid(`the table entry of '${name}' has no numeric min and max`, 'options.calibrationTable');
    const { min, max } = entry;
    if (!Number.isFinite(min) || !Number.isFinite(max) || min > max) {
      invalid(`the table range of '${name}' is [${min}, ${max}]`, 'options.calibrationTable');
    }
    ranges.set(name, { min, max });
  }
  return ranges;
}

/**
 * Per-channel means by tensor name: a table entry's `statistics.channelMeans` (`{ axis, values }`, written by
 * @whittle/calibrate). Entries without them are skipped; malformed ones are rejected.
 */
export function tableChannelMeans(table: unknown): Map<string, ChannelMeans> {
  const means = new Map<string, ChannelMeans>();
  for (const [name, entry] of tableEntries(table)) {
    const found = (entry as { statistics?: { channelMeans?: unknown } }).statistics?.channelMeans;
    if (found === undefined) continue;
    const { axis, values } = (found ?? {}) as Partial<ChannelMeans>;
    const valid =
      Number.isInteger(axis) &&
      Array.isArray(values) &&
      values.every((value) => typeof value === 'number' && Number.isFinite(value));
    if (!valid)
      invalid(`the channel means of '${name}' are not { axis, values: [numbers] }`, 'options.calibrationTable');
    means.set(name, { axis: axis!, values: values! });
  }
  return means;
}

function globToRegExp(pattern: string): RegExp {
  let source = '';
  for (const character of pattern) {
    if (character === '*') source += '.*';
    else if (character === '?') source += '.';
    else source += character.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 's');
}

/**
 * A matcher for `exclude`: a pattern names an op type or a node name exactly, or, with `*` or `?`, is a glob over
 * node names and op types (`*` also crosses `/`, so `*\/decoder/*` matches `/model/decoder/conv`).
 */
export function exclusionMatcher(patterns: readonly string[]): (node: Node) => boolean {
  const exact = new Set(patterns.filter((pattern) => !/[*?]/.test(pattern)));
  const globs = patterns.filter((pattern) => /[*?]/.test(pattern)).map(globToRegExp);
  return (node) =>
    exact.has(node.opType) ||
    (node.name !== '' && exact.has(node.name)) ||
    globs.some((glob) => glob.test(node.name) || glob.test(node.opType));
}

/** Defaults filled in and everything checked that the schema cannot say. */
export function resolveStaticOptions(options: QuantizeStaticOptions = {}): ResolvedStaticOptions {
  const weightType = options.weightType ?? 'int8';
  const activationType = options.activationType ?? 'uint8';
  if (weightType !== 'int8' && weightType !== 'uint8') invalid(`weightType '${weightType}'`, 'options.weightType');
  if (!(activationType in TYPES) || activationType === ('uint16' as string)) {
    invalid(`activationType '${activationType}'`, 'options.activationType');
  }
  const overrides = new Map<string, ResolvedTensorOverride>();
  let sixteenBit = activationType === 'int16';
  for (const [name, override] of Object.entries(options.overrides ?? {})) {
    const path = `options.overrides.${name}`;
    const resolved: ResolvedTensorOverride = {};
    if (override.type !== undefined) {
      if (!(override.type in TYPES)) invalid(`override type '${override.type}'`, path);
      resolved.type = TYPES[override.type];
      if (override.type === 'int16' || override.type === 'uint16') sixteenBit = true;
    }
    for (const key of ['min', 'max'] as const) {
      const value = override[key];
      if (value === undefined) continue;
      if (!Number.isFinite(value)) invalid(`override ${key} of '${name}' is ${value}`, path);
      resolved[key] = value;
    }
    if (resolved.min !== undefined && resolved.max !== undefined && resolved.min > resolved.max) {
      invalid(`override range of '${name}' is [${resolved.min}, ${resolved.max}]`, path);
    }
    if (override.symmetric !== undefined) resolved.symmetric = override.symmetric;
    overrides.set(name, resolved);
  }
  return {
    ranges: tableRanges(options.calibrationTable),
    channelMeans: options.biasCorrection === false ? new Map() : tableChannelMeans(options.calibrationTable),
    hasTable: options.calibrationTable !== undefined,
    weightType: weightType === 'int8' ? DataType.INT8 : DataType.UINT8,
    activationType: TYPES[activationType],
    perChannel: options.perChannel ?? true,
    symmetricWeights: options.symmetricWeights ?? true,
    symmetricActivations: options.symmetricActivations ?? false,
    opTypes: new Set(options.opTypes ?? DEFAULT_STATIC_OP_TYPES),
    excluded: exclusionMatcher(options.exclude ?? []),
    overrides,
    sixteenBit,
    foldBatchNorm: options.foldBatchNorm ?? true,
  };
}
