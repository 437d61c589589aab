/** Recurrent layers: LSTM, GRU, RNN (both layouts, one or two directions). */
import type { Dimension } from '@whittle/ir';
import { type Inferrer, intAttr, mismatch, stringAttr } from './context.js';
import { divideDim } from './dims.js';

function recurrent(gates: number): Inferrer {
  return (context) => {
    const node = context.node;
    const x = context.shape(0);
    const w = context.shape(1);
    const r = context.shape(2);
    const elementType = context.elementType(0);
    if (x && x.length !== 3) mismatch(`the input X must be 3-D, it has rank ${x.length}`);
    const layout = context.opset >= 14 ? intAttr(node, 'layout', 0) : 0;
    const direction = stringAttr(node, 'direction', 'forward');
    const directions: Dimension = direction === 'bidirectional' ? 2 : 1;
    const hidden: Dimension =
      intAttr(node, 'hidden_size') ?? r?.[2] ?? (w?.[1] !== undefined ? divideDim(w[1], gates) : null);
    const sequence: Dimension = x ? x[layout === 0 ? 0 : 1]! : null;
    const batch: Dimension = x ? x[layout === 0 ? 1 : 0]! : null;
    const y = layout === 0 ? [sequence, directions, batch, hidden] : [batch, sequence, directions, hidden];
    const state = layout === 0 ? [directions, batch, hidden] : [batch, directions, hidden];
    context.setTensor(0, elementType, y);
    for (let index = 1; index < context.outputCount; index++) context.setTensor(index, elementType, state);
  };
}

export const recurrentInferrers: Record<string, Inferrer> = {
  GRU: recurrent(3),
  LSTM: recurrent(4),
  RNN: recurrent(1),
};
