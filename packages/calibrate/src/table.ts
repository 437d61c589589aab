/**
 * The calibration table: a backend-neutral, versioned JSON document of each calibrated tensor's range and
 * statistics (and, optionally, its histogram, so that ranges can be recomputed for another method or bit width
 * without running the model again).
 *
 * ```json
 * {
 *   "format": "whittle-calibration-table",
 *   "version": 1,
 *   "model": { "fingerprint": "sha256:…", "producer": "…" },
 *   "method": { "name": "entropy", "symmetric": true, "bits": 8 },
 *   "samples": 100,
 *   "createdAt": "2024-01-01T00:00:00.000Z",
 *   "tensors": {
 *     "conv1_out": {
 *       "min": -4.2, "max": 4.2,
 *       "statistics": {
 *         "count": 802816, "min": -9.1, "max": 7.3, "mean": 0.01, "std": 1.02, "nanCount": 0, "infinityCount": 0,
 *         "movingAverage": { "min": -8.7, "max": 7.1 },
 *         "histogram": { "bins": 2048, "range": 16, "counts": [-700, 3, 0, 5, …] },
 *         "channelMeans": { "axis": 1, "values": [0.12, -0.03, …] }
 *       }
 *     }
 *   }
 * }
 * ```
 * `histogram.counts` is zero-run-length encoded (see `HistogramBinsJSON`). `method` may also hold `percentile`
 * (recorded for the percentile method), `signed` and `movingAverage`; `statistics.movingAverage` is optional, and so
 * are `statistics.mean` and `statistics.std`, together (min-max calibration by reductions leaves them out unless
 * asked for), and `statistics.channelMeans` (the per-channel means of a Conv, Gemm or MatMul input, for bias
 * correction; axis -1 is the last). When a tensor saw no finite value, its count is 0 and min, max, mean and std
 * are 0. Unknown keys are errors.
 *
 * The model fingerprint ties a table to the model whose tensor names it uses; see `modelFingerprint`.
 */
import { dataTypeName, formatValueType, type Model } from '@whittle/ir';
import { WhittleError } from '@whittle/spec';
import { decodeHistogramCounts, type HistogramBinsJSON } from './histogram.js';
import type { ChannelMeans } from './channel-means.js';
import type { TensorStatistics } from './observer.js';
import {
  computeRange,
  DEFAULT_PERCENTILE,
  RANGE_METHODS,
  type Range,
  type RangeMethod,
  type RangeOptions,
  type RangeStatistics,
  validateRangeOptions,
} from './range-methods.js';

export const CALIBRATION_TABLE_FORMAT = 'whittle-calibration-table';
export const CALIBRATION_TABLE_VERSION = 1;

/** Error codes of the calibration table. */
export const CalibrationTableCodes = {
  INVALID: 'CALIBRATION_TABLE_INVALID',
  MODEL_MISMATCH: 'CALIBRATION_TABLE_MODEL_MISMATCH',
  VERSION: 'CALIBRATION_TABLE_VERSION',
} as const;

export interface CalibrationTableModel {
  /** `sha256:<hex>` from `modelFingerprint`, or another stable identifier. */
  fingerprint: string;
  producer?: string;
}

export interface CalibrationTableMethod {
  name: RangeMethod;
  symmetric: boolean;
  bits: number;
  percentile?: number;
  signed?: boolean;
  movingAverage?: boolean;
}

export interface CalibrationTensor {
  /** The quantization range: contains 0; min = -max when the method is symmetric. */
  min: number;
  max: number;
  statistics: TensorStatistics;
}

export interface CalibrationTable {
  format: typeof CALIBRATION_TABLE_FORMAT;
  version: typeof CALIBRATION_TABLE_VERSION;
  model: CalibrationTableModel;
  method: CalibrationTableMethod;
  /** Calibration samples (data set entries) the statistics come from. */
  samples: number;
  /** ISO 8601 time of creation. */
  createdAt?: string;
  tensors: Record<string, CalibrationTensor>;
}

/** What a table entry is made from: a TensorObserver, or a source of reduced statistics (no histogram). */
export interface StatisticsSource {
  readonly name: string;
  /** Batches observed; sources that saw none are left out of the table. */
  readonly batches: number;
  range(options: RangeOptions): Range;
  summary(options?: { histogram?: boolean }): TensorStatistics;
}

