import {
  constantValueOf,
  DataType,
  type Dimension,
  type Graph,
  int64ToNumber,
  type Model,
  type Node,
  type Tensor,
  type Value,
} from '@whittle/ir';
import type { PassDefinition } from '@whittle/spec';
import { bypassNode, removeValueInfo } from './graph-edits.js';

// ---------------------------------------------------------------------------------------------------------------
// Facts about values that are proven, never guessed: declared types, constants (initializers that are not graph
// inputs, and `Constant` nodes), and what an operator's definition guarantees. Shared by the cleanup and fusion
// passes of this folder.
// ---------------------------------------------------------------------------------------------------------------

/** The elements of an integer constant as numbers (int64 beyond 2^53 saturate), or undefined for other types. */
export function integerValuesOf(tensor: Tensor | undefined): number[] | undefined {
  if (!tensor) return undefined;
  switch (tensor.dataType) {
    case DataType.INT64:
    case DataType.UINT64:
      return Array.from(tensor.toArray() as BigInt64Array, (item) => int64ToNumber(item));
    case DataType.INT32:
    case DataType.INT16:
    case DataType.INT8:
    case DataType.UINT32:
    case DataType.UINT16:
    case DataType.UINT8:
      return Array.from(tensor.toArray() as Int32Array);
    default:
      return undefined;
  }
}

/** The shape a value is known to have: its declared tensor shape, or a constant's dims. */
export function knownShapeOf(value: Value | undefined): Dimension[] | undefined {
  if (!value) return undefined;
  const constant = constantValueOf(value);
  if (constant) return [...constant.dims];
  const type = value.type;
  if (type?.kind !== 'tensor' || !type.shape) return undefined;
  return type.shape;
}

/** The shape when every dimension is a known size. */
export function staticShapeOf(value: Value | undefined): number[] | undefined {
  const shape = knownShapeOf(value);
  if (!shape?.every((dim): dim is number => typeof dim === 'number' && dim >= 0)) return undefined;
  return shape;
}

/**
 * The rank a value is known to have: from its shape, or from its producer when the operator fixes it (Flatten and
 * Gemm give rank 2; Reshape gives the length of its constant shape input; Transpose keeps its input's rank).
 */
export function knownRankOf(value: Value | undefined): number | undefined {
  const shape = knownShapeOf(value);
  if (shape) return shape.length;
  const producer = value?.producer;
  if (!producer || producer.output(0) !== value) return undefined;
  if (producer.is('Flatten') || producer.is('Gemm')) return 2;
  if (producer.is('Transpose')) {
    const perm = producer.attribute('perm');
    return perm?.type === 'ints' ? perm.value.length : knownRankOf(producer.input(0));
  }
  if (producer.is('Reshape')) {
    const target = constantValueOf(producer.input(1));
    if (target?.dims.length === 1) return target.dims[0];
  }
  return undefined;
}

/** The element type a value is known to have (declared, or a constant's). */
export function knownElementTypeOf(value: Value | undefined): DataType | undefined {
  if (!value) return undefined;
  const constant = constantValueOf(value);
  if (constant) return constant.dataType;
  const type = value.type;
  if (type?.kind !== 'tensor' || type.elementType === DataType.UNDEFINED) return undefined;
  return type.elementType;
}

/** True when the value is an output of any graph of the model that holds it (subgraph outputs included). */
export function isAnyGraphOutput(value: Value): boolean {
  let root: Graph | undefined = value.graph;
  while (root?.parentGraph) root = root.parentGraph;
  if (!root) return false;
  for (const graph of root.allGraphs()) if (graph.outputs.includes(value)) return true;
  return false;
}

/**
 * True when a subgraph nested in the value's graph lists the value itself as one of its outputs. Removing the value's
 * producer would leave that output dangling (`replaceAllUsesWith` and `bypassNode` update the owning graph only).
 */
export function isNestedGraphOutput(value: Value): boolean {
  const graph = value.graph;
  if (!graph) return false;
  for (const nested of graph.allGraphs()) if (nested !== graph && nested.outputs.includes(value)) return true;
  return false;
}

/** The opset version of the default domain, or undefined when the model does not import it. */
export function defaultOpset(model: Model): number | undefined {
  return model.opsetVersion('');
}

