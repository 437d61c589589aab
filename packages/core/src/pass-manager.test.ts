import type { Analysis, Diagnostic, PassContext, PassResult, PassRunRecord } from '@whittle/spec';
import { WhittleError } from '@whittle/spec';
import { describe, expect, it, vi } from 'vitest';
import { rejected } from './__fixtures__/errors.js';
import { countingAnalysis, testPlugin, type ToyModel } from './__fixtures__/test-plugin.js';
import {
  ANALYSIS_CYCLE,
  PASS_BROKE_MODEL,
  PASS_FAILED,
  PASS_INVALID_RESULT,
  PIPELINE_ABORTED,
  PIPELINE_INPUT_INVALID,
  PLUGIN_INVALID,
} from './codes.js';
import { PassManager } from './pass-manager.js';
import { Pipeline } from './pipeline.js';
import { PassRegistry } from './registry.js';

type Run = (model: ToyModel, context: PassContext<ToyModel>) => PassResult<ToyModel> | Promise<PassResult<ToyModel>>;

/** A manager whose passes are the given functions, plus the test plugin's. */
function managerWith(passes: Record<string, Run>) {
  const registry = new PassRegistry<ToyModel>().register(testPlugin).register({
    name: 'inline',
    passes: Object.entries(passes).map(([name, run]) => ({
      name,
      description: name,
      create: () => ({ name, run }),
    })),
  });
  return new PassManager(registry);
}

const model: ToyModel = { nodes: ['input', 'constant', 'conv'] };
const unchanged: Run = (current) => ({ model: current, changed: false });
const append =
  (node: string, preserved?: PassResult['preserved']): Run =>
  (current) => ({ model: { nodes: [...current.nodes, node] }, changed: true, ...(preserved ? { preserved } : {}) });

describe('PassManager.run', () => {
  it('runs the passes in order and reports what they did', async () => {
    const manager = managerWith({ append: append('extra') });
    const result = await manager.run(model, ['fold-constants', 'fuse-batchnorm', 'append', ['quantize', { bits: 4 }]]);
    expect(result.model.nodes).toEqual(['input:q4', 'conv:q4', 'extra:q4']);
    expect(result.changed).toBe(true);
    expect(result.passes.map((record) => [record.pass, record.changed])).toEqual([
      ['fold-constants', true],
      ['fuse-batchnorm', false],
      ['append', true],
      ['quantize', true],
    ]);
    expect(result.passes[3]!.statistics).toEqual({ nodesQuantized: 3 });
    expect(result.passes[0]!.statistics).toEqual({});
    for (const record of result.passes) expect(record.milliseconds).toBeGreaterThanOrEqual(0);
    const sum = result.passes.reduce((total, record) => total + record.milliseconds, 0);
    expect(result.milliseconds).toBeGreaterThanOrEqual(sum);
    expect(model.nodes).toEqual(['input', 'constant', 'conv']);
  });

  it('measures the time each pass takes', async () => {
    const manager = managerWith({
      slow: async (current) => {
        await new Promise((resolve) => setTimeout(resolve, 30));
        return { model: current, changed: false };
      },
    });
    const result = await manager.run(model, 'slow');
    expect(result.passes[0]!.milliseconds).toBeGreaterThanOrEqual(25);
    expect(result.milliseconds).toBeGreaterThanOrEqual(result.passes[0]!.milliseconds);
  });

  it('reports changed: false when no pass changed the model', async () => {
    const result = await managerWith({}).run(model, 'fuse-batchnorm');
    expect(result.changed).toBe(false);
    expect(result.model).toBe(model);
  });

  it('accepts a Pipeline, text or steps', async () => {
    const manager = managerWith({});
    const pipeline = Pipeline.fromText('standard', manager.registry);
    for (const input of [pipeline, 'standard', ['standard'], { pipeline: ['standard'] }]) {
      const result = await manager.run(model, input);
      expect(result.passes.map((record) => record.pass)).toEqual(['fold-constants', 'fuse-batchnorm']);
    }
  });

  it('creates passes from validated options with defaults', async () => {
    const create = vi.fn((_options: object) => ({ name: 'configured', run: unchanged }));
    const registry = new PassRegistry<ToyModel>().register({
      name: 'p',
      passes: [
        {
          name: 'configured',
          description: '',
          options: { type: 'object', properties: { level: { type: 'integer', default: 2 } } },
          create,
        },
      ],
    });
    await new PassManager(registry).run(model, 'configured{level="3"}');
    await new PassManager(registry).run(model, ['configured']);
    expect(create.mock.calls.map(([options]) => options)).toEqual([{ level: 3 }, { level: 2 }]);
  });

  it('tags diagnostics with the pass that reported them', async () => {
    const manager = managerWith({
      noisy: (current, context) => {
        context.report({ code: 'TEST_NOTE', message: 'first', location: { node: 'conv' } });
        context.report({ code: 'TEST_INFO', message: 'second', severity: 'info' });
        return { model: current, changed: false };
      },
    });
    const result = await manager.run(model, ['fuse-batchnorm', 'noisy']);
    expect(result.diagnostics).toEqual<Diagnostic[]>([
      { code: 'TEST_NOTE', severity: 'warning', message: 'first', pass: 'noisy', location: { node: 'conv' } },
      { code: 'TEST_INFO', severity: 'info', message: 'second', pass: 'noisy' },
    ]);
  });
});

