import {
  constantValueOf,
  DataType,
  evaluateNode,
  formatValueType,
  type Graph,
  type Model,
  NameGenerator,
  Node,
  StringData,
  type Tensor,
  tensorType,
  type Value,
} from '@whittle/ir';
import type { PassContext, PassDefinition } from '@whittle/spec';
import { removeValueInfo } from './graph-edits.js';
import { supportsPlainInitializers } from './lift-constants.js';

/** Diagnostic codes of fold-constants, sorted. */
export const FoldConstantsCodes = {
  /** A kernel threw: a bug in the kernel, reported so the pass can go on without folding the node. */
  KERNEL_ERROR: 'FOLD_CONSTANTS_KERNEL_ERROR',
  /** The model's IR version is below 4: every initializer would also have to be a graph input. */
  OLD_IR_VERSION: 'FOLD_CONSTANTS_OLD_IR_VERSION',
  /** The evaluated result disagrees with the type or shape the model declares for the output. */
  TYPE_MISMATCH: 'FOLD_CONSTANTS_TYPE_MISMATCH',
} as const;

export interface FoldConstantsOptions {
  /** Largest tensor (elements) a fold may read from one input or produce as one output. */
  maxElements: number;
  /** Most bytes one fold may add to the model: its results minus the constants it frees. */
  maxSizeIncrease: number;
}

/**
 * 4,194,304 elements (16 MiB of float32): bounds the memory and time of evaluating one node in JavaScript while
 * covering the weight reshapes and transposes of ordinary layers (a 2048 × 2048 matrix).
 */
export const DEFAULT_FOLD_MAX_ELEMENTS = 4_194_304;
/**
 * 16 KiB. Shape arithmetic, small index tables, zero states and position ranges (2,048 int64) fold freely; what a
 * fold may not do is make the file bigger in earnest: materialize a big tensor out of small inputs (ConstantOfShape,
 * Expand, Tile, Range of a large size), widen weights (a float16 → float32 Cast doubles them), or copy part of a
 * weight that other nodes still read (a Slice of a shared LSTM weight would store the slice beside the whole). Such
 * nodes stay and ONNX Runtime computes them once at load time. The limit applies per fold, so it is the same on every
 * run and folding stays idempotent; a fold that frees its inputs (a Transpose of a weight read nowhere else) adds
 * nothing and always passes.
 */
export const DEFAULT_FOLD_MAX_SIZE_INCREASE = 16_384;

/** Operators whose result is not a function of their inputs: never folded, whatever kernels exist. */
const NONDETERMINISTIC: ReadonlySet<string> = new Set([
  'Bernoulli',
  'Dropout',
  'Multinomial',
  'RandomNormal',
  'RandomNormalLike',
  'RandomUniform',
  'RandomUniformLike',
]);

function sizeInBytes(tensor: Tensor): number {
  if (tensor.dataType === DataType.STRING && tensor.data instanceof StringData) {
    return tensor.data.strings.reduce((total, bytes) => total + bytes.byteLength, 0);
  }
  return tensor.byteLength;
}

/** Why a result does not fit the output's declared type, or undefined when it fits (or nothing is declared). */
function declaredTypeConflict(value: Value, tensor: Tensor): string | undefined {
  const type = value.type;
  if (!type) return undefined;
  if (type.kind !== 'tensor') return `the output is declared ${formatValueType(type)}`;
  if (type.elementType !== DataType.UNDEFINED && type.elementType !== tensor.dataType) {
    return `the output is declared ${formatValueType(type)}, the result is ${formatValueType(tensorType(tensor.dataType, [...tensor.dims]))}`;
  }
  const shape = type.shape;
  if (!shape) return undefined;
  const fits =
    shape.length === tensor.dims.length &&
    shape.every((dim, axis) => typeof dim !== 'number' || dim === tensor.dims[axis]);
  return fits
    ? undefined
    : `the output is declared ${formatValueType(type)}, the result is ${formatValueType(tensorType(tensor.dataType, [...tensor.dims]))}`;
}

