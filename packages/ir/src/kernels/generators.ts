/** Operators that make tensors: Constant, ConstantOfShape, Range. */
import { DataType } from '../data-type.js';
import type { Node } from '../node.js';
import { type NumericArray, StringData, Tensor } from '../tensor.js';
import type { Value } from '../value.js';
import type { KernelDefinition, KernelTable } from './registry.js';
import {
  type BigIntValues,
  computeStorage,
  isBigIntType,
  isFloatType,
  type NumberValues,
  refuse,
  rounderOf,
  tensorOfValues,
  withDims,
} from './support.js';

/**
 * The tensor a value holds before the model runs: an initializer that is not a graph input, or the output of a
 * `Constant` node (constantNodeValue). Undefined when the value is not provably constant.
 */
export function constantValueOf(value: Value | undefined): Tensor | undefined {
  if (!value) return undefined;
  if (value.constant) return value.constant;
  const producer = value.producer;
  return producer && producer.output(0) === value ? constantNodeValue(producer) : undefined;
}

/**
 * The tensor a `Constant` node produces, for every form but `sparse_value`: `value` gives the node's own tensor
 * object (its data untouched, so lifting it is lossless), `value_float(s)` / `value_int(s)` / `value_string(s)` a
 * new FLOAT / INT64 / STRING tensor (scalar or 1-D). Undefined for sparse values, attribute references, a node
 * with no or several value attributes, or a node that is not a default-domain Constant.
 */
export function constantNodeValue(node: Node): Tensor | undefined {
  if (!node.is('Constant') || node.attributes.size !== 1) return undefined;
  const [attribute] = node.attributes.values();
  if (!attribute) return undefined;
  switch (attribute.name) {
    case 'value':
      return attribute.type === 'tensor' ? attribute.value : undefined;
    case 'value_float':
      return attribute.type === 'float'
        ? Tensor.fromArray('', DataType.FLOAT, [], Float32Array.of(attribute.value))
        : undefined;
    case 'value_floats':
      return attribute.type === 'floats'
        ? Tensor.fromArray('', DataType.FLOAT, [attribute.value.length], Float32Array.from(attribute.value))
        : undefined;
    case 'value_int':
      return attribute.type === 'int'
        ? Tensor.fromArray('', DataType.INT64, [], BigInt64Array.of(BigInt(attribute.value)))
        : undefined;
    case 'value_ints':
      return attribute.type === 'ints'
        ? Tensor.fromArray(
            '',
            DataType.INT64,
            [attribute.value.length],
            BigInt64Array.from(attribute.value, (value) => BigInt(value)),
          )
        : undefined;
    case 'value_string':
      return attribute.type === 'string'
        ? new Tensor({ dataType: DataType.STRING, dims: [], data: new StringData([attribute.value]) })
        : undefined;
    case 'value_strings':
      return attribute.type === 'strings'
        ? new Tensor({
            dataType: DataType.STRING,
            dims: [attribute.value.length],
            data: new StringData([...attribute.value]),
          })
        : undefined;
    default:
      return undefined;
  }
}

const constant: KernelDefinition = {
  attributes: ['value', 'value_float', 'value_floats', 'value_int', 'value_ints', 'value_string', 'value_strings'],
  evaluate(context) {
    const value = constantNodeValue(context.node) ?? refuse('Constant without a dense value');
    context.checkSize(value.elementCount);
    // A new tensor object over the same data, so the caller may rename it freely.
    return [withDims(value, value.dims)];
  },
};

const constantOfShape: KernelDefinition = {
  attributes: ['value'],
  sinceOpset: 9,
  evaluate(context) {
    const shapeInput = context.input(0);
    if (shapeInput.dataType !== DataType.INT64 || shapeInput.dims.length !== 1) refuse('shape must be 1-D int64');
    const dims = context.outputDims(context.safeIntegers(shapeInput));
    const value =
      context.node.tensorAttribute('value') ?? Tensor.fromArray('', DataType.FLOAT, [1], Float32Array.of(0));
    if (value.elementCount !== 1) refuse('ConstantOfShape value must hold one element');
    const elements = context.elements(value);
    if (Array.isArray(elements)) refuse('ConstantOfShape of strings');
    const count = dims.reduce((product, dim) => product * dim, 1);
    const arrayType = elements.constructor as new (length: number) => NumericArray;
    const out = new arrayType(count);
    (out.fill as (value: number | bigint) => void)(elements[0]!);
    return [Tensor.fromArray('', value.dataType, dims, out)];
  },
};

/** Range as ONNX Runtime computes it: n = ceil((limit - start) / delta) in float64, then start += delta n times in T. */
const range: KernelDefinition = {
  sinceOpset: 11,
  evaluate(context) {
    const start = context.input(0);
    const limit = context.input(1);
    const delta = context.input(2);
    const type = start.dataType;
    if (limit.dataType !== type || delta.dataType !== type) refuse('Range inputs must share a type');
    const allowed =
      type === DataType.FLOAT || type === DataType.DOUBLE || type === DataType.INT16 || type === DataType.INT32;
    if (!(allowed || type === DataType.INT64)) refuse(`Range of type ${type}`);
    for (const tensor of [start, limit, delta]) if (tensor.elementCount !== 1) refuse('Range takes scalars');
    if (isBigIntType(type)) {
      const first = context.bigints(start)[0]!;
      const last = context.bigints(limit)[0]!;
      const step = context.bigints(delta)[0]!;
      if (step === 0n) refuse('Range delta is zero');
      const count = Math.max(0, Math.ceil(Number(BigInt.asIntN(64, last - first)) / Number(step)));
      const dims = context.outputDims([count]);
      const out = computeStorage(type, count) as BigIntValues;
      let value = first;
      for (let index = 0; index < count; index++) {
        out[index] = value;
        value = BigInt.asIntN(64, value + step);
      }
      return [tensorOfValues(type, dims, out)];
    }
    const first = context.numbers(start)[0]!;
    const last = context.numbers(limit)[0]!;
    const step = context.numbers(delta)[0]!;
    if (step === 0) refuse('Range delta is zero');
    const round = isFloatType(type) ? rounderOf(type) : (value: number) => value;
    const span = round(last - first);
    const quotient = Math.ceil(span / step);
    if (!Number.isFinite(quotient)) refuse('Range is unbounded');
    const count = Math.max(0, quotient);
    const dims = context.outputDims([count]);
    const out = computeStorage(type, count) as NumberValues;
    let value = first;
    for (let index = 0; index < count; index++) {
      out[index] = value;
      value = round(value + step);
    }
    return [tensorOfValues(type, dims, out)];
  },
};

export const generatorKernels: KernelTable = {
  Constant: constant,
  ConstantOfShape: constantOfShape,
  Range: range,
};
