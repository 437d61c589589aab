export { encodeVarint, lengthDelimitedHeader, varintSize } from './encode-field.js';
export { WireFormatError } from './errors.js';
export { knownFieldNumbers, ONNX_SCHEMA, type OnnxMessageSchema, type OnnxMessageType } from './onnx-schema.js';
export { type PathSegment, parsePath, pathOf } from './path.js';
export { fieldSlices, messageAt, scanUnknownFields, type UnknownFieldScan, type UnknownFields } from './scan.js';
