/**
 * Operator facts convert-float16 decides with: which ops stay in float32 by default and why, which ops the ONNX
 * schemas let take float16 / bfloat16, which ops ONNX Runtime's CPU execution provider has half-precision kernels
 * for, and which inputs of an op are not of its main float type.
 */
import { DataType } from '@whittle/ir';

/** The two half-precision types convert-float16 writes. */
export type HalfType = DataType.FLOAT16 | DataType.BFLOAT16;

/**
 * Ops kept in float32 by default because half precision loses their accuracy or range. Each entry says why; the
 * `blockOps` option replaces the whole list.
 */
export const FLOAT16_BLOCK_REASONS: Readonly<Record<string, string>> = {
  Range:
    'the output length is ceil((limit - start) / delta): rounding the operands changes it (no float16 in its schema)',
  CumSum: 'a running sum: float16 has an 11-bit significand, so sums past 2048 steps stop growing',
  Exp: 'overflows to infinity in float16 for inputs above about 11.09 (e^11.09 = 65504)',
  Pow: 'squares overflow in float16 above |x| = 256 (variance terms of decomposed layer norms)',
  ReduceMean: 'accumulates many elements (decomposed layer-norm means and variances)',
  ReduceSum: 'accumulates many elements and can exceed 65504',
  ReduceSumSquare: 'sums of squares overflow float16 quickly',
  ReduceL1: 'accumulates many elements',
  ReduceL2: 'a sum of squares: overflows float16 quickly',
  ReduceLogSum: 'accumulates many elements before the log',
  ReduceLogSumExp: 'exponentials overflow float16',
  ReduceProd: 'products overflow or underflow float16',
  InstanceNormalization: 'mean and variance over whole feature maps (no float32 stash type, unlike LayerNormalization)',
  LpNormalization: 'a sum of squares over an axis',
  TopK: 'rounding to float16 creates ties among close scores, so the chosen indices change',
  ArgMax: 'rounding to float16 creates ties among close scores, so the chosen index changes',
  ArgMin: 'rounding to float16 creates ties among close values, so the chosen index changes',
  NonMaxSuppression: 'IoU of boxes in pixel coordinates (float32 only in its schema)',
  RoiAlign: 'pixel coordinates above 2048 are not integers in float16',
  DFT: 'sums over the whole signal',
  STFT: 'sums over whole frames',
  QuantizeLinear: 'its scale defines the quantization grid: a rounded scale moves every quantized value',
  DequantizeLinear: 'its scale defines the quantization grid: a rounded scale moves every quantized value',
  DynamicQuantizeLinear: 'computes a scale from the data range; half precision moves every quantized value',
};

/** The default `blockOps` of convert-float16 (the keys of FLOAT16_BLOCK_REASONS). */
export const DEFAULT_FLOAT16_BLOCK_OPS: readonly string[] = Object.keys(FLOAT16_BLOCK_REASONS);

/**
 * Ops always left in float32 whatever `blockOps` says: their output type comes from a `dtype`-like attribute, they
 * work on sequences or optionals, or their schema has no half-precision type at all.
 */
const ALWAYS_FLOAT_OPS = new Set([
  'Range',
  'Celu',
  'NonMaxSuppression',
  'RandomNormal',
  'RandomUniform',
  'RandomNormalLike',
  'RandomUniformLike',
  'Bernoulli',
  'Multinomial',
  'EyeLike',
  'HannWindow',
  'HammingWindow',
  'BlackmanWindow',
  'MelWeightMatrix',
  'SequenceAt',
  'SequenceConstruct',
  'SequenceEmpty',
  'SequenceErase',
  'SequenceInsert',
  'SequenceLength',
  'SequenceMap',
  'SplitToSequence',
  'ConcatFromSequence',
  'Optional',
  'OptionalGetElement',
  'OptionalHasElement',
]);

/**
 * Ops whose float inputs take bfloat16 in the ONNX schemas, with the first opset that allows it (opsets 13 to 21;
 * found by loading single-node models in ONNX Runtime 1.30, whose checker applies the schemas). Opset 22 added
 * bfloat16 to more ops (Conv, pools, ...): they are not listed, so they stay in float32.
 */