export interface CreateCalibrationTableOptions {
  model: CalibrationTableModel;
  method: RangeOptions;
  samples: number;
  /**
   * The observers, keyed by tensor name (a Map or a record) or named by themselves (an array). Observers that saw
   * no float batch (never fed, or only non-float tensors) are left out.
   */
  tensors: ReadonlyMap<string, StatisticsSource> | Record<string, StatisticsSource> | Iterable<StatisticsSource>;
  createdAt?: string | Date;
  /** Keep each tensor's histogram bins, so that `recomputeRanges` works; default true. */
  histograms?: boolean;
  /** Per-channel means by tensor name (`statistics.channelMeans`, which bias correction reads). */
  channelMeans?: ReadonlyMap<string, ChannelMeans>;
}

/** A calibration table from observers: each tensor's range by the given method, and its statistics. */
export function createCalibrationTable(options: CreateCalibrationTableOptions): CalibrationTable {
  validateRangeOptions(options.method);
  const entries: [string, StatisticsSource][] =
    options.tensors instanceof Map
      ? [...options.tensors.entries()]
      : Symbol.iterator in options.tensors
        ? [...(options.tensors as Iterable<StatisticsSource>)].map((observer) => [observer.name, observer])
        : Object.entries(options.tensors as Record<string, StatisticsSource>);
  const tensors: [string, CalibrationTensor][] = [];
  for (const [name, observer] of entries) {
    if (observer.batches === 0) continue;
    const range = rangeFor(name, () => observer.range(options.method));
    const statistics = observer.summary({ histogram: options.histograms !== false });
    const means = options.channelMeans?.get(name);
    tensors.push([name, { ...range, statistics: means ? { ...statistics, channelMeans: means } : statistics }]);
  }
  const table: CalibrationTable = {
    format: CALIBRATION_TABLE_FORMAT,
    version: CALIBRATION_TABLE_VERSION,
    model: { ...options.model },
    method: methodOf(options.method),
    samples: options.samples,
    tensors: Object.fromEntries(tensors),
  };
  if (options.createdAt !== undefined) {
    table.createdAt = options.createdAt instanceof Date ? options.createdAt.toISOString() : options.createdAt;
  }
  // The same checks as reading one, so a table that is written can always be read back.
  return readCalibrationTable(table, {});
}

/** The table's method as range options. */
export function rangeOptionsOf(method: CalibrationTableMethod): RangeOptions {
  const options: RangeOptions = { method: method.name, symmetric: method.symmetric, bits: method.bits };
  if (method.percentile !== undefined) options.percentile = method.percentile;
  if (method.signed !== undefined) options.signed = method.signed;
  if (method.movingAverage !== undefined) options.movingAverage = method.movingAverage;
  return options;
}

function methodOf(options: RangeOptions): CalibrationTableMethod {
  const method: CalibrationTableMethod = { name: options.method, symmetric: options.symmetric, bits: options.bits };
  if (options.method === 'percentile') method.percentile = options.percentile ?? DEFAULT_PERCENTILE;
  if (options.signed !== undefined) method.signed = options.signed;
  if (options.movingAverage !== undefined) method.movingAverage = options.movingAverage;
  return method;
}

/**
 * The same table with every range recomputed by another method or bit width. Needs each tensor's histogram
 * (except plain min-max) and, for min-max with moving average, its recorded moving averages; otherwise throws
 * `CALIBRATION_HISTOGRAM_REQUIRED` / `CALIBRATION_MOVING_AVERAGE_REQUIRED` naming the tensor.
 */
export function recomputeRanges(table: CalibrationTable, options: RangeOptions): CalibrationTable {
  validateRangeOptions(options);
  const tensors = Object.entries(table.tensors).map(([name, tensor]): [string, CalibrationTensor] => {
    const range = rangeFor(name, () => computeRange(rangeStatisticsOf(tensor.statistics), options));
    return [name, { ...range, statistics: tensor.statistics }];
  });
  return { ...table, method: methodOf(options), tensors: Object.fromEntries(tensors) };
}