describe('analyses', () => {
  /** A pass that asks for the analysis twice, then does what `then` does. */
  const asking =
    (analysis: Analysis<number, ToyModel>, then: Run, seen: number[]): Run =>
    (current, context) => {
      seen.push(context.analysis(analysis, current));
      context.analysis(analysis, current);
      return then(current, context);
    };

  it('are computed once and kept while the model does not change', async () => {
    const analysis = countingAnalysis();
    const seen: number[] = [];
    const manager = managerWith({
      first: asking(analysis, unchanged, seen),
      second: asking(analysis, unchanged, seen),
    });
    await manager.run(model, ['first', 'second', 'first']);
    expect(analysis.computed).toBe(1);
    expect(seen).toEqual([3, 3, 3]);
  });

  it('are dropped after a pass that changed the model', async () => {
    const analysis = countingAnalysis();
    const seen: number[] = [];
    const manager = managerWith({ ask: asking(analysis, unchanged, seen), grow: append('x') });
    await manager.run(model, ['ask', 'grow', 'ask', 'ask']);
    expect(analysis.computed).toBe(2);
    expect(seen).toEqual([3, 4, 4]);
  });

  it('are kept when the changing pass preserves them by key or with all', async () => {
    const counts = countingAnalysis('node-count');
    const other = countingAnalysis('other');
    const seen: number[] = [];
    const askBoth: Run = (current, context) => {
      seen.push(context.analysis(counts, current), context.analysis(other, current));
      return { model: current, changed: false };
    };
    const manager = managerWith({
      askBoth,
      keepCounts: append('x', ['node-count']),
      keepAll: append('y', 'all'),
      keepNone: append('z', 'none'),
    });
    await manager.run(model, ['askBoth', 'keepCounts', 'askBoth']);
    expect([counts.computed, other.computed]).toEqual([1, 2]);
    // A preserved analysis is the pass's promise: the stale count (3) is what the cache hands out.
    expect(seen).toEqual([3, 3, 3, 4]);

    await manager.run(model, ['askBoth', 'keepAll', 'askBoth', 'keepNone', 'askBoth']);
    expect([counts.computed, other.computed]).toEqual([3, 4]);
  });

  it('are computed afresh for another model', async () => {
    const analysis = countingAnalysis();
    const manager = managerWith({
      scratch: (current, context) => {
        context.analysis(analysis, current);
        expect(context.analysis(analysis, { nodes: [] })).toBe(0);
        expect(context.analysis(analysis, current)).toBe(3);
        return { model: current, changed: false };
      },
    });
    await manager.run(model, 'scratch');
    expect(analysis.computed).toBe(3);
  });

  it('start empty in every run', async () => {
    const analysis = countingAnalysis();
    const manager = managerWith({ ask: asking(analysis, unchanged, []) });
    await manager.run(model, 'ask');
    await manager.run(model, 'ask');
    expect(analysis.computed).toBe(2);
  });

  it('may use other analyses, but not themselves', async () => {
    const looping: Analysis<number, ToyModel> = {
      key: 'looping',
      compute: (current, context) => context.analysis(looping, current),
    };
    const manager = managerWith({
      loop: (current, context) => ({ model: current, changed: context.analysis(looping, current) > 0 }),
    });
    expect((await rejected(manager.run(model, 'loop'))).code).toBe(ANALYSIS_CYCLE);
  });
});

