/**
 * Ops that move data around or compute shapes: Reshape, Flatten, Squeeze, Unsqueeze, Transpose, Concat, Split,
 * Slice, Gather, Expand, Tile, Pad, Shape, Size, ConstantOfShape, Range, Constant, ... They also carry the data of
 * small tensors (partial data propagation), which is how a Reshape target built from `Shape(x)` becomes known.
 */
import { DataType, type Dimension, type Node, type Tensor } from '@whittle/ir';
import {
  dataTypeAttr,
  type InferenceContext,
  type Inferrer,
  intAttr,
  intsAttr,
  mismatch,
  sharedElementType,
} from './context.js';
import {
  castNumber,
  concatData,
  countOf,
  gatherData,
  MAX_DATA_ELEMENTS,
  mapBroadcast,
  type PartialTensor,
  partial,
  partialFromTensor,
  reshapeData,
  scalarData,
  sliceData,
  transposeData,
  vectorData,
} from './data.js';
import {
  addDims,
  broadcastConflict,
  broadcastShapes,
  formatShape,
  divideDim,
  isKnown,
  isStatic,
  multiplyDims,
  normalizeAxes,
  normalizeAxis,
  productOf,
  type Shape,
  sliceRange,
  unifyDim,
} from './dims.js';

/** Data of input 0 reshaped to a static output shape, when both are known. */
function reshapedData(context: InferenceContext, shape: Shape | undefined): PartialTensor | undefined {
  const data = context.data(0);
  return data && isStatic(shape) ? reshapeData(data, shape) : undefined;
}

/** An axes list given as an attribute (older opsets) or as input `inputIndex` (newer ones). */
function axesOf(context: InferenceContext, inputIndex: number, fromOpset: number): number[] | undefined {
  if (context.opset >= fromOpset) return context.has(inputIndex) ? context.numbers(inputIndex) : undefined;
  return intsAttr(context.node, 'axes');
}

/** `input` total divided by the product of `known` dims, cancelling equal symbols. */
export function solveMissingDim(input: readonly Dimension[], known: readonly Dimension[]): Dimension {
  const numerator = [...input];
  const denominator: Dimension[] = [];
  for (const dim of known) {
    if (typeof dim === 'string') {
      const match = numerator.indexOf(dim);
      if (match >= 0) {
        numerator.splice(match, 1);
        continue;
      }
    }
    denominator.push(dim);
  }
  if (!isStatic(numerator) || !isStatic(denominator)) return null;
  const top = countOf(numerator);
  const bottom = countOf(denominator);
  if (bottom === 0 || top % bottom !== 0) return null;
  return top / bottom;
}

export function reshapeShape(input: Shape | undefined, target: readonly Dimension[], allowZero: boolean): Shape {
  const copied = new Set<number>();
  const output: Shape = target.map((dim, index) => {
    if (dim === 0 && !allowZero) {
      copied.add(index);
      return input?.[index] ?? null;
    }
    if (dim === -1) return -1;
    if (typeof dim === 'number') return dim < 0 ? null : dim;
    return dim;
  });
  const missing = output.indexOf(-1);
  if (missing >= 0) {
    if (!input) output[missing] = null;
    else {
      // A copied dim cancels the input dim it copies, whatever that dim is.
      const rest = input.filter((_, index) => !copied.has(index));
      const others = output.filter((_, index) => index !== missing && !copied.has(index));
      output[missing] = solveMissingDim(rest, others);
    }
  }
  return output;
}

const reshape: Inferrer = (context) => {
  const elementType = context.elementType(0);
  const input = context.shape(0);
  const target = context.data(1);
  let shape: Shape | undefined;
  if (target && target.dims.length === 1) {
    shape = reshapeShape(input, target.values, context.opset >= 14 && intAttr(context.node, 'allowzero', 0) === 1);
    if (isStatic(input) && target.values.every((dim) => typeof dim === 'number')) {
      if (!isStatic(shape) || countOf(shape) !== countOf(input)) {
        mismatch(`cannot reshape ${formatShape(input)} to [${target.values.join(',')}]`);
      }
    }
  } else {
    const targetShape = context.shape(1);
    const length = targetShape?.[0];
    if (targetShape?.length === 1 && isKnown(length)) {
      shape = new Array<Dimension>(length).fill(null);
      if (length === 1 && isStatic(input)) shape = [countOf(input)];
    }
  }
  context.setTensor(0, elementType, shape, reshapedData(context, shape));
};

