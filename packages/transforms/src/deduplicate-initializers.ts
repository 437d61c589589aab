import { DataType, type Graph, type Model, StringData, type Tensor, type Value } from '@whittle/ir';
import type { PassDefinition } from '@whittle/spec';
import { removeValueInfo } from './graph-edits.js';

export type DeduplicateInitializersOptions = Record<string, never>;

/** FNV-1a over a byte string, continuing from `hash`. */
function fnv1a(bytes: Uint8Array, hash = 0x811c9dc5): number {
  for (let index = 0; index < bytes.length; index++) {
    hash ^= bytes[index]!;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** The tensor's contents as byte strings: its raw data, or each string element (strings: one entry each). */
function contentsOf(tensor: Tensor): Uint8Array[] {
  if (tensor.dataType === DataType.STRING) return tensor.data instanceof StringData ? [...tensor.data.strings] : [];
  return [tensor.bytes()];
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let index = 0; index < a.byteLength; index++) if (a[index] !== b[index]) return false;
  return true;
}

function sameContents(a: Uint8Array[], b: Uint8Array[]): boolean {
  return a.length === b.length && a.every((bytes, index) => sameBytes(bytes, b[index]!));
}

function keyOf(tensor: Tensor, contents: Uint8Array[]): string {
  let hash = 0x811c9dc5;
  for (const bytes of contents) {
    hash = fnv1a(bytes, hash);
    // Separate string elements so that ['ab', 'c'] and ['a', 'bc'] hash apart (they compare apart anyway).
    hash = fnv1a(Uint8Array.of(0xff), hash);
  }
  return `${tensor.dataType}|${tensor.dims.join(',')}|${contents.length}|${hash}`;
}

/**
 * Merges initializers of one graph that hold the same tensor (same element type, dims and bytes): readers of the
 * duplicates read the first one, and the duplicates go. Initializers that are also graph inputs (defaults a caller
 * may override) and values that are outputs of any graph keep their identity. Tensors are grouped by a hash of their
 * bytes, then compared byte for byte.
 */
export const deduplicateInitializers: PassDefinition<DeduplicateInitializersOptions, Model> = {
  name: 'deduplicate-initializers',
  description: 'Merge initializers of a graph that hold identical tensors (type, dims and bytes)',
  options: { type: 'object', properties: {}, additionalProperties: false },
  create() {
    return {
      name: 'deduplicate-initializers',
      run(model) {
        const outputs = new Set<Value>();
        for (const graph of model.graphs()) for (const output of graph.outputs) outputs.add(output);
        let removed = 0;
        let bytesSaved = 0;
        for (const graph of [...model.graphs()]) {
          const result = deduplicate(graph, outputs);
          removed += result.removed;
          bytesSaved += result.bytesSaved;
        }
        const changed = removed > 0;
        return {
          model,
          changed,
          ...(changed ? {} : { preserved: 'all' as const }),
          statistics: { initializersRemoved: removed, bytesSaved },
        };
      },
    };
  },
};

function deduplicate(graph: Graph, outputs: ReadonlySet<Value>): { removed: number; bytesSaved: number } {
  const inputs = new Set(graph.inputs);
  // Only hashes are kept: bytes are read again on a hash match, so external data is not all held in memory.
  const groups = new Map<string, Value[]>();
  let removed = 0;
  let bytesSaved = 0;
  for (const value of [...graph.initializers]) {
    const tensor = value.initializer;
    if (!tensor || inputs.has(value) || outputs.has(value)) continue;
    const contents = contentsOf(tensor);
    const key = keyOf(tensor, contents);
    const group = groups.get(key);
    const original = group?.find((candidate) => sameContents(contentsOf(candidate.initializer!), contents));
    if (!original) {
      if (group) group.push(value);
      else groups.set(key, [value]);
      continue;
    }
    for (const use of [...value.uses]) use.node.setInput(use.index, original);
    graph.removeInitializer(value);
    removeValueInfo(value);
    removed++;
    bytesSaved += tensor.byteLength;
  }
  return { removed, bytesSaved };
}
