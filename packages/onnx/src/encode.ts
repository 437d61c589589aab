import type { Attribute, Graph, Model, Node, Tensor, Value } from '@whittle/ir';
import { CarriedKeys } from './decode.js';
import { int64ToLong } from './int64.js';
import { onnx, type OnnxTypes } from './proto.js';
import { EXTERNAL_KEY, type ExternalReference, tensorToProto, usesRawData } from './tensor-proto.js';
import { valueTypeToProto } from './type-proto.js';
import { lengthDelimitedHeader } from './wire/index.js';

/**
 * A serialized model as a list of pieces: small encoded messages and, for large tensors, the tensor's own bytes
 * (views, or loaded on demand). Writing the pieces in order streams a model without assembling it in memory.
 */
export type Piece = Uint8Array | { readonly byteLength: number; load(): Uint8Array };

export interface EncodedMessage {
  readonly pieces: Piece[];
  readonly byteLength: number;
}

/** Where each tensor that goes to an external file is placed. */
export type ExternalPlacement = ReadonlyMap<Tensor, ExternalReference>;

export interface EncodeOptions {
  /** Tensors to write as references into an external file, and where. */
  external?: ExternalPlacement;
  /**
   * Tensors read from external data and not changed since keep pointing at their original file (default true).
   * The file writer turns this off, as it writes the external data itself.
   */
  keepExternalReferences?: boolean;
}

/** The original external reference of a tensor whose data has not been replaced since it was read. */
function unchangedExternalReference(tensor: Tensor): ExternalReference | undefined {
  const reference = tensor.carried[EXTERNAL_KEY] as ExternalReference | undefined;
  return reference && tensor.data.kind === 'external' ? reference : undefined;
}

class PieceList implements EncodedMessage {
  readonly pieces: Piece[] = [];
  byteLength = 0;
  add(piece: Piece): void {
    if (piece.byteLength === 0) return;
    this.pieces.push(piece);
    this.byteLength += piece.byteLength;
  }
  /** A length-delimited sub-message field. */
  addMessage(field: number, message: EncodedMessage): void {
    this.add(lengthDelimitedHeader(field, message.byteLength));
    for (const piece of message.pieces) this.add(piece);
  }
  addUnknown(carried: Record<string, unknown> | undefined): void {
    const unknown = carried?.[CarriedKeys.unknownFields] as Uint8Array[] | undefined;
    for (const field of unknown ?? []) this.add(field);
  }
}

/** Encode a model into pieces; see `Piece`. */
export function encodeModelPieces(model: Model, options: EncodeOptions = {}): EncodedMessage {
  const list = new PieceList();
  const head: OnnxTypes.IModelProto = {};
  if (model.irVersion) head.irVersion = model.irVersion;
  if (model.producerName) head.producerName = model.producerName;
  if (model.producerVersion) head.producerVersion = model.producerVersion;
  if (model.domain) head.domain = model.domain;
  if (model.modelVersion) head.modelVersion = model.modelVersion;
  if (model.docString) head.docString = model.docString;
  list.add(onnx.ModelProto.encode(head).finish());
  list.addMessage(7, encodeGraph(model.graph, options));
  const tail: OnnxTypes.IModelProto = {};
  if (model.opsetImports.length > 0) {
    tail.opsetImport = model.opsetImports.map((entry) => ({
      ...(entry.domain ? { domain: entry.domain } : {}),
      version: entry.version,
    }));
  }
  if (model.metadata.length > 0)
    tail.metadataProps = model.metadata.map((entry) => ({ key: entry.key, value: entry.value }));
  list.add(onnx.ModelProto.encode(tail).finish());
  for (const field of (model.carried[CarriedKeys.trainingInfo] as Uint8Array[] | undefined) ?? []) list.add(field);
  for (const field of (model.carried[CarriedKeys.functions] as Uint8Array[] | undefined) ?? []) list.add(field);
  list.addUnknown(model.carried);
  return list;
}

/** Encode a model into one buffer. */
export function encodeModel(model: Model, options: EncodeOptions = {}): Uint8Array {
  return concatenatePieces(encodeModelPieces(model, options));
}

export function concatenatePieces(message: EncodedMessage): Uint8Array {
  const output = new Uint8Array(message.byteLength);
  let offset = 0;
  for (const piece of message.pieces) {
    const bytes = piece instanceof Uint8Array ? piece : piece.load();
    output.set(bytes, offset);
    offset += bytes.byteLength;
  }
  return output;
}

function valueInfoProto(value: Value): OnnxTypes.IValueInfoProto {
  const proto: OnnxTypes.IValueInfoProto = { name: value.name };
  if (value.type) proto.type = valueTypeToProto(value.type);
  if (value.docString) proto.docString = value.docString;
  return proto;
}

function encodeGraph(graph: Graph, options: EncodeOptions): EncodedMessage {
  const list = new PieceList();
  for (const node of graph.nodes) list.addMessage(1, encodeNode(node, options));
  if (graph.name) list.add(onnx.GraphProto.encode({ name: graph.name }).finish());
  for (const value of graph.initializers) list.addMessage(5, encodeTensor(value.initializer!, options));
  if (graph.docString) list.add(onnx.GraphProto.encode({ docString: graph.docString }).finish());
  const orphans = (graph.carried[CarriedKeys.orphanValueInfo] as OnnxTypes.IValueInfoProto[] | undefined) ?? [];
  const annotations = graph.carried[CarriedKeys.quantizationAnnotations] as OnnxTypes.ITensorAnnotation[] | undefined;
  list.add(
    onnx.GraphProto.encode({
      input: graph.inputs.map(valueInfoProto),
      output: graph.outputs.map(valueInfoProto),
      valueInfo: [...graph.valueInfo.map(valueInfoProto), ...orphans],
      ...(annotations ? { quantizationAnnotation: annotations } : {}),
    }).finish(),
  );
  for (const field of (graph.carried[CarriedKeys.sparseInitializers] as Uint8Array[] | undefined) ?? [])
    list.add(field);
  list.addUnknown(graph.carried);
  return list;
}

