import type { JsonSchema } from '@whittle/spec';
import { closedOptionsSchema } from './options.js';
import type { PassRegistry } from './registry.js';

export interface PipelineJsonSchemaSettings {
  /** `$id` of the generated schema, such as the URL it is published at. */
  id?: string;
  title?: string;
}

/** A JSON Pointer segment: `acme/fuse-gelu` -> `acme~1fuse-gelu`. */
function pointerSegment(name: string): string {
  return name.replace(/~/g, '~0').replace(/\//g, '~1');
}

/**
 * The JSON Schema (draft 2020-12) of a pipeline file for the passes and presets in `registry`. Each pass's own
 * options schema is embedded once under `$defs` and used by both the `{ pass, options }` and the
 * `[name, options]` step forms, so editors complete and check options per pass.
 */
export function pipelineJsonSchema<TModel>(
  registry: PassRegistry<TModel>,
  settings: PipelineJsonSchemaSettings = {},
): JsonSchema {
  const passes = registry.passes();
  const presets = registry.presets().map((preset) => preset.name);
  const definitions: Record<string, JsonSchema> = {};
  const stepForms: JsonSchema[] = [];
  // A bare name only works for passes whose options all have defaults.
  const bareNames = [
    ...passes.filter((definition) => !hasRequiredOptions(definition.options)).map((definition) => definition.name),
    ...presets,
  ].sort();
  if (bareNames.length > 0) stepForms.push({ enum: bareNames });
  for (const definition of passes) {
    const reference = `#/$defs/${pointerSegment(definition.name)}`;
    const required = hasRequiredOptions(definition.options);
    definitions[definition.name] = definition.options
      ? { description: definition.description, ...closedOptionsSchema(definition.options) }
      : { description: `${definition.description} (no options)`, type: 'object', maxProperties: 0 };
    stepForms.push({
      type: 'object',
      properties: {
        pass: { const: definition.name, description: definition.description },
        options: { $ref: reference },
      },
      required: required ? ['pass', 'options'] : ['pass'],
      additionalProperties: false,
    });
    stepForms.push({
      type: 'array',
      prefixItems: [{ const: definition.name }, { $ref: reference }],
      minItems: required ? 2 : 1,
      items: false,
    });
  }
  if (presets.length > 0) {
    stepForms.push({
      type: 'object',
      properties: { pass: { enum: presets } },
      required: ['pass'],
      additionalProperties: false,
    });
  }
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    ...(settings.id ? { $id: settings.id } : {}),
    title: settings.title ?? 'Whittle pipeline',
    type: 'object',
    properties: {
      $schema: { type: 'string' },
      plugins: {
        description: 'Plugin packages or local modules (relative to this file) providing passes.',
        type: 'array',
        items: { type: 'string', minLength: 1 },
      },
      pipeline: {
        description: 'The steps, run in order.',
        type: 'array',
        // With nothing registered no step is valid, and an empty anyOf is not a valid schema.
        items: stepForms.length > 0 ? { anyOf: stepForms } : false,
      },
    },
    required: ['pipeline'],
    additionalProperties: false,
    $defs: definitions,
  };
}

function hasRequiredOptions(schema: JsonSchema | undefined): boolean {
  return Array.isArray(schema?.required) && schema.required.length > 0;
}
