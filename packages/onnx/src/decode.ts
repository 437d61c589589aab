import {
  type Attribute,
  type AttributeValue,
  Graph,
  isTopologicallySorted,
  Model,
  Node,
  type Tensor,
  topologicalOrder,
  Value,
} from '@whittle/ir';
import { type Diagnostic, type Location, WhittleError } from '@whittle/spec';
import { OnnxCodes } from './codes.js';
import { sniffOtherFormat } from './format-sniffing.js';
import { type LongLike, longToInt64, longToNumber } from './int64.js';
import { onnx, type OnnxTypes } from './proto.js';
import { type ExternalDataSource, tensorFromProto, UNKNOWN_FIELDS_KEY } from './tensor-proto.js';
import { valueTypeFromProto } from './type-proto.js';
import { fieldSlices, messageAt, scanUnknownFields } from './wire/index.js';

export interface DecodeOptions {
  /** Where external tensor data is read from; without it, a model with external data fails to load. */
  externalData?: ExternalDataSource;
  /** Named in error locations. */
  file?: string;
}

export interface DecodeResult {
  model: Model;
  diagnostics: Diagnostic[];
}

/** Keys under which the IR carries what it does not interpret, verbatim. */
export const CarriedKeys = {
  functions: 'onnx.functions',
  trainingInfo: 'onnx.trainingInfo',
  sparseInitializers: 'onnx.sparseInitializers',
  quantizationAnnotations: 'onnx.quantizationAnnotations',
  unknownFields: UNKNOWN_FIELDS_KEY,
  /** value_info entries that name no value of their graph (kept so they are written back). */
  orphanValueInfo: 'onnx.orphanValueInfo',
  /** Complete AttributeProto sparse_tensor(s) fields, written back as they were read. */
  rawSparseTensors: 'onnx.rawSparseTensors',
} as const;
const RAW_SPARSE_KEY = CarriedKeys.rawSparseTensors;

const childPath = (parent: string, field: number, index: number) => `${parent ? `${parent}/` : ''}${field}:${index}`;

interface DecodeState {
  options: DecodeOptions;
  diagnostics: Diagnostic[];
  bytes: Uint8Array;
  unknown: Map<string, { messageType: string; fields: Uint8Array[] }>;
  claimed: Set<string>;
}

/** Read an ONNX model from bytes. Raw tensor data stays a view into `bytes` (no copy). */
export function decodeModel(bytes: Uint8Array, options: DecodeOptions = {}): DecodeResult {
  const location: Location = options.file ? { file: options.file } : {};
  if (bytes.byteLength === 0) throw new WhittleError(OnnxCodes.EMPTY_FILE, 'the model file is empty', { location });
  const other = sniffOtherFormat(bytes);
  if (other) {
    throw new WhittleError(OnnxCodes.WRONG_FORMAT, `this is ${other}, not an ONNX model`, {
      location,
      hint: 'whittle reads ONNX models (.onnx); convert the model to ONNX first',
    });
  }
  let proto: OnnxTypes.ModelProto;
  let unknown: DecodeState['unknown'];
  try {
    proto = onnx.ModelProto.decode(bytes);
    unknown = scanUnknownFields(bytes);
  } catch (error) {
    throw new WhittleError(
      OnnxCodes.INVALID_PROTOBUF,
      `not a valid ONNX protobuf (truncated or corrupt): ${(error as Error).message}`,
      { location, cause: error },
    );
  }
  if (!proto.graph) {
    throw new WhittleError(OnnxCodes.NO_GRAPH, 'the file holds no model graph: not an ONNX model, or an empty one', {
      location,
    });
  }
  const state: DecodeState = { options, diagnostics: [], bytes, unknown, claimed: new Set() };
  const model = new Model({
    irVersion: longToNumber(proto.irVersion as LongLike),
    producerName: proto.producerName ?? '',
    producerVersion: proto.producerVersion ?? '',
    domain: proto.domain ?? '',
    modelVersion: longToNumber(proto.modelVersion as LongLike),
    docString: proto.docString ?? '',
    opsetImports: (proto.opsetImport ?? []).map((entry) => ({
      domain: entry.domain ?? '',
      version: longToNumber(entry.version as LongLike),
    })),
    metadata: (proto.metadataProps ?? []).map((entry) => ({ key: entry.key ?? '', value: entry.value ?? '' })),
  });
  model.graph = convertGraph(proto.graph, '7:0', () => undefined, state);
  // Functions and training info are not interpreted: their bytes are carried verbatim (unknown fields included).
  const functions = fieldSlices(bytes, 25);
  if (functions.length > 0) model.carried[CarriedKeys.functions] = functions;
  const trainingInfo = fieldSlices(bytes, 20);
  if (trainingInfo.length > 0) model.carried[CarriedKeys.trainingInfo] = trainingInfo;
  claimUnknown(state, '', model.carried);
  reportUnclaimedUnknownFields(state);
  return { model, diagnostics: state.diagnostics };
}