/** What range methods read, from a table's statistics. */
export function rangeStatisticsOf(statistics: TensorStatistics): RangeStatistics {
  const empty = statistics.count === 0;
  const result: RangeStatistics = {
    min: empty ? Number.POSITIVE_INFINITY : statistics.min,
    max: empty ? Number.NEGATIVE_INFINITY : statistics.max,
  };
  if (statistics.histogram) result.histogram = decodeHistogramCounts(statistics.histogram);
  if (statistics.movingAverage) result.movingAverage = { ...statistics.movingAverage };
  return result;
}

function rangeFor(name: string, compute: () => Range): Range {
  try {
    return compute();
  } catch (error) {
    if (WhittleError.is(error) && error.location === undefined) {
      throw new WhittleError(error.code, `tensor '${name}': ${error.message}`, {
        location: { value: name },
        cause: error,
        ...(error.hint === undefined ? {} : { hint: error.hint }),
      });
    }
    throw error;
  }
}

// --------------------------------------------------------------------------------------------------- serializing

/**
 * The table as readable JSON text with a stable layout: keys in the order of the format, tensors sorted by name,
 * number arrays (histogram counts) on one line, a final newline.
 */
export function serializeCalibrationTable(table: CalibrationTable): string {
  const checked = readCalibrationTable(table, {});
  const ordered: Record<string, unknown> = {
    format: checked.format,
    version: checked.version,
    model: pick(checked.model, ['fingerprint', 'producer']),
    method: pick(checked.method, ['name', 'symmetric', 'bits', 'percentile', 'signed', 'movingAverage']),
    samples: checked.samples,
    createdAt: checked.createdAt,
    tensors: Object.fromEntries(
      Object.keys(checked.tensors)
        .sort()
        .map((name) => {
          const tensor = checked.tensors[name]!;
          const statistics = tensor.statistics;
          return [
            name,
            {
              min: tensor.min,
              max: tensor.max,
              statistics: {
                ...pick(statistics, ['count', 'min', 'max', 'mean', 'std', 'nanCount', 'infinityCount']),
                movingAverage: statistics.movingAverage && pick(statistics.movingAverage, ['min', 'max']),
                histogram: statistics.histogram && pick(statistics.histogram, ['bins', 'range', 'counts']),
                channelMeans: statistics.channelMeans && pick(statistics.channelMeans, ['axis', 'values']),
              },
            },
          ];
        }),
    ),
  };
  return `${writeJson(ordered, '')}\n`;
}

function pick<T extends object>(source: T, keys: readonly (keyof T)[]): Partial<T> {
  const result: Partial<T> = {};
  for (const key of keys) if (source[key] !== undefined) result[key] = source[key];
  return result;
}

function writeJson(value: unknown, indent: string): string {
  if (Array.isArray(value)) return `[${value.map((item) => JSON.stringify(item)).join(', ')}]`;
  if (typeof value === 'object' && value !== null) {
    const inner = `${indent}  `;
    const members = Object.entries(value)
      .filter(([, member]) => member !== undefined)
      .map(([key, member]) => `${inner}${JSON.stringify(key)}: ${writeJson(member, inner)}`);
    return members.length === 0 ? '{}' : `{\n${members.join(',\n')}\n${indent}}`;
  }
  return JSON.stringify(value);
}

// ------------------------------------------------------------------------------------------------------ parsing

export interface ParseCalibrationTableOptions {
  /** The model the table is for: its fingerprint must match the table's. */
  model?: Model;
  /** The fingerprint the table must carry (instead of computing it from `model`). */
  fingerprint?: string;
}

/**
 * Read and check a calibration table (JSON text or an already parsed object). Throws `CALIBRATION_TABLE_INVALID`
 * with the JSON path of the first bad field in `location.path`, `CALIBRATION_TABLE_VERSION` for a version this
 * reader does not know, and `CALIBRATION_TABLE_MODEL_MISMATCH` when the table was made for another model.
 */
export async function parseCalibrationTable(
  input: string | unknown,
  options: ParseCalibrationTableOptions = {},
): Promise<CalibrationTable> {
  const fingerprint = options.fingerprint ?? (options.model ? await modelFingerprint(options.model) : undefined);
  return parseCalibrationTableSync(input, fingerprint === undefined ? {} : { fingerprint });
}

