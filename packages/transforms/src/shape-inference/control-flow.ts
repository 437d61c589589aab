/**
 * Control flow: If (both branches inferred; the output is what the branches have in common, or the taken
 * branch's type when the condition is known), Loop and Scan (bodies inferred until loop-carried types settle).
 */
import { DataType, type Dimension, type ValueType } from '@whittle/ir';
import {
  graphAttribute,
  type InferenceContext,
  type Inferrer,
  intAttr,
  intsAttr,
  makeTensorType,
  mismatch,
} from './context.js';
import { normalizeAxis, unifyDim } from './dims.js';
import { joinTypes, typeEquals } from './types.js';

const MAX_ROUNDS = 16;

const ifOp: Inferrer = (context) => {
  const node = context.node;
  const thenBranch = graphAttribute(node, 'then_branch');
  const elseBranch = graphAttribute(node, 'else_branch');
  if (!thenBranch || !elseBranch) return;
  const thenTypes = context.inferSubgraph(thenBranch, []);
  const elseTypes = context.inferSubgraph(elseBranch, []);
  const thenMismatch = context.subgraphMismatch(thenBranch);
  const elseMismatch = context.subgraphMismatch(elseBranch);
  const condition = context.numbers(0);
  let taken = condition?.length === 1 ? (condition[0] !== 0 ? thenBranch : elseBranch) : undefined;
  // A branch that cannot run with these shapes is never taken by a run that succeeds.
  if (!taken && thenMismatch && !elseMismatch) taken = elseBranch;
  if (!taken && elseMismatch && !thenMismatch) taken = thenBranch;
  const mismatchOfTaken = taken === thenBranch ? thenMismatch : taken === elseBranch ? elseMismatch : undefined;
  if (mismatchOfTaken) mismatch(`the branch taken cannot run: ${mismatchOfTaken}`);
  if (!taken && thenMismatch && elseMismatch) mismatch(`neither branch can run: ${thenMismatch}; ${elseMismatch}`);
  for (let index = 0; index < context.outputCount; index++) {
    if (taken) {
      const types = taken === thenBranch ? thenTypes : elseTypes;
      context.setType(index, types[index], context.subgraphOutputData(taken, index));
    } else context.setType(index, joinTypes(thenTypes[index], elseTypes[index]));
  }
};

/** Infer a body until the loop-carried types (which start from `initial`) stop changing. */
function settle(
  context: InferenceContext,
  body: Parameters<InferenceContext['inferSubgraph']>[0],
  initial: (ValueType | undefined)[],
  inputTypes: (carried: (ValueType | undefined)[]) => (ValueType | undefined)[],
  carriedOutput: (outputs: (ValueType | undefined)[], index: number) => ValueType | undefined,
): { carried: (ValueType | undefined)[]; outputs: (ValueType | undefined)[] } {
  let carried = initial;
  let outputs: (ValueType | undefined)[] = [];
  for (let round = 0; round < MAX_ROUNDS; round++) {
    outputs = context.inferSubgraph(body, inputTypes(carried));
    const next = carried.map((type, index) => joinTypes(type, carriedOutput(outputs, index)));
    if (next.every((type, index) => typeEquals(type, carried[index]))) return { carried, outputs };
    carried = next;
  }
  // Not settled: keep only element types.
  carried = carried.map((type) => (type?.kind === 'tensor' ? makeTensorType(type.elementType, undefined) : undefined));
  outputs = context.inferSubgraph(body, inputTypes(carried));
  return { carried, outputs };
}

function withLeadingDim(type: ValueType | undefined, dim: Dimension, axis = 0): ValueType | undefined {
  if (type?.kind !== 'tensor') return undefined;
  if (!type.shape) return makeTensorType(type.elementType, undefined);
  const at = normalizeAxis(axis, type.shape.length + 1);
  if (at === undefined) return makeTensorType(type.elementType, undefined);
  const shape = [...type.shape];
  shape.splice(at, 0, dim);
  return makeTensorType(type.elementType, shape);
}

function withoutDims(type: ValueType | undefined, axes: readonly number[]): ValueType | undefined {
  if (type?.kind !== 'tensor') return type;
  if (!type.shape) return makeTensorType(type.elementType, undefined);
  return makeTensorType(
    type.elementType,
    type.shape.filter((_, index) => !axes.includes(index)),
  );
}