/** Decode one serialized TensorProto (the `.pb` files of ONNX test data sets). */
export function decodeTensor(bytes: Uint8Array, options: DecodeOptions = {}): Tensor {
  let proto: OnnxTypes.TensorProto;
  try {
    proto = onnx.TensorProto.decode(bytes);
  } catch (error) {
    throw new WhittleError(OnnxCodes.INVALID_PROTOBUF, `not a valid TensorProto: ${(error as Error).message}`, {
      location: options.file ? { file: options.file } : {},
    });
  }
  return tensorFromProto(proto, {
    location: options.file ? { file: options.file } : {},
    ...(options.externalData ? { external: options.externalData } : {}),
  });
}

function claimUnknown(state: DecodeState, path: string, carried: Record<string, unknown>): void {
  const found = state.unknown.get(path);
  if (!found) return;
  state.claimed.add(path);
  carried[CarriedKeys.unknownFields] = found.fields;
}

function reportUnclaimedUnknownFields(state: DecodeState): void {
  const opaquePrefixes = ['25:', '20:'];
  const preserved = new Map<string, number>();
  for (const [path, entry] of state.unknown) {
    const opaque =
      opaquePrefixes.some((prefix) => path.startsWith(prefix)) || /(^|\/)15:\d+|\/5:\d+\/2[23]:\d+/.test(path);
    if (state.claimed.has(path) || opaque) {
      preserved.set(entry.messageType, (preserved.get(entry.messageType) ?? 0) + entry.fields.length);
      continue;
    }
    state.diagnostics.push({
      code: OnnxCodes.UNKNOWN_FIELD_DROPPED,
      severity: 'warning',
      message: `${entry.fields.length} field(s) of ${entry.messageType} unknown to the ONNX schema in use will not be written back`,
      location: { path },
    });
  }
  for (const [messageType, count] of preserved) {
    state.diagnostics.push({
      code: OnnxCodes.UNKNOWN_FIELD_PRESERVED,
      severity: 'info',
      message: `${count} field(s) of ${messageType} unknown to the ONNX schema in use are carried through as they are`,
    });
  }
}

type Lookup = (name: string) => Value | undefined;

