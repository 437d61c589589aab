import type { DataType, Dimension, ValueType } from '@whittle/ir';
import { type LongLike, longToNumber } from './int64.js';
import type { OnnxTypes } from './proto.js';

function shapeFromProto(shape: OnnxTypes.ITensorShapeProto | null | undefined) {
  if (!shape) return {};
  const dims = shape.dim ?? [];
  const dimensions: Dimension[] = dims.map((dim) => {
    if (dim.dimValue !== null && dim.dimValue !== undefined && Object.hasOwn(dim, 'dimValue')) {
      return longToNumber(dim.dimValue as LongLike);
    }
    if (dim.dimParam !== null && dim.dimParam !== undefined && Object.hasOwn(dim, 'dimParam')) return dim.dimParam;
    return null;
  });
  const denotations = dims.map((dim) => dim.denotation || undefined);
  return denotations.some((entry) => entry !== undefined)
    ? { shape: dimensions, dimensionDenotations: denotations }
    : { shape: dimensions };
}

function shapeToProto(shape: Dimension[] | undefined, denotations: (string | undefined)[] | undefined) {
  if (shape === undefined) return undefined;
  return {
    dim: shape.map((dimension, index) => {
      const dim: OnnxTypes.TensorShapeProto.IDimension = {};
      if (typeof dimension === 'number') dim.dimValue = dimension;
      else if (typeof dimension === 'string') dim.dimParam = dimension;
      const denotation = denotations?.[index];
      if (denotation) dim.denotation = denotation;
      return dim;
    }),
  };
}

export function valueTypeFromProto(proto: OnnxTypes.ITypeProto | null | undefined): ValueType | undefined {
  if (!proto) return undefined;
  const denotation = proto.denotation ? { denotation: proto.denotation } : {};
  if (proto.tensorType) {
    return {
      kind: 'tensor',
      elementType: (proto.tensorType.elemType ?? 0) as DataType,
      ...shapeFromProto(proto.tensorType.shape),
      ...denotation,
    };
  }
  if (proto.sparseTensorType) {
    return {
      kind: 'sparse-tensor',
      elementType: (proto.sparseTensorType.elemType ?? 0) as DataType,
      ...shapeFromProto(proto.sparseTensorType.shape),
      ...denotation,
    };
  }
  if (proto.sequenceType) {
    const elementType = valueTypeFromProto(proto.sequenceType.elemType);
    return { kind: 'sequence', ...(elementType ? { elementType } : {}), ...denotation };
  }
  if (proto.mapType) {
    const valueType = valueTypeFromProto(proto.mapType.valueType);
    return {
      kind: 'map',
      keyType: (proto.mapType.keyType ?? 0) as DataType,
      ...(valueType ? { valueType } : {}),
      ...denotation,
    };
  }
  if (proto.optionalType) {
    const elementType = valueTypeFromProto(proto.optionalType.elemType);
    return { kind: 'optional', ...(elementType ? { elementType } : {}), ...denotation };
  }
  return { kind: 'other', payload: proto, ...denotation };
}

export function valueTypeToProto(type: ValueType): OnnxTypes.ITypeProto {
  const proto: OnnxTypes.ITypeProto = {};
  if (type.denotation) proto.denotation = type.denotation;
  switch (type.kind) {
    case 'tensor':
    case 'sparse-tensor': {
      const inner: OnnxTypes.TypeProto.ITensor = { elemType: type.elementType };
      const shape = shapeToProto(type.shape, type.dimensionDenotations);
      if (shape) inner.shape = shape;
      if (type.kind === 'tensor') proto.tensorType = inner;
      else proto.sparseTensorType = inner;
      return proto;
    }
    case 'sequence':
      proto.sequenceType = type.elementType ? { elemType: valueTypeToProto(type.elementType) } : {};
      return proto;
    case 'map':
      proto.mapType = {
        keyType: type.keyType,
        ...(type.valueType ? { valueType: valueTypeToProto(type.valueType) } : {}),
      };
      return proto;
    case 'optional':
      proto.optionalType = type.elementType ? { elemType: valueTypeToProto(type.elementType) } : {};
      return proto;
    case 'other':
      return { ...(type.payload as OnnxTypes.ITypeProto), ...(type.denotation ? { denotation: type.denotation } : {}) };
  }
}