const flatten: Inferrer = (context) => {
  const input = context.shape(0);
  let shape: Shape = [null, null];
  if (input) {
    const rank = input.length;
    let axis = intAttr(context.node, 'axis', 1);
    if (axis < 0) axis += rank;
    if (axis >= 0 && axis <= rank) shape = [productOf(input.slice(0, axis)), productOf(input.slice(axis))];
  }
  context.setTensor(0, context.elementType(0), shape, reshapedData(context, shape));
};

const squeeze: Inferrer = (context) => {
  const input = context.shape(0);
  const elementType = context.elementType(0);
  const axesGiven = context.opset >= 13 ? context.has(1) : context.node.attribute('axes') !== undefined;
  let shape: Shape | undefined;
  if (input) {
    if (!axesGiven) {
      if (isStatic(input)) shape = input.filter((dim) => dim !== 1);
    } else {
      const axes = axesOf(context, 1, 13);
      const normalized = axes ? normalizeAxes(axes, input.length) : undefined;
      for (const axis of normalized ?? []) {
        const dim = input[axis];
        if (typeof dim === 'number' && dim !== 1) mismatch(`cannot squeeze dim ${axis} of ${formatShape(input)}`);
      }
      if (normalized) shape = input.filter((_, index) => !normalized.includes(index));
    }
  }
  context.setTensor(0, elementType, shape, reshapedData(context, shape));
};

const unsqueeze: Inferrer = (context) => {
  const input = context.shape(0);
  const elementType = context.elementType(0);
  const axes = axesOf(context, 1, 13);
  let shape: Shape | undefined;
  if (input && axes) {
    const rank = input.length + axes.length;
    const normalized = normalizeAxes(axes, rank);
    if (normalized) {
      shape = [];
      let next = 0;
      for (let axis = 0; axis < rank; axis++) shape.push(normalized.includes(axis) ? 1 : (input[next++] ?? null));
    }
  }
  context.setTensor(0, elementType, shape, reshapedData(context, shape));
};

const transpose: Inferrer = (context) => {
  const input = context.shape(0);
  const elementType = context.elementType(0);
  if (!input) {
    const perm = intsAttr(context.node, 'perm');
    context.setTensor(0, elementType, perm ? new Array<Dimension>(perm.length).fill(null) : undefined);
    return;
  }
  const perm = intsAttr(context.node, 'perm') ?? input.map((_, index) => input.length - 1 - index);
  const normalized = normalizeAxes(perm, input.length);
  if (!normalized || normalized.length !== input.length) {
    mismatch(`perm [${perm.join(',')}] does not fit ${formatShape(input)}`);
  }
  const data = context.data(0);
  context.setTensor(
    0,
    elementType,
    normalized.map((axis) => input[axis]!),
    data ? transposeData(data, normalized) : undefined,
  );
};

const concat: Inferrer = (context) => {
  const indices = context.node.inputs.map((_, index) => index).filter((index) => context.has(index));
  const elementType = sharedElementType(context, indices);
  const shapes = indices.map((index) => context.shape(index));
  const rank = shapes.find((shape) => shape !== undefined)?.length;
  const axis = normalizeAxis(intAttr(context.node, 'axis', 0), rank);
  if (rank === undefined || axis === undefined) {
    context.setTensor(0, elementType, rank === undefined ? undefined : new Array<Dimension>(rank).fill(null));
    return;
  }
  const shape: Shape = [];
  for (let position = 0; position < rank; position++) {
    if (position === axis) {
      let total: Dimension = 0;
      for (const input of shapes) total = input ? addDims(total, input[position] ?? null) : null;
      shape.push(total);
    } else {
      let dim: Dimension = null;
      for (const input of shapes) {
        if (!input) continue;
        if (input.length !== rank) mismatch(`inputs of ranks ${rank} and ${input.length}`);
        const own = input[position]!;
        if (typeof dim === 'number' && typeof own === 'number' && dim !== own) {
          mismatch(`inputs ${shapes.map(formatShape).join(', ')} differ outside axis ${axis}`);
        }
        dim = unifyDim(dim, own);
      }
      shape.push(dim);
    }
  }
  const parts = indices.map((index) => context.data(index));
  const data = parts.every((part) => part !== undefined) ? concatData(parts as PartialTensor[], axis) : undefined;
  context.setTensor(0, elementType, shape, data);
};

