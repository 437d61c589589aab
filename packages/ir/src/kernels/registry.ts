/**
 * The kernel registry: reference implementations of ONNX operators (default domain) over IR tensors, for constant
 * folding. A kernel evaluates a node or refuses; it never guesses. Refusals cover unsupported element types,
 * attributes the kernel does not know, opsets whose semantics it does not implement, shapes that break the
 * operator's rules, values whose result ONNX leaves undefined (integer division by zero, float-to-int overflow), and
 * tensors beyond the size limit.
 */
import { WhittleError } from '@whittle/spec';
import type { Node } from '../node.js';
import type { Tensor } from '../tensor.js';
import { castKernels } from './cast.js';
import { elementwiseKernels } from './elementwise.js';
import { generatorKernels } from './generators.js';
import { matmulKernels } from './matmul.js';
import { movementKernels } from './movement.js';
import { reduceKernels } from './reduce.js';
import { shapeKernels } from './shape.js';
import { type EvaluateNodeOptions, KernelContext, KernelRefusal } from './support.js';

/** One operator's reference implementation. */
export interface KernelDefinition {
  /** Attributes the kernel understands; a node carrying any other attribute is not evaluated. */
  readonly attributes?: readonly string[];
  /** Oldest opset whose semantics the kernel implements. */
  readonly sinceOpset?: number;
  /** The outputs (as many as the operator defines; optional outputs may be left off). */
  evaluate(context: KernelContext): Tensor[];
}

export type KernelTable = Readonly<Record<string, KernelDefinition>>;

const KERNELS: ReadonlyMap<string, KernelDefinition> = new Map(
  Object.entries({
    ...castKernels,
    ...elementwiseKernels,
    ...generatorKernels,
    ...matmulKernels,
    ...movementKernels,
    ...reduceKernels,
    ...shapeKernels,
  }),
);

/** Operator types (default ONNX domain) the registry has kernels for, sorted. */
export function kernelOperators(): string[] {
  return [...KERNELS.keys()].sort();
}

/** True when the registry has a kernel for the node's operator (it may still refuse the node's types or values). */
export function hasKernel(node: Node): boolean {
  return node.is(node.opType) && KERNELS.has(node.opType);
}

/**
 * Evaluate one node of the default ONNX domain on constant inputs (`inputs[i]` for `node.inputs[i]`, undefined for
 * omitted optional inputs) under the given opset of the default domain. Returns the node's outputs, or undefined
 * when the node cannot be evaluated exactly (unsupported operator, element type, attribute, opset or size, or a value
 * the operator leaves undefined). Output tensors have empty names.
 */
export function evaluateNode(
  node: Node,
  inputs: readonly (Tensor | undefined)[],
  opset: number,
  options: EvaluateNodeOptions = {},
): Tensor[] | undefined {
  if (!node.is(node.opType)) return undefined;
  const kernel = KERNELS.get(node.opType);
  if (!kernel) return undefined;
  if (kernel.sinceOpset !== undefined && opset < kernel.sinceOpset) return undefined;
  const known = kernel.attributes ?? [];
  for (const [name, attribute] of node.attributes) {
    if (!known.includes(name) || attribute.type === 'reference') return undefined;
  }
  if (node.subgraphs().length > 0) return undefined;
  try {
    const outputs = kernel.evaluate(new KernelContext(node, inputs, opset, options));
    return outputs.length >= node.outputs.length ? outputs.slice(0, node.outputs.length) : undefined;
  } catch (error) {
    // A refusal, or an attribute of the wrong type / tensor data that does not match its dims.
    if (error instanceof KernelRefusal || WhittleError.is(error)) return undefined;
    throw error;
  }
}
