/**
 * Operators that move elements without arithmetic: Transpose, Concat, Split, Slice, Gather, GatherElements, Tile,
 * Expand. They work on the stored elements of any byte-aligned type, strings included.
 */
import { DataType } from '../data-type.js';
import type { Tensor } from '../tensor.js';
import type { KernelDefinition, KernelTable } from './registry.js';
import {
  axisOffsets,
  broadcastDims,
  broadcastMap,
  type Elements,
  emptyLike,
  indexMap,
  type KernelContext,
  normalizeAxis,
  normalizeAxes,
  productOf,
  refuse,
  stridesOf,
  takeElements,
  tensorOfElements,
} from './support.js';

function gathered(context: KernelContext, input: Tensor, dims: readonly number[], map: Int32Array): Tensor {
  return tensorOfElements(input.dataType, dims, takeElements(context.elements(input), map));
}

const transpose: KernelDefinition = {
  attributes: ['perm'],
  evaluate(context) {
    const input = context.input(0);
    const rank = input.dims.length;
    const perm = context.ints('perm') ?? Array.from({ length: rank }, (_, axis) => rank - 1 - axis);
    if (perm.length !== rank || [...perm].sort((a, b) => a - b).some((axis, index) => axis !== index)) {
      refuse('perm is not a permutation of the axes');
    }
    const strides = stridesOf(input.dims);
    const dims = context.outputDims(perm.map((axis) => input.dims[axis]!));
    const offsets = perm.map((axis, position) => {
      const along = new Int32Array(dims[position]!);
      for (let index = 0; index < along.length; index++) along[index] = index * strides[axis]!;
      return along;
    });
    return [gathered(context, input, dims, indexMap(dims, offsets))];
  },
};

const concat: KernelDefinition = {
  attributes: ['axis'],
  evaluate(context) {
    const inputs = Array.from({ length: context.inputCount }, (_, index) => context.input(index));
    const first = inputs[0] ?? refuse('Concat without inputs');
    const rank = first.dims.length;
    if (rank === 0) refuse('Concat of scalars');
    const rawAxis = context.optionalInt('axis') ?? (context.opset < 4 ? 1 : refuse('Concat needs an axis'));
    if (rawAxis < 0 && context.opset < 11) refuse('negative axis before opset 11');
    const axis = normalizeAxis(rawAxis, rank);
    for (const input of inputs) {
      if (input.dataType !== first.dataType || input.dims.length !== rank) refuse('Concat inputs disagree');
      if (input.dims.some((dim, index) => index !== axis && dim !== first.dims[index])) refuse('Concat dims differ');
    }
    const dims = [...first.dims];
    dims[axis] = inputs.reduce((total, input) => total + input.dims[axis]!, 0);
    context.outputDims(dims);
    const outer = productOf(first.dims.slice(0, axis));
    const inner = productOf(first.dims.slice(axis + 1));
    const sources = inputs.map((input) => context.elements(input));
    const out = emptyLike(sources[0]!, productOf(dims)) as unknown[];
    let position = 0;
    for (let block = 0; block < outer; block++) {
      sources.forEach((source, which) => {
        const length = inputs[which]!.dims[axis]! * inner;
        const from = source as unknown as ArrayLike<unknown>;
        for (let index = block * length; index < (block + 1) * length; index++) out[position++] = from[index];
      });
    }
    return [tensorOfElements(first.dataType, dims, out as unknown as Elements)];
  },
};

/** A copy of the part of `input` between `start` and `start + length` along `axis`. */
function sliceAlong(context: KernelContext, input: Tensor, axis: number, start: number, length: number): Tensor {
  const dims = [...input.dims];
  dims[axis] = length;
  const offsets = axisOffsets(input.dims).map((along, index) => {
    if (index !== axis) return along;
    return along.subarray(start, start + length);
  });
  return gathered(context, input, dims, indexMap(dims, offsets));
}

