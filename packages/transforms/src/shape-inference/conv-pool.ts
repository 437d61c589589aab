/** Convolutions and pooling: Conv, ConvTranspose, ConvInteger, MaxPool, AveragePool, LpPool, global pools, ... */
import { DataType, type Dimension, type Node } from '@whittle/ir';
import { type InferenceContext, type Inferrer, intAttr, intsAttr, mismatch, stringAttr } from './context.js';
import { formatShape, isKnown, multiplyDims, type Shape } from './dims.js';

export interface WindowSettings {
  kernel: readonly Dimension[];
  strides: readonly number[];
  dilations: readonly number[];
  pads: readonly number[];
  autoPad: string;
  ceilMode: boolean;
}

export function windowSettings(node: Node, spatial: number, kernel: readonly Dimension[]): WindowSettings {
  return {
    kernel,
    strides: intsAttr(node, 'strides') ?? new Array<number>(spatial).fill(1),
    dilations: intsAttr(node, 'dilations') ?? new Array<number>(spatial).fill(1),
    pads: intsAttr(node, 'pads') ?? new Array<number>(2 * spatial).fill(0),
    autoPad: stringAttr(node, 'auto_pad', 'NOTSET'),
    ceilMode: intAttr(node, 'ceil_mode', 0) === 1,
  };
}

/** Size of one spatial output dim of a sliding window (Conv and pools). */
export function windowOutputDim(input: Dimension, axis: number, spatial: number, settings: WindowSettings): Dimension {
  const stride = settings.strides[axis] ?? 1;
  const dilation = settings.dilations[axis] ?? 1;
  const kernel = settings.kernel[axis] ?? null;
  if (stride <= 0) return null;
  if (settings.autoPad === 'SAME_UPPER' || settings.autoPad === 'SAME_LOWER') {
    if (stride === 1) return input;
    return isKnown(input) ? Math.ceil(input / stride) : null;
  }
  const padBegin = settings.autoPad === 'VALID' ? 0 : (settings.pads[axis] ?? 0);
  const padEnd = settings.autoPad === 'VALID' ? 0 : (settings.pads[axis + spatial] ?? 0);
  if (!isKnown(kernel)) return null;
  const effective = (kernel - 1) * dilation + 1;
  if (!isKnown(input)) {
    // A window that adds as much as it takes keeps a symbolic size.
    return stride === 1 && padBegin + padEnd - effective + 1 === 0 ? input : null;
  }
  const span = input + padBegin + padEnd - effective;
  if (span < 0) return null;
  if (!settings.ceilMode) return Math.floor(span / stride) + 1;
  const output = Math.ceil(span / stride) + 1;
  // Runtimes differ on a last window that starts in the end padding: say nothing then.
  if ((output - 1) * stride >= input + padBegin) return null;
  return output;
}

/** Output shape of a Conv-like op on X (input 0) and W (input `weight`). */
export function convShape(context: InferenceContext, weight = 1): Shape | undefined {
  const x = context.shape(0);
  const w = context.shape(weight);
  const kernelAttr = intsAttr(context.node, 'kernel_shape');
  if (x && w && x.length !== w.length) mismatch(`input ${formatShape(x)} and weight ${formatShape(w)} differ in rank`);
  const channels = x?.[1];
  const weightChannels = w?.[1];
  const group = intAttr(context.node, 'group', 1);
  if (typeof channels === 'number' && typeof weightChannels === 'number' && channels !== weightChannels * group) {
    mismatch(
      `input ${formatShape(x)} has ${channels} channels, weight ${formatShape(w)} with group ${group} wants ${weightChannels * group}`,
    );
  }
  const spatial = x ? x.length - 2 : w ? w.length - 2 : kernelAttr?.length;
  if (spatial === undefined || spatial < 0) return undefined;
  const kernel: Dimension[] = kernelAttr ?? (w ? w.slice(2) : new Array<Dimension>(spatial).fill(null));
  const settings = windowSettings(context.node, spatial, kernel);
  const shape: Shape = [x?.[0] ?? null, w?.[0] ?? null];
  for (let axis = 0; axis < spatial; axis++)
    shape.push(windowOutputDim(x?.[axis + 2] ?? null, axis, spatial, settings));
  return shape;
}

const conv: Inferrer = (context) => {
  context.setTensor(0, context.elementType(0), convShape(context));
};

