/** Resize and Upsample: output sizes from `sizes`, or from `scales` the way onnxruntime rounds them. */
import type { Dimension } from '@whittle/ir';
import { type InferenceContext, type Inferrer, floatsAttr, intsAttr, stringAttr } from './context.js';
import { isKnown, normalizeAxes, type Shape } from './dims.js';

/** onnxruntime computes `int64(float(scale) * float(size))` in single precision. */
export function scaledDim(input: Dimension, scale: number): Dimension {
  if (scale === 1) return input;
  if (!isKnown(input)) return null;
  return Math.trunc(Math.fround(Math.fround(scale) * Math.fround(input)));
}

function scaled(input: Shape, scales: readonly number[] | undefined, axes: readonly number[]): Shape {
  if (!scales || scales.length !== axes.length) return input.map((dim, index) => (axes.includes(index) ? null : dim));
  const shape = [...input];
  axes.forEach((axis, index) => {
    shape[axis] = scaledDim(input[axis]!, scales[index]!);
  });
  return shape;
}

/** A non-empty 1-D input given as data, or undefined (absent, empty or unknown). */
function listInput(context: InferenceContext, index: number): { given: boolean; values?: number[] } {
  if (!context.has(index)) return { given: false };
  const length = context.shape(index)?.[0];
  if (length === 0) return { given: false };
  const values = context.numbers(index);
  if (values && values.length === 0) return { given: false };
  return { given: true, ...(values ? { values } : {}) };
}

const resize: Inferrer = (context) => {
  const input = context.shape(0);
  const elementType = context.elementType(0);
  if (!input) {
    context.setTensor(0, elementType, undefined);
    return;
  }
  const rank = input.length;
  const axesAttr = context.opset >= 18 ? intsAttr(context.node, 'axes') : undefined;
  const axes = axesAttr ? normalizeAxes(axesAttr, rank) : input.map((_, index) => index);
  if (!axes) {
    context.setTensor(
      0,
      elementType,
      input.map(() => null),
    );
    return;
  }
  if (context.opset < 11) {
    context.setTensor(0, elementType, scaled(input, context.numbers(1), axes));
    return;
  }
  const sizes = listInput(context, 3);
  if (sizes.given) {
    const policy = stringAttr(context.node, 'keep_aspect_ratio_policy', 'stretch');
    const shape = [...input];
    axes.forEach((axis, index) => {
      shape[axis] = policy === 'stretch' ? (sizes.values?.[index] ?? null) : null;
    });
    if (sizes.values && sizes.values.length !== axes.length) {
      context.setTensor(
        0,
        elementType,
        input.map(() => null),
      );
      return;
    }
    context.setTensor(0, elementType, shape);
    return;
  }
  const scales = listInput(context, 2);
  context.setTensor(0, elementType, scaled(input, scales.given ? scales.values : undefined, axes));
};

const upsample: Inferrer = (context) => {
  const input = context.shape(0);
  const elementType = context.elementType(0);
  if (!input) {
    context.setTensor(0, elementType, undefined);
    return;
  }
  const scales = context.opset >= 9 ? context.numbers(1) : floatsAttr(context.node, 'scales');
  const axes = input.map((_, index) => index);
  context.setTensor(0, elementType, scaled(input, scales, axes));
};

export const resizeInferrers: Record<string, Inferrer> = {
  Resize: resize,
  Upsample: upsample,
};
