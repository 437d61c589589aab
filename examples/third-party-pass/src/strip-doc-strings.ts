import type { Model } from '@whittle/ir';
import type { PassDefinition } from '@whittle/spec';

export interface StripDocStringsOptions {
  /** Keep the model-level doc string (often a licence or a description worth keeping). */
  keepModelDocString: boolean;
}

/** Removes doc strings from nodes, graphs and values: they ship to devices for nothing. */
export const stripDocStrings: PassDefinition<StripDocStringsOptions, Model> = {
  name: 'acme/strip-doc-strings',
  description: 'Remove doc strings from nodes, graphs and values (and the model, unless kept)',
  options: {
    type: 'object',
    properties: {
      keepModelDocString: { type: 'boolean', default: false, description: 'keep the model-level doc string' },
    },
    additionalProperties: false,
  },
  create(options) {
    return {
      name: 'acme/strip-doc-strings',
      run(model) {
        let removed = 0;
        const clear = (holder: { docString: string }) => {
          if (holder.docString) {
            holder.docString = '';
            removed++;
          }
        };
        if (!options.keepModelDocString) clear(model);
        for (const graph of model.graphs()) {
          clear(graph);
          for (const node of graph.nodes) clear(node);
          for (const value of graph.definedValues()) clear(value);
          for (const value of graph.outputs) clear(value);
        }
        return { model, changed: removed > 0, preserved: 'all', statistics: { docStringsRemoved: removed } };
      },
    };
  },
};
