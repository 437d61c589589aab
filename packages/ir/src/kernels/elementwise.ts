/**
 * Elementwise operators with numpy broadcasting: arithmetic, math functions, activations, comparisons, logic,
 * Where, Clip and the variadic Min / Max / Sum / Mean.
 *
 * Float results are computed in float64 and rounded once to the element type, which for single IEEE operations
 * (+, -, *, /, sqrt) gives exactly the float32 (float16, bfloat16) result ONNX Runtime computes; transcendental
 * functions land within an ulp or two of its vectorized implementations. Integer arithmetic wraps like C++
 * (typed arrays wrap on store; 32-bit products use Math.imul; 64-bit integers are bigints). Integer division
 * truncates toward zero; division by zero and INT_MIN / -1, which ONNX leaves undefined, are refused.
 */
import { DataType } from '../data-type.js';
import type { Tensor } from '../tensor.js';
import type { KernelDefinition, KernelTable } from './registry.js';
import {
  type BigIntValues,
  broadcastDims,
  broadcastMap,
  computeStorage,
  isBigIntType,
  isFloatType,
  isNumericType,
  isSmallIntType,
  type KernelContext,
  type NumberValues,
  refuse,
  rounderOf,
  sameDims,
  takeElements,
  tensorOfElements,
  tensorOfValues,
} from './support.js';

const SIGNED_TYPES: ReadonlySet<DataType> = new Set([
  DataType.FLOAT,
  DataType.DOUBLE,
  DataType.FLOAT16,
  DataType.BFLOAT16,
  DataType.INT8,
  DataType.INT16,
  DataType.INT32,
  DataType.INT64,
]);

const INT_MIN: Partial<Record<DataType, number>> = { [DataType.INT32]: -(2 ** 31) };
const INT64_MIN = -(2n ** 63n);
const BITS_32: ReadonlySet<DataType> = new Set([DataType.INT32, DataType.UINT32]);

function requireSameType(tensors: readonly Tensor[]): DataType {
  const type = tensors[0]!.dataType;
  if (tensors.some((tensor) => tensor.dataType !== type)) refuse('inputs have different element types');
  return type;
}

/** Output dims of a broadcasting operator; before opset 7 (8 for the variadic ones) shapes must agree exactly. */
function elementwiseDims(context: KernelContext, tensors: readonly Tensor[], broadcastSince: number): number[] {
  const shapes = tensors.map((tensor) => tensor.dims);
  if (context.opset < broadcastSince && shapes.some((dims) => !sameDims(dims, shapes[0]!))) {
    refuse('this opset does not broadcast implicitly');
  }
  return context.outputDims(broadcastDims(shapes));
}

type NumberOp = (x: number, y: number) => number;
type BigIntOp = (x: bigint, y: bigint) => bigint;

/** Apply a number function pairwise with broadcasting; results land in `outputType` storage. */
function mapNumbers(
  context: KernelContext,
  a: Tensor,
  b: Tensor,
  outputType: DataType,
  op: NumberOp,
  broadcastSince = 7,
): Tensor {
  const dims = elementwiseDims(context, [a, b], broadcastSince);
  const left = context.numbers(a);
  const right = context.numbers(b);
  const leftMap = broadcastMap(a.dims, dims);
  const rightMap = broadcastMap(b.dims, dims);
  const out = computeStorage(outputType, leftMap.length) as NumberValues;
  for (let index = 0; index < leftMap.length; index++)
    out[index] = op(left[leftMap[index]!]!, right[rightMap[index]!]!);
  return tensorOfValues(outputType, dims, out);
}

function mapBigInts(context: KernelContext, a: Tensor, b: Tensor, op: BigIntOp, broadcastSince = 7): Tensor {
  const dims = elementwiseDims(context, [a, b], broadcastSince);
  const left = context.bigints(a);
  const right = context.bigints(b);
  const leftMap = broadcastMap(a.dims, dims);
  const rightMap = broadcastMap(b.dims, dims);
  const out = computeStorage(a.dataType, leftMap.length) as BigIntValues;
  for (let index = 0; index < leftMap.length; index++)
    out[index] = op(left[leftMap[index]!]!, right[rightMap[index]!]!);
  return tensorOfValues(a.dataType, dims, out);
}

