/** Normalizations and the softmax family: outputs shaped like the input, plus statistics outputs. */
import { DataType, type Dimension } from '@whittle/ir';
import { type Inferrer, intAttr, sameAsInput } from './context.js';
import { normalizeAxis } from './dims.js';

const same: Inferrer = (context) => sameAsInput(context);

const batchNormalization: Inferrer = (context) => {
  const x = context.tensor(0);
  if (x) context.setTensor(0, x.elementType, x.shape);
  const channels: Dimension = x?.shape?.[1] ?? context.shape(1)?.[0] ?? context.shape(3)?.[0] ?? null;
  // Statistics outputs (training mode, or the optional outputs of older opsets) are per channel.
  const statisticsType = context.opset >= 14 ? context.elementType(3) : (x?.elementType ?? DataType.UNDEFINED);
  // Before opset 9, `spatial=0` keeps statistics per element, not per channel.
  const perChannel = context.opset >= 9 || intAttr(context.node, 'spatial', 1) === 1;
  for (let index = 1; index < context.outputCount; index++) {
    context.setTensor(index, statisticsType, perChannel ? [channels] : undefined);
  }
};

const layerNormalization: Inferrer = (context) => {
  const x = context.tensor(0);
  if (!x) return;
  context.setTensor(0, x.elementType, x.shape);
  // Mean and InvStdDev are computed in the stash type; only say so where runtimes agree (float inputs).
  const statisticsType =
    intAttr(context.node, 'stash_type', 1) === 1 && x.elementType === DataType.FLOAT
      ? DataType.FLOAT
      : DataType.UNDEFINED;
  const rank = x.shape?.length;
  const axis = normalizeAxis(intAttr(context.node, 'axis', -1), rank);
  const shape = x.shape && axis !== undefined ? x.shape.map((dim, index) => (index < axis ? dim : 1)) : undefined;
  context.setTensor(1, statisticsType, shape);
  context.setTensor(2, statisticsType, shape);
};

export const normalizationInferrers: Record<string, Inferrer> = {
  BatchNormalization: batchNormalization,
  GroupNormalization: same,
  Hardmax: same,
  InstanceNormalization: same,
  LRN: same,
  LayerNormalization: layerNormalization,
  LogSoftmax: same,
  LpNormalization: same,
  MeanVarianceNormalization: same,
  RMSNormalization: same,
  Softmax: same,
};