describe('debug mode', () => {
  const verifier = (current: ToyModel): Diagnostic[] =>
    current.nodes.includes('broken')
      ? [
          { code: 'TEST_WARNING', severity: 'warning', message: 'just a warning' },
          {
            code: 'IR_DANGLING',
            severity: 'error',
            message: "node 'broken' has no producer",
            location: { node: 'broken' },
          },
          { code: 'IR_OTHER', severity: 'error', message: 'second problem' },
        ]
      : [];

  it('catches the pass that broke the model', async () => {
    const verify = vi.fn(verifier);
    const manager = managerWith({ breaks: append('broken') });
    const error = await rejected(
      manager.run(model, ['fold-constants', 'breaks', 'fuse-batchnorm'], { debug: true, verify }),
    );
    expect(error.code).toBe(PASS_BROKE_MODEL);
    expect(error.message).toBe("Pass 'breaks' broke the model: node 'broken' has no producer (IR_DANGLING)");
    expect(error.location).toEqual({ node: 'broken', path: 'pipeline[1]' });
    // Once for the input, once after each pass that ran.
    expect(verify).toHaveBeenCalledTimes(3);
  });

  it('does not verify outside debug mode', async () => {
    const verify = vi.fn(verifier);
    const manager = managerWith({ breaks: append('broken') });
    await manager.run(model, 'breaks', { verify });
    expect(verify).not.toHaveBeenCalled();
  });

  it('tells passes it is on', async () => {
    const seen: boolean[] = [];
    const manager = managerWith({
      look: (current, context) => {
        seen.push(context.debug);
        return unchanged(current, context);
      },
    });
    await manager.run(model, 'look', { debug: true });
    await manager.run(model, 'look');
    expect(seen).toEqual([true, false]);
  });

  it('blames a broken input on the input, not on the first pass', async () => {
    const error = await rejected(
      managerWith({}).run({ nodes: ['broken'] }, 'fuse-batchnorm', { debug: true, verify: verifier }),
    );
    expect(error.code).toBe(PIPELINE_INPUT_INVALID);
  });
});