/** Apply a predicate pairwise with broadcasting (any numeric or bool type); the output is BOOL. */
function compare(
  context: KernelContext,
  a: Tensor,
  b: Tensor,
  numberTest: (x: number, y: number) => boolean,
  bigintTest: (x: bigint, y: bigint) => boolean,
  allowBool: boolean,
): Tensor {
  const type = requireSameType([a, b]);
  if (!(isNumericType(type) || (allowBool && type === DataType.BOOL))) refuse(`cannot compare type ${type}`);
  const dims = elementwiseDims(context, [a, b], 7);
  const leftMap = broadcastMap(a.dims, dims);
  const rightMap = broadcastMap(b.dims, dims);
  const out = new Uint8Array(leftMap.length);
  if (isBigIntType(type)) {
    const left = context.bigints(a);
    const right = context.bigints(b);
    for (let index = 0; index < out.length; index++) {
      out[index] = bigintTest(left[leftMap[index]!]!, right[rightMap[index]!]!) ? 1 : 0;
    }
  } else {
    const left = context.numbers(a);
    const right = context.numbers(b);
    for (let index = 0; index < out.length; index++) {
      out[index] = numberTest(left[leftMap[index]!]!, right[rightMap[index]!]!) ? 1 : 0;
    }
  }
  return tensorOfValues(DataType.BOOL, dims, out);
}

interface ArithmeticRules {
  float: NumberOp;
  /** Integers of up to 32 bits; the typed array wraps the result on store. */
  int: (type: DataType) => NumberOp;
  bigint: BigIntOp;
}

function arithmetic(rules: ArithmeticRules): KernelDefinition {
  return {
    evaluate(context) {
      const a = context.input(0);
      const b = context.input(1);
      const type = requireSameType([a, b]);
      if (isFloatType(type)) return [mapNumbers(context, a, b, type, rules.float)];
      if (isSmallIntType(type)) return [mapNumbers(context, a, b, type, rules.int(type))];
      if (isBigIntType(type)) return [mapBigInts(context, a, b, rules.bigint)];
      return refuse(`arithmetic on type ${type}`);
    },
  };
}

const add = arithmetic({ float: (x, y) => x + y, int: () => (x, y) => x + y, bigint: (x, y) => x + y });
const sub = arithmetic({ float: (x, y) => x - y, int: () => (x, y) => x - y, bigint: (x, y) => x - y });
const mul = arithmetic({
  float: (x, y) => x * y,
  int: (type) => (BITS_32.has(type) ? Math.imul : (x, y) => x * y),
  bigint: (x, y) => x * y,
});
const div = arithmetic({
  float: (x, y) => x / y,
  int: (type) => (x, y) => {
    if (y === 0) refuse('integer division by zero');
    if (y === -1 && x === INT_MIN[type]) refuse('integer division overflows');
    return Math.trunc(x / y);
  },
  bigint: (x, y) => {
    if (y === 0n) refuse('integer division by zero');
    if (y === -1n && x === INT64_MIN) refuse('integer division overflows');
    return x / y;
  },
});

/** Mod: fmod=0 takes the divisor's sign (integers only), fmod=1 the dividend's (C fmod). */
const mod: KernelDefinition = {
  attributes: ['fmod'],
  sinceOpset: 10,
  evaluate(context) {
    const a = context.input(0);
    const b = context.input(1);
    const type = requireSameType([a, b]);
    const fmod = context.int('fmod', 0);
    if (fmod !== 0 && fmod !== 1) refuse('fmod must be 0 or 1');
    if (isFloatType(type)) {
      if (fmod !== 1) refuse('float Mod requires fmod=1');
      return [mapNumbers(context, a, b, type, (x, y) => x % y)];
    }
    if (isSmallIntType(type)) {
      return [
        mapNumbers(context, a, b, type, (x, y) => {
          if (y === 0) refuse('integer modulo by zero');
          const remainder = x % y;
          return fmod === 0 && remainder !== 0 && remainder < 0 !== y < 0 ? remainder + y : remainder;
        }),
      ];
    }
    if (isBigIntType(type)) {
      return [
        mapBigInts(context, a, b, (x, y) => {
          if (y === 0n) refuse('integer modulo by zero');
          const remainder = x % y;
          return fmod === 0 && remainder !== 0n && remainder < 0n !== y < 0n ? remainder + y : remainder;
        }),
      ];
    }
    return refuse(`Mod on type ${type}`);
  },
};