const split: Inferrer = (context) => {
  const input = context.shape(0);
  const elementType = context.elementType(0);
  const outputs = context.outputCount;
  const axis = normalizeAxis(intAttr(context.node, 'axis', 0), input?.length);
  if (!input || axis === undefined) {
    for (let index = 0; index < outputs; index++)
      context.setTensor(
        index,
        elementType,
        input?.map(() => null),
      );
    return;
  }
  const size = input[axis]!;
  let sizes: Dimension[] | undefined;
  const given =
    context.opset >= 13 ? (context.has(1) ? context.numbers(1) : undefined) : intsAttr(context.node, 'split');
  const splitGiven = context.opset >= 13 ? context.has(1) : given !== undefined;
  if (given && given.length === outputs) sizes = given;
  else if (!splitGiven) {
    const parts = context.opset >= 18 ? intAttr(context.node, 'num_outputs', outputs) : outputs;
    if (isKnown(size) && parts > 0) {
      if (context.opset >= 18) {
        const chunk = Math.ceil(size / parts);
        sizes = Array.from({ length: outputs }, (_, index) => Math.max(0, Math.min(chunk, size - chunk * index)));
      } else if (size % parts === 0) sizes = new Array<Dimension>(outputs).fill(size / parts);
    } else if (outputs === 1) sizes = [size];
  }
  const data = context.data(0);
  let offset = 0;
  for (let index = 0; index < outputs; index++) {
    const part = sizes?.[index] ?? null;
    const shape = [...input];
    shape[axis] = part;
    let partData: PartialTensor | undefined;
    if (data && isKnown(part) && offset >= 0) {
      partData = sliceData(data, [offset], [offset + part], [axis], [1]);
      offset += part;
    } else offset = -1;
    context.setTensor(index, elementType, shape, partData);
  }
};

const INT32_MAX = 2 ** 31 - 1;

/** The output size of slicing one dim, keeping a symbolic dim when the slice takes all of it. */
function slicedDim(dim: Dimension, start: number, end: number, step: number): Dimension {
  if (isKnown(dim)) return sliceRange(dim, start, end, step).length;
  if (step === 1 && (start === 0 || start <= -INT32_MAX) && end >= INT32_MAX) return dim;
  if (step === -1 && (start === -1 || start >= INT32_MAX) && end <= -INT32_MAX) return dim;
  return null;
}

const slice: Inferrer = (context) => {
  const input = context.shape(0);
  const elementType = context.elementType(0);
  if (!input) {
    context.setTensor(0, elementType, undefined);
    return;
  }
  let starts: number[] | undefined;
  let ends: number[] | undefined;
  let axes: number[] | undefined;
  let steps: number[] | undefined;
  if (context.opset < 10) {
    starts = intsAttr(context.node, 'starts');
    ends = intsAttr(context.node, 'ends');
    axes = intsAttr(context.node, 'axes');
  } else {
    starts = context.numbers(1);
    ends = context.numbers(2);
    axes = context.has(3) ? context.numbers(3) : undefined;
    steps = context.has(4) ? context.numbers(4) : undefined;
    if (context.has(3) && !axes) {
      context.setTensor(
        0,
        elementType,
        input.map(() => null),
      );
      return;
    }
    if (context.has(4) && !steps) {
      // Steps unknown: every sliced axis is unknown.
      const normalized = axes ? normalizeAxes(axes, input.length) : undefined;
      context.setTensor(
        0,
        elementType,
        input.map((dim, index) => (normalized && !normalized.includes(index) ? dim : null)),
      );
      return;
    }
  }
  if (!starts || !ends || starts.length !== ends.length) {
    const normalized = axes ? normalizeAxes(axes, input.length) : undefined;
    context.setTensor(
      0,
      elementType,
      input.map((dim, index) => (normalized && !normalized.includes(index) ? dim : null)),
    );
    return;
  }
  const normalized = normalizeAxes(axes ?? starts.map((_, index) => index), input.length);
  const stepList = steps ?? starts.map(() => 1);
  if (!normalized || normalized.length !== starts.length || stepList.length !== starts.length) {
    context.setTensor(
      0,
      elementType,
      input.map(() => null),
    );
    return;
  }
  const shape = [...input];
  normalized.forEach((axis, index) => {
    shape[axis] = slicedDim(input[axis]!, starts[index]!, ends[index]!, stepList[index]!);
  });
  const data = context.data(0);
  const sliced =
    data && stepList.every((step) => step !== 0) ? sliceData(data, starts, ends, normalized, stepList) : undefined;
  context.setTensor(0, elementType, shape, sliced);
};

