/** Matrix products: MatMul (numpy semantics), Gemm, Einsum, Det. */
import type { Dimension } from '@whittle/ir';
import { type Inferrer, intAttr, mismatch, sharedElementType, stringAttr } from './context.js';
import { broadcastConflict, broadcastShapes, formatShape, type Shape, unifyDim } from './dims.js';

/** numpy.matmul shapes: 1-D operands are promoted to matrices and the promoted dim dropped again. */
export function matmulShape(
  a: readonly Dimension[] | undefined,
  b: readonly Dimension[] | undefined,
): Shape | undefined {
  if (!a || !b || a.length === 0 || b.length === 0) return undefined;
  const left = a.length === 1 ? [1, a[0]!] : [...a];
  const right = b.length === 1 ? [b[0]!, 1] : [...b];
  const inner = left[left.length - 1];
  const otherInner = right[right.length - 2];
  if (typeof inner === 'number' && typeof otherInner === 'number' && inner !== otherInner) {
    mismatch(`cannot multiply ${formatShape(a)} by ${formatShape(b)}`);
  }
  const conflict = broadcastConflict([left.slice(0, -2), right.slice(0, -2)]);
  if (conflict) mismatch(conflict);
  const batch = broadcastShapes([left.slice(0, -2), right.slice(0, -2)]);
  if (!batch) return undefined;
  const shape: Shape = [...batch];
  if (a.length !== 1) shape.push(left[left.length - 2]!);
  if (b.length !== 1) shape.push(right[right.length - 1]!);
  return shape;
}

const matmul: Inferrer = (context) => {
  context.setTensor(0, sharedElementType(context, [0, 1]), matmulShape(context.shape(0), context.shape(1)));
};

const gemm: Inferrer = (context) => {
  const a = context.shape(0);
  const b = context.shape(1);
  const transA = intAttr(context.node, 'transA', 0) === 1;
  const transB = intAttr(context.node, 'transB', 0) === 1;
  const m = a && a.length === 2 ? a[transA ? 1 : 0]! : null;
  const n = b && b.length === 2 ? b[transB ? 0 : 1]! : null;
  const k = a && a.length === 2 ? a[transA ? 0 : 1] : undefined;
  const otherK = b && b.length === 2 ? b[transB ? 1 : 0] : undefined;
  if (typeof k === 'number' && typeof otherK === 'number' && k !== otherK) {
    mismatch(
      `cannot multiply ${formatShape(a)} by ${formatShape(b)} (transA=${Number(transA)}, transB=${Number(transB)})`,
    );
  }
  context.setTensor(0, sharedElementType(context, [0, 1]), [m, n]);
};

/** Einsum shapes, explicit (`ij,jk->ik`) or implicit (`ij,jk`), with ellipses. */
export function einsumShape(
  equation: string,
  shapes: readonly (readonly Dimension[] | undefined)[],
): Shape | undefined {
  const text = equation.replaceAll(' ', '');
  const [left, right] = text.split('->') as [string, string | undefined];
  const terms = left.split(',');
  if (terms.length !== shapes.length) return undefined;
  const letters = new Map<string, Dimension>();
  const counts = new Map<string, number>();
  let ellipsis: Shape | undefined = [];
  for (let index = 0; index < terms.length; index++) {
    const term = terms[index]!;
    const shape = shapes[index];
    const hasEllipsis = term.includes('...');
    const named = term.replace('...', '');
    if (!shape) {
      for (const letter of named) {
        counts.set(letter, (counts.get(letter) ?? 0) + 1);
        if (!letters.has(letter)) letters.set(letter, null);
      }
      if (hasEllipsis) ellipsis = undefined;
      continue;
    }
    const ellipsisRank = shape.length - named.length;
    if (ellipsisRank < 0 || (!hasEllipsis && ellipsisRank !== 0)) return undefined;
    const before = hasEllipsis ? term.indexOf('...') : named.length;
    let position = 0;
    for (let char = 0; char < named.length; char++) {
      if (char === before) position += ellipsisRank;
      const letter = named[char]!;
      const dim = shape[position++]!;
      counts.set(letter, (counts.get(letter) ?? 0) + 1);
      const known = letters.get(letter);
      letters.set(letter, known === undefined ? dim : known === 1 ? dim : dim === 1 ? known : unifyDim(known, dim));
    }
    if (hasEllipsis && ellipsis) {
      ellipsis = broadcastShapes([ellipsis, shape.slice(before, before + ellipsisRank)]);
    }
  }
  let output: string;
  if (right !== undefined) output = right;
  else {
    const single = [...counts].filter(([, count]) => count === 1).map(([letter]) => letter);
    output = (left.includes('...') ? '...' : '') + single.sort().join('');
  }
  const shape: Shape = [];
  for (let char = 0; char < output.length; char++) {
    if (output.startsWith('...', char)) {
      if (!ellipsis) return undefined;
      shape.push(...ellipsis);
      char += 2;
      continue;
    }
    const dim = letters.get(output[char]!);
    if (dim === undefined) return undefined;
    shape.push(dim);
  }
  return shape;
}

const einsum: Inferrer = (context) => {
  const indices = context.node.inputs.map((_, index) => index);
  const shape = einsumShape(
    stringAttr(context.node, 'equation', ''),
    indices.map((index) => context.shape(index)),
  );
  context.setTensor(0, sharedElementType(context, indices), shape);
};

const det: Inferrer = (context) => {
  const input = context.shape(0);
  context.setTensor(0, context.elementType(0), input && input.length >= 2 ? input.slice(0, -2) : undefined);
};

export const matmulInferrers: Record<string, Inferrer> = {
  Det: det,
  Einsum: einsum,
  Gemm: gemm,
  MatMul: matmul,
};