/**
 * Pow(T, T1) -> T. Like ONNX Runtime: a single-element exponent of 2 or 3 multiplies in T; otherwise the power is
 * taken in float64 and converted to T (refused for integer results that are not finite or overflow T).
 */
const pow: KernelDefinition = {
  evaluate(context) {
    const base = context.input(0);
    const exponent = context.input(1);
    const type = base.dataType;
    if (context.opset < 12 && (type !== exponent.dataType || !isFloatType(type))) refuse('Pow before opset 12');
    if (!isNumericType(type) || !isNumericType(exponent.dataType)) refuse('Pow on non-numeric types');
    const single =
      exponent.elementCount === 1
        ? isBigIntType(exponent.dataType)
          ? Number(context.bigints(exponent)[0])
          : context.numbers(exponent)[0]
        : undefined;
    if (isFloatType(type)) {
      const round = rounderOf(type);
      if (single === 2) return [mapBase(context, base, exponent, (x) => x * x)];
      if (single === 3) return [mapBase(context, base, exponent, (x) => round(x * x) * x)];
      if (isBigIntType(exponent.dataType)) {
        const exponents = context.bigints(exponent);
        return [powerWith(context, base, exponent, type, (index) => Number(exponents[index]!))];
      }
      const exponents = context.numbers(exponent);
      return [powerWith(context, base, exponent, type, (index) => exponents[index]!)];
    }
    if (isBigIntType(type)) {
      if (single === 2) return [mapBigIntBase(context, base, exponent, (x) => x * x)];
      if (single === 3) return [mapBigIntBase(context, base, exponent, (x) => x * x * x)];
    } else if (isSmallIntType(type)) {
      const multiply = BITS_32.has(type) ? Math.imul : (x: number, y: number) => x * y;
      if (single === 2) return [mapBase(context, base, exponent, (x) => multiply(x, x))];
      if (single === 3) return [mapBase(context, base, exponent, (x) => multiply(multiply(x, x), x))];
    }
    return [integerPower(context, base, exponent)];
  },
};

/** A function of the base alone, broadcast against a one-element exponent. */
function mapBase(context: KernelContext, base: Tensor, exponent: Tensor, op: (x: number) => number): Tensor {
  const dims = elementwiseDims(context, [base, exponent], 7);
  const values = context.numbers(base);
  const map = broadcastMap(base.dims, dims);
  const out = computeStorage(base.dataType, map.length) as NumberValues;
  for (let index = 0; index < map.length; index++) out[index] = op(values[map[index]!]!);
  return tensorOfValues(base.dataType, dims, out);
}

function mapBigIntBase(context: KernelContext, base: Tensor, exponent: Tensor, op: (x: bigint) => bigint): Tensor {
  const dims = elementwiseDims(context, [base, exponent], 7);
  const values = context.bigints(base);
  const map = broadcastMap(base.dims, dims);
  const out = computeStorage(base.dataType, map.length) as BigIntValues;
  for (let index = 0; index < map.length; index++) out[index] = op(values[map[index]!]!);
  return tensorOfValues(base.dataType, dims, out);
}

/** Float base: Math.pow in float64, rounded to the base's type. */
function powerWith(
  context: KernelContext,
  base: Tensor,
  exponent: Tensor,
  type: DataType,
  exponentAt: (index: number) => number,
): Tensor {
  const dims = elementwiseDims(context, [base, exponent], 7);
  const values = context.numbers(base);
  const baseMap = broadcastMap(base.dims, dims);
  const exponentMap = broadcastMap(exponent.dims, dims);
  const out = computeStorage(type, baseMap.length) as NumberValues;
  for (let index = 0; index < out.length; index++) {
    out[index] = values[baseMap[index]!]! ** exponentAt(exponentMap[index]!);
  }
  return tensorOfValues(type, dims, out);
}