const gather: Inferrer = (context) => {
  const data = context.shape(0);
  const indices = context.shape(1);
  const elementType = context.elementType(0);
  const axis = normalizeAxis(intAttr(context.node, 'axis', 0), data?.length);
  if (!data || !indices || axis === undefined) {
    context.setTensor(0, elementType, undefined);
    return;
  }
  const shape = [...data.slice(0, axis), ...indices, ...data.slice(axis + 1)];
  const values = context.data(0);
  const indexData = context.data(1);
  const size = data[axis];
  if (typeof size === 'number') {
    for (const index of context.numbers(1) ?? []) {
      if (index < -size || index >= size)
        mismatch(`index ${index} is out of range for dim ${axis} of ${formatShape(data)}`);
    }
  }
  context.setTensor(0, elementType, shape, values && indexData ? gatherData(values, indexData, axis) : undefined);
};

const gatherElements: Inferrer = (context) => {
  context.setTensor(0, context.elementType(0), context.shape(1));
};

const gatherND: Inferrer = (context) => {
  const data = context.shape(0);
  const indices = context.shape(1);
  const elementType = context.elementType(0);
  const batch = intAttr(context.node, 'batch_dims', 0);
  const last = indices?.[indices.length - 1];
  if (!data || !indices || !isKnown(last)) {
    context.setTensor(0, elementType, undefined);
    return;
  }
  context.setTensor(0, elementType, [...indices.slice(0, -1), ...data.slice(batch + last)]);
};

const expand: Inferrer = (context) => {
  const input = context.shape(0);
  const elementType = context.elementType(0);
  const target = context.data(1);
  let shape: Shape | undefined;
  if (target && target.dims.length === 1) {
    const conflict = broadcastConflict([input, target.values]);
    if (conflict) mismatch(conflict);
    shape = broadcastShapes([input, [...target.values]]);
  } else {
    const length = context.shape(1)?.[0];
    if (isKnown(length) && context.rank(1) === 1)
      shape = broadcastShapes([input, new Array<Dimension>(length).fill(null)]);
  }
  let data: PartialTensor | undefined;
  const values = context.data(0);
  if (values && isStatic(shape) && countOf(shape) <= MAX_DATA_ELEMENTS) {
    const zeros = partial(shape, new Array<Dimension>(countOf(shape)).fill(0));
    data = zeros ? mapBroadcast([values, zeros], ([value = null]) => value) : undefined;
  }
  context.setTensor(0, elementType, shape, data);
};

const tile: Inferrer = (context) => {
  const input = context.shape(0);
  const repeats = context.numbers(1);
  const elementType = context.elementType(0);
  if (!input) {
    context.setTensor(0, elementType, undefined);
    return;
  }
  const shape =
    repeats && repeats.length === input.length
      ? input.map((dim, index) => multiplyDims(dim, repeats[index]!))
      : input.map(() => null);
  context.setTensor(0, elementType, shape);
};

