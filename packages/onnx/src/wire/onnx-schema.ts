/**
 * The field numbers that `onnx-proto` 8.0.1 (protobufjs static code generated from ONNX 1.10.2's onnx.proto3) knows,
 * per message type, and for sub-message fields the message type they hold. Anything else in a serialized model is
 * silently dropped by onnx-proto's decoder, which is what the wire scanner looks for.
 *
 * Transcribed from the `case N:` blocks of each type's `decode` function in `onnx-proto/dist/onnx.js`;
 * `onnx-schema.test.ts` re-derives it from that file so the table cannot drift from the installed package.
 */

export type OnnxMessageType =
  | 'ModelProto'
  | 'GraphProto'
  | 'NodeProto'
  | 'AttributeProto'
  | 'TensorProto'
  | 'TensorProto.Segment'
  | 'SparseTensorProto'
  | 'ValueInfoProto'
  | 'TypeProto'
  | 'TypeProto.Tensor'
  | 'TypeProto.Sequence'
  | 'TypeProto.Map'
  | 'TypeProto.Optional'
  | 'TypeProto.SparseTensor'
  | 'TensorShapeProto'
  | 'TensorShapeProto.Dimension'
  | 'OperatorSetIdProto'
  | 'StringStringEntryProto'
  | 'TensorAnnotation'
  | 'TrainingInfoProto'
  | 'FunctionProto';

export interface OnnxMessageSchema {
  /** Known fields that are not sub-messages (scalars, strings, bytes, packed or unpacked repeated numbers). */
  readonly scalars: readonly number[];
  /** Known sub-message fields (singular or repeated) and the message type each holds. */
  readonly messages: Readonly<Record<number, OnnxMessageType>>;
}

export const ONNX_SCHEMA: Readonly<Record<OnnxMessageType, OnnxMessageSchema>> = {
  ModelProto: {
    // ir_version, producer_name, producer_version, domain, model_version, doc_string
    scalars: [1, 2, 3, 4, 5, 6],
    messages: {
      7: 'GraphProto', // graph
      8: 'OperatorSetIdProto', // opset_import
      14: 'StringStringEntryProto', // metadata_props
      20: 'TrainingInfoProto', // training_info
      25: 'FunctionProto', // functions
    },
  },
  GraphProto: {
    // name, doc_string
    scalars: [2, 10],
    messages: {
      1: 'NodeProto', // node
      5: 'TensorProto', // initializer
      11: 'ValueInfoProto', // input
      12: 'ValueInfoProto', // output
      13: 'ValueInfoProto', // value_info
      14: 'TensorAnnotation', // quantization_annotation
      15: 'SparseTensorProto', // sparse_initializer
    },
  },
  NodeProto: {
    // input, output, name, op_type, doc_string, domain
    scalars: [1, 2, 3, 4, 6, 7],
    messages: {
      5: 'AttributeProto', // attribute
    },
  },
  AttributeProto: {
    // name, f, i, s, floats, ints, strings, doc_string, type, ref_attr_name
    scalars: [1, 2, 3, 4, 7, 8, 9, 13, 20, 21],
    messages: {
      5: 'TensorProto', // t
      6: 'GraphProto', // g
      10: 'TensorProto', // tensors
      11: 'GraphProto', // graphs
      14: 'TypeProto', // tp
      15: 'TypeProto', // type_protos
      22: 'SparseTensorProto', // sparse_tensor
      23: 'SparseTensorProto', // sparse_tensors
    },
  },
  TensorProto: {
    // dims, data_type, float_data, int32_data, string_data, int64_data, name, raw_data, double_data, uint64_data,
    // doc_string, data_location
    scalars: [1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14],
    messages: {
      3: 'TensorProto.Segment', // segment
      13: 'StringStringEntryProto', // external_data
    },
  },
  'TensorProto.Segment': {
    // begin, end
    scalars: [1, 2],
    messages: {},
  },
  SparseTensorProto: {
    // dims
    scalars: [3],
    messages: {
      1: 'TensorProto', // values
      2: 'TensorProto', // indices
    },
  },
  ValueInfoProto: {
    // name, doc_string
    scalars: [1, 3],
    messages: {
      2: 'TypeProto', // type
    },
  },
  TypeProto: {
    // denotation
    scalars: [6],
    messages: {
      1: 'TypeProto.Tensor', // tensor_type
      4: 'TypeProto.Sequence', // sequence_type
      5: 'TypeProto.Map', // map_type
      8: 'TypeProto.SparseTensor', // sparse_tensor_type
      9: 'TypeProto.Optional', // optional_type
    },
  },
  'TypeProto.Tensor': {
    // elem_type
    scalars: [1],
    messages: {
      2: 'TensorShapeProto', // shape
    },
  },
  'TypeProto.Sequence': {
    scalars: [],
    messages: {
      1: 'TypeProto', // elem_type
    },
  },
  'TypeProto.Map': {
    // key_type
    scalars: [1],
    messages: {
      2: 'TypeProto', // value_type
    },
  },
  'TypeProto.Optional': {
    scalars: [],
    messages: {
      1: 'TypeProto', // elem_type
    },
  },
  'TypeProto.SparseTensor': {
    // elem_type
    scalars: [1],
    messages: {
      2: 'TensorShapeProto', // shape
    },
  },
  TensorShapeProto: {
    scalars: [],
    messages: {
      1: 'TensorShapeProto.Dimension', // dim
    },
  },
  'TensorShapeProto.Dimension': {
    // dim_value, dim_param, denotation
    scalars: [1, 2, 3],
    messages: {},
  },
  OperatorSetIdProto: {
    // domain, version
    scalars: [1, 2],
    messages: {},
  },
  StringStringEntryProto: {
    // key, value
    scalars: [1, 2],
    messages: {},
  },
  TensorAnnotation: {
    // tensor_name
    scalars: [1],
    messages: {
      2: 'StringStringEntryProto', // quant_parameter_tensor_names
    },
  },
  TrainingInfoProto: {
    scalars: [],
    messages: {
      1: 'GraphProto', // initialization
      2: 'GraphProto', // algorithm
      3: 'StringStringEntryProto', // initialization_binding
      4: 'StringStringEntryProto', // update_binding
    },
  },
  FunctionProto: {
    // name, input, output, attribute, doc_string, domain
    scalars: [1, 4, 5, 6, 8, 10],
    messages: {
      7: 'NodeProto', // node
      9: 'OperatorSetIdProto', // opset_import
    },
  },
};

/** The message type of a serialized model file. */
export const ROOT_MESSAGE_TYPE: OnnxMessageType = 'ModelProto';

/** All field numbers onnx-proto knows for a message type, sorted. */
export function knownFieldNumbers(type: OnnxMessageType): number[] {
  const schema = ONNX_SCHEMA[type];
  return [...schema.scalars, ...Object.keys(schema.messages).map(Number)].sort((a, b) => a - b);
}