const INTEGER_RANGES: Partial<Record<DataType, readonly [number, number]>> = {
  [DataType.INT8]: [-128, 127],
  [DataType.INT16]: [-32768, 32767],
  [DataType.INT32]: [-(2 ** 31), 2 ** 31 - 1],
  [DataType.UINT8]: [0, 255],
  [DataType.UINT16]: [0, 65535],
  [DataType.UINT32]: [0, 2 ** 32 - 1],
  [DataType.INT64]: [-(2 ** 63), 2 ** 63 - 1],
  [DataType.UINT64]: [0, 2 ** 64 - 1],
};

/** Integer base: std::pow in double, truncated to the base type; refuses results outside the type. */
function integerPower(context: KernelContext, base: Tensor, exponent: Tensor): Tensor {
  const type = base.dataType;
  const range = INTEGER_RANGES[type] ?? refuse(`Pow on type ${type}`);
  const dims = elementwiseDims(context, [base, exponent], 7);
  const read = (tensor: Tensor): ArrayLike<number> =>
    isBigIntType(tensor.dataType) ? Array.from(context.bigints(tensor), Number) : context.numbers(tensor);
  const values = read(base);
  const exponents = read(exponent);
  const baseMap = broadcastMap(base.dims, dims);
  const exponentMap = broadcastMap(exponent.dims, dims);
  const results = new Float64Array(baseMap.length);
  for (let index = 0; index < results.length; index++) {
    const result = Math.trunc(values[baseMap[index]!]! ** exponents[exponentMap[index]!]!);
    // Beyond 2^53 the float64 power itself is inexact, so the integer result would be a guess.
    if (!(result >= range[0] && result <= range[1]) || Math.abs(result) > Number.MAX_SAFE_INTEGER) {
      refuse('integer power out of range');
    }
    results[index] = result;
  }
  if (isBigIntType(type)) {
    const out = computeStorage(type, results.length) as BigIntValues;
    for (let index = 0; index < results.length; index++) out[index] = BigInt(results[index]!);
    return tensorOfValues(type, dims, out);
  }
  return tensorOfValues(type, dims, results);
}

// ---- unary ----

type UnaryTypes = 'float' | 'signed' | 'numeric';

function unary(types: UnaryTypes, op: (x: number) => number, bigintOp?: (x: bigint) => bigint): KernelDefinition {
  return unaryWith([], () => op, types, bigintOp);
}

/** A unary operator whose function depends on attributes (alpha, beta...). */
function unaryWith(
  attributes: readonly string[],
  make: (context: KernelContext, round: (x: number) => number) => (x: number) => number,
  types: UnaryTypes,
  bigintOp?: (x: bigint) => bigint,
): KernelDefinition {
  return {
    attributes,
    evaluate(context) {
      const input = context.input(0);
      const type = input.dataType;
      const allowed =
        types === 'float' ? isFloatType(type) : types === 'signed' ? SIGNED_TYPES.has(type) : isNumericType(type);
      if (!allowed) refuse(`type ${type} not supported`);
      const dims = context.outputDims(input.dims);
      if (isBigIntType(type)) {
        if (!bigintOp) refuse(`type ${type} not supported`);
        const values = context.bigints(input);
        const out = computeStorage(type, values.length) as BigIntValues;
        for (let index = 0; index < values.length; index++) out[index] = bigintOp(values[index]!);
        return [tensorOfValues(type, dims, out)];
      }
      const op = make(context, isFloatType(type) ? rounderOf(type) : (x) => x);
      const values = context.numbers(input);
      const out = computeStorage(type, values.length) as NumberValues;
      for (let index = 0; index < values.length; index++) out[index] = op(values[index]!);
      return [tensorOfValues(type, dims, out)];
    },
  };
}

/** Round half to even, as ONNX Round and numpy do. */
function roundHalfToEven(x: number): number {
  const rounded = Math.round(x);
  return Math.abs(x % 1) === 0.5 ? 2 * Math.round(x / 2) : rounded;
}

function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

function predicate(test: (x: number) => boolean, attributes: readonly string[] = []): KernelDefinition {
  return predicateWith(attributes, () => test);
}

