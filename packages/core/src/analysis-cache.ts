import type { Analysis, PassContext, Preserved } from '@whittle/spec';
import { WhittleError } from '@whittle/spec';
import { ANALYSIS_CYCLE } from './codes.js';

interface Entry<TModel> {
  model: TModel;
  value: unknown;
}

/**
 * Analyses computed during one pipeline run, keyed by analysis key. An entry belongs to the model object it was
 * computed for: asking about another model computes afresh.
 */
export class AnalysisCache<TModel = unknown> {
  readonly #entries = new Map<string, Entry<TModel>>();
  readonly #computing = new Set<string>();

  get<T>(analysis: Analysis<T, TModel>, model: TModel, context: PassContext<TModel>): T {
    const entry = this.#entries.get(analysis.key);
    if (entry && entry.model === model) return entry.value as T;
    if (this.#computing.has(analysis.key)) {
      throw new WhittleError(ANALYSIS_CYCLE, `Analysis '${analysis.key}' depends on itself.`, {
        hint: `Analyses being computed: ${[...this.#computing].join(' -> ')}.`,
      });
    }
    this.#computing.add(analysis.key);
    try {
      const value = analysis.compute(model, context);
      this.#entries.set(analysis.key, { model, value });
      return value;
    } finally {
      this.#computing.delete(analysis.key);
    }
  }

  /** True when a result for `key` is cached. */
  has(key: string): boolean {
    return this.#entries.has(key);
  }

  /** Keys with a cached result, in insertion order. */
  keys(): string[] {
    return [...this.#entries.keys()];
  }

  /**
   * Applies a pass result: after a change, every analysis not `preserved` is dropped; the ones kept now describe
   * the model the pass returned. Results about other models (scratch copies a pass looked at) are dropped too.
   */
  update(before: TModel, after: TModel, changed: boolean, preserved: Preserved | undefined): void {
    const kept =
      !changed || preserved === 'all' ? 'all' : preserved === 'none' || preserved === undefined ? [] : preserved;
    for (const [key, entry] of this.#entries) {
      const current = entry.model === before || entry.model === after;
      if (current && (kept === 'all' || kept.includes(key))) entry.model = after;
      else this.#entries.delete(key);
    }
  }
}
