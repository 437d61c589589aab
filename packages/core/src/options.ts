import type { JsonSchema, PassDefinition } from '@whittle/spec';
import { WhittleError } from '@whittle/spec';
import type { ErrorObject, ValidateFunction } from 'ajv';
import Ajv2020 from 'ajv/dist/2020.js';
import { closeNames, didYouMean } from './close-names.js';
import { PIPELINE_INVALID_OPTIONS, PLUGIN_INVALID } from './codes.js';
import { optionNameToCamelCase } from './option-names.js';
import { clonePlain, isPlainObject, preview, setOwn } from './plain-values.js';

export interface ValidateOptionsSettings {
  /** Where the options sit, for error locations, such as `pipeline[1].options`. Default `options`. */
  path?: string;
  /** The options were typed as text (pipeline text, CLI flags): convert values to the schema's types where they fit. */
  coerceTypes?: boolean;
  /** Accept kebab-case names (`per-channel`) as well as camelCase (`perChannel`), as text and the CLI do. */
  acceptKebabCase?: boolean;
}

/**
 * The schema options are checked against: unknown option names are rejected (a typo must not silently fall back
 * to a default) unless the schema itself says what to do with extra properties.
 */
export function closedOptionsSchema(schema: JsonSchema): JsonSchema {
  const open =
    schema.properties === undefined ||
    'additionalProperties' in schema ||
    'unevaluatedProperties' in schema ||
    'patternProperties' in schema;
  return open ? schema : { ...schema, additionalProperties: false };
}

/**
 * Checks options against a pass's JSON Schema and returns a normalised copy: defaults filled in, and for text input
 * kebab-case names turned to camelCase and values converted to the declared types. Throws
 * `PIPELINE_INVALID_OPTIONS` naming the pass, the option and the problem.
 */
export function validateOptions(
  definition: Pick<PassDefinition, 'name' | 'options'>,
  options: unknown,
  settings: ValidateOptionsSettings = {},
): Record<string, unknown> {
  const path = settings.path ?? 'options';
  const fail = (where: string, message: string, hint?: string): never => {
    throw new WhittleError(PIPELINE_INVALID_OPTIONS, `Pass '${definition.name}'${message}`, {
      location: { path: where },
      ...(hint ? { hint } : {}),
    });
  };
  if (options === undefined || options === null) options = {};
  if (!isPlainObject(options)) return fail(path, ` takes options as an object, got ${preview(options)}.`);
  let copy = clonePlain(options) as Record<string, unknown>;
  if (settings.acceptKebabCase)
    copy = camelCaseNames(copy, (name) => fail(`${path}.${name}`, ` got option '${name}' twice.`));

  const schema = definition.options;
  if (schema === undefined) {
    const names = Object.keys(copy).filter((name) => copy[name] !== undefined);
    if (names.length > 0) fail(`${path}.${names[0]}`, ` takes no options, got '${names[0]}'.`);
    return {};
  }
  const validate = compile(definition.name, schema, settings.coerceTypes === true);
  if (validate(copy)) return inSchemaOrder(copy, schema);
  const error = validate.errors![0]!;
  return describeError(definition.name, error, copy, path, fail);
}

function describeError(
  passName: string,
  error: ErrorObject,
  data: unknown,
  path: string,
  fail: (where: string, message: string, hint?: string) => never,
): never {
  const segments = error.instancePath
    .split('/')
    .slice(1)
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (error.keyword === 'required') {
    const missing = String(error.params.missingProperty);
    const name = formatPath([...segments, missing]);
    return fail(joinPath(path, [...segments, missing]), ` needs option '${name}'.`);
  }
  if (error.keyword === 'additionalProperties') {
    const extra = String(error.params.additionalProperty);
    const known = Object.keys((error.parentSchema?.properties as Record<string, unknown> | undefined) ?? {});
    const name = formatPath([...segments, extra]);
    const suggestion = didYouMean(closeNames(extra, known));
    return fail(
      joinPath(path, [...segments, extra]),
      ` has no option '${name}'.${suggestion ? ` ${suggestion}` : ''}`,
      known.length > 0 ? `Options of '${passName}': ${known.join(', ')}.` : undefined,
    );
  }
  const value = segments.reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], data);
  const subject = segments.length === 0 ? 'options' : `option '${formatPath(segments)}'`;
  let problem = error.message ?? 'is invalid';
  if (error.keyword === 'enum') {
    const allowed = (error.params.allowedValues as unknown[]).map((allowedValue) => JSON.stringify(allowedValue));
    problem = `must be one of ${allowed.join(', ')}`;
  } else if (error.keyword === 'type') {
    problem = `must be ${String(error.params.type).replace(/,/g, ' or ')}`;
  }
  return fail(joinPath(path, segments), `: ${subject} ${problem}, got ${preview(value)}.`);
}