function convertGraph(proto: OnnxTypes.IGraphProto, path: string, outer: Lookup, state: DecodeState): Graph {
  const graph = new Graph(proto.name ?? '');
  graph.docString = proto.docString ?? '';
  const where = (extra: Location = {}): Location => ({
    ...(state.options.file ? { file: state.options.file } : {}),
    graph: graph.name,
    ...extra,
  });
  const local = new Map<string, Value>();
  const define = (value: Value, location: Location) => {
    if (local.has(value.name)) {
      throw new WhittleError(
        OnnxCodes.DUPLICATE_VALUE,
        `value name '${value.name}' is defined more than once in graph '${graph.name}'`,
        {
          location,
        },
      );
    }
    local.set(value.name, value);
  };
  for (const input of proto.input ?? []) {
    const value = new Value(input.name ?? '', valueTypeFromProto(input.type), input.docString ?? '');
    define(value, where({ value: value.name }));
    graph.addInput(value);
  }
  (proto.initializer ?? []).forEach((tensorProto, index) => {
    const tensor = tensorFromProto(tensorProto, {
      location: where({ path: childPath(path, 5, index) }),
      ...(state.options.externalData ? { external: state.options.externalData } : {}),
    });
    claimUnknown(state, childPath(path, 5, index), tensor.carried);
    const asInput = local.get(tensor.name);
    if (asInput && graph.inputs.includes(asInput) && !asInput.initializer) {
      graph.addInitializer(tensor, asInput);
    } else {
      const value = new Value(tensor.name);
      define(value, where({ value: tensor.name, path: childPath(path, 5, index) }));
      graph.addInitializer(tensor, value);
    }
  });
  // Outputs of every node first, then inputs: tolerate graphs that are not sorted (ONNX Runtime runs them).
  const nodes = (proto.node ?? []).map((nodeProto, index) => {
    const node = new Node({
      opType: nodeProto.opType ?? '',
      domain: nodeProto.domain ?? '',
      name: nodeProto.name ?? '',
      docString: nodeProto.docString ?? '',
    });
    for (const outputName of nodeProto.output ?? []) {
      if (outputName === '') {
        node.appendOutput(undefined);
        continue;
      }
      const value = new Value(outputName);
      define(value, where({ node: node.name || `#${index}`, value: outputName }));
      node.appendOutput(value);
    }
    claimUnknown(state, childPath(path, 1, index), node.carried);
    return node;
  });
  const lookup: Lookup = (name) => local.get(name) ?? outer(name);
  (proto.node ?? []).forEach((nodeProto, index) => {
    const node = nodes[index]!;
    const nodePath = childPath(path, 1, index);
    for (const inputName of nodeProto.input ?? []) {
      if (inputName === '') {
        node.appendInput(undefined);
        continue;
      }
      const value = lookup(inputName);
      if (!value) {
        throw new WhittleError(
          OnnxCodes.MISSING_VALUE,
          `${node.describe()} reads '${inputName}', which nothing in scope defines`,
          { location: where({ node: node.name || `#${index}`, value: inputName }) },
        );
      }
      node.appendInput(value);
    }
    (nodeProto.attribute ?? []).forEach((attributeProto, attributeIndex) => {
      const attributePath = childPath(nodePath, 5, attributeIndex);
      const attribute = convertAttribute(
        attributeProto,
        attributePath,
        lookup,
        state,
        where({ node: node.name || `#${index}` }),
      );
      node.attributes.set(attribute.name, attribute);
    });
    graph.appendNode(node);
  });
  for (const output of proto.output ?? []) {
    const value = lookup(output.name ?? '');
    if (!value) {
      throw new WhittleError(OnnxCodes.MISSING_VALUE, `graph output '${output.name}' is not defined`, {
        location: where({ value: output.name ?? '' }),
      });
    }
    const type = valueTypeFromProto(output.type);
    if (type) value.type = type;
    if (output.docString) value.docString = output.docString;
    graph.outputs.push(value);
  }
  const orphans: OnnxTypes.IValueInfoProto[] = [];
  for (const info of proto.valueInfo ?? []) {
    const value = local.get(info.name ?? '');
    if (!value || graph.valueInfo.includes(value)) {
      orphans.push(info);
      continue;
    }
    const type = valueTypeFromProto(info.type);
    if (type && !value.type) value.type = type;
    if (info.docString && !value.docString) value.docString = info.docString;
    graph.valueInfo.push(value);
  }
  if (orphans.length > 0) graph.carried[CarriedKeys.orphanValueInfo] = orphans;
  if (proto.quantizationAnnotation && proto.quantizationAnnotation.length > 0) {
    graph.carried[CarriedKeys.quantizationAnnotations] = proto.quantizationAnnotation;
  }
  const graphBytes = messageAt(state.bytes, path);
  const sparse = graphBytes ? fieldSlices(graphBytes, 15) : [];
  if (sparse.length > 0) graph.carried[CarriedKeys.sparseInitializers] = sparse;
  claimUnknown(state, path, graph.carried);
  if (!isTopologicallySorted(graph)) {
    if (!topologicalOrder(graph)) {
      throw new WhittleError(
        OnnxCodes.GRAPH_CYCLE,
        `graph '${graph.name}' has a cycle: some node depends on its own output`,
        {
          location: where(),
        },
      );
    }
    state.diagnostics.push({
      code: OnnxCodes.NOT_TOPOLOGICAL,
      severity: 'warning',
      message: `graph '${graph.name}' is not in topological order; its order is kept as written`,
      location: where(),
    });
  }
  return graph;
}

const ATTRIBUTE_TYPES: Record<number, AttributeValue['type']> = {
  1: 'float',
  2: 'int',
  3: 'string',
  4: 'tensor',
  5: 'graph',
  6: 'floats',
  7: 'ints',
  8: 'strings',
  9: 'tensors',
  10: 'graphs',
  11: 'sparse-tensor',
  12: 'sparse-tensors',
  13: 'type',
  14: 'types',
};

