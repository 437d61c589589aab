import { type DataType, dataTypeName } from './data-type.js';

/** One dimension: a size, a symbolic name (`batch`, `?`), or null when nothing is known. */
export type Dimension = number | string | null;

export type ValueType =
  | {
      kind: 'tensor';
      elementType: DataType;
      /** undefined: the rank is unknown. */
      shape?: Dimension[];
      /** Optional ONNX denotations, kept for lossless writing. */
      denotation?: string;
      dimensionDenotations?: (string | undefined)[];
    }
  | {
      kind: 'sparse-tensor';
      elementType: DataType;
      shape?: Dimension[];
      denotation?: string;
      dimensionDenotations?: (string | undefined)[];
    }
  | { kind: 'sequence'; elementType?: ValueType; denotation?: string }
  | { kind: 'map'; keyType: DataType; valueType?: ValueType; denotation?: string }
  | { kind: 'optional'; elementType?: ValueType; denotation?: string }
  /** A type the IR does not model (kept as the format's own object so it round-trips). */
  | { kind: 'other'; payload: unknown; denotation?: string };

export function tensorType(elementType: DataType, shape?: Dimension[]): ValueType {
  return shape === undefined ? { kind: 'tensor', elementType } : { kind: 'tensor', elementType, shape };
}

export function formatDimension(dimension: Dimension): string {
  return dimension === null ? '?' : String(dimension);
}

/** `float32[1,3,?,?]`, `seq(float32[?])`, ... for reports. */
export function formatValueType(type: ValueType | undefined): string {
  if (type === undefined) return 'unknown';
  switch (type.kind) {
    case 'tensor':
    case 'sparse-tensor': {
      const prefix = type.kind === 'sparse-tensor' ? 'sparse ' : '';
      const shape = type.shape === undefined ? '' : `[${type.shape.map(formatDimension).join(',')}]`;
      return `${prefix}${dataTypeName(type.elementType)}${shape}`;
    }
    case 'sequence':
      return `seq(${formatValueType(type.elementType)})`;
    case 'map':
      return `map(${dataTypeName(type.keyType)}, ${formatValueType(type.valueType)})`;
    case 'optional':
      return `optional(${formatValueType(type.elementType)})`;
    case 'other':
      return 'other';
  }
}