function predicateWith(
  attributes: readonly string[],
  make: (context: KernelContext) => (x: number) => boolean,
): KernelDefinition {
  return {
    attributes,
    evaluate(context) {
      const input = context.input(0);
      if (!isFloatType(input.dataType)) refuse(`type ${input.dataType} not supported`);
      const dims = context.outputDims(input.dims);
      const test = make(context);
      const values = context.numbers(input);
      const out = new Uint8Array(values.length);
      for (let index = 0; index < values.length; index++) out[index] = test(values[index]!) ? 1 : 0;
      return [tensorOfValues(DataType.BOOL, dims, out)];
    },
  };
}

// ---- logic ----

function logical(op: (x: boolean, y: boolean) => boolean): KernelDefinition {
  return {
    evaluate(context) {
      const a = context.input(0);
      const b = context.input(1);
      if (a.dataType !== DataType.BOOL || b.dataType !== DataType.BOOL) refuse('logical operators take bool');
      return [mapNumbers(context, a, b, DataType.BOOL, (x, y) => (op(x !== 0, y !== 0) ? 1 : 0))];
    },
  };
}

const not: KernelDefinition = {
  evaluate(context) {
    const input = context.input(0);
    if (input.dataType !== DataType.BOOL) refuse('Not takes bool');
    const values = context.numbers(input);
    const out = new Uint8Array(values.length);
    for (let index = 0; index < values.length; index++) out[index] = values[index] ? 0 : 1;
    return [tensorOfValues(DataType.BOOL, context.outputDims(input.dims), out)];
  },
};

const where: KernelDefinition = {
  sinceOpset: 9,
  evaluate(context) {
    const condition = context.input(0);
    const x = context.input(1);
    const y = context.input(2);
    if (condition.dataType !== DataType.BOOL) refuse('Where condition must be bool');
    requireSameType([x, y]);
    const dims = context.outputDims(broadcastDims([condition.dims, x.dims, y.dims]));
    const conditionValues = context.numbers(condition);
    const conditionMap = broadcastMap(condition.dims, dims);
    const xElements = context.elements(x);
    const yElements = context.elements(y);
    // Pick per element which of the two sources (and where in it) the result reads.
    const xMap = broadcastMap(x.dims, dims);
    const yMap = broadcastMap(y.dims, dims);
    const fromX = takeElements(xElements, xMap) as unknown as unknown[];
    const fromY = takeElements(yElements, yMap) as unknown as unknown[];
    for (let index = 0; index < fromX.length; index++) {
      if (!conditionValues[conditionMap[index]!]) fromX[index] = fromY[index];
    }
    return [tensorOfElements(x.dataType, dims, fromX as unknown as Uint8Array[])];
  },
};

// ---- Clip ----

const FLT_MAX = 3.4028234663852886e38;

const clip: KernelDefinition = {
  attributes: ['min', 'max'],
  sinceOpset: 6,
  evaluate(context) {
    const input = context.input(0);
    const type = input.dataType;
    const dims = context.outputDims(input.dims);
    if (context.opset < 11) {
      if (!isFloatType(type)) refuse('Clip before opset 11 takes floats');
      const low = context.float('min', -FLT_MAX);
      const high = context.float('max', FLT_MAX);
      return [clipNumbers(context, input, dims, low, high)];
    }
    if (context.node.attributes.size > 0) refuse('Clip takes min and max as inputs from opset 11');
    const low = context.optionalInput(1);
    const high = context.optionalInput(2);
    for (const bound of [low, high]) {
      if (bound && (bound.dataType !== type || bound.elementCount !== 1)) refuse('Clip bounds must be scalars of T');
    }
    if (!isNumericType(type)) refuse(`Clip on type ${type}`);
    if (!isFloatType(type) && context.opset < 12) refuse('integer Clip needs opset 12');
    if (isBigIntType(type)) {
      const values = context.bigints(input);
      const lowValue = low ? context.bigints(low)[0]! : undefined;
      const highValue = high ? context.bigints(high)[0]! : undefined;
      const out = computeStorage(type, values.length) as BigIntValues;
      for (let index = 0; index < values.length; index++) {
        let value = values[index]!;
        if (lowValue !== undefined && value < lowValue) value = lowValue;
        if (highValue !== undefined && value > highValue) value = highValue;
        out[index] = value;
      }
      return [tensorOfValues(type, dims, out)];
    }
    const lowValue = low ? context.numbers(low)[0]! : Number.NEGATIVE_INFINITY;
    const highValue = high ? context.numbers(high)[0]! : Number.POSITIVE_INFINITY;
    return [clipNumbers(context, input, dims, lowValue, highValue)];
  },
};

