/**
 * Test-only: a small ModelProto built with onnx-proto that uses every message type and nearly every field onnx-proto
 * knows, plus the path of one message of each type inside it (and the JS object that message was encoded from).
 */
import onnxProto, { type onnx as O } from 'onnx-proto';
import type { OnnxMessageType } from './onnx-schema.js';
import { plain } from './test-support.js';

const { onnx } = onnxProto;
const AT = onnx.AttributeProto.AttributeType;
const FLOAT = onnx.TensorProto.DataType.FLOAT;

/** Encoders of every message type, by the names used in ONNX_SCHEMA. */
export const ENCODERS: Record<OnnxMessageType, { encode(message: never): { finish(): Uint8Array } }> = {
  ModelProto: onnx.ModelProto,
  GraphProto: onnx.GraphProto,
  NodeProto: onnx.NodeProto,
  AttributeProto: onnx.AttributeProto,
  TensorProto: onnx.TensorProto,
  'TensorProto.Segment': onnx.TensorProto.Segment,
  SparseTensorProto: onnx.SparseTensorProto,
  ValueInfoProto: onnx.ValueInfoProto,
  TypeProto: onnx.TypeProto,
  'TypeProto.Tensor': onnx.TypeProto.Tensor,
  'TypeProto.Sequence': onnx.TypeProto.Sequence,
  'TypeProto.Map': onnx.TypeProto.Map,
  'TypeProto.Optional': onnx.TypeProto.Optional,
  'TypeProto.SparseTensor': onnx.TypeProto.SparseTensor,
  TensorShapeProto: onnx.TensorShapeProto,
  'TensorShapeProto.Dimension': onnx.TensorShapeProto.Dimension,
  OperatorSetIdProto: onnx.OperatorSetIdProto,
  StringStringEntryProto: onnx.StringStringEntryProto,
  TensorAnnotation: onnx.TensorAnnotation,
  TrainingInfoProto: onnx.TrainingInfoProto,
  FunctionProto: onnx.FunctionProto,
};

export function encode(type: OnnxMessageType, message: object): Uint8Array {
  return plain(ENCODERS[type].encode(message as never).finish());
}

const dimN: O.TensorShapeProto.IDimension = { dimParam: 'N', denotation: 'DATA_BATCH' };
const shape: O.ITensorShapeProto = { dim: [{ dimValue: 3 }, dimN] };
const tensorType: O.TypeProto.ITensor = { elemType: FLOAT, shape };
const floatType: O.ITypeProto = { tensorType, denotation: 'TENSOR' };
const seqType: O.TypeProto.ISequence = { elemType: floatType };
const mapType: O.TypeProto.IMap = { keyType: 7, valueType: floatType };
const optType: O.TypeProto.IOptional = { elemType: floatType };
const sparseType: O.TypeProto.ISparseTensor = { elemType: FLOAT, shape };

const segment: O.TensorProto.ISegment = { begin: 0, end: 4 };
const entry: O.IStringStringEntryProto = { key: 'location', value: 'weights.bin' };
const initializers: O.ITensorProto[] = [
  { name: 'w0', dataType: FLOAT, dims: [2, 2], floatData: [1, 2, 3, 4], segment },
  { name: 'w1', dataType: FLOAT, dims: [4], dataLocation: 1, externalData: [entry, { key: 'offset', value: '0' }] },
  { name: 'w2', dataType: 6, dims: [3], int32Data: [-1, 0, 1], docString: 'ints' },
  { name: 'w3', dataType: FLOAT, dims: [2], rawData: new Uint8Array([0, 0, 128, 63, 0, 0, 0, 64]) },
  { name: 'w4', dataType: 7, dims: [2], int64Data: [5, -6] },
  { name: 'w5', dataType: 11, dims: [1], doubleData: [2.5] },
  { name: 'w6', dataType: 13, dims: [1], uint64Data: [7] },
  { name: 'w7', dataType: 8, dims: [1], stringData: [new Uint8Array([104, 105])] },
];
const sparseValues: O.ITensorProto = { name: 'sv', dataType: FLOAT, dims: [2], floatData: [1, 2] };
const sparse: O.ISparseTensorProto = {
  values: sparseValues,
  indices: { name: 'si', dataType: 7, dims: [2], int64Data: [0, 3] },
  dims: [4],
};

