import { describe, expect, it } from 'vitest';
import { thrown } from './__fixtures__/errors.js';
import { testPlugin } from './__fixtures__/test-plugin.js';
import { PLUGIN_INVALID } from './codes.js';
import { assertPlugin } from './plugin.js';

describe('assertPlugin', () => {
  it('accepts a well-formed plugin', () => {
    expect(() => assertPlugin(testPlugin)).not.toThrow();
  });

  it.each([
    [null, ''],
    [{ passes: [] }, 'name'],
    [{ name: 'x' }, 'passes'],
    [{ name: 'x', passes: [42] }, 'passes[0]'],
    [{ name: 'x', passes: [{ name: 'Has Space', description: '', create() {} }] }, 'passes[0].name'],
    [{ name: 'x', passes: [{ name: 'ok', create() {} }] }, 'passes[0].description'],
    [{ name: 'x', passes: [{ name: 'ok', description: '' }] }, 'passes[0].create'],
    [{ name: 'x', passes: [{ name: 'ok', description: '', create() {}, options: 'no' }] }, 'passes[0].options'],
    [{ name: 'x', passes: [], presets: { bad: 'fold' } }, 'presets.bad'],
  ])('rejects %j at %s', (value, path) => {
    const error = thrown(() => assertPlugin(value, './plugin.mjs'));
    expect(error.code).toBe(PLUGIN_INVALID);
    expect(error.location?.file).toBe('./plugin.mjs');
    expect(error.location?.path ?? '').toBe(path);
    expect(error.message).toContain("from './plugin.mjs'");
  });
});