function clipNumbers(context: KernelContext, input: Tensor, dims: number[], low: number, high: number): Tensor {
  const values = context.numbers(input);
  const out = computeStorage(input.dataType, values.length) as NumberValues;
  // min(max(x, low), high): NaN stays NaN, and low > high gives high everywhere, as ONNX specifies.
  for (let index = 0; index < values.length; index++) out[index] = Math.min(Math.max(values[index]!, low), high);
  return tensorOfValues(input.dataType, dims, out);
}

// ---- variadic ----

type Variadic = 'min' | 'max' | 'sum' | 'mean';

function variadic(kind: Variadic): KernelDefinition {
  return {
    evaluate(context) {
      const inputs = Array.from({ length: context.inputCount }, (_, index) => context.input(index));
      if (inputs.length === 0) refuse('no inputs');
      const type = requireSameType(inputs);
      const floatOnly = kind === 'sum' || kind === 'mean' || context.opset < 12;
      if (!isNumericType(type) || (floatOnly && !isFloatType(type))) refuse(`${kind} on type ${type}`);
      const dims = elementwiseDims(context, inputs, 8);
      const count = inputs.length;
      if (isBigIntType(type)) {
        const out = computeStorage(type, dimsCount(dims)) as BigIntValues;
        inputs.forEach((input, position) => {
          const values = context.bigints(input);
          const map = broadcastMap(input.dims, dims);
          for (let index = 0; index < map.length; index++) {
            const value = values[map[index]!]!;
            const current = out[index]!;
            const better = kind === 'min' ? value < current : value > current;
            if (position === 0 || better) out[index] = value;
          }
        });
        return [tensorOfValues(type, dims, out)];
      }
      const round = isFloatType(type) ? rounderOf(type) : (x: number) => x;
      const out = computeStorage(type, dimsCount(dims)) as NumberValues;
      inputs.forEach((input, position) => {
        const values = context.numbers(input);
        const map = broadcastMap(input.dims, dims);
        for (let index = 0; index < map.length; index++) {
          const value = values[map[index]!]!;
          const current = out[index]!;
          if (position === 0) out[index] = value;
          else if (kind === 'sum' || kind === 'mean') out[index] = round(current + value);
          else if (Number.isNaN(value) || Number.isNaN(current)) out[index] = Number.NaN;
          else out[index] = kind === 'min' ? Math.min(current, value) : Math.max(current, value);
        }
      });
      if (kind === 'mean') for (let index = 0; index < out.length; index++) out[index] = out[index]! / count;
      return [tensorOfValues(type, dims, out)];
    },
  };
}

function dimsCount(dims: readonly number[]): number {
  return dims.reduce((product, dim) => product * dim, 1);
}

const relu = unary(
  'signed',
  (x) => Math.max(x, 0),
  (x) => (x < 0n ? 0n : x),
);