const thenNode: O.INodeProto = { name: 'then0', opType: 'Identity', input: ['x'], output: ['t'] };
const thenBranch: O.IGraphProto = {
  name: 'then',
  node: [thenNode],
  output: [{ name: 't', type: floatType }],
};
const elseBranch: O.IGraphProto = { name: 'else', node: [{ opType: 'Neg', input: ['x'], output: ['e'] }] };
const ifThen: O.IAttributeProto = { name: 'then_branch', type: AT.GRAPH, g: thenBranch };
const tpAttr: O.IAttributeProto = { name: 'tp', type: AT.TYPE_PROTO, tp: floatType };

const nodes: O.INodeProto[] = [
  { name: 'n0', opType: 'Relu', input: ['x'], output: ['a'], docString: 'relu', domain: '' },
  {
    name: 'n1',
    opType: 'Custom',
    domain: 'com.example',
    input: ['a'],
    output: ['b'],
    attribute: [
      { name: 'alpha', type: AT.FLOAT, f: 0.5, docString: 'scale' },
      { name: 'axis', type: AT.INT, i: -1 },
      { name: 'mode', type: AT.STRING, s: new Uint8Array([120]) },
      { name: 'kernel', type: AT.INTS, ints: [3, 3] },
      { name: 'weights', type: AT.FLOATS, floats: [0.25, 0.75] },
      { name: 'names', type: AT.STRINGS, strings: [new Uint8Array([97]), new Uint8Array([98])] },
      { name: 'tensor', type: AT.TENSOR, t: initializers[0] },
      { name: 'tensors', type: AT.TENSORS, tensors: [initializers[2]!, initializers[3]!] },
      tpAttr,
      { name: 'tps', type: AT.TYPE_PROTOS, typeProtos: [floatType, { sequenceType: seqType }] },
      { name: 'sparse', type: AT.SPARSE_TENSOR, sparseTensor: sparse },
      { name: 'sparses', type: AT.SPARSE_TENSORS, sparseTensors: [sparse] },
    ],
  },
  {
    name: 'n2',
    opType: 'If',
    input: ['cond'],
    output: ['c'],
    attribute: [
      ifThen,
      { name: 'else_branch', type: AT.GRAPH, g: elseBranch },
      { name: 'bodies', type: AT.GRAPHS, graphs: [thenBranch, elseBranch] },
    ],
  },
];

const annotation: O.ITensorAnnotation = {
  tensorName: 'a',
  quantParameterTensorNames: [{ key: 'SCALE', value: 's' }],
};
const graphInput: O.IValueInfoProto = { name: 'x', type: floatType, docString: 'input' };
const valueInfo: O.IValueInfoProto[] = [
  { name: 'seq', type: { sequenceType: seqType } },
  { name: 'map', type: { mapType } },
  { name: 'opt', type: { optionalType: optType } },
  { name: 'sp', type: { sparseTensorType: sparseType } },
];
const graph: O.IGraphProto = {
  name: 'main',
  node: nodes,
  initializer: initializers,
  sparseInitializer: [sparse],
  docString: 'main graph',
  input: [graphInput, { name: 'cond', type: { tensorType: { elemType: 9 } } }],
  output: [{ name: 'c', type: floatType }],
  valueInfo,
  quantizationAnnotation: [annotation],
};

const trainingInit: O.IGraphProto = { name: 'init', node: [{ opType: 'Constant', output: ['z'] }] };
const training: O.ITrainingInfoProto = {
  initialization: trainingInit,
  algorithm: { name: 'algo', node: [{ opType: 'Add', input: ['w0', 'w0'], output: ['w0_new'] }] },
  initializationBinding: [{ key: 'w0', value: 'z' }],
  updateBinding: [{ key: 'w0', value: 'w0_new' }],
};
const functionNode: O.INodeProto = {
  opType: 'Mul',
  input: ['X', 'X'],
  output: ['Y'],
  attribute: [{ name: 'alpha', type: AT.FLOAT, refAttrName: 'alpha' }],
};
const opset: O.IOperatorSetIdProto = { domain: '', version: 15 };
const functions: O.IFunctionProto[] = [
  {
    name: 'Square',
    domain: 'com.example',
    input: ['X'],
    output: ['Y'],
    attribute: ['alpha'],
    node: [functionNode],
    docString: 'squares',
    opsetImport: [opset],
  },
  { name: 'Twice', domain: 'com.example', input: ['X'], output: ['Y'], node: [{ opType: 'Add', input: ['X', 'X'] }] },
];
const metadata: O.IStringStringEntryProto = { key: 'author', value: 'whittle' };