const loop: Inferrer = (context) => {
  const node = context.node;
  const body = graphAttribute(node, 'body');
  if (!body) return;
  const carriedCount = Math.max(0, node.inputs.length - 2);
  const initial = Array.from({ length: carriedCount }, (_, index) => context.type(index + 2));
  const { carried, outputs } = settle(
    context,
    body,
    initial,
    (types) => [makeTensorType(DataType.INT64, []), makeTensorType(DataType.BOOL, []), ...types],
    (types, index) => types[index + 1],
  );
  carried.forEach((type, index) => {
    context.setType(index, type);
  });
  const [tripCount] = context.has(0) && !context.has(1) ? (context.numbers(0) ?? []) : [];
  for (let index = carriedCount; index < context.outputCount; index++) {
    context.setType(index, withLeadingDim(outputs[index + 1], tripCount ?? null));
  }
};

const scan: Inferrer = (context) => {
  const node = context.node;
  const body = graphAttribute(node, 'body');
  if (!body) return;
  const scanCount = intAttr(node, 'num_scan_inputs', 0);
  if (context.opset < 9) {
    scanOpset8(context, scanCount);
    return;
  }
  const stateCount = node.inputs.length - scanCount;
  if (stateCount < 0) return;
  const inputAxes = intsAttr(node, 'scan_input_axes') ?? new Array<number>(scanCount).fill(0);
  const outputAxes = intsAttr(node, 'scan_output_axes');
  let sequence: Dimension = null;
  const slices: (ValueType | undefined)[] = [];
  for (let index = 0; index < scanCount; index++) {
    const type = context.type(stateCount + index);
    const rank = type?.kind === 'tensor' ? type.shape?.length : undefined;
    const axis = normalizeAxis(inputAxes[index] ?? 0, rank);
    if (type?.kind === 'tensor' && type.shape && axis !== undefined) {
      sequence = index === 0 ? (type.shape[axis] ?? null) : unifyDim(sequence, type.shape[axis]);
      slices.push(withoutDims(type, [axis]));
    } else slices.push(type?.kind === 'tensor' ? makeTensorType(type.elementType, undefined) : undefined);
  }
  const initial = Array.from({ length: stateCount }, (_, index) => context.type(index));
  const { carried, outputs } = settle(
    context,
    body,
    initial,
    (types) => [...types, ...slices],
    (types, index) => types[index],
  );
  carried.forEach((type, index) => {
    context.setType(index, type);
  });
  for (let index = stateCount; index < context.outputCount; index++) {
    const axis = outputAxes?.[index - stateCount] ?? 0;
    context.setType(index, withLeadingDim(outputs[index], sequence, axis));
  }
};

/** Scan-8: every input has a leading batch dim; scan inputs scan along axis 1. */
function scanOpset8(context: InferenceContext, scanCount: number): void {
  const node = context.node;
  const body = graphAttribute(node, 'body')!;
  const stateCount = node.inputs.length - 1 - scanCount;
  if (stateCount < 0) return;
  let batch: Dimension = null;
  let sequence: Dimension = null;
  const states: (ValueType | undefined)[] = [];
  for (let index = 0; index < stateCount; index++) {
    const type = context.type(index + 1);
    if (type?.kind === 'tensor' && type.shape) batch = unifyDim(batch, type.shape[0]);
    states.push(withoutDims(type, [0]));
  }
  const slices: (ValueType | undefined)[] = [];
  for (let index = 0; index < scanCount; index++) {
    const type = context.type(stateCount + 1 + index);
    if (type?.kind === 'tensor' && type.shape) {
      batch = unifyDim(batch, type.shape[0]);
      sequence = index === 0 ? (type.shape[1] ?? null) : unifyDim(sequence, type.shape[1]);
    }
    slices.push(withoutDims(type, [0, 1]));
  }
  const { carried, outputs } = settle(
    context,
    body,
    states,
    (types) => [...types, ...slices],
    (types, index) => types[index],
  );
  carried.forEach((type, index) => {
    context.setType(index, withLeadingDim(type, batch));
  });
  for (let index = stateCount; index < context.outputCount; index++) {
    context.setType(index, withLeadingDim(withLeadingDim(outputs[index], sequence), batch));
  }
}

export const controlFlowInferrers: Record<string, Inferrer> = {
  If: ifOp,
  Loop: loop,
  Scan: scan,
};
