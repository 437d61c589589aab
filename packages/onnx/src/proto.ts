/** The one place that imports the protobuf module (CommonJS, so it comes in as a default export). */
import onnxProto from 'onnx-proto';

export const onnx = onnxProto.onnx;
export type { onnx as OnnxTypes } from 'onnx-proto';
