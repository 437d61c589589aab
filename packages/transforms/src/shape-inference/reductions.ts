/** Reductions (ReduceSum, ReduceMean, ...) and ArgMax/ArgMin. */
import { DataType, type Dimension } from '@whittle/ir';
import { type InferenceContext, type Inferrer, intAttr, intsAttr } from './context.js';
import { castNumber, countOf, scalarData } from './data.js';
import { normalizeAxes, normalizeAxis, type Shape } from './dims.js';

const REDUCTIONS: Record<string, { axesInputFrom: number; fold?: (values: number[]) => number }> = {
  ReduceL1: { axesInputFrom: 18 },
  ReduceL2: { axesInputFrom: 18 },
  ReduceLogSum: { axesInputFrom: 18 },
  ReduceLogSumExp: { axesInputFrom: 18 },
  ReduceMax: { axesInputFrom: 18, fold: (values) => Math.max(...values) },
  ReduceMean: { axesInputFrom: 18 },
  ReduceMin: { axesInputFrom: 18, fold: (values) => Math.min(...values) },
  ReduceProd: { axesInputFrom: 18, fold: (values) => values.reduce((a, b) => a * b, 1) },
  ReduceSum: { axesInputFrom: 13, fold: (values) => values.reduce((a, b) => a + b, 0) },
  ReduceSumSquare: { axesInputFrom: 18 },
};

function reduction(axesInputFrom: number, fold?: (values: number[]) => number): Inferrer {
  return (context: InferenceContext) => {
    const input = context.shape(0);
    const elementType = context.elementType(0);
    const keep = intAttr(context.node, 'keepdims', 1) === 1;
    let axes: number[] | undefined;
    let axesKnown = true;
    if (context.opset >= axesInputFrom) {
      if (context.has(1)) {
        axes = context.numbers(1);
        axesKnown = axes !== undefined;
      }
    } else axes = intsAttr(context.node, 'axes');
    if (!input) {
      context.setTensor(0, elementType, undefined);
      return;
    }
    if (!axesKnown) {
      // Each dim is kept or becomes 1.
      context.setTensor(0, elementType, keep ? input.map((dim) => (dim === 1 ? 1 : null)) : undefined);
      return;
    }
    const noop = intAttr(context.node, 'noop_with_empty_axes', 0) === 1;
    if ((axes === undefined || axes.length === 0) && noop) {
      context.setTensor(0, elementType, input, context.data(0));
      return;
    }
    const reduced =
      axes === undefined || axes.length === 0 ? input.map((_, index) => index) : normalizeAxes(axes, input.length);
    if (!reduced) {
      context.setTensor(0, elementType, undefined);
      return;
    }
    const shape: Shape = [];
    input.forEach((dim, index) => {
      if (!reduced.includes(index)) shape.push(dim);
      else if (keep) shape.push(1);
    });
    // Data of a reduction of a whole small vector (the element count of a shape, say).
    let data: ReturnType<typeof scalarData> | undefined;
    const values = context.numbers(0);
    if (fold && values && values.length > 0 && reduced.length === input.length) {
      const folded = castNumber(fold(values), elementType);
      data = keep ? { dims: shape.map(() => 1), values: [folded] } : scalarData(folded);
      if (countOf(data.dims) !== 1) data = undefined;
    }
    context.setTensor(0, elementType, shape, data);
  };
}

const argReduction: Inferrer = (context) => {
  const input = context.shape(0);
  if (!input) {
    context.setTensor(0, DataType.INT64, undefined);
    return;
  }
  const axis = normalizeAxis(intAttr(context.node, 'axis', 0), input.length);
  const keep = intAttr(context.node, 'keepdims', 1) === 1;
  if (axis === undefined) {
    context.setTensor(0, DataType.INT64, undefined);
    return;
  }
  const shape: Dimension[] = [];
  input.forEach((dim, index) => {
    if (index !== axis) shape.push(dim);
    else if (keep) shape.push(1);
  });
  context.setTensor(0, DataType.INT64, shape);
};

export const reductionInferrers: Record<string, Inferrer> = {
  ...Object.fromEntries(
    Object.entries(REDUCTIONS).map(([op, { axesInputFrom, fold }]) => [op, reduction(axesInputFrom, fold)]),
  ),
  ArgMax: argReduction,
  ArgMin: argReduction,
};