interface FoldRun {
  options: FoldConstantsOptions;
  opset: number;
  context: PassContext<Model>;
  names: NameGenerator;
  /** Nodes already tried and not folded: their constant inputs cannot change, so they are not evaluated again. */
  refused: Set<Node>;
  folded: number;
  removed: number;
  refusedForSize: number;
}

function locationOf(graph: Graph, node: Node) {
  return { graph: graph.name, node: node.name || `#${graph.indexOfNode(node)}` };
}

/** Evaluate `node` and replace it by its results; true when it was folded. */
function tryFold(run: FoldRun, graph: Graph, node: Node): boolean {
  if (run.refused.has(node)) return false;
  if (node.inputs.length === 0 || NONDETERMINISTIC.has(node.opType) || node.subgraphs().length > 0) return false;
  if (!node.is(node.opType) || node.outputs.every((output) => output === undefined)) return false;
  const inputs: (Tensor | undefined)[] = [];
  for (const value of node.inputs) {
    if (!value) {
      inputs.push(undefined);
      continue;
    }
    const tensor = constantValueOf(value);
    if (!tensor) return false;
    inputs.push(tensor);
  }
  run.refused.add(node);
  let results: Tensor[] | undefined;
  try {
    results = evaluateNode(node, inputs, run.opset, { maxElements: run.options.maxElements });
  } catch (error) {
    run.context.report({
      code: FoldConstantsCodes.KERNEL_ERROR,
      severity: 'warning',
      message: `evaluating ${node.describe()} failed (${(error as Error).message}); the node is kept`,
      location: locationOf(graph, node),
    });
    return false;
  }
  if (!results) return false;

  let produced = 0;
  for (const [index, value] of node.outputs.entries()) {
    if (!value) continue;
    const conflict = declaredTypeConflict(value, results[index]!);
    if (conflict) {
      run.context.report({
        code: FoldConstantsCodes.TYPE_MISMATCH,
        severity: 'warning',
        message: `${node.describe()} evaluates to a value that does not fit its output '${value.name}': ${conflict}; the node is kept`,
        location: { ...locationOf(graph, node), value: value.name },
      });
      return false;
    }
    if (value.isUsed) produced += sizeInBytes(results[index]!);
  }
  const freed = new Set<Value>();
  for (const value of node.inputs) {
    if (value?.uses.every((use) => use.node === node) && !value.graph?.outputs.includes(value)) {
      freed.add(value);
    }
  }
  const freedBytes = [...freed].reduce((total, value) => total + sizeInBytes(constantValueOf(value)!), 0);
  if (produced - freedBytes > run.options.maxSizeIncrease) {
    run.refusedForSize++;
    return false;
  }

  replaceByResults(run, graph, node, results);
  run.folded++;
  for (const value of freed) if (!value.isUsed) removeConstant(run, value);
  return true;
}

/**
 * Each used output of `node` becomes an initializer holding its result (the same Value, so name and uses stay); an
 * output of the graph is produced by a new `Constant` node instead, as initializers cannot stand in for graph
 * outputs everywhere (subgraph outputs in particular).
 */
function replaceByResults(run: FoldRun, graph: Graph, node: Node, results: readonly Tensor[]): void {
  const outputs = [...node.outputs];
  outputs.forEach((_, index) => {
    node.setOutput(index, undefined);
  });
  outputs.forEach((value, index) => {
    if (!value) return;
    const tensor = results[index]!;
    const isGraphOutput = graph.outputs.includes(value);
    // Inner values get the exact type now known; a graph output keeps the type its users were promised.
    if (!isGraphOutput || !value.type) {
      const declared = value.type?.kind === 'tensor' ? value.type : undefined;
      value.type = {
        ...tensorType(tensor.dataType, [...tensor.dims]),
        ...(declared?.denotation ? { denotation: declared.denotation } : {}),
      };
    }
    if (isGraphOutput) {
      const constant = new Node({
        opType: 'Constant',
        name: run.names.fresh(node.name ? `${node.name}_folded` : 'folded_constant'),
        outputs: [value],
        attributes: [{ name: 'value', type: 'tensor', value: tensor }],
      });
      tensor.name = value.name;
      graph.insertBefore(node, constant);
    } else if (value.isUsed) {
      graph.addInitializer(tensor, value);
    } else {
      removeValueInfo(value);
    }
  });
  graph.removeNode(node);
}

