/**
 * ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceProd, ReduceSumSquare, ReduceL1, ReduceL2, ReduceLogSum: axes as an attribute (before opset 13 for ReduceSum, 18 for the others) or as an optional
 * input, keepdims, noop_with_empty_axes.
 *
 * Float sums and products accumulate in float64 and round once to the element type: ONNX Runtime's float32 results
 * come from vectorized partial sums whose order no sequential loop reproduces, and the float64 sum is the value
 * both approximate. Integer sums and products wrap like their C++ counterparts. Max and Min propagate NaN. An empty
 * reduction is refused for Max, Min, Mean and the log forms (the result is a convention, not arithmetic); the
 * integer Mean, whose rounding ONNX does not pin down, is refused too.
 */
import { DataType } from '../data-type.js';
import type { Tensor } from '../tensor.js';
import type { KernelDefinition, KernelTable } from './registry.js';
import {
  type BigIntValues,
  broadcastMap,
  computeStorage,
  isBigIntType,
  isFloatType,
  isNumericType,
  type KernelContext,
  type NumberValues,
  normalizeAxes,
  refuse,
  tensorOfValues,
  withDims,
} from './support.js';

type Reduction = 'sum' | 'mean' | 'max' | 'min' | 'prod' | 'sumSquare' | 'l1' | 'l2' | 'logSum';

/** Reductions that are only defined for float inputs here. */
const FLOAT_ONLY: ReadonlySet<Reduction> = new Set(['mean', 'l2', 'logSum']);
/** Reductions whose empty result is a convention (±infinity, NaN, log 0) rather than arithmetic. */
const NEEDS_ELEMENTS: ReadonlySet<Reduction> = new Set(['mean', 'max', 'min', 'logSum']);
const BITS_32: ReadonlySet<DataType> = new Set([DataType.INT32, DataType.UINT32]);

function reduceKernel(reduction: Reduction, axesInputSince: number): KernelDefinition {
  return {
    attributes: ['axes', 'keepdims', 'noop_with_empty_axes'],
    evaluate(context) {
      const input = context.input(0);
      const type = input.dataType;
      if (!isNumericType(type)) refuse(`reduction of type ${type}`);
      if (FLOAT_ONLY.has(reduction) && !isFloatType(type)) refuse(`integer ${reduction}`);
      const rank = input.dims.length;
      let axes: number[] | undefined;
      if (context.opset >= axesInputSince) {
        if (context.node.attributes.has('axes')) refuse('axes is an input in this opset');
        const given = context.optionalInput(1);
        axes = given ? context.safeIntegers(given) : undefined;
      } else {
        if (context.inputCount > 1) refuse('axes is an attribute in this opset');
        if (context.node.attributes.has('noop_with_empty_axes')) refuse('noop_with_empty_axes in this opset');
        axes = context.ints('axes');
      }
      const keepDims = context.int('keepdims', 1) !== 0;
      if ((axes === undefined || axes.length === 0) && context.int('noop_with_empty_axes', 0) !== 0) {
        return [withDims(input, input.dims)];
      }
      const reduced =
        axes === undefined || axes.length === 0 ? input.dims.map((_, axis) => axis) : normalizeAxes(axes, rank);
      const keptDims = input.dims.map((dim, axis) => (reduced.includes(axis) ? 1 : dim));
      const dims = context.outputDims(keepDims ? keptDims : input.dims.filter((_, axis) => !reduced.includes(axis)));
      const groupSize = reduced.reduce((product, axis) => product * input.dims[axis]!, 1);
      if (groupSize === 0 && NEEDS_ELEMENTS.has(reduction)) refuse(`empty ${reduction}`);
      // Each input element's position in the (kept-dims) output: broadcasting in reverse.
      context.checkSize(input.elementCount);
      const target = reduceMap(input, keptDims);
      return [
        isBigIntType(type)
          ? reduceBigInts(context, input, dims, target, reduction)
          : reduceNumbers(context, input, dims, target, reduction, groupSize),
      ];
    },
  };
}

/** For every input element, the flat index of the output element it folds into. */
function reduceMap(input: Tensor, keptDims: readonly number[]): Int32Array {
  // Broadcasting the kept dims over the input dims maps each input coordinate to its output coordinate.
  return broadcastMap(keptDims, input.dims);
}

