/** Elementwise ops: unary ops keep their input's type; binary and variadic ops broadcast (numpy rules). */
import { DataType, type Dimension } from '@whittle/ir';
import { type InferenceContext, type Inferrer, intAttr, mismatch, sameAsInput, sharedElementType } from './context.js';
import { castNumber, isIntegerType, mapBroadcast, mapData, type PartialTensor } from './data.js';
import { broadcastConflict, broadcastShapes } from './dims.js';

type Combine = (values: Dimension[], elementType: DataType, context: InferenceContext) => Dimension;

/** Cast a computed number to the element type; symbols pass through. */
function asElement(value: Dimension, elementType: DataType): Dimension {
  if (typeof value !== 'number') return value;
  if (elementType === DataType.UNDEFINED) return null;
  return castNumber(value, elementType);
}

function presentInputs(context: InferenceContext): number[] {
  const indices: number[] = [];
  context.node.inputs.forEach((value, index) => {
    if (value) indices.push(index);
  });
  return indices;
}

/** Data of the output when every operand's data is known (elementwise over broadcast operands). */
export function broadcastData(
  context: InferenceContext,
  indices: readonly number[],
  elementType: DataType,
  combine: Combine,
): PartialTensor | undefined {
  const operands: PartialTensor[] = [];
  for (const index of indices) {
    const data = context.data(index);
    if (!data) return undefined;
    operands.push(data);
  }
  return mapBroadcast(operands, (values) => combine(values, elementType, context));
}

/** An op whose inputs broadcast together; the output element type comes from `outputType`. */
export function broadcastOp(
  outputType: (context: InferenceContext, indices: number[]) => DataType,
  combine?: Combine,
): Inferrer {
  return (context) => {
    const indices = presentInputs(context);
    if (indices.length === 0) return;
    const shapes = indices.map((index) => context.shape(index));
    const conflict = broadcastConflict(shapes);
    if (conflict) mismatch(conflict);
    const shape = broadcastShapes(shapes);
    const elementType = outputType(context, indices);
    const data = combine ? broadcastData(context, indices, elementType, combine) : undefined;
    context.setTensor(0, elementType, shape, data);
  };
}

const sameType = (context: InferenceContext, indices: number[]) => sharedElementType(context, indices);
const firstType = (context: InferenceContext) => context.elementType(0);

const numeric =
  (
    operation: (a: number, b: number, integer: boolean) => number | null,
    symbolic?: (a: Dimension, b: Dimension) => Dimension,
  ): Combine =>
  ([a = null, b = null], elementType) => {
    if (typeof a === 'number' && typeof b === 'number') {
      const result = operation(a, b, isIntegerType(elementType));
      return result === null ? null : asElement(result, elementType);
    }
    return symbolic ? symbolic(a, b) : null;
  };

const add = numeric(
  (a, b) => a + b,
  (a, b) => (a === 0 ? b : b === 0 ? a : null),
);
const subtract = numeric(
  (a, b) => a - b,
  (a, b) => (b === 0 ? a : null),
);
const multiply = numeric(
  (a, b) => a * b,
  (a, b) => (a === 1 ? b : b === 1 ? a : a === 0 || b === 0 ? 0 : null),
);
const divide = numeric(
  (a, b, integer) => {
    if (integer) return b === 0 ? null : Math.trunc(a / b);
    return a / b;
  },
  (a, b) => (b === 1 ? a : null),
);
const modulo: Combine = (values, elementType, context) => {
  const fmod = intAttr(context.node, 'fmod', 0) === 1;
  return numeric((a, b, integer) => {
    if (b === 0) return null;
    if (fmod || !integer) {
      if (!integer && !fmod) return null; // float Mod requires fmod=1
      return a % b;
    }
    const remainder = a % b;
    return remainder !== 0 && remainder < 0 !== b < 0 ? remainder + b : remainder;
  })(values, elementType, context);
};

