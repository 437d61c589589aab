export {
  type Attribute,
  type AttributeType,
  type AttributeValue,
  decodeAttributeString,
  type Int64,
  int64ToNumber,
  stringAttribute,
} from './attribute.js';
export { type AttributeShorthand, type BuilderNodeOptions, GraphBuilder, toAttribute } from './builder.js';
export * from './codecs/index.js';
export { byteLengthOf, DataType, type DataTypeInfo, dataTypeInfo, dataTypeName, isKnownDataType } from './data-type.js';
export { Graph } from './graph.js';
export { type MetadataEntry, Model, type OpsetImport } from './model.js';
export { NameGenerator } from './names.js';
export { Node, type NodeInit } from './node.js';
export {
  bitsOf,
  BytesData,
  elementCountOf,
  LazyData,
  type NumericArray,
  StringData,
  Tensor,
  type TensorData,
  type TensorInit,
  typedArrayConstructorOf,
} from './tensor.js';
export { isTopologicallySorted, outerValuesUsedBy, topologicalOrder } from './traversal.js';
export { type Use, Value } from './value.js';
export { type Dimension, formatDimension, formatValueType, tensorType, type ValueType } from './value-type.js';
export { VerifierCodes, type VerifyOptions, verifyModel } from './verifier.js';
export * from './kernels/index.js';