// ---------------------------------------------------------------------------------------------------------------
// The pass
// ---------------------------------------------------------------------------------------------------------------

export type EliminateIdentitiesOptions = Record<string, never>;

interface Elimination {
  /** The value readers should read instead of the node's output 0. */
  replacement: Value;
  /** Statistic to count under. */
  kind: 'identities' | 'dropouts' | 'casts' | 'reshapes' | 'flattens' | 'squeezes' | 'unsqueezes' | 'transposes';
}

const isIdentityPermutation = (perm: readonly number[]) => perm.every((axis, index) => axis === index);

/** A Transpose's permutation: its perm attribute, or (absent) the reversal, which needs a known rank. */
function permutationOf(node: Node): number[] | undefined {
  const perm = node.intsAttribute('perm');
  if (perm) return perm;
  const rank = knownRankOf(node.input(0));
  if (rank === undefined) return undefined;
  return Array.from({ length: rank }, (_, index) => rank - 1 - index);
}

/** Axes given as an attribute (older opsets) or as a constant input 1; `null` when given but not constant. */
function axesOf(node: Node): number[] | undefined | null {
  const attribute = node.attribute('axes');
  if (attribute) return attribute.type === 'ints' ? node.intsAttribute('axes') : null;
  if (node.input(1) === undefined) return undefined;
  return integerValuesOf(constantValueOf(node.input(1))) ?? null;
}

function dropoutIsIdentity(node: Node, opset: number): boolean {
  if (node.output(1)?.isUsed) return false;
  if (opset < 7) return node.intAttribute('is_test', 0) === 1;
  if (opset < 12) return true;
  const trainingMode = node.input(2);
  if (trainingMode === undefined) return true;
  const training = constantValueOf(trainingMode);
  if (training?.elementCount === 1 && training.bytes()[0] === 0) return true;
  const ratio = constantValueOf(node.input(1));
  if (ratio?.elementCount === 1) {
    const value =
      ratio.dataType === DataType.FLOAT || ratio.dataType === DataType.DOUBLE ? Number(ratio.toArray()[0]) : undefined;
    if (value === 0) return true;
  }
  return false;
}

function reshapeIsIdentity(node: Node): boolean {
  const input = staticShapeOf(node.input(0));
  const target = integerValuesOf(constantValueOf(node.input(1)));
  if (!input || !target || target.length !== input.length) return false;
  const allowZero = node.intAttribute('allowzero', 0) === 1;
  let inferred = -1;
  for (let index = 0; index < target.length; index++) {
    const wanted = target[index]!;
    if (wanted === 0 && !allowZero) continue;
    if (wanted === -1) {
      if (inferred >= 0) return false;
      inferred = index;
      continue;
    }
    if (wanted !== input[index]) return false;
  }
  if (inferred >= 0) {
    // -1 takes whatever size is left: the input's own dim when every other dim is kept (and none is 0).
    const others = input.reduce((product, dim, index) => (index === inferred ? product : product * dim), 1);
    if (others === 0) return false;
  }
  return true;
}

function flattenIsIdentity(node: Node): boolean {
  const rank = knownRankOf(node.input(0));
  if (rank !== 2) return false;
  const axis = node.intAttribute('axis', 1)!;
  return axis === 1 || axis === -1;
}

function squeezeIsIdentity(node: Node): boolean {
  const axes = axesOf(node);
  if (axes !== undefined) return false;
  // Without axes every dim of size 1 goes: a no-op only when every dim is known and none is 1.
  const shape = staticShapeOf(node.input(0));
  return shape?.every((dim) => dim !== 1) === true;
}

function unsqueezeIsIdentity(node: Node): boolean {
  const axes = axesOf(node);
  return Array.isArray(axes) && axes.length === 0;
}

