import type { Model } from './model.js';

/**
 * Hands out value and node names not yet used anywhere in a model (subgraphs included), so passes that create
 * values never collide with existing ones. Create one per pass run: it reads the model's names once.
 */
export class NameGenerator {
  private readonly taken = new Set<string>();
  private readonly counters = new Map<string, number>();

  constructor(model: Model) {
    for (const graph of model.graphs()) {
      for (const value of graph.definedValues()) this.taken.add(value.name);
      for (const value of graph.outputs) this.taken.add(value.name);
      for (const node of graph.nodes) if (node.name) this.taken.add(node.name);
    }
  }

  /** `base` itself when free, else `base_1`, `base_2`, ... */
  fresh(base: string): string {
    let name = base;
    let counter = this.counters.get(base) ?? 0;
    while (this.taken.has(name)) {
      counter++;
      name = `${base}_${counter}`;
    }
    this.counters.set(base, counter);
    this.taken.add(name);
    return name;
  }
}
