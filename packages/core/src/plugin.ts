import type { Plugin } from '@whittle/spec';
import { WhittleError } from '@whittle/spec';
import { PLUGIN_INVALID } from './codes.js';
import { isPassName } from './pass-name.js';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks that a value has the shape of the spec's `Plugin`: plugins come from modules we do not control, so a
 * wrong export fails here with a precise place rather than later inside the pass manager.
 *
 * @param source the module specifier or file the plugin came from, for error locations.
 */
export function assertPlugin<TModel = unknown>(value: unknown, source?: string): asserts value is Plugin<TModel> {
  const fail = (path: string, problem: string): never => {
    const label = isRecord(value) && typeof value.name === 'string' ? `Plugin '${value.name}'` : 'Plugin';
    throw new WhittleError(PLUGIN_INVALID, `${label}${source ? ` from '${source}'` : ''}: ${problem}`, {
      location: { ...(source === undefined ? {} : { file: source }), ...(path ? { path } : {}) },
      hint: 'A plugin is { name: string, passes: PassDefinition[], presets?: Record<string, PipelineStep[]> }.',
    });
  };
  if (!isRecord(value)) fail('', `expected an object, got ${describe(value)}`);
  const plugin = value as Record<string, unknown>;
  if (typeof plugin.name !== 'string' || plugin.name.length === 0) fail('name', 'name must be a non-empty string');
  if (!Array.isArray(plugin.passes)) fail('passes', 'passes must be an array of pass definitions');
  for (const [index, definition] of (plugin.passes as unknown[]).entries()) {
    const path = `passes[${index}]`;
    if (!isRecord(definition)) fail(path, `${path} must be a pass definition object`);
    const record = definition as Record<string, unknown>;
    if (typeof record.name !== 'string' || !isPassName(record.name)) {
      fail(`${path}.name`, `${path}.name must be a pass name such as 'fuse-gelu' or 'acme/fuse-gelu'`);
    }
    const label = `pass '${record.name}'`;
    if (typeof record.description !== 'string') fail(`${path}.description`, `${label} needs a description`);
    if (typeof record.create !== 'function') fail(`${path}.create`, `${label} needs a create(options) function`);
    if (record.options !== undefined && !isRecord(record.options)) {
      fail(`${path}.options`, `${label}: options must be a JSON Schema object`);
    }
  }
  if (plugin.presets !== undefined) {
    if (!isRecord(plugin.presets)) fail('presets', 'presets must be an object of named step lists');
    for (const [name, steps] of Object.entries(plugin.presets as Record<string, unknown>)) {
      if (!isPassName(name)) fail(`presets.${name}`, `preset name '${name}' is not a valid pass name`);
      if (!Array.isArray(steps)) fail(`presets.${name}`, `preset '${name}' must be an array of pipeline steps`);
    }
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}