/** What the node can be replaced by, or undefined when it is not provably a no-op. */
function eliminationFor(node: Node, opset: number): Elimination | undefined {
  const input = node.input(0);
  if (!input) return undefined;
  if (node.is('Identity')) return { replacement: input, kind: 'identities' };
  if (node.is('Dropout')) return dropoutIsIdentity(node, opset) ? { replacement: input, kind: 'dropouts' } : undefined;
  if (node.is('Cast')) {
    const to = node.intAttribute('to');
    const from = knownElementTypeOf(input);
    return to !== undefined && from !== undefined && to === from ? { replacement: input, kind: 'casts' } : undefined;
  }
  if (node.is('Reshape')) return reshapeIsIdentity(node) ? { replacement: input, kind: 'reshapes' } : undefined;
  if (node.is('Flatten')) return flattenIsIdentity(node) ? { replacement: input, kind: 'flattens' } : undefined;
  if (node.is('Squeeze')) return squeezeIsIdentity(node) ? { replacement: input, kind: 'squeezes' } : undefined;
  if (node.is('Unsqueeze')) return unsqueezeIsIdentity(node) ? { replacement: input, kind: 'unsqueezes' } : undefined;
  if (node.is('Transpose')) {
    const perm = permutationOf(node);
    if (perm && isIdentityPermutation(perm)) return { replacement: input, kind: 'transposes' };
  }
  return undefined;
}

/**
 * Transpose(Transpose(x, p1), p2) with p1[p2[i]] = i for all i is x. The first Transpose must feed only the second.
 * Returns the first Transpose when the pair cancels.
 */
function cancellingTranspose(node: Node): Node | undefined {
  if (!node.is('Transpose')) return undefined;
  const middle = node.input(0);
  const first = middle?.producer;
  if (!middle || !first?.is('Transpose') || first.graph !== node.graph) return undefined;
  if (middle.uses.length !== 1 || isAnyGraphOutput(middle)) return undefined;
  const outer = permutationOf(node);
  const inner = permutationOf(first);
  if (!outer || !inner || outer.length !== inner.length) return undefined;
  const cancels = outer.every((axis, index) => inner[axis] === index);
  return cancels ? first : undefined;
}

export const eliminateIdentities: PassDefinition<EliminateIdentitiesOptions, Model> = {
  name: 'eliminate-identities',
  description:
    'Remove nodes that provably pass their input through: Identity, inference Dropout, Cast to the same type, ' +
    'Reshape/Flatten/Squeeze/Unsqueeze no-ops, identity Transposes and Transpose pairs that cancel',
  options: { type: 'object', properties: {}, additionalProperties: false },
  create() {
    return {
      name: 'eliminate-identities',
      run(model) {
        const opset = defaultOpset(model) ?? 1;
        const statistics: Record<string, number> = {
          nodesRemoved: 0,
          identities: 0,
          dropouts: 0,
          casts: 0,
          reshapes: 0,
          flattens: 0,
          squeezes: 0,
          unsqueezes: 0,
          transposes: 0,
          transposePairs: 0,
          keptForOutputs: 0,
        };
        // Removing one node can expose another (a Transpose pair behind an Identity): sweep until nothing changes.
        let changedThisSweep = true;
        const kept = new Set<Node>();
        while (changedThisSweep) {
          changedThisSweep = false;
          for (const graph of [...model.graphs()]) {
            for (const node of graph.nodes) {
              if (node.graph !== graph) continue;
              const output = node.output(0);
              if (output && isNestedGraphOutput(output)) {
                if (eliminationFor(node, opset) || cancellingTranspose(node)) kept.add(node);
                continue;
              }
              const elimination = eliminationFor(node, opset);
              if (elimination) {
                if (bypassNode(node, elimination.replacement)) {
                  statistics[elimination.kind]!++;
                  statistics.nodesRemoved!++;
                  changedThisSweep = true;
                } else kept.add(node);
                continue;
              }
              const first = cancellingTranspose(node);
              if (first) {
                const source = first.input(0);
                if (source && bypassNode(node, source)) {
                  graph.removeNode(first);
                  for (const output of first.outputs) if (output) removeValueInfo(output);
                  statistics.transposePairs!++;
                  statistics.nodesRemoved! += 2;
                  changedThisSweep = true;
                } else kept.add(node);
              }
            }
          }
        }
        for (const node of kept) if (node.graph) statistics.keptForOutputs!++;
        const changed = statistics.nodesRemoved! > 0;
        return { model, changed, ...(changed ? {} : { preserved: 'all' as const }), statistics };
      },
    };
  },
};
