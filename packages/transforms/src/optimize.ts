import { validateOptions } from '@whittle/core';
import type { Model } from '@whittle/ir';
import type { PassContext, PassDefinition } from '@whittle/spec';

export interface OptimizeOptions {
  /** Rounds of the whole sequence at most; it stops earlier once a round changes nothing. */
  maxRounds: number;
}

/**
 * A pass that runs a fixed sequence of passes with their default options, round after round, until a round
 * changes nothing (a fixpoint): one fusion often opens the way for a fold, and the other way round. Statistics
 * come back per pass (`fold-constants.nodesFolded`), plus `<pass>.changedRounds` and `rounds`.
 */
// biome-ignore lint/suspicious/noExplicitAny: the sequence holds passes with options of their own types
export function fixpointPass(name: string, description: string, sequence: readonly PassDefinition<any, Model>[]) {
  const definition: PassDefinition<OptimizeOptions, Model> = {
    name,
    description: `${description} (${sequence.map((pass) => pass.name).join(', ')}), repeated until nothing changes`,
    options: {
      type: 'object',
      properties: {
        maxRounds: { type: 'integer', minimum: 1, maximum: 100, default: 8, description: 'rounds at most' },
      },
      additionalProperties: false,
    },
    create(options) {
      return {
        name,
        async run(model: Model, context: PassContext<Model>) {
          const statistics: Record<string, number> = {};
          const add = (key: string, value: number) => {
            statistics[key] = (statistics[key] ?? 0) + value;
          };
          let current = model;
          let changed = false;
          let rounds = 0;
          for (let round = 0; round < options.maxRounds; round++) {
            rounds++;
            let roundChanged = false;
            for (const passDefinition of sequence) {
              // Each pass runs with its defaults, validated as any pipeline step is.
              const pass = passDefinition.create(validateOptions(passDefinition, {}));
              const result = await pass.run(current, context);
              current = result.model;
              if (!result.changed) continue;
              roundChanged = true;
              add(`${pass.name}.changedRounds`, 1);
              // Rounds where a pass changed nothing are left out: its counters are zero there, and gauges (such as
              // infer-shapes' valuesFullyStatic) would otherwise be counted once per round.
              for (const [key, value] of Object.entries(result.statistics ?? {})) add(`${pass.name}.${key}`, value);
            }
            changed ||= roundChanged;
            if (!roundChanged) break;
          }
          statistics.rounds = rounds;
          return { model: current, changed, statistics };
        },
      };
    },
  };
  return definition;
}
