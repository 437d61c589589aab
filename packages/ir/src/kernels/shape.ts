/**
 * Operators that read or change only a tensor's shape: Shape, Size, Identity, Reshape, Flatten, Squeeze, Unsqueeze.
 * Reshaping operators share the input's data (nothing is copied).
 */
import { DataType } from '../data-type.js';
import type { KernelDefinition, KernelTable } from './registry.js';
import { int64Tensor, type KernelContext, normalizeAxes, productOf, refuse, withDims } from './support.js';

const shape: KernelDefinition = {
  attributes: ['start', 'end'],
  evaluate(context) {
    const dims = context.input(0).dims;
    const rank = dims.length;
    const clampAxis = (axis: number) => Math.min(Math.max(axis < 0 ? axis + rank : axis, 0), rank);
    const start = clampAxis(context.int('start', 0));
    const end = clampAxis(context.int('end', rank));
    const selected = dims.slice(start, Math.max(start, end));
    return [int64Tensor([selected.length], selected)];
  },
};

const size: KernelDefinition = {
  evaluate(context) {
    return [int64Tensor([], [productOf(context.input(0).dims)])];
  },
};

const identity: KernelDefinition = {
  evaluate(context) {
    const input = context.input(0);
    return [withDims(input, input.dims)];
  },
};

/** Reshape (opset 5+): 0 copies the input dim (unless allowzero=1), one -1 takes what is left. */
const reshape: KernelDefinition = {
  attributes: ['allowzero'],
  sinceOpset: 5,
  evaluate(context) {
    const input = context.input(0);
    const shapeInput = context.input(1);
    if (shapeInput.dataType !== DataType.INT64 || shapeInput.dims.length !== 1) refuse('shape must be 1-D int64');
    const requested = context.safeIntegers(shapeInput);
    const allowZero = context.int('allowzero', 0) !== 0;
    if (allowZero && requested.includes(0) && requested.includes(-1)) refuse('allowzero with both 0 and -1');
    const dims = requested.map((dim, axis) => {
      if (dim === 0 && !allowZero) {
        if (axis >= input.dims.length) refuse('0 refers to a missing input dim');
        return input.dims[axis]!;
      }
      return dim;
    });
    const inferred = dims.indexOf(-1);
    if (dims.lastIndexOf(-1) !== inferred) refuse('more than one -1');
    if (dims.some((dim) => dim < -1)) refuse('negative dim');
    const total = productOf(input.dims);
    if (inferred >= 0) {
      const known = productOf(dims.filter((_, axis) => axis !== inferred));
      if (known === 0 || total % known !== 0) refuse('cannot infer the -1 dim');
      dims[inferred] = total / known;
    }
    if (productOf(dims) !== total) refuse('Reshape changes the element count');
    return [withDims(input, dims)];
  },
};

const flatten: KernelDefinition = {
  attributes: ['axis'],
  evaluate(context) {
    const input = context.input(0);
    const rank = input.dims.length;
    let axis = context.int('axis', 1);
    if (axis < 0) {
      if (context.opset < 11) refuse('negative Flatten axis before opset 11');
      axis += rank;
    }
    if (axis < 0 || axis > rank) refuse('Flatten axis out of range');
    return [withDims(input, [productOf(input.dims.slice(0, axis)), productOf(input.dims.slice(axis))])];
  },
};

/** Axes from the `axes` attribute (before opset 13) or the optional second input (from 13). */
function axesOf(context: KernelContext, inputSince: number): number[] | undefined {
  if (context.opset >= inputSince) {
    if (context.node.attributes.has('axes')) refuse('axes is an input in this opset');
    const axes = context.optionalInput(1);
    return axes ? context.safeIntegers(axes) : undefined;
  }
  if (context.inputCount > 1) refuse('axes is an attribute in this opset');
  return context.ints('axes');
}

const squeeze: KernelDefinition = {
  attributes: ['axes'],
  evaluate(context) {
    const input = context.input(0);
    const rank = input.dims.length;
    const axes = axesOf(context, 13);
    if (axes === undefined)
      return [
        withDims(
          input,
          input.dims.filter((dim) => dim !== 1),
        ),
      ];
    // An empty axes list reads as "no axes" to some runtimes and "every unit axis" to others.
    if (axes.length === 0) refuse('empty Squeeze axes');
    if (axes.some((axis) => axis < 0) && context.opset < 11) refuse('negative axes before opset 11');
    const removed = normalizeAxes(axes, rank);
    for (const axis of removed) if (input.dims[axis] !== 1) refuse('squeezed axis is not 1');
    return [
      withDims(
        input,
        input.dims.filter((_, axis) => !removed.includes(axis)),
      ),
    ];
  },
};

const unsqueeze: KernelDefinition = {
  attributes: ['axes'],
  evaluate(context) {
    const input = context.input(0);
    const axes = axesOf(context, 13) ?? refuse('Unsqueeze needs axes');
    if (axes.some((axis) => axis < 0) && context.opset < 11) refuse('negative axes before opset 11');
    const rank = input.dims.length + axes.length;
    const inserted = normalizeAxes(axes, rank);
    const dims: number[] = [];
    let next = 0;
    for (let axis = 0; axis < rank; axis++) dims.push(inserted.includes(axis) ? 1 : input.dims[next++]!);
    return [withDims(input, dims)];
  },
};

export const shapeKernels: KernelTable = {
  Shape: shape,
  Size: size,
  Identity: identity,
  Reshape: reshape,
  Flatten: flatten,
  Squeeze: squeeze,
  Unsqueeze: unsqueeze,
};
