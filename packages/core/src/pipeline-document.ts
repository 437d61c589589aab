import type { PipelineStep } from '@whittle/spec';
import { WhittleError } from '@whittle/spec';
import { PIPELINE_INVALID_DOCUMENT } from './codes.js';
import { isPlainObject, preview } from './plain-values.js';
import { stepParts } from './pipeline-step.js';

/** A pipeline file, as JSON or YAML. */
export interface PipelineDocument {
  /** The JSON Schema the file is written against, for editors; ignored when running. */
  $schema?: string;
  /** Plugin packages or local module paths (relative to the file) to load before resolving the steps. */
  plugins?: string[];
  pipeline: PipelineStep[];
}

/** What a pipeline document, file or text argument asks for, before its names are resolved. */
export interface PipelineSource {
  steps: PipelineStep[];
  plugins: string[];
}

const KEYS = ['$schema', 'plugins', 'pipeline'];

/**
 * Checks that a value read from JSON or YAML is a pipeline document and returns its steps and plugins. Throws
 * `PIPELINE_INVALID_DOCUMENT` (or `PIPELINE_INVALID_STEP` for a malformed step) at the offending place.
 */
export function readPipelineDocument(value: unknown, file?: string): PipelineSource {
  const fail = (path: string, problem: string): never => {
    throw new WhittleError(PIPELINE_INVALID_DOCUMENT, `Invalid pipeline document: ${problem}`, {
      location: { ...(file === undefined ? {} : { file }), ...(path ? { path } : {}) },
      hint: 'A pipeline document is { "$schema"?: string, "plugins"?: string[], "pipeline": [steps] }.',
    });
  };
  if (!isPlainObject(value)) return fail('', `expected an object, got ${preview(value)}`);
  const unknown = Object.keys(value).find((key) => !KEYS.includes(key));
  if (unknown !== undefined) fail(unknown, `unknown key '${unknown}' (expected ${KEYS.join(', ')})`);
  if (value.$schema !== undefined && typeof value.$schema !== 'string') fail('$schema', '$schema must be a string');
  const plugins = value.plugins ?? [];
  if (!Array.isArray(plugins)) return fail('plugins', `plugins must be a list of names, got ${preview(plugins)}`);
  plugins.forEach((plugin, index) => {
    if (typeof plugin !== 'string' || plugin.length === 0) {
      fail(`plugins[${index}]`, `plugins[${index}] must be a package name or module path, got ${preview(plugin)}`);
    }
  });
  if (!Array.isArray(value.pipeline)) {
    return fail('pipeline', `pipeline must be a list of steps, got ${preview(value.pipeline)}`);
  }
  const steps = value.pipeline as unknown[];
  steps.forEach((step, index) => {
    stepParts(step, `pipeline[${index}]`, file);
  });
  return { steps: steps as PipelineStep[], plugins: plugins as string[] };
}