export const richModel: O.IModelProto = {
  irVersion: 8,
  opsetImport: [opset, { domain: 'com.example', version: 1 }],
  producerName: 'whittle-tests',
  producerVersion: '0.0.0',
  domain: 'dev.whittle',
  modelVersion: 3,
  docString: 'every field onnx-proto knows',
  graph,
  metadataProps: [metadata],
  trainingInfo: [training],
  functions,
};

export const richModelBytes: Uint8Array = encode('ModelProto', richModel);

/** One message of every type inside richModel: [path, type, the object it was encoded from]. */
export const RICH_PATHS: Array<[path: string, type: OnnxMessageType, message: object]> = [
  ['', 'ModelProto', richModel],
  ['7:0', 'GraphProto', graph],
  ['7:0/1:0', 'NodeProto', nodes[0]!],
  ['7:0/1:2', 'NodeProto', nodes[2]!],
  ['7:0/1:2/5:0', 'AttributeProto', ifThen],
  ['7:0/1:2/5:0/6:0', 'GraphProto', thenBranch],
  ['7:0/1:2/5:0/6:0/1:0', 'NodeProto', thenNode],
  ['7:0/1:2/5:2/11:1', 'GraphProto', elseBranch],
  ['7:0/1:1/5:6/5:0', 'TensorProto', initializers[0]!],
  ['7:0/1:1/5:7/10:1', 'TensorProto', initializers[3]!],
  ['7:0/1:1/5:8', 'AttributeProto', tpAttr],
  ['7:0/1:1/5:8/14:0', 'TypeProto', floatType],
  ['7:0/1:1/5:9/15:1/4:0', 'TypeProto.Sequence', seqType],
  ['7:0/1:1/5:10/22:0', 'SparseTensorProto', sparse],
  ['7:0/1:1/5:11/23:0/1:0', 'TensorProto', sparseValues],
  ['7:0/5:0/3:0', 'TensorProto.Segment', segment],
  ['7:0/5:1/13:0', 'StringStringEntryProto', entry],
  ['7:0/5:3', 'TensorProto', initializers[3]!],
  ['7:0/5:7', 'TensorProto', initializers[7]!],
  ['7:0/15:0', 'SparseTensorProto', sparse],
  ['7:0/15:0/2:0', 'TensorProto', sparse.indices!],
  ['7:0/11:0', 'ValueInfoProto', graphInput],
  ['7:0/11:0/2:0', 'TypeProto', floatType],
  ['7:0/11:0/2:0/1:0', 'TypeProto.Tensor', tensorType],
  ['7:0/11:0/2:0/1:0/2:0', 'TensorShapeProto', shape],
  ['7:0/11:0/2:0/1:0/2:0/1:1', 'TensorShapeProto.Dimension', dimN],
  ['7:0/13:0/2:0/4:0', 'TypeProto.Sequence', seqType],
  ['7:0/13:1/2:0/5:0', 'TypeProto.Map', mapType],
  ['7:0/13:1/2:0/5:0/2:0', 'TypeProto', floatType],
  ['7:0/13:2/2:0/9:0', 'TypeProto.Optional', optType],
  ['7:0/13:3/2:0/8:0', 'TypeProto.SparseTensor', sparseType],
  ['7:0/13:3/2:0/8:0/2:0/1:0', 'TensorShapeProto.Dimension', { dimValue: 3 }],
  ['7:0/14:0', 'TensorAnnotation', annotation],
  ['7:0/14:0/2:0', 'StringStringEntryProto', { key: 'SCALE', value: 's' }],
  ['8:1', 'OperatorSetIdProto', { domain: 'com.example', version: 1 }],
  ['14:0', 'StringStringEntryProto', metadata],
  ['20:0', 'TrainingInfoProto', training],
  ['20:0/1:0', 'GraphProto', trainingInit],
  ['20:0/4:0', 'StringStringEntryProto', { key: 'w0', value: 'w0_new' }],
  ['25:0', 'FunctionProto', functions[0]!],
  ['25:0/7:0', 'NodeProto', functionNode],
  ['25:0/7:0/5:0', 'AttributeProto', functionNode.attribute![0]!],
  ['25:0/9:0', 'OperatorSetIdProto', opset],
  ['25:1', 'FunctionProto', functions[1]!],
];
