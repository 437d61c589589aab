import type { Model } from '@whittle/ir';

/** `Conv`, or `com.microsoft::QLinearAdd` for other domains. */
export function operatorName(domain: string, opType: string): string {
  return domain && domain !== 'ai.onnx' ? `${domain}::${opType}` : opType;
}

/** Nodes of the model, subgraphs included. */
export function nodeCount(model: Model): number {
  let count = 0;
  for (const _ of model.graph.allNodes()) count++;
  return count;
}

/** Nodes by operator (subgraphs included), most frequent first. */
export function operatorCounts(model: Model): Record<string, number> {
  const counts = new Map<string, number>();
  for (const node of model.graph.allNodes()) {
    const name = operatorName(node.domain, node.opType);
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return Object.fromEntries([...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])));
}