function reduceNumbers(
  context: KernelContext,
  input: Tensor,
  dims: number[],
  target: Int32Array,
  reduction: Reduction,
  groupSize: number,
): Tensor {
  const type = input.dataType;
  const values = context.numbers(input);
  const count = dims.reduce((product, dim) => product * dim, 1);
  const float = isFloatType(type);
  // Floats accumulate in float64; integers in their own storage, which wraps at every step.
  const accumulator = (float ? new Float64Array(count) : computeStorage(type, count)) as NumberValues;
  const multiply = BITS_32.has(type) ? Math.imul : (x: number, y: number) => x * y;
  const seen = new Uint8Array(count);
  if (reduction === 'prod') (accumulator as unknown as Float64Array).fill(1);
  for (let index = 0; index < target.length; index++) {
    const at = target[index]!;
    const value = values[index]!;
    switch (reduction) {
      case 'sum':
      case 'mean':
        accumulator[at] = accumulator[at]! + value;
        break;
      case 'sumSquare':
        accumulator[at] = accumulator[at]! + multiply(value, value);
        break;
      case 'l1':
        accumulator[at] = accumulator[at]! + Math.abs(value);
        break;
      case 'l2':
        accumulator[at] = accumulator[at]! + value * value;
        break;
      case 'logSum':
        accumulator[at] = accumulator[at]! + value;
        break;
      case 'prod':
        accumulator[at] = multiply(accumulator[at]!, value);
        break;
      case 'max':
      case 'min': {
        const current = accumulator[at]!;
        if (!seen[at]) {
          seen[at] = 1;
          accumulator[at] = value;
        } else if (Number.isNaN(current) || Number.isNaN(value)) accumulator[at] = Number.NaN;
        else accumulator[at] = reduction === 'max' ? Math.max(current, value) : Math.min(current, value);
        break;
      }
    }
  }
  if (reduction === 'mean' || reduction === 'l2' || reduction === 'logSum') {
    const round = type === DataType.DOUBLE ? (x: number) => x : Math.fround;
    for (let index = 0; index < count; index++) {
      const total = round(accumulator[index]!);
      accumulator[index] =
        reduction === 'mean' ? total / groupSize : reduction === 'l2' ? Math.sqrt(total) : Math.log(total);
    }
  }
  return tensorOfValues(type, dims, accumulator);
}

function reduceBigInts(
  context: KernelContext,
  input: Tensor,
  dims: number[],
  target: Int32Array,
  reduction: Reduction,
): Tensor {
  const values = context.bigints(input);
  const count = dims.reduce((product, dim) => product * dim, 1);
  const accumulator = computeStorage(input.dataType, count) as BigIntValues;
  const seen = new Uint8Array(count);
  if (reduction === 'prod') accumulator.fill(1n);
  for (let index = 0; index < target.length; index++) {
    const at = target[index]!;
    const value = values[index]!;
    const current = accumulator[at]!;
    switch (reduction) {
      case 'sum':
        accumulator[at] = current + value;
        break;
      case 'sumSquare':
        accumulator[at] = current + value * value;
        break;
      case 'l1':
        accumulator[at] = current + (value < 0n ? -value : value);
        break;
      case 'prod':
        accumulator[at] = current * value;
        break;
      case 'max':
      case 'min':
        if (!seen[at]) {
          seen[at] = 1;
          accumulator[at] = value;
        } else if (reduction === 'max' ? value > current : value < current) accumulator[at] = value;
        break;
      default:
        refuse(`integer ${reduction}`);
    }
  }
  return tensorOfValues(input.dataType, dims, accumulator);
}

export const reduceKernels: KernelTable = {
  ReduceSum: reduceKernel('sum', 13),
  ReduceMean: reduceKernel('mean', 18),
  ReduceMax: reduceKernel('max', 18),
  ReduceMin: reduceKernel('min', 18),
  ReduceProd: reduceKernel('prod', 18),
  ReduceSumSquare: reduceKernel('sumSquare', 18),
  ReduceL1: reduceKernel('l1', 18),
  ReduceL2: reduceKernel('l2', 18),
  ReduceLogSum: reduceKernel('logSum', 18),
};