const BFLOAT16_SCHEMA_OPSET: Readonly<Record<string, number>> = {
  ...Object.fromEntries(
    [
      'Abs',
      'Add',
      'ArgMax',
      'ArgMin',
      'Cast',
      'Ceil',
      'Concat',
      'ConstantOfShape',
      'DepthToSpace',
      'Div',
      'Dropout',
      'Equal',
      'Erf',
      'Exp',
      'Expand',
      'Flatten',
      'Floor',
      'Gather',
      'GatherElements',
      'Gemm',
      'Greater',
      'Identity',
      'IsNaN',
      'LRN',
      'LayerNormalization',
      'Less',
      'Log',
      'LogSoftmax',
      'MatMul',
      'Max',
      'Mean',
      'Min',
      'Mod',
      'Mul',
      'Neg',
      'NonZero',
      'Pad',
      'Reciprocal',
      'ReduceL1',
      'ReduceL2',
      'ReduceLogSum',
      'ReduceLogSumExp',
      'ReduceMax',
      'ReduceMean',
      'ReduceMin',
      'ReduceProd',
      'ReduceSum',
      'ReduceSumSquare',
      'Relu',
      'Reshape',
      'Resize',
      'ScatterElements',
      'ScatterND',
      'Shape',
      'Sigmoid',
      'Sign',
      'Size',
      'Slice',
      'Softmax',
      'SpaceToDepth',
      'Split',
      'Sqrt',
      'Squeeze',
      'Sub',
      'Sum',
      'Tanh',
      'Tile',
      'Transpose',
      'Unsqueeze',
    ].map((op) => [op, 13]),
  ),
  BatchNormalization: 14,
  CumSum: 14,
  Trilu: 14,
  Pow: 15,
  Clip: 16,
  GreaterOrEqual: 16,
  LeakyRelu: 16,
  LessOrEqual: 16,
  PRelu: 16,
  Where: 16,
  DequantizeLinear: 19,
  QuantizeLinear: 19,
  Gelu: 20,
  IsInf: 20,
  GroupNormalization: 21,
};

/** Ops whose schema has no float16 at some opsets (besides ALWAYS_FLOAT_OPS): the first opset that has it. */
const FLOAT16_SCHEMA_OPSET: Readonly<Record<string, number>> = { IsInf: 20 };

/** True when the ONNX schema of `opType` (default domain) at `opset` accepts `type` for its float tensors. */
export function schemaAcceptsHalf(opType: string, opset: number, type: HalfType): boolean {
  if (ALWAYS_FLOAT_OPS.has(opType)) return false;
  if (type === DataType.BFLOAT16) {
    const first = BFLOAT16_SCHEMA_OPSET[opType];
    return first !== undefined && opset >= first;
  }
  return opset >= (FLOAT16_SCHEMA_OPSET[opType] ?? 0);
}

/**
 * Ops ONNX Runtime 1.30's CPU execution provider (linux-x64) runs in float16 with a kernel of its own, by opset
 * range, found by loading single-node float16 models and reading the optimized model back. For every other op
 * ORT inserts a Cast to float32 before and after the node (its InsertCastTransformer), so the compute is float32
 * anyway and the casts only cost time: convert-float16 keeps such ops in float32 itself (one pair of casts per
 * float32 region rather than per node). ARM64 builds have more float16 kernels; this list is the conservative one.
 */
const ORT_CPU_FLOAT16: Readonly<Record<string, readonly [number, number]>> = {
  Cast: [1, Number.POSITIVE_INFINITY],
  Concat: [1, Number.POSITIVE_INFINITY],
  ConstantOfShape: [1, Number.POSITIVE_INFINITY],
  Expand: [1, Number.POSITIVE_INFINITY],
  Flatten: [1, Number.POSITIVE_INFINITY],
  Gather: [1, Number.POSITIVE_INFINITY],
  Identity: [1, Number.POSITIVE_INFINITY],
  IsNaN: [1, Number.POSITIVE_INFINITY],
  LayerNormalization: [1, Number.POSITIVE_INFINITY],
  Reshape: [1, Number.POSITIVE_INFINITY],
  Shape: [1, Number.POSITIVE_INFINITY],
  Sign: [1, Number.POSITIVE_INFINITY],
  Slice: [1, Number.POSITIVE_INFINITY],
  Split: [1, Number.POSITIVE_INFINITY],
  Squeeze: [1, Number.POSITIVE_INFINITY],
  Transpose: [1, Number.POSITIVE_INFINITY],
  Unsqueeze: [1, Number.POSITIVE_INFINITY],
  Dropout: [1, 12],
  GatherElements: [11, Number.POSITIVE_INFINITY],
  Mod: [11, Number.POSITIVE_INFINITY],
  Round: [11, Number.POSITIVE_INFINITY],
  ScatterElements: [11, Number.POSITIVE_INFINITY],
  ScatterND: [11, Number.POSITIVE_INFINITY],
  Max: [12, Number.POSITIVE_INFINITY],
  Min: [12, Number.POSITIVE_INFINITY],
  Clip: [13, Number.POSITIVE_INFINITY],
};

