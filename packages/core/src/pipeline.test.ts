import { describe, expect, it } from 'vitest';
import { thrown } from './__fixtures__/errors.js';
import { acmePlugin, testPlugin, type ToyModel } from './__fixtures__/test-plugin.js';
import {
  PIPELINE_INVALID_DOCUMENT,
  PIPELINE_INVALID_OPTIONS,
  PIPELINE_INVALID_STEP,
  PIPELINE_PRESET_CYCLE,
  PIPELINE_UNKNOWN_PASS,
} from './codes.js';
import { Pipeline } from './pipeline.js';
import { PassRegistry } from './registry.js';

const registry = new PassRegistry<ToyModel>().register(testPlugin).register(acmePlugin);
const quantizeDefaults = { mode: 'static', perChannel: true, bits: 8, exclude: [] };

describe('Pipeline', () => {
  it('resolves the three step forms written in code', () => {
    const pipeline = Pipeline.fromSteps(
      ['fold-constants', ['quantize', { bits: 4 }], { pass: 'acme/fuse-gelu', options: { approximate: true } }],
      registry,
    );
    expect(pipeline.steps).toEqual([
      { pass: 'fold-constants', options: {} },
      { pass: 'quantize', options: { ...quantizeDefaults, bits: 4 } },
      { pass: 'acme/fuse-gelu', options: { approximate: true } },
    ]);
    expect(pipeline.length).toBe(3);
    expect([...pipeline].map((step) => step.pass)).toEqual(['fold-constants', 'quantize', 'acme/fuse-gelu']);
  });

  it('is frozen all the way down', () => {
    const pipeline = Pipeline.fromSteps([['quantize', { exclude: ['a'] }]], registry);
    expect(Object.isFrozen(pipeline)).toBe(true);
    expect(Object.isFrozen(pipeline.steps)).toBe(true);
    expect(Object.isFrozen(pipeline.steps[0]!.options.exclude)).toBe(true);
    expect(() => (pipeline.steps as unknown[]).push('x')).toThrow();
  });

  it('expands presets in place, recursively', () => {
    const pipeline = Pipeline.fromSteps(['fuse-batchnorm', 'everything'], registry);
    expect(pipeline.steps.map((step) => step.pass)).toEqual([
      'fuse-batchnorm',
      'fold-constants',
      'fuse-batchnorm',
      'quantize',
    ]);
    expect(pipeline.steps[3]!.options.bits).toBe(4);
  });

  it('gives presets no options', () => {
    const error = thrown(() => Pipeline.fromSteps([['standard', { x: 1 }]], registry));
    expect(error.code).toBe(PIPELINE_INVALID_OPTIONS);
    expect(error.location?.path).toBe('pipeline[0].options');
  });

  it('detects presets that include themselves', () => {
    const looping = new PassRegistry<ToyModel>()
      .register(testPlugin)
      .register({ name: 'loop', passes: [], presets: { ping: ['pong'], pong: ['fold-constants', 'ping'] } });
    const error = thrown(() => Pipeline.fromSteps(['ping'], looping));
    expect(error.code).toBe(PIPELINE_PRESET_CYCLE);
    expect(error.message).toContain('ping -> pong -> ping');
  });

  it('reports errors at the step and option they concern', () => {
    const unknown = thrown(() => Pipeline.fromSteps(['fold-constants', 'quantise'], registry));
    expect(unknown.code).toBe(PIPELINE_UNKNOWN_PASS);
    expect(unknown.location?.path).toBe('pipeline[1]');
    expect(unknown.message).toContain("Did you mean 'quantize'?");

    const option = thrown(() => Pipeline.fromSteps(['fold-constants', ['quantize', { perChannel: 'no' }]], registry));
    expect(option.code).toBe(PIPELINE_INVALID_OPTIONS);
    expect(option.location?.path).toBe('pipeline[1].options.perChannel');

    const inPreset = thrown(() =>
      Pipeline.fromSteps(
        ['bad'],
        new PassRegistry().register({ name: 'p', passes: [], presets: { bad: [42 as never] } }),
      ),
    );
    expect(inPreset.code).toBe(PIPELINE_INVALID_STEP);
    expect(inPreset.location?.path).toBe('presets.bad[0]');
  });

  it.each([
    [[42], 'pipeline[0]'],
    [[[]], 'pipeline[0]'],
    [[[1]], 'pipeline[0][0]'],
    [[['quantize', 'x']], 'pipeline[0][1]'],
    [[{ pass: 'quantize', option: {} }], 'pipeline[0].option'],
    [[{ options: {} }], 'pipeline[0].pass'],
    [[''], 'pipeline[0]'],
  ])('rejects malformed step %j', (steps, path) => {
    const error = thrown(() => Pipeline.fromSteps(steps as never, registry));
    expect(error.code).toBe(PIPELINE_INVALID_STEP);
    expect(error.location?.path).toBe(path);
  });

  it('builds from text, converting types and reading kebab-case names', () => {
    const pipeline = Pipeline.fromText('fold-constants,quantize{per-channel=false,bits="4",exclude=conv}', registry);
    expect(pipeline.steps[1]).toEqual({
      pass: 'quantize',
      options: { ...quantizeDefaults, perChannel: false, bits: 4, exclude: ['conv'] },
    });
  });

  it('prints text that parses back to the same pipeline', () => {
    const pipeline = Pipeline.fromSteps(
      ['standard', ['quantize', { exclude: ['a,b', 'true'] }], 'acme/fuse-gelu'],
      registry,
    );
    const text = pipeline.toText();
    expect(text).toBe(
      'fold-constants,fuse-batchnorm,quantize{mode=static,per-channel=true,bits=8,exclude=["a,b","true"]},acme/fuse-gelu{approximate=false}',
    );
    expect(String(pipeline)).toBe(text);
    expect(Pipeline.fromText(text, registry)).toEqual(pipeline);
  });

  it('writes a document that reads back to the same pipeline', () => {
    const pipeline = Pipeline.fromSteps(['fold-constants', ['quantize', { bits: 4 }]], registry);
    const document = JSON.parse(JSON.stringify(pipeline));
    expect(document).toEqual({
      pipeline: ['fold-constants', { pass: 'quantize', options: { ...quantizeDefaults, bits: 4 } }],
    });
    expect(Pipeline.fromDocument(document, registry)).toEqual(pipeline);
  });

  it('builds from any input with from()', () => {
    const pipeline = Pipeline.fromSteps(['standard'], registry);
    expect(Pipeline.from('standard', registry)).toEqual(pipeline);
    expect(Pipeline.from(['standard'], registry)).toEqual(pipeline);
    expect(Pipeline.from({ $schema: 'x', pipeline: ['standard'] }, registry)).toEqual(pipeline);
    expect(Pipeline.from(pipeline, registry)).toEqual(pipeline);
    expect(() => Pipeline.from(pipeline, new PassRegistry())).toThrow(/Unknown pass/);
  });

  it.each([
    [[], ''],
    [{ steps: [] }, 'steps'],
    [{ pipeline: 'a,b' }, 'pipeline'],
    [{ pipeline: [], plugins: 'x' }, 'plugins'],
    [{ pipeline: [], plugins: [''] }, 'plugins[0]'],
    [{ pipeline: [], $schema: 1 }, '$schema'],
  ])('rejects document %j', (document, path) => {
    const error = thrown(() => Pipeline.fromDocument(document, registry));
    expect(error.code).toBe(PIPELINE_INVALID_DOCUMENT);
    expect(error.location?.path ?? '').toBe(path);
  });
});