describe('failures', () => {
  it('wraps an error thrown by a pass, keeping it as the cause', async () => {
    const cause = new TypeError('boom');
    const manager = managerWith({
      explodes: () => {
        throw cause;
      },
    });
    const error = await rejected(manager.run(model, ['fuse-batchnorm', 'explodes']));
    expect(error.code).toBe(PASS_FAILED);
    expect(error.message).toBe("Pass 'explodes' failed: boom");
    expect(error.cause).toBe(cause);
    expect(error.location).toEqual({ path: 'pipeline[1]' });
  });

  it('lets a WhittleError from a pass through as it is', async () => {
    const original = new WhittleError('TEST_OWN_CODE', 'mine');
    const manager = managerWith({
      fails: async () => {
        throw original;
      },
    });
    expect(await rejected(manager.run(model, 'fails'))).toBe(original);
  });

  it('fails before running anything when a pass cannot be created', async () => {
    const ran = vi.fn(unchanged);
    const registry = new PassRegistry<ToyModel>().register({
      name: 'p',
      passes: [
        { name: 'runs', description: '', create: () => ({ name: 'runs', run: ran }) },
        {
          name: 'cannot',
          description: '',
          create: () => {
            throw new Error('no GPU');
          },
        },
        { name: 'hollow', description: '', create: () => ({}) as never },
      ],
    });
    const error = await rejected(new PassManager(registry).run(model, ['runs', 'cannot']));
    expect(error.code).toBe(PASS_FAILED);
    expect(error.message).toBe("Pass 'cannot' could not be created: no GPU");
    expect(ran).not.toHaveBeenCalled();
    expect((await rejected(new PassManager(registry).run(model, ['hollow']))).code).toBe(PLUGIN_INVALID);
  });

  it.each([
    ['undefined', undefined, 'expected an object'],
    ['no changed flag', { model }, 'changed must be a boolean'],
    ['no model', { changed: true }, 'model is missing'],
    ['a bad preserved', { model, changed: true, preserved: 'some' }, 'preserved must be'],
    ['bad statistics', { model, changed: true, statistics: { removed: 'three' } }, 'statistics must map'],
  ])('rejects a result with %s', async (_, result, problem) => {
    const manager = managerWith({ bad: () => result as never });
    const error = await rejected(manager.run(model, 'bad'));
    expect(error.code).toBe(PASS_INVALID_RESULT);
    expect(error.message).toContain("Pass 'bad' returned an invalid result");
    expect(error.message).toContain(problem);
  });
});

describe('instrumentation and abort', () => {
  it('calls the hooks around every pass, in order', async () => {
    const events: string[] = [];
    const records: PassRunRecord[] = [];
    const manager = managerWith({ grow: append('x') });
    await manager.run(model, ['fuse-batchnorm', 'grow'], {
      instrumentation: [
        {
          beforePass: (name, current) => {
            events.push(`before ${name} ${current.nodes.length}`);
          },
          afterPass: async (record, current) => {
            records.push(record);
            events.push(`after ${record.pass} ${current.nodes.length}`);
          },
        },
        { afterPass: (record) => void events.push(`second hook ${record.pass}`) },
      ],
    });
    expect(events).toEqual([
      'before fuse-batchnorm 3',
      'after fuse-batchnorm 3',
      'second hook fuse-batchnorm',
      'before grow 3',
      'after grow 4',
      'second hook grow',
    ]);
    expect(records[1]).toMatchObject({ pass: 'grow', changed: true, statistics: {} });
  });

  it('stops between passes when the signal is aborted', async () => {
    const controller = new AbortController();
    const second = vi.fn(unchanged);
    const manager = managerWith({
      first: (current, context) => {
        expect(context.signal).toBe(controller.signal);
        controller.abort(new Error('user pressed ctrl-c'));
        return { model: current, changed: false };
      },
      second,
    });
    const error = await rejected(manager.run(model, ['first', 'second'], { signal: controller.signal }));
    expect(error.code).toBe(PIPELINE_ABORTED);
    expect(error.message).toBe("Pipeline aborted before pass 'second' (step 2 of 2).");
    expect((error.cause as Error).message).toBe('user pressed ctrl-c');
    expect(second).not.toHaveBeenCalled();
  });

  it('reports an abort that made a pass throw as an abort', async () => {
    const controller = new AbortController();
    const manager = managerWith({
      listens: (_, context) => {
        controller.abort();
        context.signal?.throwIfAborted();
        throw new Error('unreachable');
      },
    });
    const error = await rejected(manager.run(model, 'listens', { signal: controller.signal }));
    expect(error.code).toBe(PIPELINE_ABORTED);
  });
});