/** Old models leave `type` unset: infer it from the field that holds a value. */
function inferAttributeType(proto: OnnxTypes.IAttributeProto): AttributeValue['type'] | undefined {
  const has = (key: keyof OnnxTypes.IAttributeProto) => Object.hasOwn(proto, key);
  if (has('g')) return 'graph';
  if (has('t')) return 'tensor';
  if (has('s')) return 'string';
  if (has('i')) return 'int';
  if (has('f')) return 'float';
  if (proto.graphs?.length) return 'graphs';
  if (proto.tensors?.length) return 'tensors';
  if (proto.strings?.length) return 'strings';
  if (proto.ints?.length) return 'ints';
  if (proto.floats?.length) return 'floats';
  return undefined;
}

function convertAttribute(
  proto: OnnxTypes.IAttributeProto,
  path: string,
  lookup: Lookup,
  state: DecodeState,
  location: Location,
): Attribute {
  const name = proto.name ?? '';
  const type = proto.type ? ATTRIBUTE_TYPES[proto.type] : inferAttributeType(proto);
  const base: { name: string; docString?: string; referenceName?: string; carried?: Record<string, unknown> } = {
    name,
  };
  if (proto.docString) base.docString = proto.docString;
  if (proto.refAttrName) base.referenceName = proto.refAttrName;
  if (!proto.type) base.carried = { 'onnx.typeUnset': true };
  const tensorContext = (index: number, field: number) => ({
    location: { ...location, path: childPath(path, field, index) },
    ...(state.options.externalData ? { external: state.options.externalData } : {}),
  });
  const rawFields = (field: number) => {
    const message = messageAt(state.bytes, path);
    return message ? fieldSlices(message, field) : [];
  };
  const attribute = ((): Attribute => {
    switch (type) {
      case 'float':
        return { ...base, type, value: proto.f ?? 0 };
      case 'int':
        return { ...base, type, value: longToInt64(proto.i as LongLike) };
      case 'string':
        return { ...base, type, value: proto.s ?? new Uint8Array(0) };
      case 'tensor': {
        const tensor = tensorFromProto(proto.t ?? {}, tensorContext(0, 5));
        claimUnknown(state, childPath(path, 5, 0), tensor.carried);
        return { ...base, type, value: tensor };
      }
      case 'graph':
        return { ...base, type, value: convertGraph(proto.g ?? {}, childPath(path, 6, 0), lookup, state) };
      case 'floats':
        return { ...base, type, value: [...(proto.floats ?? [])] };
      case 'ints':
        return { ...base, type, value: (proto.ints ?? []).map((value) => longToInt64(value as LongLike)) };
      case 'strings':
        return { ...base, type, value: [...(proto.strings ?? [])] };
      case 'tensors':
        return {
          ...base,
          type,
          value: (proto.tensors ?? []).map((tensorProto, index) => {
            const tensor = tensorFromProto(tensorProto, tensorContext(index, 10));
            claimUnknown(state, childPath(path, 10, index), tensor.carried);
            return tensor;
          }),
        };
      case 'graphs':
        return {
          ...base,
          type,
          value: (proto.graphs ?? []).map((graphProto, index) =>
            convertGraph(graphProto, childPath(path, 11, index), lookup, state),
          ),
        };
      // Sparse tensors are not interpreted: their bytes are carried verbatim (unknown fields included).
      case 'sparse-tensor':
        return {
          ...base,
          type,
          value: proto.sparseTensor,
          carried: { ...base.carried, [RAW_SPARSE_KEY]: rawFields(22) },
        };
      case 'sparse-tensors':
        return {
          ...base,
          type,
          value: [...(proto.sparseTensors ?? [])],
          carried: { ...base.carried, [RAW_SPARSE_KEY]: rawFields(23) },
        };
      case 'type':
        return { ...base, type, value: valueTypeFromProto(proto.tp) ?? { kind: 'other', payload: {} } };
      case 'types':
        return {
          ...base,
          type,
          value: (proto.typeProtos ?? []).map((item) => valueTypeFromProto(item) ?? { kind: 'other', payload: {} }),
        };
      default:
        if (proto.refAttrName) return { ...base, type: 'reference', value: undefined };
        throw new WhittleError(OnnxCodes.INVALID_ATTRIBUTE, `attribute '${name}' has no value and no known type`, {
          location: { ...location, path },
        });
    }
  })();
  const carried = attribute.carried ?? {};
  claimUnknown(state, path, carried);
  if (Object.keys(carried).length > 0) attribute.carried = carried;
  return attribute;
}