const convTranspose: Inferrer = (context) => {
  const x = context.shape(0);
  const w = context.shape(1);
  const node = context.node;
  const elementType = context.elementType(0);
  const kernelAttr = intsAttr(node, 'kernel_shape');
  const spatial = x ? x.length - 2 : w ? w.length - 2 : kernelAttr?.length;
  if (spatial === undefined || spatial < 0) {
    context.setTensor(0, elementType, undefined);
    return;
  }
  const group = intAttr(node, 'group', 1);
  const kernel: Dimension[] = kernelAttr ?? (w ? w.slice(2) : new Array<Dimension>(spatial).fill(null));
  const settings = windowSettings(node, spatial, kernel);
  const outputPadding = intsAttr(node, 'output_padding') ?? new Array<number>(spatial).fill(0);
  const outputShape = intsAttr(node, 'output_shape');
  const shape: Shape = [x?.[0] ?? null, multiplyDims(w?.[1] ?? null, group)];
  for (let axis = 0; axis < spatial; axis++) {
    const input = x?.[axis + 2] ?? null;
    if (outputShape) {
      shape.push(outputShape[outputShape.length - spatial + axis] ?? null);
      continue;
    }
    const stride = settings.strides[axis] ?? 1;
    if (settings.autoPad === 'SAME_UPPER' || settings.autoPad === 'SAME_LOWER') {
      shape.push(multiplyDims(input, stride));
      continue;
    }
    const k = kernel[axis] ?? null;
    if (!isKnown(input) || !isKnown(k)) {
      shape.push(null);
      continue;
    }
    const pads = settings.autoPad === 'VALID' ? 0 : (settings.pads[axis] ?? 0) + (settings.pads[axis + spatial] ?? 0);
    const effective = (k - 1) * (settings.dilations[axis] ?? 1) + 1;
    shape.push(stride * (input - 1) + (outputPadding[axis] ?? 0) + effective - pads);
  }
  context.setTensor(0, elementType, shape);
};

const pool: Inferrer = (context) => {
  const x = context.shape(0);
  const elementType = context.elementType(0);
  const kernel = intsAttr(context.node, 'kernel_shape');
  if (!x || x.length < 2) {
    context.setTensor(0, elementType, undefined);
    context.setTensor(1, DataType.INT64, undefined);
    return;
  }
  const spatial = x.length - 2;
  const settings = windowSettings(context.node, spatial, kernel ?? new Array<Dimension>(spatial).fill(null));
  const shape: Shape = [x[0]!, x[1]!];
  for (let axis = 0; axis < spatial; axis++) shape.push(windowOutputDim(x[axis + 2]!, axis, spatial, settings));
  context.setTensor(0, elementType, shape);
  context.setTensor(1, DataType.INT64, shape);
};

const globalPool: Inferrer = (context) => {
  const x = context.shape(0);
  context.setTensor(
    0,
    context.elementType(0),
    x && x.length >= 2 ? [x[0]!, x[1]!, ...x.slice(2).map(() => 1)] : undefined,
  );
};

const maxUnpool: Inferrer = (context) => {
  const x = context.shape(0);
  const elementType = context.elementType(0);
  if (context.has(2)) {
    const target = context.data(2);
    const length = context.shape(2)?.[0];
    context.setTensor(
      0,
      elementType,
      target ? [...target.values] : isKnown(length) ? new Array<Dimension>(length).fill(null) : undefined,
    );
    return;
  }
  if (!x) {
    context.setTensor(0, elementType, undefined);
    return;
  }
  const spatial = x.length - 2;
  const kernel = intsAttr(context.node, 'kernel_shape') ?? [];
  const settings = windowSettings(context.node, spatial, kernel);
  const shape: Shape = [x[0]!, x[1]!];
  for (let axis = 0; axis < spatial; axis++) {
    const input = x[axis + 2]!;
    const k = kernel[axis];
    shape.push(
      isKnown(input) && k !== undefined
        ? (input - 1) * (settings.strides[axis] ?? 1) +
            k -
            (settings.pads[axis] ?? 0) -
            (settings.pads[axis + spatial] ?? 0)
        : null,
    );
  }
  context.setTensor(0, elementType, shape);
};

const maxRoiPool: Inferrer = (context) => {
  const x = context.shape(0);
  const rois = context.shape(1);
  const pooled = intsAttr(context.node, 'pooled_shape') ?? [null, null];
  context.setTensor(0, context.elementType(0), [rois?.[0] ?? null, x?.[1] ?? null, ...pooled]);
};

const roiAlign: Inferrer = (context) => {
  const x = context.shape(0);
  const rois = context.shape(1);
  context.setTensor(0, context.elementType(0), [
    rois?.[0] ?? context.shape(2)?.[0] ?? null,
    x?.[1] ?? null,
    intAttr(context.node, 'output_height', 1),
    intAttr(context.node, 'output_width', 1),
  ]);
};

const gridSample: Inferrer = (context) => {
  const x = context.shape(0);
  const grid = context.shape(1);
  const elementType = context.elementType(0);
  if (!grid || grid.length < 3) {
    context.setTensor(0, elementType, x ? x.map(() => null) : undefined);
    return;
  }
  context.setTensor(0, elementType, [x?.[0] ?? grid[0]!, x?.[1] ?? null, ...grid.slice(1, -1)]);
};

export const convPoolInferrers: Record<string, Inferrer> = {
  AveragePool: pool,
  Conv: conv,
  ConvTranspose: convTranspose,
  GlobalAveragePool: globalPool,
  GlobalLpPool: globalPool,
  GlobalMaxPool: globalPool,
  GridSample: gridSample,
  LpPool: pool,
  MaxPool: pool,
  MaxRoiPool: maxRoiPool,
  MaxUnpool: maxUnpool,
  RoiAlign: roiAlign,
};