const split: KernelDefinition = {
  attributes: ['axis', 'split', 'num_outputs'],
  sinceOpset: 2,
  evaluate(context) {
    const input = context.input(0);
    const rank = input.dims.length;
    const axis = normalizeAxis(context.int('axis', 0), rank);
    const dim = input.dims[axis]!;
    const outputs = context.outputCount;
    let sizes: number[] | undefined;
    if (context.opset >= 13) {
      if (context.node.attributes.has('split')) refuse('split is an input in this opset');
      const given = context.optionalInput(1);
      if (given) sizes = context.safeIntegers(given);
    } else {
      if (context.inputCount > 1) refuse('split is an attribute in this opset');
      sizes = context.ints('split');
    }
    const parts = context.opset >= 18 ? context.optionalInt('num_outputs') : undefined;
    if (context.opset < 18 && context.node.attributes.has('num_outputs')) refuse('num_outputs needs opset 18');
    if (sizes === undefined) {
      const count = parts ?? outputs;
      if (count <= 0) refuse('Split into no parts');
      if (dim % count === 0) sizes = new Array<number>(count).fill(dim / count);
      else if (context.opset >= 18) {
        const chunk = Math.ceil(dim / count);
        sizes = Array.from({ length: count }, (_, index) => Math.max(0, Math.min(chunk, dim - index * chunk)));
      } else refuse('uneven Split');
    }
    if (sizes.length !== outputs || sizes.some((part) => part < 0)) refuse('split sizes do not match the outputs');
    if (sizes.reduce((total, part) => total + part, 0) !== dim) refuse('split sizes do not add up');
    let start = 0;
    return sizes.map((part) => {
      const result = sliceAlong(context, input, axis, start, part);
      start += part;
      return result;
    });
  },
};

/** Slice: starts/ends/axes attributes before opset 10, then starts, ends, axes and steps inputs. */
const slice: KernelDefinition = {
  attributes: ['starts', 'ends', 'axes'],
  evaluate(context) {
    const input = context.input(0);
    const rank = input.dims.length;
    let starts: number[];
    let ends: number[];
    let axes: number[] | undefined;
    let steps: number[] | undefined;
    if (context.opset < 10) {
      if (context.inputCount > 1) refuse('Slice takes attributes before opset 10');
      starts = context.ints('starts') ?? refuse('Slice needs starts');
      ends = context.ints('ends') ?? refuse('Slice needs ends');
      axes = context.ints('axes');
    } else {
      if (context.node.attributes.size > 0) refuse('Slice takes inputs from opset 10');
      starts = context.integers(context.input(1));
      ends = context.integers(context.input(2));
      const axesInput = context.optionalInput(3);
      const stepsInput = context.optionalInput(4);
      axes = axesInput ? context.safeIntegers(axesInput) : undefined;
      steps = stepsInput ? context.integers(stepsInput) : undefined;
    }
    axes ??= starts.map((_, index) => index);
    steps ??= starts.map(() => 1);
    if (ends.length !== starts.length || axes.length !== starts.length || steps.length !== starts.length) {
      refuse('Slice parameters differ in length');
    }
    if (axes.some((axis) => axis < 0) && context.opset < 10) refuse('negative axes before opset 10');
    const normalized = normalizeAxes(axes, rank);
    const dims = [...input.dims];
    const firsts = new Array<number>(rank).fill(0);
    const strides = new Array<number>(rank).fill(1);
    normalized.forEach((axis, index) => {
      const dim = input.dims[axis]!;
      const step = steps[index]!;
      if (step === 0 || !Number.isSafeInteger(step)) refuse('invalid Slice step');
      let start = starts[index]!;
      let end = ends[index]!;
      if (start < 0) start += dim;
      if (end < 0) end += dim;
      if (step > 0) {
        start = Math.min(Math.max(start, 0), dim);
        end = Math.min(Math.max(end, 0), dim);
      } else {
        start = Math.min(Math.max(start, 0), dim - 1);
        end = Math.min(Math.max(end, -1), dim - 1);
      }
      dims[axis] = Math.max(0, Math.ceil((end - start) / step));
      firsts[axis] = start;
      strides[axis] = step;
    });
    context.outputDims(dims);
    const inputStrides = stridesOf(input.dims);
    const offsets = dims.map((dim, axis) => {
      const along = new Int32Array(dim);
      for (let index = 0; index < dim; index++) {
        along[index] = (firsts[axis]! + index * strides[axis]!) * inputStrides[axis]!;
      }
      return along;
    });
    return [gathered(context, input, dims, indexMap(dims, offsets))];
  },
};

