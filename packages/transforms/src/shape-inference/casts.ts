/** Casts, comparisons and logical ops: Cast gives `to`, CastLike its second input's type, the rest bool. */
import { DataType, type Dimension } from '@whittle/ir';
import { dataTypeAttr, type Inferrer } from './context.js';
import { castNumber, isIntegerType, mapData } from './data.js';
import { broadcastOp } from './elementwise.js';

function castData(value: Dimension, to: DataType): Dimension {
  if (typeof value === 'number') return castNumber(value, to);
  // A symbolic size stays the same size in any integer or float type (never negative, never fractional).
  if (
    typeof value === 'string' &&
    to !== DataType.BOOL &&
    (isIntegerType(to) || to === DataType.FLOAT || to === DataType.DOUBLE)
  )
    return value;
  return null;
}

const cast =
  (target: (context: Parameters<Inferrer>[0]) => DataType): Inferrer =>
  (context) => {
    const to = target(context);
    const facts = context.tensor(0);
    const data = context.data(0);
    context.setTensor(
      0,
      to,
      facts?.shape,
      data && to !== DataType.UNDEFINED ? mapData(data, (value) => castData(value, to)) : undefined,
    );
  };

const compare = (test: (a: number, b: number) => boolean, sameSymbol?: boolean) =>
  broadcastOp(
    () => DataType.BOOL,
    ([a = null, b = null]) => {
      if (typeof a === 'number' && typeof b === 'number') return test(a, b) ? 1 : 0;
      if (sameSymbol !== undefined && typeof a === 'string' && a === b) return sameSymbol ? 1 : 0;
      return null;
    },
  );

const logical = (test: (a: boolean, b: boolean) => boolean) =>
  broadcastOp(
    () => DataType.BOOL,
    ([a = null, b = null]) =>
      typeof a === 'number' && typeof b === 'number' ? (test(a !== 0, b !== 0) ? 1 : 0) : null,
  );

const booleanOfShape =
  (evaluate?: (value: number) => number): Inferrer =>
  (context) => {
    const data = context.data(0);
    context.setTensor(
      0,
      DataType.BOOL,
      context.shape(0),
      data && evaluate ? mapData(data, (value) => (typeof value === 'number' ? evaluate(value) : null)) : undefined,
    );
  };

export const castInferrers: Record<string, Inferrer> = {
  Cast: cast((context) => dataTypeAttr(context.node, 'to', DataType.UNDEFINED)),
  CastLike: cast((context) => context.elementType(1)),
  Equal: compare((a, b) => a === b, true),
  Less: compare((a, b) => a < b, false),
  LessOrEqual: compare((a, b) => a <= b, true),
  Greater: compare((a, b) => a > b, false),
  GreaterOrEqual: compare((a, b) => a >= b, true),
  And: logical((a, b) => a && b),
  Or: logical((a, b) => a || b),
  Xor: logical((a, b) => a !== b),
  Not: booleanOfShape((value) => (value === 0 ? 1 : 0)),
  IsNaN: booleanOfShape(),
  IsInf: booleanOfShape(),
};