const pad: Inferrer = (context) => {
  const input = context.shape(0);
  const elementType = context.elementType(0);
  if (!input) {
    context.setTensor(0, elementType, undefined);
    return;
  }
  const rank = input.length;
  const pads =
    context.opset < 11 ? (intsAttr(context.node, 'pads') ?? intsAttr(context.node, 'paddings')) : context.numbers(1);
  let axes: number[] | undefined = input.map((_, index) => index);
  if (context.opset >= 18 && context.has(3)) {
    const given = context.numbers(3);
    axes = given ? normalizeAxes(given, rank) : undefined;
  }
  if (!pads || !axes || pads.length !== 2 * axes.length) {
    context.setTensor(
      0,
      elementType,
      input.map((dim, index) => (axes && !axes.includes(index) ? dim : null)),
    );
    return;
  }
  const shape = [...input];
  axes.forEach((axis, index) => {
    shape[axis] = addDims(addDims(input[axis]!, pads[index]!), pads[index + axes.length]!);
  });
  context.setTensor(0, elementType, shape);
};

const shapeOp: Inferrer = (context) => {
  const input = context.shape(0);
  if (!input) {
    context.setTensor(0, DataType.INT64, [null]);
    return;
  }
  const rank = input.length;
  const clamp = (value: number) => Math.min(Math.max(value < 0 ? value + rank : value, 0), rank);
  const start = context.opset >= 15 ? clamp(intAttr(context.node, 'start', 0)) : 0;
  const end = context.opset >= 15 ? clamp(intAttr(context.node, 'end', rank)) : rank;
  const dims = input.slice(start, Math.max(start, end));
  context.setTensor(0, DataType.INT64, [dims.length], vectorData(dims));
};

const size: Inferrer = (context) => {
  const input = context.shape(0);
  const count = input ? productOf(input) : null;
  context.setTensor(0, DataType.INT64, [], scalarData(count));
};

/** The tensor of a node's `value` attribute: a Constant's (its tensor form), a ConstantOfShape's fill value. */
function valueAttributeOf(node: Node): Tensor | undefined {
  const attribute = node.attribute('value');
  return attribute?.type === 'tensor' ? attribute.value : undefined;
}

const constant: Inferrer = (context) => {
  const node = context.node;
  const tensor = valueAttributeOf(node);
  if (tensor) {
    context.setTensor(0, tensor.dataType, [...tensor.dims], partialFromTensor(tensor));
    return;
  }
  for (const attribute of node.attributes.values()) {
    switch (attribute.name) {
      case 'value_float':
        if (attribute.type === 'float')
          context.setTensor(0, DataType.FLOAT, [], scalarData(Math.fround(attribute.value)));
        return;
      case 'value_floats':
        if (attribute.type === 'floats')
          context.setTensor(
            0,
            DataType.FLOAT,
            [attribute.value.length],
            partial([attribute.value.length], attribute.value.map(Math.fround)),
          );
        return;
      case 'value_int':
        if (attribute.type === 'int') context.setTensor(0, DataType.INT64, [], scalarData(Number(attribute.value)));
        return;
      case 'value_ints':
        if (attribute.type === 'ints')
          context.setTensor(
            0,
            DataType.INT64,
            [attribute.value.length],
            partial([attribute.value.length], attribute.value.map(Number)),
          );
        return;
      case 'value_string':
        context.setTensor(0, DataType.STRING, []);
        return;
      case 'value_strings':
        if (attribute.type === 'strings') context.setTensor(0, DataType.STRING, [attribute.value.length]);
        return;
    }
  }
};

const constantOfShape: Inferrer = (context) => {
  const tensor = valueAttributeOf(context.node);
  const elementType = tensor ? tensor.dataType : DataType.FLOAT;
  const target = context.data(0);
  let shape: Shape | undefined;
  if (target && target.dims.length === 1)
    shape = target.values.map((dim) => (typeof dim === 'number' && dim < 0 ? null : dim));
  else {
    const length = context.shape(0)?.[0];
    if (isKnown(length)) shape = new Array<Dimension>(length).fill(null);
  }
  let data: PartialTensor | undefined;
  if (isStatic(shape) && countOf(shape) <= MAX_DATA_ELEMENTS) {
    const fill = tensor ? partialFromTensor(tensor)?.values[0] : 0;
    if (fill !== undefined) data = partial(shape, new Array<Dimension>(countOf(shape)).fill(fill));
  }
  context.setTensor(0, elementType, shape, data);
};