function encodeNode(node: Node, options: EncodeOptions): EncodedMessage {
  const list = new PieceList();
  const head: OnnxTypes.INodeProto = {};
  if (node.inputs.length > 0) head.input = node.inputs.map((value) => value?.name ?? '');
  if (node.outputs.length > 0) head.output = node.outputs.map((value) => value?.name ?? '');
  if (node.name) head.name = node.name;
  if (node.opType) head.opType = node.opType;
  list.add(onnx.NodeProto.encode(head).finish());
  for (const attribute of node.attributes.values()) list.addMessage(5, encodeAttribute(attribute, options));
  const tail: OnnxTypes.INodeProto = {};
  if (node.docString) tail.docString = node.docString;
  if (node.domain) tail.domain = node.domain;
  list.add(onnx.NodeProto.encode(tail).finish());
  list.addUnknown(node.carried);
  return list;
}

const ATTRIBUTE_TYPE_NUMBERS: Record<Attribute['type'], number> = {
  float: 1,
  int: 2,
  string: 3,
  tensor: 4,
  graph: 5,
  floats: 6,
  ints: 7,
  strings: 8,
  tensors: 9,
  graphs: 10,
  'sparse-tensor': 11,
  'sparse-tensors': 12,
  type: 13,
  types: 14,
  reference: 0,
};

function encodeAttribute(attribute: Attribute, options: EncodeOptions): EncodedMessage {
  const list = new PieceList();
  const scalar: OnnxTypes.IAttributeProto = { name: attribute.name };
  // Sparse tensors read from a file are written back byte for byte.
  const rawSparse = attribute.carried?.[CarriedKeys.rawSparseTensors] as Uint8Array[] | undefined;
  switch (attribute.type) {
    case 'float':
      scalar.f = attribute.value;
      break;
    case 'int':
      scalar.i = int64ToLong(attribute.value);
      break;
    case 'string':
      scalar.s = attribute.value;
      break;
    case 'floats':
      scalar.floats = attribute.value;
      break;
    case 'ints':
      scalar.ints = attribute.value.map(int64ToLong);
      break;
    case 'strings':
      scalar.strings = attribute.value;
      break;
    case 'sparse-tensor':
      if (!rawSparse) scalar.sparseTensor = attribute.value as OnnxTypes.ISparseTensorProto;
      break;
    case 'sparse-tensors':
      if (!rawSparse) scalar.sparseTensors = attribute.value as OnnxTypes.ISparseTensorProto[];
      break;
    case 'type':
      scalar.tp = valueTypeToProto(attribute.value);
      break;
    case 'types':
      scalar.typeProtos = attribute.value.map(valueTypeToProto);
      break;
    default:
      break;
  }
  // Writing a float 0 or int 0 keeps "set but zero" distinct from "unset" for attributes with no type.
  list.add(onnx.AttributeProto.encode(scalar).finish());
  if (attribute.type === 'tensor') list.addMessage(5, encodeTensor(attribute.value, options));
  if (attribute.type === 'graph') list.addMessage(6, encodeGraph(attribute.value, options));
  if (attribute.type === 'tensors')
    for (const tensor of attribute.value) list.addMessage(10, encodeTensor(tensor, options));
  if (attribute.type === 'graphs')
    for (const graph of attribute.value) list.addMessage(11, encodeGraph(graph, options));
  for (const field of rawSparse ?? []) list.add(field);
  const tail: OnnxTypes.IAttributeProto = {};
  if (attribute.docString) tail.docString = attribute.docString;
  const typeNumber = ATTRIBUTE_TYPE_NUMBERS[attribute.type];
  if (typeNumber && !attribute.carried?.['onnx.typeUnset']) tail.type = typeNumber;
  if (attribute.referenceName) tail.refAttrName = attribute.referenceName;
  list.add(onnx.AttributeProto.encode(tail).finish());
  list.addUnknown(attribute.carried);
  return list;
}

function encodeTensor(tensor: Tensor, options: EncodeOptions): EncodedMessage {
  const list = new PieceList();
  const proto = tensorToProto(tensor);
  const placement =
    options.external?.get(tensor) ??
    (options.keepExternalReferences === false ? undefined : unchangedExternalReference(tensor));
  const { docString, ...head } = proto;
  list.add(onnx.TensorProto.encode(head).finish());
  if (placement) {
    list.add(
      onnx.TensorProto.encode({
        ...(docString ? { docString } : {}),
        externalData: placement.entries.map((entry) => ({ key: entry.key, value: entry.value })),
        dataLocation: 1,
      }).finish(),
    );
  } else {
    if (usesRawData(tensor)) {
      list.add(lengthDelimitedHeader(9, tensor.byteLength));
      const data = tensor.data;
      list.add(data.kind === 'external' ? { byteLength: data.byteLength, load: () => data.bytes() } : data.bytes());
    }
    if (docString) list.add(onnx.TensorProto.encode({ docString }).finish());
  }
  list.addUnknown(tensor.carried);
  return list;
}