/** `parseCalibrationTable` without a model (a fingerprint can still be checked). */
export function parseCalibrationTableSync(
  input: string | unknown,
  options: { fingerprint?: string } = {},
): CalibrationTable {
  let value: unknown = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch (error) {
      throw new WhittleError(
        CalibrationTableCodes.INVALID,
        `invalid calibration table: not JSON (${(error as Error).message})`,
        { location: { path: '' }, cause: error },
      );
    }
  }
  return readCalibrationTable(value, options);
}

function invalid(path: string, message: string): WhittleError {
  return new WhittleError(
    CalibrationTableCodes.INVALID,
    `invalid calibration table: ${path || 'the table'} ${message}`,
    {
      location: { path },
    },
  );
}

/** `path.key`, or `path["key"]` when the key is not an identifier. */
function member(path: string, key: string): string {
  if (/^[A-Za-z_$][\w$]*$/.test(key)) return path ? `${path}.${key}` : key;
  return `${path}[${JSON.stringify(key)}]`;
}

function describe(value: unknown): string {
  if (value === undefined) return 'missing';
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  const text = JSON.stringify(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

function expectObject(value: unknown, path: string, keys: readonly string[]): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(path, `must be an object, not ${describe(value)}`);
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!keys.includes(key)) throw invalid(member(path, key), 'is not a field of the calibration table format');
  }
  return record;
}

function expectNumber(record: Record<string, unknown>, path: string, key: string): number {
  const value = record[key];
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw invalid(member(path, key), `must be a finite number, not ${describe(value)}`);
  }
  return value;
}

function expectCount(record: Record<string, unknown>, path: string, key: string): number {
  const value = record[key];
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw invalid(member(path, key), `must be a non-negative integer, not ${describe(value)}`);
  }
  return value;
}

function expectBoolean(record: Record<string, unknown>, path: string, key: string, optional = false): void {
  const value = record[key];
  if (optional && value === undefined) return;
  if (typeof value !== 'boolean') throw invalid(member(path, key), `must be true or false, not ${describe(value)}`);
}

function expectString(record: Record<string, unknown>, path: string, key: string, optional = false): void {
  const value = record[key];
  if (optional && value === undefined) return;
  if (typeof value !== 'string' || value === '') {
    throw invalid(member(path, key), `must be a non-empty string, not ${describe(value)}`);
  }
}