const variadic =
  (operation: (a: number, b: number) => number): Combine =>
  (values, elementType) => {
    let result: number | undefined;
    for (const value of values) {
      if (typeof value !== 'number') {
        // max(x, x) = x for a symbol
        return values.every((other) => other === value) ? value : null;
      }
      result = result === undefined ? value : operation(result, value);
    }
    return result === undefined ? null : asElement(result, elementType);
  };

const unaryData =
  (operation: (value: number) => number | null, keepSymbols = false): Inferrer =>
  (context) => {
    const facts = context.tensor(0);
    if (!facts) return;
    const data = context.data(0);
    const elementType = facts.elementType;
    context.setTensor(
      0,
      elementType,
      facts.shape,
      data
        ? mapData(data, (value) => {
            if (typeof value === 'number') {
              const result = operation(value);
              return result === null ? null : asElement(result, elementType);
            }
            return keepSymbols ? value : null;
          })
        : undefined,
    );
  };

const unary: Inferrer = (context) => sameAsInput(context);

const UNARY = [
  'Acos',
  'Acosh',
  'Asin',
  'Asinh',
  'Atan',
  'Atanh',
  'BitwiseNot',
  'Celu',
  'Cos',
  'Cosh',
  'Elu',
  'Erf',
  'Exp',
  'Gelu',
  'HardSigmoid',
  'HardSwish',
  'LeakyRelu',
  'Log',
  'Mish',
  'Selu',
  'Shrink',
  'Sigmoid',
  'Sin',
  'Sinh',
  'Softplus',
  'Softsign',
  'Swish',
  'Tan',
  'Tanh',
  'ThresholdedRelu',
  // same shape and type, not elementwise but shaped like it
  'CumSum',
  'ReverseSequence',
  'Trilu',
  'Scatter',
  'ScatterElements',
  'ScatterND',
  'TensorScatter',
  'Round',
];

export const elementwiseInferrers: Record<string, Inferrer> = {
  ...Object.fromEntries(UNARY.map((op) => [op, unary])),
  Identity: (context) => {
    const type = context.type(0);
    if (type) context.setType(0, type, context.data(0));
  },
  Abs: unaryData(Math.abs),
  Neg: unaryData((value) => -value),
  Relu: unaryData((value) => Math.max(0, value)),
  Sign: unaryData(Math.sign),
  Floor: unaryData(Math.floor),
  Ceil: unaryData(Math.ceil),
  Sqrt: unaryData(Math.sqrt),
  Reciprocal: unaryData((value) => 1 / value),
  Clip: (context) => sameAsInput(context),
  Dropout: (context) => {
    const facts = context.tensor(0);
    if (!facts) return;
    context.setTensor(0, facts.elementType, facts.shape, context.data(0));
    context.setTensor(1, DataType.BOOL, facts.shape);
  },
  Add: broadcastOp(sameType, add),
  Sub: broadcastOp(sameType, subtract),
  Mul: broadcastOp(sameType, multiply),
  Div: broadcastOp(sameType, divide),
  Mod: broadcastOp(sameType, modulo),
  Pow: broadcastOp(firstType),
  BitShift: broadcastOp(sameType),
  BitwiseAnd: broadcastOp(sameType),
  BitwiseOr: broadcastOp(sameType),
  BitwiseXor: broadcastOp(sameType),
  PRelu: broadcastOp(firstType),
  Max: broadcastOp(sameType, variadic(Math.max)),
  Min: broadcastOp(sameType, variadic(Math.min)),
  Sum: broadcastOp(
    sameType,
    variadic((a, b) => a + b),
  ),
  Mean: broadcastOp(sameType),
  Where: (context) => {
    const shapes = [context.shape(0), context.shape(1), context.shape(2)];
    const conflict = broadcastConflict(shapes);
    if (conflict) mismatch(conflict);
    const shape = broadcastShapes(shapes);
    const elementType = sharedElementType(context, [1, 2]);
    const data = broadcastData(context, [0, 1, 2], elementType, ([condition = null, x = null, y = null]) =>
      typeof condition === 'number' ? (condition ? x : y) : x !== null && x === y ? x : null,
    );
    context.setTensor(0, elementType, shape, data);
  },
};