/** Indices as non-negative positions below `dim` (negative ones count from the end); refuses any out of range. */
function indicesOf(context: KernelContext, indices: Tensor, dim: number): number[] {
  if (indices.dataType !== DataType.INT64 && indices.dataType !== DataType.INT32) refuse('indices must be integers');
  return context.integers(indices).map((index) => {
    const position = index < 0 ? index + dim : index;
    if (!(position >= 0 && position < dim)) refuse(`index ${index} out of range`);
    return position;
  });
}

const gather: KernelDefinition = {
  attributes: ['axis'],
  evaluate(context) {
    const data = context.input(0);
    const indices = context.input(1);
    const rank = data.dims.length;
    if (rank === 0) refuse('Gather from a scalar');
    const rawAxis = context.int('axis', 0);
    if (rawAxis < 0 && context.opset < 11) refuse('negative axis before opset 11');
    const axis = normalizeAxis(rawAxis, rank);
    const positions = indicesOf(context, indices, data.dims[axis]!);
    const dims = context.outputDims([...data.dims.slice(0, axis), ...indices.dims, ...data.dims.slice(axis + 1)]);
    // Map over [leading..., flattened indices, trailing...], which has the output's flat order.
    const strides = stridesOf(data.dims);
    const flatDims = [...data.dims.slice(0, axis), positions.length, ...data.dims.slice(axis + 1)];
    const offsets = axisOffsets(data.dims).map((along, index) => {
      if (index !== axis) return along;
      return Int32Array.from(positions, (position) => position * strides[axis]!);
    });
    return [gathered(context, data, dims, indexMap(flatDims, offsets))];
  },
};

const gatherElements: KernelDefinition = {
  attributes: ['axis'],
  sinceOpset: 11,
  evaluate(context) {
    const data = context.input(0);
    const indices = context.input(1);
    const rank = data.dims.length;
    if (rank === 0 || indices.dims.length !== rank) refuse('GatherElements ranks differ');
    const axis = normalizeAxis(context.int('axis', 0), rank);
    if (indices.dims.some((dim, index) => index !== axis && dim > data.dims[index]!)) refuse('indices too large');
    const dims = context.outputDims(indices.dims);
    const strides = stridesOf(data.dims);
    const positions = indicesOf(context, indices, data.dims[axis]!);
    const offsets = dims.map((dim, index) => {
      const along = new Int32Array(dim);
      if (index !== axis) for (let at = 0; at < dim; at++) along[at] = at * strides[index]!;
      return along;
    });
    const map = indexMap(dims, offsets);
    for (let index = 0; index < map.length; index++) map[index] = map[index]! + positions[index]! * strides[axis]!;
    return [gathered(context, data, dims, map)];
  },
};

const tile: KernelDefinition = {
  sinceOpset: 6,
  evaluate(context) {
    const input = context.input(0);
    const repeatsInput = context.input(1);
    if (repeatsInput.dataType !== DataType.INT64) refuse('repeats must be int64');
    const repeats = context.safeIntegers(repeatsInput);
    const rank = input.dims.length;
    if (repeats.length !== rank || repeats.some((count) => count < 0)) refuse('repeats do not match the rank');
    const dims = context.outputDims(input.dims.map((dim, axis) => dim * repeats[axis]!));
    const strides = stridesOf(input.dims);
    const offsets = dims.map((dim, axis) => {
      const along = new Int32Array(dim);
      const size = input.dims[axis]!;
      for (let index = 0; index < dim; index++) along[index] = (index % size) * strides[axis]!;
      return along;
    });
    return [gathered(context, input, dims, indexMap(dims, offsets))];
  },
};

const expand: KernelDefinition = {
  sinceOpset: 8,
  evaluate(context) {
    const input = context.input(0);
    const shapeInput = context.input(1);
    if (shapeInput.dataType !== DataType.INT64 || shapeInput.dims.length !== 1) refuse('shape must be 1-D int64');
    const requested = context.safeIntegers(shapeInput);
    if (requested.some((dim) => dim < 0)) refuse('negative dim');
    const dims = context.outputDims(broadcastDims([input.dims, requested]));
    return [gathered(context, input, dims, broadcastMap(input.dims, dims))];
  },
};

export const movementKernels: KernelTable = {
  Transpose: transpose,
  Concat: concat,
  Split: split,
  Slice: slice,
  Gather: gather,
  GatherElements: gatherElements,
  Tile: tile,
  Expand: expand,
};