const range: Inferrer = (context) => {
  const elementType = sharedElementType(context, [0, 1, 2]);
  const [start] = context.numbers(0) ?? [];
  const [limit] = context.numbers(1) ?? [];
  const [delta] = context.numbers(2) ?? [];
  if (start === undefined || limit === undefined || delta === undefined || delta === 0) {
    context.setTensor(0, elementType, [null]);
    return;
  }
  const float = elementType === DataType.FLOAT;
  const span = float ? Math.fround(limit - start) : limit - start;
  const length = Math.max(Math.ceil(span / delta), 0);
  let data: PartialTensor | undefined;
  if (length <= MAX_DATA_ELEMENTS) {
    const values: Dimension[] = [];
    for (let index = 0; index < length; index++) values.push(castNumber(start + index * delta, elementType));
    data = vectorData(values);
  }
  context.setTensor(0, elementType, [length], data);
};

const depthToSpace: Inferrer = (context) => {
  const input = context.shape(0);
  const block = intAttr(context.node, 'blocksize', 1);
  const elementType = context.elementType(0);
  if (input?.length !== 4) {
    context.setTensor(0, elementType, undefined);
    return;
  }
  const [n, c, h, w] = input as [Dimension, Dimension, Dimension, Dimension];
  context.setTensor(0, elementType, [n, divideDim(c, block * block), multiplyDims(h, block), multiplyDims(w, block)]);
};

const spaceToDepth: Inferrer = (context) => {
  const input = context.shape(0);
  const block = intAttr(context.node, 'blocksize', 1);
  const elementType = context.elementType(0);
  if (input?.length !== 4) {
    context.setTensor(0, elementType, undefined);
    return;
  }
  const [n, c, h, w] = input as [Dimension, Dimension, Dimension, Dimension];
  context.setTensor(0, elementType, [n, multiplyDims(c, block * block), divideDim(h, block), divideDim(w, block)]);
};

const oneHot: Inferrer = (context) => {
  const indices = context.shape(0);
  const elementType = context.elementType(2);
  const [depth] = context.numbers(1) ?? [];
  if (!indices) {
    context.setTensor(0, elementType, undefined);
    return;
  }
  const rank = indices.length + 1;
  const axis = normalizeAxis(intAttr(context.node, 'axis', -1), rank);
  if (axis === undefined) {
    context.setTensor(0, elementType, undefined);
    return;
  }
  const shape = [...indices];
  shape.splice(axis, 0, depth === undefined ? null : Math.trunc(depth));
  context.setTensor(0, elementType, shape);
};

const eyeLike: Inferrer = (context) => {
  const elementType = dataTypeAttr(context.node, 'dtype', context.elementType(0));
  context.setTensor(0, elementType, context.shape(0));
};

const compress: Inferrer = (context) => {
  const input = context.shape(0);
  const elementType = context.elementType(0);
  const condition = context.numbers(1);
  const axisAttr = intAttr(context.node, 'axis');
  if (axisAttr === undefined) {
    let count: Dimension = null;
    if (condition && isStatic(input) && condition.length <= countOf(input))
      count = condition.filter((v) => v !== 0).length;
    context.setTensor(0, elementType, [count]);
    return;
  }
  const axis = normalizeAxis(axisAttr, input?.length);
  if (!input || axis === undefined) {
    context.setTensor(0, elementType, undefined);
    return;
  }
  const shape = [...input];
  const dim = input[axis]!;
  shape[axis] =
    condition && isKnown(dim) && condition.length <= dim ? condition.filter((value) => value !== 0).length : null;
  context.setTensor(0, elementType, shape);
};

export const shapeOpInferrers: Record<string, Inferrer> = {
  Compress: compress,
  Concat: concat,
  Constant: constant,
  ConstantOfShape: constantOfShape,
  DepthToSpace: depthToSpace,
  Expand: expand,
  EyeLike: eyeLike,
  Flatten: flatten,
  Gather: gather,
  GatherElements: gatherElements,
  GatherND: gatherND,
  OneHot: oneHot,
  Pad: pad,
  Range: range,
  Reshape: reshape,
  Shape: shapeOp,
  Size: size,
  Slice: slice,
  SpaceToDepth: spaceToDepth,
  Split: split,
  Squeeze: squeeze,
  Tile: tile,
  Transpose: transpose,
  Unsqueeze: unsqueeze,
};
