/**
 * Everything else: TopK, NonZero, Unique, NonMaxSuppression, random ops, windows and spectral ops, losses,
 * string ops, CenterCropPad.
 */
import { DataType, type Dimension } from '@whittle/ir';
import { dataTypeAttr, type Inferrer, intAttr, intsAttr, stringAttr } from './context.js';
import { isKnown, normalizeAxes, normalizeAxis, productOf } from './dims.js';

const topK: Inferrer = (context) => {
  const input = context.shape(0);
  const elementType = context.elementType(0);
  const k = context.opset >= 10 ? context.numbers(1)?.[0] : intAttr(context.node, 'k');
  const axis = normalizeAxis(intAttr(context.node, 'axis', -1), input?.length);
  let shape: Dimension[] | undefined;
  if (input && axis !== undefined) {
    shape = [...input];
    shape[axis] = k ?? null;
  }
  context.setTensor(0, elementType, shape);
  context.setTensor(1, DataType.INT64, shape);
};

const nonZero: Inferrer = (context) => {
  const rank = context.rank(0);
  context.setTensor(0, DataType.INT64, [rank ?? null, null]);
};

const unique: Inferrer = (context) => {
  const input = context.shape(0);
  const elementType = context.elementType(0);
  const axisAttr = intAttr(context.node, 'axis');
  if (axisAttr === undefined) {
    context.setTensor(0, elementType, [null]);
    context.setTensor(2, DataType.INT64, [input ? productOf(input) : null]);
  } else {
    const axis = normalizeAxis(axisAttr, input?.length);
    context.setTensor(
      0,
      elementType,
      input && axis !== undefined ? input.map((dim, index) => (index === axis ? null : dim)) : undefined,
    );
    context.setTensor(2, DataType.INT64, [input && axis !== undefined ? input[axis]! : null]);
  }
  context.setTensor(1, DataType.INT64, [null]);
  context.setTensor(3, DataType.INT64, [null]);
};

const nonMaxSuppression: Inferrer = (context) => {
  context.setTensor(0, DataType.INT64, [null, 3]);
};

const randomOf: Inferrer = (context) => {
  context.setTensor(0, dataTypeAttr(context.node, 'dtype', DataType.FLOAT), intsAttr(context.node, 'shape'));
};

const randomLike: Inferrer = (context) => {
  context.setTensor(0, dataTypeAttr(context.node, 'dtype', context.elementType(0)), context.shape(0));
};

const multinomial: Inferrer = (context) => {
  const input = context.shape(0);
  context.setTensor(0, dataTypeAttr(context.node, 'dtype', DataType.INT32), [
    input?.[0] ?? null,
    intAttr(context.node, 'sample_size', 1),
  ]);
};

const window: Inferrer = (context) => {
  const [size] = context.numbers(0) ?? [];
  context.setTensor(0, dataTypeAttr(context.node, 'output_datatype', DataType.FLOAT), [size ?? null]);
};

const dft: Inferrer = (context) => {
  const input = context.shape(0);
  const elementType = context.elementType(0);
  if (!input || input.length < 2) {
    context.setTensor(0, elementType, undefined);
    return;
  }
  const rank = input.length;
  const axisValue =
    context.opset >= 20 ? (context.has(2) ? context.numbers(2)?.[0] : -2) : intAttr(context.node, 'axis', 1);
  // The last dim holds real and imaginary parts: the signal axes are the others.
  const axis = axisValue === undefined ? undefined : normalizeAxis(axisValue, rank);
  if (axis === undefined || axis === rank - 1) {
    context.setTensor(0, elementType, [...input.slice(0, -1).map(() => null), 2]);
    return;
  }
  let length: Dimension = input[axis]!;
  if (context.has(1)) length = context.numbers(1)?.[0] ?? null;
  const inverse = intAttr(context.node, 'inverse', 0) === 1;
  const onesided = intAttr(context.node, 'onesided', 0) === 1;
  const shape = [...input];
  shape[axis] = onesided && !inverse ? (isKnown(length) ? Math.floor(length / 2) + 1 : null) : length;
  shape[rank - 1] = 2;
  context.setTensor(0, elementType, shape);
};

