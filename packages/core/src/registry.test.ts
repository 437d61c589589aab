import { describe, expect, it } from 'vitest';
import { thrown } from './__fixtures__/errors.js';
import { acmePlugin, testPlugin, type ToyModel } from './__fixtures__/test-plugin.js';
import { PIPELINE_UNKNOWN_PASS, PLUGIN_DUPLICATE_PASS } from './codes.js';
import { PassRegistry } from './registry.js';

describe('PassRegistry', () => {
  it('starts empty: nothing registers itself', () => {
    const registry = new PassRegistry();
    expect(registry.passes()).toEqual([]);
    expect(registry.presets()).toEqual([]);
    expect(thrown(() => registry.getPass('quantize')).hint).toMatch(/Register a plugin/);
  });

  it('holds the passes and presets of registered plugins', () => {
    const registry = new PassRegistry<ToyModel>().register(testPlugin).register(acmePlugin);
    expect(registry.passes().map((definition) => definition.name)).toEqual([
      'acme/fuse-gelu',
      'fold-constants',
      'fuse-batchnorm',
      'prune',
      'quantize',
    ]);
    expect(registry.presets().map((preset) => preset.name)).toEqual(['everything', 'standard']);
    expect(registry.getPass('quantize').name).toBe('quantize');
    expect(registry.getPreset('standard')).toEqual(['fold-constants', 'fuse-batchnorm']);
    expect(registry.resolve('standard').kind).toBe('preset');
    expect(registry.has('acme/fuse-gelu')).toBe(true);
    expect(registry.plugins()).toEqual([testPlugin, acmePlugin]);
  });

  it('lists close names for an unknown pass', () => {
    const registry = new PassRegistry<ToyModel>().register(testPlugin).register(acmePlugin);
    const error = thrown(() => registry.resolve('fold-constant', { path: 'pipeline[0]' }));
    expect(error.code).toBe(PIPELINE_UNKNOWN_PASS);
    expect(error.message).toBe("Unknown pass or preset 'fold-constant'. Did you mean 'fold-constants'?");
    expect(error.location).toEqual({ path: 'pipeline[0]' });
    expect(error.hint).toContain('quantize');
    expect(thrown(() => registry.getPass('fuse-gelu')).message).toContain("'acme/fuse-gelu'");
  });

  it('tells a preset is not a pass', () => {
    const registry = new PassRegistry<ToyModel>().register(testPlugin);
    expect(thrown(() => registry.getPass('standard')).message).toBe("'standard' is a preset, not a pass.");
  });

  it('rejects duplicate names and registers nothing of the offending plugin', () => {
    const registry = new PassRegistry<ToyModel>().register(testPlugin);
    const clash = { name: 'clash', passes: [acmePlugin.passes[0]!, testPlugin.passes[0]!] };
    const error = thrown(() => registry.register(clash));
    expect(error.code).toBe(PLUGIN_DUPLICATE_PASS);
    expect(error.message).toContain("pass 'fold-constants', already registered as a pass by plugin 'test'");
    expect(registry.has('acme/fuse-gelu')).toBe(false);
  });

  it('rejects a preset named like a pass', () => {
    const registry = new PassRegistry<ToyModel>().register(testPlugin);
    const error = thrown(() => registry.register({ name: 'other', passes: [], presets: { quantize: [] } }));
    expect(error.code).toBe(PLUGIN_DUPLICATE_PASS);
  });

  it('rejects duplicates inside one plugin', () => {
    const pass = testPlugin.passes[0]!;
    const error = thrown(() => new PassRegistry().register({ name: 'twice', passes: [pass, pass] }));
    expect(error.code).toBe(PLUGIN_DUPLICATE_PASS);
    expect(error.message).toContain('the same plugin');
  });

  it('ignores the same plugin object registered twice', () => {
    const registry = new PassRegistry<ToyModel>().register(testPlugin).register(testPlugin);
    expect(registry.plugins()).toHaveLength(1);
  });
});
