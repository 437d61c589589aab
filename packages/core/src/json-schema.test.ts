import { readFileSync, writeFileSync } from 'node:fs';
import Ajv2020 from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { acmePlugin, testPlugin, type ToyModel } from './__fixtures__/test-plugin.js';
import { pipelineJsonSchema } from './json-schema.js';
import { PassRegistry } from './registry.js';

const registry = new PassRegistry<ToyModel>().register(testPlugin).register(acmePlugin);
const committed = new URL('./__fixtures__/test-pipeline.schema.json', import.meta.url);
const schema = pipelineJsonSchema(registry, { id: 'https://example.com/test-pipeline.schema.json' });

/** Ajv's strict tuple rule wants every tuple item required; `[name]` without options is meant to be valid. */
function compile(value: object, strict = false) {
  return new Ajv2020({ strict, strictTuples: false }).compile(value);
}

describe('pipelineJsonSchema', () => {
  it('matches the committed schema of the test registry', () => {
    // The committed file is formatted by biome, so compare content and key order rather than text.
    // Regenerate after an intended change: UPDATE_SCHEMA_SNAPSHOT=1 pnpm vitest run packages/core/src/json-schema
    if (process.env.UPDATE_SCHEMA_SNAPSHOT) writeFileSync(committed, `${JSON.stringify(schema, null, 2)}\n`);
    const expected = JSON.parse(readFileSync(committed, 'utf8'));
    expect(schema).toEqual(expected);
    expect(JSON.stringify(schema)).toBe(JSON.stringify(expected));
  });

  it('is a valid draft 2020-12 schema that accepts the three step forms', () => {
    const validate = compile(schema, true);
    const accepted = {
      $schema: './pipeline.schema.json',
      plugins: ['@acme/whittle-passes'],
      pipeline: [
        'fold-constants',
        'standard',
        { pass: 'standard' },
        ['quantize', { mode: 'dynamic', perChannel: false }],
        { pass: 'quantize', options: { bits: 4 } },
        ['acme/fuse-gelu'],
        { pass: 'prune', options: { sparsity: 0.5 } },
      ],
    };
    expect(validate(accepted), JSON.stringify(validate.errors)).toBe(true);
  });

  it.each([
    ['an unknown pass', ['fold-constant']],
    ['an unknown option', [['quantize', { perChanel: true }]]],
    ['a wrong option type', [{ pass: 'quantize', options: { bits: 'eight' } }]],
    ['options for a pass without options', [{ pass: 'fold-constants', options: { x: 1 } }]],
    ['a bare pass with required options', ['prune']],
    ['a tuple without required options', [['prune']]],
    ['options on a preset', [{ pass: 'standard', options: {} }]],
    ['an unknown step key', [{ pass: 'quantize', option: {} }]],
  ])('rejects %s', (_, pipeline) => {
    const validate = compile(schema);
    expect(validate({ pipeline })).toBe(false);
  });

  it('rejects unknown top-level keys and a missing pipeline', () => {
    const validate = compile(schema);
    expect(validate({ pipeline: [], extra: 1 })).toBe(false);
    expect(validate({})).toBe(false);
  });

  it('describes an empty registry', () => {
    const empty = pipelineJsonSchema(new PassRegistry());
    expect(compile(empty)({ pipeline: [] })).toBe(true);
    expect(compile(empty)({ pipeline: ['x'] })).toBe(false);
  });
});
