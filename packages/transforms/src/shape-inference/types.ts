/** Comparing, refining and joining value types. */
import { DataType, type Dimension, type ValueType } from '@whittle/ir';
import { joinShapes } from './dims.js';

/** An `other` type with nothing in it (an empty TypeProto) says nothing: treat it as no type. */
export function usableType(type: ValueType | undefined): ValueType | undefined {
  if (type?.kind === 'other') {
    const payload = type.payload;
    const empty =
      payload === null ||
      payload === undefined ||
      (typeof payload === 'object' &&
        Object.entries(payload as Record<string, unknown>).every(
          ([key, value]) => key === 'denotation' || value === undefined || value === null,
        ));
    return empty ? undefined : type;
  }
  return type;
}

export function typeEquals(a: ValueType | undefined, b: ValueType | undefined): boolean {
  return deepEqual(a, b);
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const other = b as unknown[];
    return a.length === other.length && a.every((item, index) => deepEqual(item, other[index]));
  }
  const left = Object.entries(a as Record<string, unknown>).filter(([, value]) => value !== undefined);
  const right = Object.entries(b as Record<string, unknown>).filter(([, value]) => value !== undefined);
  if (left.length !== right.length) return false;
  const rightMap = new Map(right);
  return left.every(([key, value]) => rightMap.has(key) && deepEqual(value, rightMap.get(key)));
}

export interface Refined {
  type: ValueType | undefined;
  /** Why the inferred type contradicts the existing one (the existing type is kept). */
  conflict?: string;
}

function refineDims(
  existing: readonly Dimension[],
  inferred: readonly Dimension[],
): { shape: Dimension[]; conflict?: string } {
  if (existing.length !== inferred.length) {
    return { shape: [...existing], conflict: `rank ${existing.length} declared, ${inferred.length} inferred` };
  }
  const shape: Dimension[] = [];
  for (let index = 0; index < existing.length; index++) {
    const declared = existing[index]!;
    const found = inferred[index]!;
    if (typeof declared === 'number') {
      if (typeof found === 'number' && found !== declared) {
        return { shape: [...existing], conflict: `dim ${index} is ${declared} declared, ${found} inferred` };
      }
      shape.push(declared);
    } else if (typeof found === 'number') shape.push(found);
    else shape.push(declared ?? found);
  }
  return { shape };
}

/**
 * Existing type facts refined by inferred ones: existing facts are never dropped; an inferred fact fills what the
 * existing type leaves open (unknown rank, unknown or symbolic dim, unknown element type). A contradiction keeps
 * the existing type and says why.
 */
export function refineType(existing: ValueType | undefined, inferred: ValueType | undefined): Refined {
  existing = usableType(existing);
  if (!inferred) return { type: existing };
  if (!existing) return { type: inferred };
  if (existing.kind === 'other') return { type: existing };
  if (existing.kind !== inferred.kind) {
    return { type: existing, conflict: `a ${existing.kind} is declared, a ${inferred.kind} inferred` };
  }
  switch (existing.kind) {
    case 'tensor':
    case 'sparse-tensor': {
      const found = inferred as typeof existing;
      let elementType = existing.elementType;
      if (elementType === DataType.UNDEFINED) elementType = found.elementType;
      else if (found.elementType !== DataType.UNDEFINED && found.elementType !== elementType) {
        return {
          type: existing,
          conflict: `element type ${existing.elementType} declared, ${found.elementType} inferred`,
        };
      }
      let shape = existing.shape;
      if (shape === undefined) shape = found.shape ? [...found.shape] : undefined;
      else if (found.shape !== undefined) {
        const refined = refineDims(shape, found.shape);
        if (refined.conflict) return { type: existing, conflict: refined.conflict };
        shape = refined.shape;
      }
      const result = { ...existing, elementType };
      if (shape === undefined) delete result.shape;
      else result.shape = shape;
      return { type: result };
    }
    case 'sequence':
    case 'optional': {
      const found = inferred as typeof existing;
      const inner = refineType(existing.elementType, found.elementType);
      if (inner.conflict) return { type: existing, conflict: inner.conflict };
      return { type: inner.type ? { ...existing, elementType: inner.type } : existing };
    }
    default:
      return { type: existing };
  }
}

/** What two types that may each occur have in common (If branches, loop iterations). */
export function joinTypes(a: ValueType | undefined, b: ValueType | undefined): ValueType | undefined {
  if (!a || !b) {
    const known = a ?? b;
    // Both branches have one element type: keep it, drop the shape of the branch that is known.
    if (known?.kind === 'tensor') return { kind: 'tensor', elementType: known.elementType };
    return undefined;
  }
  if (a.kind !== b.kind) return undefined;
  switch (a.kind) {
    case 'tensor':
    case 'sparse-tensor': {
      const other = b as typeof a;
      const elementType = a.elementType === other.elementType ? a.elementType : DataType.UNDEFINED;
      const shape = joinShapes(a.shape, other.shape);
      return (shape ? { kind: a.kind, elementType, shape } : { kind: a.kind, elementType }) as ValueType;
    }
    case 'sequence':
    case 'optional': {
      const other = b as typeof a;
      const inner = joinTypes(a.elementType, other.elementType);
      return inner ? { kind: a.kind, elementType: inner } : { kind: a.kind };
    }
    default:
      return typeEquals(a, b) ? a : undefined;
  }
}

/** The type as it may be written to a file: element types known all the way down; else undefined. */
export function committableType(type: ValueType | undefined): ValueType | undefined {
  if (!type) return undefined;
  switch (type.kind) {
    case 'tensor':
    case 'sparse-tensor':
      return type.elementType === DataType.UNDEFINED ? undefined : type;
    case 'sequence':
    case 'optional':
      return type.elementType && committableType(type.elementType) === type.elementType ? type : undefined;
    case 'map':
      return type.valueType && committableType(type.valueType) === type.valueType ? type : undefined;
    default:
      return undefined;
  }
}

/** True when the type is a tensor with a known element type and every dim a number. */
export function isFullyStatic(type: ValueType | undefined): boolean {
  return (
    type?.kind === 'tensor' &&
    type.elementType !== DataType.UNDEFINED &&
    type.shape?.every((dim) => typeof dim === 'number') === true
  );
}