/** Drop a constant nothing reads any more: an initializer or a `Constant` node. */
function removeConstant(run: FoldRun, value: Value): void {
  const graph = value.graph;
  if (!graph) return;
  if (value.initializer && !graph.inputs.includes(value)) {
    graph.removeInitializer(value);
    removeValueInfo(value);
    run.removed++;
  } else if (value.producer?.is('Constant') && value.producer.graph) {
    value.producer.graph.removeNode(value.producer);
    removeValueInfo(value);
    run.removed++;
  }
}

/**
 * Evaluates, once, every node whose inputs are all constant (initializers or Constant nodes) and for which
 * @whittle/ir has a kernel, and replaces it by its results. Nodes with subgraphs and random operators are never
 * folded; graph outputs keep their names; results beyond the size limits stay computed at run time.
 */
export const foldConstants: PassDefinition<Partial<FoldConstantsOptions>, Model> = {
  name: 'fold-constants',
  description: 'Evaluate nodes whose inputs are all constant and replace them by initializers',
  options: {
    type: 'object',
    properties: {
      maxElements: {
        type: 'integer',
        minimum: 0,
        default: DEFAULT_FOLD_MAX_ELEMENTS,
        description: 'largest tensor (in elements) a fold may read from one input or produce as one output',
      },
      maxSizeIncrease: {
        type: 'integer',
        minimum: 0,
        default: DEFAULT_FOLD_MAX_SIZE_INCREASE,
        description: 'most bytes one fold may add to the model (its results minus the constants it frees)',
      },
    },
    additionalProperties: false,
  },
  create(options) {
    const settings: FoldConstantsOptions = {
      maxElements: options.maxElements ?? DEFAULT_FOLD_MAX_ELEMENTS,
      maxSizeIncrease: options.maxSizeIncrease ?? DEFAULT_FOLD_MAX_SIZE_INCREASE,
    };
    return {
      name: 'fold-constants',
      run(model, context) {
        const unchanged = {
          model,
          changed: false,
          preserved: 'all' as const,
          statistics: { nodesFolded: 0, constantsRemoved: 0, foldsRefusedForSize: 0 },
        };
        const opset = model.opsetVersion('');
        if (opset === undefined) return unchanged;
        if (!supportsPlainInitializers(model, context, 'fold-constants', FoldConstantsCodes.OLD_IR_VERSION)) {
          return unchanged;
        }
        const run: FoldRun = {
          options: settings,
          opset,
          context,
          names: new NameGenerator(model),
          refused: new Set(),
          folded: 0,
          removed: 0,
          refusedForSize: 0,
        };
        // Folding never removes a node that holds a subgraph, so the list of graphs stays valid.
        const graphs = [...model.graphs()];
        // In a topologically sorted graph one sweep reaches the fixed point; further sweeps only cover graphs
        // whose nodes are out of order.
        for (let sweep = 0; sweep < 1000; sweep++) {
          let progress = false;
          for (const graph of graphs) {
            for (const node of graph.nodes) {
              if (node.graph === graph && tryFold(run, graph, node)) progress = true;
            }
          }
          if (!progress) break;
        }
        const statistics = {
          nodesFolded: run.folded,
          constantsRemoved: run.removed,
          foldsRefusedForSize: run.refusedForSize,
        };
        return run.folded > 0 ? { model, changed: true, statistics } : { ...unchanged, statistics };
      },
    };
  },
};