function readCalibrationTable(value: unknown, options: { fingerprint?: string }): CalibrationTable {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid('', `must be a JSON object, not ${describe(value)}`);
  }
  const root = value as Record<string, unknown>;
  if (root.format !== CALIBRATION_TABLE_FORMAT) {
    throw invalid('format', `must be ${JSON.stringify(CALIBRATION_TABLE_FORMAT)}, not ${describe(root.format)}`);
  }
  if (typeof root.version !== 'number' || !Number.isInteger(root.version)) {
    throw invalid('version', `must be an integer, not ${describe(root.version)}`);
  }
  if (root.version !== CALIBRATION_TABLE_VERSION) {
    throw new WhittleError(
      CalibrationTableCodes.VERSION,
      `calibration table version ${root.version} is not supported: this Whittle reads version ${CALIBRATION_TABLE_VERSION}`,
      {
        location: { path: 'version' },
        hint:
          root.version > CALIBRATION_TABLE_VERSION
            ? 'the table was written by a newer Whittle: upgrade, or calibrate again'
            : 'calibrate again',
      },
    );
  }
  expectObject(root, '', ['format', 'version', 'model', 'method', 'samples', 'createdAt', 'tensors']);

  const model = expectObject(root.model, 'model', ['fingerprint', 'producer']);
  expectString(model, 'model', 'fingerprint');
  expectString(model, 'model', 'producer', true);

  const method = expectObject(root.method, 'method', [
    'name',
    'symmetric',
    'bits',
    'percentile',
    'signed',
    'movingAverage',
  ]);
  if (!RANGE_METHODS.includes(method.name as RangeMethod)) {
    throw invalid('method.name', `must be one of ${RANGE_METHODS.join(', ')}, not ${describe(method.name)}`);
  }
  expectBoolean(method, 'method', 'symmetric');
  const bits = method.bits;
  if (typeof bits !== 'number' || !Number.isInteger(bits) || bits < 2 || bits > 16) {
    throw invalid('method.bits', `must be an integer from 2 to 16, not ${describe(bits)}`);
  }
  if (method.percentile !== undefined) {
    const percentile = method.percentile;
    if (typeof percentile !== 'number' || !(percentile > 0 && percentile <= 100)) {
      throw invalid('method.percentile', `must be a number in (0, 100], not ${describe(percentile)}`);
    }
  }
  expectBoolean(method, 'method', 'signed', true);
  expectBoolean(method, 'method', 'movingAverage', true);
  const symmetric = method.symmetric as boolean;

  expectCount(root, '', 'samples');
  if (root.createdAt !== undefined) {
    if (typeof root.createdAt !== 'string' || Number.isNaN(Date.parse(root.createdAt))) {
      throw invalid('createdAt', `must be an ISO 8601 date string, not ${describe(root.createdAt)}`);
    }
  }

  const tensors = expectObject(root.tensors, 'tensors', Object.keys(root.tensors ?? {}));
  for (const [name, entry] of Object.entries(tensors)) {
    readTensor(entry, member('tensors', name), symmetric);
  }

  const table = root as unknown as CalibrationTable;
  if (options.fingerprint !== undefined && options.fingerprint !== table.model.fingerprint) {
    throw new WhittleError(
      CalibrationTableCodes.MODEL_MISMATCH,
      `the calibration table was made for another model: the table's fingerprint is ${table.model.fingerprint}, the model's is ${options.fingerprint}`,
      {
        location: { path: 'model.fingerprint' },
        hint: 'calibrate this model, or pass the model the table was made for',
      },
    );
  }
  return table;
}

function readTensor(value: unknown, path: string, symmetric: boolean): void {
  const tensor = expectObject(value, path, ['min', 'max', 'statistics']);
  const min = expectNumber(tensor, path, 'min');
  const max = expectNumber(tensor, path, 'max');
  if (min > 0 || max < 0) {
    throw invalid(member(path, 'min'), `range [${min}, ${max}] must contain 0, so that zero is representable`);
  }
  if (symmetric && min !== -max) {
    throw invalid(member(path, 'min'), `range [${min}, ${max}] must be symmetric (min = -max) for a symmetric method`);
  }
  const statisticsPath = member(path, 'statistics');
  const statistics = expectObject(tensor.statistics, statisticsPath, [
    'count',
    'min',
    'max',
    'mean',
    'std',
    'nanCount',
    'infinityCount',
    'movingAverage',
    'histogram',
    'channelMeans',
  ]);
  const count = expectCount(statistics, statisticsPath, 'count');
  const statisticsMin = expectNumber(statistics, statisticsPath, 'min');
  const statisticsMax = expectNumber(statistics, statisticsPath, 'max');
  // Mean and standard deviation come together or not at all (min-max by reductions leaves them out by default).
  if (statistics.mean !== undefined || statistics.std !== undefined) {
    expectNumber(statistics, statisticsPath, 'mean');
    if (expectNumber(statistics, statisticsPath, 'std') < 0) {
      throw invalid(member(statisticsPath, 'std'), 'must not be negative');
    }
  }
  expectCount(statistics, statisticsPath, 'nanCount');
  expectCount(statistics, statisticsPath, 'infinityCount');
  if (count > 0 && statisticsMin > statisticsMax) {
    throw invalid(member(statisticsPath, 'min'), `${statisticsMin} is above max ${statisticsMax}`);
  }
  if (statistics.movingAverage !== undefined) {
    const averagePath = member(statisticsPath, 'movingAverage');
    const average = expectObject(statistics.movingAverage, averagePath, ['min', 'max']);
    const averageMin = expectNumber(average, averagePath, 'min');
    if (averageMin > expectNumber(average, averagePath, 'max')) {
      throw invalid(member(averagePath, 'min'), 'is above max');
    }
  }
  if (statistics.histogram !== undefined) {
    const histogramPath = member(statisticsPath, 'histogram');
    expectObject(statistics.histogram, histogramPath, ['bins', 'range', 'counts']);
    let decoded: Float64Array;
    let range: number;
    try {
      const histogram = decodeHistogramCounts(statistics.histogram as HistogramBinsJSON, histogramPath);
      decoded = histogram.counts;
      range = histogram.range;
    } catch (error) {
      if (!WhittleError.is(error)) throw error;
      throw new WhittleError(CalibrationTableCodes.INVALID, `invalid calibration table: ${error.message}`, {
        location: { path: error.location?.path ?? histogramPath },
        cause: error,
      });
    }
    let total = 0;
    for (const binCount of decoded) total += binCount;
    if (total !== count) {
      throw invalid(member(histogramPath, 'counts'), `hold ${total} values, but the statistics count ${count}`);
    }
    if (count > 0 && (statisticsMin < -range || (statisticsMax >= range && !(range === 0 && statisticsMax === 0)))) {
      throw invalid(
        member(histogramPath, 'range'),
        `[-${range}, ${range}) does not hold the values' range [${statisticsMin}, ${statisticsMax}]`,
      );
    }
  }
  if (statistics.channelMeans !== undefined) {
    readChannelMeans(statistics.channelMeans, member(statisticsPath, 'channelMeans'));
  }
}

