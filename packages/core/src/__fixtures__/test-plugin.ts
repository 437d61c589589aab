import type { Analysis, PassDefinition, Plugin } from '@whittle/spec';

/** A toy model for tests: a list of node names. Passes return new objects, as immutable IR users would. */
export interface ToyModel {
  readonly nodes: readonly string[];
}

/** Counts nodes; `computed` tells how often the pass manager really computed it. */
export function countingAnalysis(key = 'node-count'): Analysis<number, ToyModel> & { computed: number } {
  const analysis = {
    key,
    computed: 0,
    compute(model: ToyModel) {
      analysis.computed++;
      return model.nodes.length;
    },
  };
  return analysis;
}

const noOptions = (name: string, run: (model: ToyModel) => ToyModel): PassDefinition<object, ToyModel> => ({
  name,
  description: `Test pass ${name}.`,
  create: () => ({
    name,
    run(model) {
      const next = run(model);
      return { model: next, changed: next !== model };
    },
  }),
});

export interface QuantizeOptions {
  mode: 'static' | 'dynamic';
  perChannel: boolean;
  bits: number;
  exclude: string[];
}

export const quantize: PassDefinition<QuantizeOptions, ToyModel> = {
  name: 'quantize',
  description: 'Pretends to quantize.',
  options: {
    type: 'object',
    properties: {
      mode: { enum: ['static', 'dynamic'], default: 'static', description: 'Calibrated or at run time.' },
      perChannel: { type: 'boolean', default: true },
      bits: { type: 'integer', minimum: 2, maximum: 8, default: 8 },
      exclude: { type: 'array', items: { type: 'string' }, default: [] },
    },
  },
  create: (options) => ({
    name: 'quantize',
    run: (model) => ({
      model: { nodes: model.nodes.map((node) => `${node}:q${options.bits}`) },
      changed: true,
      statistics: { nodesQuantized: model.nodes.length },
    }),
  }),
};

export const prune: PassDefinition<{ sparsity: number }, ToyModel> = {
  name: 'prune',
  description: 'Needs an option.',
  options: {
    type: 'object',
    properties: { sparsity: { type: 'number', minimum: 0, maximum: 1 } },
    required: ['sparsity'],
  },
  create: () => ({ name: 'prune', run: (model) => ({ model, changed: false }) }),
};

export const fuseGelu: PassDefinition<{ approximate?: boolean }, ToyModel> = {
  name: 'acme/fuse-gelu',
  description: 'A third-party pass.',
  options: { type: 'object', properties: { approximate: { type: 'boolean', default: false } } },
  create: () => ({ name: 'acme/fuse-gelu', run: (model) => ({ model, changed: false }) }),
};

export const testPlugin: Plugin<ToyModel> = {
  name: 'test',
  passes: [
    noOptions('fold-constants', (model) =>
      model.nodes.includes('constant') ? { nodes: model.nodes.filter((node) => node !== 'constant') } : model,
    ),
    noOptions('fuse-batchnorm', (model) => model),
    quantize,
    prune,
  ],
  presets: {
    standard: ['fold-constants', 'fuse-batchnorm'],
    everything: ['standard', ['quantize', { bits: 4 }]],
  },
};

export const acmePlugin: Plugin<ToyModel> = { name: 'acme', passes: [fuseGelu] };