export const elementwiseKernels: KernelTable = {
  Add: add,
  Sub: sub,
  Mul: mul,
  Div: div,
  Mod: mod,
  Pow: pow,
  Neg: unary(
    'signed',
    (x) => -x,
    (x) => -x,
  ),
  Abs: unary('numeric', Math.abs, (x) => (x < 0n ? -x : x)),
  Sign: unary(
    'numeric',
    (x) => (Number.isNaN(x) ? x : Math.sign(x) + 0),
    (x) => (x > 0n ? 1n : x < 0n ? -1n : 0n),
  ),
  Reciprocal: unary('float', (x) => 1 / x),
  Sqrt: unary('float', Math.sqrt),
  Exp: unary('float', Math.exp),
  Log: unary('float', Math.log),
  Floor: unary('float', Math.floor),
  Ceil: unary('float', Math.ceil),
  Round: { ...unary('float', roundHalfToEven), sinceOpset: 11 },
  Sin: unary('float', Math.sin),
  Cos: unary('float', Math.cos),
  Tan: unary('float', Math.tan),
  Asin: unary('float', Math.asin),
  Acos: unary('float', Math.acos),
  Atan: unary('float', Math.atan),
  Sinh: unary('float', Math.sinh),
  Cosh: unary('float', Math.cosh),
  Asinh: unary('float', Math.asinh),
  Acosh: unary('float', Math.acosh),
  Atanh: unary('float', Math.atanh),
  Relu: relu,
  Sigmoid: unary('float', sigmoid),
  Tanh: unary('float', Math.tanh),
  Softplus: unary('float', (x) => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)))),
  Softsign: unary('float', (x) => x / (1 + Math.abs(x))),
  LeakyRelu: unaryWith(
    ['alpha'],
    (context) => {
      const alpha = context.float('alpha', 0.01);
      return (x) => (x < 0 ? alpha * x : x);
    },
    'float',
  ),
  // Elu and Selu round exp(x) before subtracting 1, as ONNX Runtime's float kernels do (no expm1).
  Elu: unaryWith(
    ['alpha'],
    (context, round) => {
      const alpha = context.float('alpha', 1);
      return (x) => (x < 0 ? alpha * round(round(Math.exp(x)) - 1) : x);
    },
    'float',
  ),
  Selu: unaryWith(
    ['alpha', 'gamma'],
    (context, round) => {
      const alpha = context.float('alpha', Math.fround(1.6732632));
      const gamma = context.float('gamma', Math.fround(1.050701));
      const scale = round(gamma * alpha);
      return (x) => (x <= 0 ? scale * round(round(Math.exp(x)) - 1) : gamma * x);
    },
    'float',
  ),
  HardSigmoid: unaryWith(
    ['alpha', 'beta'],
    (context) => {
      const alpha = context.float('alpha', 0.2);
      const beta = context.float('beta', 0.5);
      return (x) => Math.max(0, Math.min(1, alpha * x + beta));
    },
    'float',
  ),
  ThresholdedRelu: unaryWith(
    ['alpha'],
    (context) => {
      const alpha = context.float('alpha', 1);
      return (x) => (x > alpha ? x : 0);
    },
    'float',
  ),
  IsNaN: predicate(Number.isNaN),
  IsInf: predicateWith(['detect_negative', 'detect_positive'], (context) => {
    const negative = context.int('detect_negative', 1) !== 0;
    const positive = context.int('detect_positive', 1) !== 0;
    return (x) => (x === Number.POSITIVE_INFINITY && positive) || (x === Number.NEGATIVE_INFINITY && negative);
  }),
  Equal: {
    evaluate: (context) => [
      compare(
        context,
        context.input(0),
        context.input(1),
        (x, y) => x === y,
        (x, y) => x === y,
        true,
      ),
    ],
  },
  Less: {
    evaluate: (context) => [
      compare(
        context,
        context.input(0),
        context.input(1),
        (x, y) => x < y,
        (x, y) => x < y,
        false,
      ),
    ],
  },
  LessOrEqual: {
    evaluate: (context) => [
      compare(
        context,
        context.input(0),
        context.input(1),
        (x, y) => x <= y,
        (x, y) => x <= y,
        false,
      ),
    ],
  },
  Greater: {
    evaluate: (context) => [
      compare(
        context,
        context.input(0),
        context.input(1),
        (x, y) => x > y,
        (x, y) => x > y,
        false,
      ),
    ],
  },
  GreaterOrEqual: {
    evaluate: (context) => [
      compare(
        context,
        context.input(0),
        context.input(1),
        (x, y) => x >= y,
        (x, y) => x >= y,
        false,
      ),
    ],
  },
  Not: not,
  And: logical((x, y) => x && y),
  Or: logical((x, y) => x || y),
  Xor: logical((x, y) => x !== y),
  Where: where,
  Clip: clip,
  Min: variadic('min'),
  Max: variadic('max'),
  Sum: variadic('sum'),
  Mean: variadic('mean'),
};
