import { optionNameToKebabCase } from '@whittle/core';
import type { JsonSchema } from '@whittle/spec';

/** One line per option of a pass: `per-channel (boolean, default true): description`. */
export function optionLines(schema: JsonSchema | undefined): string[] {
  const properties = (schema?.properties ?? {}) as Record<string, Record<string, unknown>>;
  return Object.entries(properties).map(([name, property]) => {
    const type = Array.isArray(property.enum) ? property.enum.join('|') : String(property.type ?? 'value');
    const fallback = property.default === undefined ? '' : `, default ${JSON.stringify(property.default)}`;
    const description = typeof property.description === 'string' ? `: ${property.description}` : '';
    return `${optionNameToKebabCase(name)} (${type}${fallback})${description}`;
  });
}
