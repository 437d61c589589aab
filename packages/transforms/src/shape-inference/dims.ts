/**
 * Arithmetic on dimensions: numbers are sizes, strings are symbolic sizes (two equal names are equal sizes), null is
 * unknown. Every helper answers null rather than guess.
 */
import type { Dimension } from '@whittle/ir';

export type Shape = Dimension[];

export const isKnown = (dim: Dimension | undefined): dim is number => typeof dim === 'number';

/** True when every dim is a number. */
export function isStatic(shape: readonly Dimension[] | undefined): shape is number[] {
  return shape?.every(isKnown) === true;
}

/** Two dims that must be equal (both describe one size): the more precise of them. */
export function unifyDim(a: Dimension | undefined, b: Dimension | undefined): Dimension {
  if (typeof a === 'number') return a;
  if (typeof b === 'number') return b;
  return a ?? b ?? null;
}

/** What two dims that may differ have in common (If branches, loop iterations): the dim when equal, else null. */
export function joinDim(a: Dimension | undefined, b: Dimension | undefined): Dimension {
  return a !== undefined && a === b ? a : null;
}

export function joinShapes(
  a: readonly Dimension[] | undefined,
  b: readonly Dimension[] | undefined,
): Shape | undefined {
  if (a === undefined || b === undefined || a.length !== b.length) return undefined;
  return a.map((dim, index) => joinDim(dim, b[index]));
}

/** Unify two shapes known to be equal; undefined when ranks differ or either is unknown and the other too. */
export function unifyShapes(
  a: readonly Dimension[] | undefined,
  b: readonly Dimension[] | undefined,
): Shape | undefined {
  if (a === undefined) return b ? [...b] : undefined;
  if (b === undefined || a.length !== b.length) return [...a];
  return a.map((dim, index) => unifyDim(dim, b[index]));
}

/** Numpy broadcasting of two dims. */
export function broadcastDim(a: Dimension, b: Dimension): Dimension {
  if (a === 1) return b;
  if (b === 1) return a;
  if (typeof a === 'number' && typeof b === 'number') return a === b ? a : null;
  if (typeof a === 'number') return a; // b is a symbol or unknown: it is 1 or a
  if (typeof b === 'number') return b;
  if (a !== null && a === b) return a;
  return null;
}

/** Numpy (multidirectional) broadcasting; undefined when any rank is unknown. */
export function broadcastShapes(shapes: readonly (readonly Dimension[] | undefined)[]): Shape | undefined {
  if (shapes.length === 0) return undefined;
  if (shapes.some((shape) => shape === undefined)) return undefined;
  const known = shapes as readonly (readonly Dimension[])[];
  const rank = Math.max(...known.map((shape) => shape.length));
  const result: Shape = [];
  for (let position = 0; position < rank; position++) {
    let dim: Dimension = 1;
    for (const shape of known) {
      const index = shape.length - rank + position;
      if (index < 0) continue;
      dim = broadcastDim(dim, shape[index]!);
    }
    result.push(dim);
  }
  return result;
}

export function multiplyDims(a: Dimension, b: Dimension): Dimension {
  if (a === 1) return b;
  if (b === 1) return a;
  if (a === 0 || b === 0) return 0;
  return typeof a === 'number' && typeof b === 'number' ? a * b : null;
}

export function addDims(a: Dimension, b: Dimension): Dimension {
  if (a === 0) return b;
  if (b === 0) return a;
  return typeof a === 'number' && typeof b === 'number' ? a + b : null;
}

export function productOf(dims: readonly Dimension[]): Dimension {
  let product: Dimension = 1;
  for (const dim of dims) product = multiplyDims(product, dim);
  return product;
}

/** An axis in [-rank, rank) as an index in [0, rank), or undefined when out of range or the rank is unknown. */
export function normalizeAxis(axis: number, rank: number | undefined): number | undefined {
  if (rank === undefined || !Number.isInteger(axis)) return undefined;
  const normalized = axis < 0 ? axis + rank : axis;
  return normalized >= 0 && normalized < rank ? normalized : undefined;
}

/** Every axis normalized, or undefined when one is out of range or repeated. */
export function normalizeAxes(axes: readonly number[], rank: number | undefined): number[] | undefined {
  const result: number[] = [];
  for (const axis of axes) {
    const normalized = normalizeAxis(axis, rank);
    if (normalized === undefined || result.includes(normalized)) return undefined;
    result.push(normalized);
  }
  return result;
}

/**
 * Start and length of a slice of a dim of size `size` (ONNX Slice semantics: negative indices count from the end,
 * then clamp to the dim; a negative step walks backwards).
 */
export function sliceRange(size: number, start: number, end: number, step: number): { start: number; length: number } {
  if (step === 0 || !Number.isFinite(step)) return { start: 0, length: 0 };
  let first = start < 0 ? start + size : start;
  let last = end < 0 ? end + size : end;
  if (step > 0) {
    first = Math.min(Math.max(first, 0), size);
    last = Math.min(Math.max(last, 0), size);
    return { start: first, length: Math.max(0, Math.ceil((last - first) / step)) };
  }
  first = Math.min(Math.max(first, 0), size - 1);
  last = Math.min(Math.max(last, -1), size - 1);
  return { start: first, length: Math.max(0, Math.ceil((last - first) / step)) };
}

/** Integer division for sizes, or null when either side is unknown or the division is not exact. */
export function divideDim(a: Dimension, b: Dimension): Dimension {
  if (b === 1) return a;
  if (typeof a === 'number' && typeof b === 'number' && b !== 0 && a % b === 0) return a / b;
  return null;
}

/** Why shapes cannot broadcast (two different sizes, neither 1, in one position), or undefined. */
export function broadcastConflict(shapes: readonly (readonly Dimension[] | undefined)[]): string | undefined {
  const known = shapes.filter((shape): shape is readonly Dimension[] => shape !== undefined);
  if (known.length < 2) return undefined;
  const rank = Math.max(...known.map((shape) => shape.length));
  for (let position = 1; position <= rank; position++) {
    let size: number | undefined;
    for (const shape of known) {
      const dim = shape[shape.length - position];
      if (typeof dim !== 'number' || dim === 1) continue;
      if (size !== undefined && size !== dim) {
        return `shapes ${known.map(formatShape).join(' and ')} do not broadcast`;
      }
      size = dim;
    }
  }
  return undefined;
}

export function formatShape(shape: readonly Dimension[] | undefined): string {
  return shape ? `[${shape.map((dim) => (dim === null ? '?' : String(dim))).join(',')}]` : '[...]';
}
