import type { Node, Value } from '@whittle/ir';

/**
 * Make every reader of `node`'s output `index` read `replacement` instead, then remove the node. A graph output
 * keeps its name (users and runtimes address outputs by name): the replacement takes the name over when it is a
 * plain node output of the same graph; otherwise the node stays. Returns true when the node was removed.
 */
export function bypassNode(node: Node, replacement: Value, index = 0): boolean {
  const graph = node.graph;
  const output = node.output(index);
  if (!graph || !output) return false;
  const otherOutputsUsed = node.outputs.some((value, position) => position !== index && value?.isUsed);
  if (otherOutputsUsed) return false;
  if (graph.outputs.includes(output)) {
    const renamable =
      replacement.producer !== undefined &&
      replacement.graph === graph &&
      !graph.outputs.includes(replacement) &&
      replacement.producer !== node;
    if (!renamable) return false;
    replacement.name = output.name;
    if (output.type) replacement.type = output.type;
    if (output.docString && !replacement.docString) replacement.docString = output.docString;
    const infoIndex = graph.valueInfo.indexOf(replacement);
    if (infoIndex >= 0) graph.valueInfo.splice(infoIndex, 1);
  }
  output.replaceAllUsesWith(replacement);
  removeValueInfo(output);
  graph.removeNode(node);
  return true;
}

/** Forget a value's value_info entry (it is gone from the graph). */
export function removeValueInfo(value: Value): void {
  const graph = value.graph;
  if (!graph) return;
  const index = graph.valueInfo.indexOf(value);
  if (index >= 0) graph.valueInfo.splice(index, 1);
}