function readChannelMeans(value: unknown, path: string): void {
  const means = expectObject(value, path, ['axis', 'values']);
  if (typeof means.axis !== 'number' || !Number.isSafeInteger(means.axis)) {
    throw invalid(member(path, 'axis'), `must be an integer, not ${describe(means.axis)}`);
  }
  const valuesPath = member(path, 'values');
  if (!Array.isArray(means.values)) {
    throw invalid(valuesPath, `must be an array of numbers, not ${describe(means.values)}`);
  }
  means.values.forEach((mean: unknown, index) => {
    if (typeof mean !== 'number' || !Number.isFinite(mean)) {
      throw invalid(`${valuesPath}[${index}]`, `must be a finite number, not ${describe(mean)}`);
    }
  });
}

// --------------------------------------------------------------------------------------------------- fingerprint

interface DigestingCrypto {
  subtle?: { digest(algorithm: string, data: Uint8Array): Promise<ArrayBuffer> };
}

/**
 * A fingerprint of what makes a model's tensor names meaningful: the main graph's inputs (names and element types,
 * initializers excluded), and for every graph (subgraphs included) its initializers (names, element types, dims)
 * and its nodes in order (domain, op type, input and output names). Weight values, attributes, node names, doc
 * strings and metadata are left out, so re-saving a model or stripping its doc strings keeps the fingerprint,
 * while another model gets another one. SHA-256 by Web Crypto (Node 20 and browsers): `sha256:<64 hex digits>`.
 */
export async function modelFingerprint(model: Model): Promise<string> {
  const subtle = (globalThis as { crypto?: DigestingCrypto }).crypto?.subtle;
  if (!subtle) {
    throw new WhittleError(
      'CALIBRATION_NO_WEB_CRYPTO',
      'computing a model fingerprint needs Web Crypto (globalThis.crypto.subtle), which this runtime lacks',
    );
  }
  const description = [
    'whittle-model-fingerprint',
    1,
    model.graph.inputs
      .filter((input) => input.initializer === undefined)
      .map((input) => [
        input.name,
        input.type?.kind === 'tensor' ? dataTypeName(input.type.elementType) : formatValueType(input.type),
      ]),
    [...model.graphs()].map((graph) => [
      graph.initializers.map((value) => [
        value.name,
        value.initializer ? dataTypeName(value.initializer.dataType) : '',
        value.initializer ? [...value.initializer.dims] : [],
      ]),
      graph.nodes.map((node) => [
        node.domain === 'ai.onnx' ? '' : node.domain,
        node.opType,
        node.inputs.map((input) => input?.name ?? ''),
        node.outputs.map((output) => output?.name ?? ''),
      ]),
    ]),
  ];
  const digest = await subtle.digest('SHA-256', new TextEncoder().encode(JSON.stringify(description)));
  let hex = '';
  for (const byte of new Uint8Array(digest)) hex += byte.toString(16).padStart(2, '0');
  return `sha256:${hex}`;
}
