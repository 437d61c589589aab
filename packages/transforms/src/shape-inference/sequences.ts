/** Sequence and optional ops: types of the form seq(tensor) and optional(T). */
import { DataType, type Dimension, type ValueType } from '@whittle/ir';
import {
  dataTypeAttr,
  graphAttribute,
  type InferenceContext,
  type Inferrer,
  intAttr,
  makeTensorType,
} from './context.js';
import { normalizeAxis } from './dims.js';
import { joinTypes } from './types.js';

const sequenceOf = (elementType: ValueType | undefined): ValueType =>
  elementType ? { kind: 'sequence', elementType } : { kind: 'sequence' };

function elementOf(type: ValueType | undefined): ValueType | undefined {
  return type?.kind === 'sequence' || type?.kind === 'optional' ? type.elementType : undefined;
}

const sequenceConstruct: Inferrer = (context) => {
  let element: ValueType | undefined;
  context.node.inputs.forEach((_, index) => {
    const type = context.type(index);
    element = index === 0 ? type : joinTypes(element, type);
  });
  context.setType(0, sequenceOf(element));
};

const sequenceEmpty: Inferrer = (context) => {
  context.setType(0, sequenceOf(makeTensorType(dataTypeAttr(context.node, 'dtype', DataType.FLOAT), undefined)));
};

const sequenceInsert: Inferrer = (context) => {
  const sequence = context.type(0);
  const tensor = context.type(1);
  const element = elementOf(sequence);
  context.setType(0, sequenceOf(joinTypes(element, tensor)));
};

const sequenceAt: Inferrer = (context) => {
  const element = elementOf(context.type(0));
  if (element) context.setType(0, element);
};

const sequenceErase: Inferrer = (context) => {
  const type = context.type(0);
  if (type?.kind === 'sequence') context.setType(0, type);
};

const sequenceLength: Inferrer = (context) => {
  context.setTensor(0, DataType.INT64, []);
};

const splitToSequence: Inferrer = (context) => {
  const input = context.tensor(0);
  if (!input) return;
  const shape = input.shape;
  const axis = normalizeAxis(intAttr(context.node, 'axis', 0), shape?.length);
  let element: Dimension[] | undefined;
  if (shape && axis !== undefined) {
    element = [...shape];
    if (!context.has(1)) {
      if (intAttr(context.node, 'keepdims', 1) === 1) element[axis] = 1;
      else element.splice(axis, 1);
    } else element[axis] = null;
  }
  context.setType(0, sequenceOf(makeTensorType(input.elementType, element)));
};

const concatFromSequence: Inferrer = (context) => {
  const element = elementOf(context.type(0));
  if (element?.kind !== 'tensor') return;
  const newAxis = intAttr(context.node, 'new_axis', 0) === 1;
  const shape = element.shape;
  if (!shape) {
    context.setTensor(0, element.elementType, undefined);
    return;
  }
  const axis = normalizeAxis(intAttr(context.node, 'axis', 0), newAxis ? shape.length + 1 : shape.length);
  if (axis === undefined) {
    context.setTensor(0, element.elementType, undefined);
    return;
  }
  const output = [...shape];
  if (newAxis) output.splice(axis, 0, null);
  else output[axis] = null;
  context.setTensor(0, element.elementType, output);
};

const sequenceMap: Inferrer = (context: InferenceContext) => {
  const body = graphAttribute(context.node, 'body');
  if (!body) return;
  const inputs = context.node.inputs.map((_, index) => {
    const type = context.type(index);
    return type?.kind === 'sequence' ? type.elementType : type;
  });
  const outputs = context.inferSubgraph(body, inputs);
  for (let index = 0; index < context.outputCount; index++) context.setType(index, sequenceOf(outputs[index]));
};

const optional: Inferrer = (context) => {
  if (context.has(0)) {
    const type = context.type(0);
    if (type) context.setType(0, { kind: 'optional', elementType: type });
    return;
  }
  const attribute = context.node.attribute('type');
  if (attribute?.type === 'type') context.setType(0, { kind: 'optional', elementType: attribute.value });
};

const optionalGetElement: Inferrer = (context) => {
  const type = context.type(0);
  if (type?.kind === 'optional') {
    if (type.elementType) context.setType(0, type.elementType);
  } else if (type) context.setType(0, type, context.data(0));
};

const optionalHasElement: Inferrer = (context) => {
  context.setTensor(0, DataType.BOOL, []);
};

export const sequenceInferrers: Record<string, Inferrer> = {
  ConcatFromSequence: concatFromSequence,
  Optional: optional,
  OptionalGetElement: optionalGetElement,
  OptionalHasElement: optionalHasElement,
  SequenceAt: sequenceAt,
  SequenceConstruct: sequenceConstruct,
  SequenceEmpty: sequenceEmpty,
  SequenceErase: sequenceErase,
  SequenceInsert: sequenceInsert,
  SequenceLength: sequenceLength,
  SequenceMap: sequenceMap,
  SplitToSequence: splitToSequence,
};