const stft: Inferrer = (context) => {
  const signal = context.shape(0);
  const elementType = context.elementType(0);
  const [step] = context.numbers(1) ?? [];
  const frameLength: Dimension = context.has(3)
    ? (context.numbers(3)?.[0] ?? null)
    : context.has(2)
      ? (context.shape(2)?.[0] ?? null)
      : null;
  const length = signal?.[1] ?? null;
  const frames =
    isKnown(length) && isKnown(frameLength) && step !== undefined && step > 0
      ? Math.floor((length - frameLength) / step) + 1
      : null;
  const onesided = intAttr(context.node, 'onesided', 1) === 1;
  const bins = isKnown(frameLength) ? (onesided ? Math.floor(frameLength / 2) + 1 : frameLength) : null;
  context.setTensor(0, elementType, [signal?.[0] ?? null, frames, bins, 2]);
};

const melWeightMatrix: Inferrer = (context) => {
  const [bins] = context.numbers(0) ?? [];
  const [dftLength] = context.numbers(1) ?? [];
  context.setTensor(0, dataTypeAttr(context.node, 'output_datatype', DataType.FLOAT), [
    dftLength === undefined ? null : Math.floor(dftLength / 2) + 1,
    bins ?? null,
  ]);
};

const negativeLogLikelihoodLoss: Inferrer = (context) => {
  const reduction = stringAttr(context.node, 'reduction', 'mean');
  context.setTensor(0, context.elementType(0), reduction === 'none' ? context.shape(1) : []);
};

const softmaxCrossEntropyLoss: Inferrer = (context) => {
  const reduction = stringAttr(context.node, 'reduction', 'mean');
  const elementType = context.elementType(0);
  context.setTensor(0, elementType, reduction === 'none' ? context.shape(1) : []);
  context.setTensor(1, elementType, context.shape(0));
};

const stringNormalizer: Inferrer = (context) => {
  const input = context.shape(0);
  // Without stopwords no element is dropped.
  const stopwords = context.node.attribute('stopwords');
  if (!stopwords || (stopwords.type === 'strings' && stopwords.value.length === 0)) {
    context.setTensor(0, DataType.STRING, input);
    return;
  }
  context.setTensor(0, DataType.STRING, input?.length === 2 ? [input[0]!, null] : input ? [null] : undefined);
};

const tfIdfVectorizer: Inferrer = (context) => {
  const input = context.shape(0);
  const indexes = intsAttr(context.node, 'ngram_indexes');
  const width = indexes && indexes.length > 0 ? Math.max(...indexes) + 1 : null;
  context.setTensor(
    0,
    DataType.FLOAT,
    input?.length === 2 ? [input[0]!, width] : input?.length === 1 ? [width] : undefined,
  );
};

const centerCropPad: Inferrer = (context) => {
  const input = context.shape(0);
  const elementType = context.elementType(0);
  const target = context.data(1);
  if (!input) {
    context.setTensor(0, elementType, undefined);
    return;
  }
  const axes = normalizeAxes(intsAttr(context.node, 'axes') ?? input.map((_, index) => index), input.length);
  if (!axes || !target || target.values.length !== axes.length) {
    context.setTensor(
      0,
      elementType,
      input.map((dim, index) => (axes && !axes.includes(index) ? dim : null)),
    );
    return;
  }
  const shape = [...input];
  axes.forEach((axis, index) => {
    shape[axis] = target.values[index] ?? null;
  });
  context.setTensor(0, elementType, shape);
};

export const miscInferrers: Record<string, Inferrer> = {
  Bernoulli: randomLike,
  BlackmanWindow: window,
  CenterCropPad: centerCropPad,
  DFT: dft,
  HammingWindow: window,
  HannWindow: window,
  MelWeightMatrix: melWeightMatrix,
  Multinomial: multinomial,
  NegativeLogLikelihoodLoss: negativeLogLikelihoodLoss,
  NonMaxSuppression: nonMaxSuppression,
  NonZero: nonZero,
  RandomNormal: randomOf,
  RandomNormalLike: randomLike,
  RandomUniform: randomOf,
  RandomUniformLike: randomLike,
  SoftmaxCrossEntropyLoss: softmaxCrossEntropyLoss,
  StringNormalizer: stringNormalizer,
  STFT: stft,
  TfIdfVectorizer: tfIdfVectorizer,
  TopK: topK,
  Unique: unique,
};