/** `['scales', '0', 'max']` -> `scales[0].max`. */
function formatPath(segments: readonly string[]): string {
  return segments
    .map((segment, index) => {
      if (/^\d+$/.test(segment)) return `[${segment}]`;
      if (/^[A-Za-z_$][\w$-]*$/.test(segment)) return index === 0 ? segment : `.${segment}`;
      return `[${JSON.stringify(segment)}]`;
    })
    .join('');
}

function joinPath(base: string, segments: readonly string[]): string {
  if (segments.length === 0) return base;
  const formatted = formatPath(segments);
  return formatted.startsWith('[') ? `${base}${formatted}` : `${base}.${formatted}`;
}

/**
 * The options with the schema's properties first, in the schema's order: two ways of writing the same options give
 * the same object and so the same printed pipeline.
 */
function inSchemaOrder(options: Record<string, unknown>, schema: JsonSchema): Record<string, unknown> {
  const declared = Object.keys((schema.properties as Record<string, unknown> | undefined) ?? {});
  const ordered: Record<string, unknown> = {};
  for (const name of [...declared, ...Object.keys(options)]) {
    if (Object.hasOwn(options, name) && !Object.hasOwn(ordered, name)) setOwn(ordered, name, options[name]);
  }
  return ordered;
}

function camelCaseNames(options: Record<string, unknown>, duplicate: (name: string) => never): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(options)) {
    const camel = optionNameToCamelCase(name);
    if (Object.hasOwn(result, camel)) duplicate(camel);
    setOwn(result, camel, value);
  }
  return result;
}

// Two validators per schema: text input converts types, code and documents must already have the right ones.
let strictAjv: Ajv2020 | undefined;
let coercingAjv: Ajv2020 | undefined;
const strictCache = new WeakMap<JsonSchema, ValidateFunction>();
const coercingCache = new WeakMap<JsonSchema, ValidateFunction>();

function validatorFactory(coerce: boolean): Ajv2020 {
  if (coerce) {
    coercingAjv ??= new Ajv2020({ ...ajvSettings, coerceTypes: 'array' });
    return coercingAjv;
  }
  strictAjv ??= new Ajv2020(ajvSettings);
  return strictAjv;
}

function compile(passName: string, schema: JsonSchema, coerce: boolean): ValidateFunction {
  const cache = coerce ? coercingCache : strictCache;
  const cached = cache.get(schema);
  if (cached) return cached;
  // Created on first use: importing the package must have no side effects.
  const ajv = validatorFactory(coerce);
  let validate: ValidateFunction;
  try {
    validate = ajv.compile(closedOptionsSchema(schema));
  } catch (error) {
    throw new WhittleError(
      PLUGIN_INVALID,
      `The options schema of pass '${passName}' is not a valid JSON Schema: ${(error as Error).message}`,
      { location: { path: `${passName}.options` }, cause: error },
    );
  }
  cache.set(schema, validate);
  return validate;
}

const ajvSettings = {
  useDefaults: true,
  // Third-party schemas may carry annotations of their own; they are not errors.
  strict: false,
  // Formats are annotations here: no format vocabulary is bundled, to keep the browser build small.
  validateFormats: false,
  verbose: true,
} as const;
