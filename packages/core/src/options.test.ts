import { describe, expect, it } from 'vitest';
import { thrown } from './__fixtures__/errors.js';
import { prune, quantize } from './__fixtures__/test-plugin.js';
import { PIPELINE_INVALID_OPTIONS, PLUGIN_INVALID } from './codes.js';
import { optionNameToCamelCase, optionNameToKebabCase } from './option-names.js';
import { closedOptionsSchema, validateOptions } from './options.js';

const defaults = { mode: 'static', perChannel: true, bits: 8, exclude: [] };

describe('validateOptions', () => {
  it('fills in defaults', () => {
    expect(validateOptions(quantize, undefined)).toEqual(defaults);
    expect(validateOptions(quantize, { bits: 4 })).toEqual({ ...defaults, bits: 4 });
  });

  it('orders options as the schema declares them', () => {
    const options = validateOptions(quantize, { exclude: [], bits: 4, mode: 'dynamic' });
    expect(Object.keys(options)).toEqual(['mode', 'perChannel', 'bits', 'exclude']);
  });

  it('does not touch the options it is given', () => {
    const given = { bits: 4, exclude: ['a'] };
    validateOptions(quantize, given);
    expect(given).toEqual({ bits: 4, exclude: ['a'] });
  });

  it('converts types only for text input', () => {
    const text = { bits: '4', perChannel: 'false', exclude: 'conv_1' };
    expect(validateOptions(quantize, text, { coerceTypes: true })).toEqual({
      ...defaults,
      bits: 4,
      perChannel: false,
      exclude: ['conv_1'],
    });
    const error = thrown(() => validateOptions(quantize, text, { path: 'pipeline[1].options' }));
    expect(error.code).toBe(PIPELINE_INVALID_OPTIONS);
    expect(error.location?.path).toMatch(/^pipeline\[1\]\.options\./);
  });

  it('accepts kebab-case names when asked to', () => {
    expect(validateOptions(quantize, { 'per-channel': false }, { acceptKebabCase: true }).perChannel).toBe(false);
    const twice = thrown(() =>
      validateOptions(quantize, { 'per-channel': false, perChannel: true }, { acceptKebabCase: true }),
    );
    expect(twice.message).toContain("got option 'perChannel' twice");
    expect(thrown(() => validateOptions(quantize, { 'per-channel': false })).message).toContain(
      "has no option 'per-channel'",
    );
  });

  it('rejects unknown names with a suggestion', () => {
    const error = thrown(() => validateOptions(quantize, { perChanel: true }, { path: 'pipeline[1].options' }));
    expect(error.code).toBe(PIPELINE_INVALID_OPTIONS);
    expect(error.message).toBe("Pass 'quantize' has no option 'perChanel'. Did you mean 'perChannel'?");
    expect(error.location).toEqual({ path: 'pipeline[1].options.perChanel' });
    expect(error.hint).toBe("Options of 'quantize': mode, perChannel, bits, exclude.");
  });

  it('names the option, the problem and the value', () => {
    const wrongType = thrown(() => validateOptions(quantize, { perChannel: 'yes' }, { path: 'pipeline[1].options' }));
    expect(wrongType.message).toBe(`Pass 'quantize': option 'perChannel' must be boolean, got "yes".`);
    expect(wrongType.location?.path).toBe('pipeline[1].options.perChannel');

    const notAllowed = thrown(() => validateOptions(quantize, { mode: 'weird' }));
    expect(notAllowed.message).toBe(`Pass 'quantize': option 'mode' must be one of "static", "dynamic", got "weird".`);

    const tooLarge = thrown(() => validateOptions(quantize, { bits: 16 }));
    expect(tooLarge.message).toBe(`Pass 'quantize': option 'bits' must be <= 8, got 16.`);

    const nested = thrown(() => validateOptions(quantize, { exclude: ['a', 3] }));
    expect(nested.location?.path).toBe('options.exclude[1]');
    expect(nested.message).toContain("option 'exclude[1]' must be string, got 3");
  });

  it('reports a missing required option', () => {
    const error = thrown(() => validateOptions(prune, {}, { path: 'pipeline[0].options' }));
    expect(error.message).toBe("Pass 'prune' needs option 'sparsity'.");
    expect(error.location?.path).toBe('pipeline[0].options.sparsity');
  });

  it('rejects options that are not an object', () => {
    expect(thrown(() => validateOptions(quantize, [1])).message).toContain('takes options as an object, got [1]');
  });

  it('gives passes without a schema no options', () => {
    const bare = { name: 'bare', description: '' };
    expect(validateOptions(bare, undefined)).toEqual({});
    expect(validateOptions(bare, {})).toEqual({});
    expect(thrown(() => validateOptions(bare, { x: 1 })).message).toBe("Pass 'bare' takes no options, got 'x'.");
  });

  it('blames the plugin for an invalid schema', () => {
    const broken = {
      name: 'broken',
      description: '',
      options: { type: 'object', properties: { a: { type: 'strin' } } },
    };
    expect(thrown(() => validateOptions(broken, {})).code).toBe(PLUGIN_INVALID);
  });

  it('leaves schemas that decide about extra properties alone', () => {
    const open = {
      name: 'open',
      description: '',
      options: { type: 'object', properties: {}, additionalProperties: true },
    };
    expect(validateOptions(open, { anything: 1 })).toEqual({ anything: 1 });
    expect(closedOptionsSchema({ type: 'object', properties: {} })).toHaveProperty('additionalProperties', false);
    expect(closedOptionsSchema({ allOf: [] })).not.toHaveProperty('additionalProperties');
  });
});

describe('option names', () => {
  it('convert between kebab-case and camelCase', () => {
    expect(optionNameToCamelCase('per-channel')).toBe('perChannel');
    expect(optionNameToCamelCase('perChannel')).toBe('perChannel');
    expect(optionNameToCamelCase('layer-2-norm')).toBe('layer2Norm');
    expect(optionNameToKebabCase('perChannel')).toBe('per-channel');
    expect(optionNameToKebabCase('maxIOSize')).toBe('max-i-o-size');
    expect(optionNameToCamelCase(optionNameToKebabCase('maxIOSize'))).toBe('maxIOSize');
  });
});