/**
 * Ops ONNX Runtime 1.30's CPU execution provider runs in bfloat16 (opset 13 on; bfloat16 needs opset 13). ORT
 * inserts no casts for bfloat16: a bfloat16 node of any other op fails to load.
 */
const ORT_CPU_BFLOAT16 = new Set([
  'Cast',
  'Concat',
  'ConstantOfShape',
  'Flatten',
  'Gather',
  'GatherElements',
  'Identity',
  'LayerNormalization',
  'Reshape',
  'ScatterElements',
  'ScatterND',
  'Shape',
  'Sign',
  'Slice',
  'Split',
  'Squeeze',
  'Transpose',
  'Unsqueeze',
]);

/** True when ONNX Runtime's CPU EP has a `type` kernel of its own for `opType` at `opset`. */
export function ortCpuHasHalfKernel(opType: string, opset: number, type: HalfType): boolean {
  if (type === DataType.BFLOAT16) return opset >= 13 && ORT_CPU_BFLOAT16.has(opType);
  const range = ORT_CPU_FLOAT16[opType];
  return range !== undefined && opset >= range[0] && opset <= range[1];
}

/** The ops of ORT_CPU_FLOAT16 / ORT_CPU_BFLOAT16 at `opset`, for documentation and tests. */
export function ortCpuHalfKernels(opset: number, type: HalfType): string[] {
  const ops = type === DataType.BFLOAT16 ? [...ORT_CPU_BFLOAT16] : Object.keys(ORT_CPU_FLOAT16);
  return ops.filter((op) => ortCpuHasHalfKernel(op, opset, type)).sort();
}

/**
 * Ops that only move, select or copy elements: exact in any precision, so they run in whatever precision their
 * data arrives in rather than forcing casts (a Reshape between two float32 ops stays float32).
 */
export const FLOAT16_FOLLOWER_OPS = new Set([
  'Concat',
  'DepthToSpace',
  'Dropout',
  'Expand',
  'Flatten',
  'Gather',
  'GatherElements',
  'GatherND',
  'Identity',
  'Pad',
  'Reshape',
  'ReverseSequence',
  'ScatterElements',
  'ScatterND',
  'Slice',
  'SpaceToDepth',
  'Split',
  'Squeeze',
  'Tile',
  'Transpose',
  'Trilu',
  'Unsqueeze',
  'Where',
]);

/**
 * Float inputs that are not of the op's main type T and keep their own type: Resize's roi (T2) and scales (float
 * only), Upsample's scales, Dropout's ratio (T1), GridSample's grid (T2).
 */
const OWN_TYPE_INPUTS: Readonly<Record<string, readonly number[]>> = {
  Resize: [1, 2],
  Upsample: [1],
  Dropout: [1],
  GridSample: [1],
};

/** Inputs of any type: the op does not care whether they are float32 or half (Shape, Cast, ...). */
const ANY_TYPE_INPUTS: Readonly<Record<string, readonly number[]>> = {
  Shape: [0],
  Size: [0],
  CastLike: [0],
  IsNaN: [0],
  IsInf: [0],
};

/** How an op reads its input `index` when it runs in half precision. */
export type InputRole = 'main' | 'own-type' | 'any-type';

export function inputRole(opType: string, index: number): InputRole {
  if (OWN_TYPE_INPUTS[opType]?.includes(index)) return 'own-type';
  if (ANY_TYPE_INPUTS[opType]?.includes(index)) return 'any-type';
  return 'main';
}

/** Largest finite value and smallest positive (subnormal) value of a half type. */
export function halfLimits(type: HalfType): { max: number; minPositive: number } {
  return type === DataType.FLOAT16
    ? { max: 65504, minPositive: 2 ** -24 }
    : { max: 3.3895313892515355e38, minPositive: 2 ** -133 };
}
