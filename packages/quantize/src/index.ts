import type { Model } from '@whittle/ir';
import type { Plugin } from '@whittle/spec';
import { convertFloat16 } from './convert-float16.js';
import { lowerQOperator } from './lower-qoperator.js';
import { quantizeDynamic } from './quantize-dynamic.js';
import { quantizeStatic } from './quantize-static.js';
import { quantizeWeights } from './quantize-weights.js';

export { convertFloat16 } from './convert-float16.js';
export { lowerQOperator } from './lower-qoperator.js';
export {
  computeQuantizationParameters,
  dequantizeValue,
  INTEGER_RANGES,
  type IntegerRangeOptions,
  integerRange,
  type ParameterOptions,
  type QuantizationParameters,
  quantizeValue,
  roundHalfToEven,
} from './quantization-parameters.js';
export {
  correctBiasesOnData,
  FIDELITY_GOAL,
  lowFidelityDiagnostic,
  MeasuredBiasCorrectionCodes,
  type MeasuredBiasCorrectionOptions,
  type MeasuredBiasCorrectionResult,
} from './measured-bias-correction.js';
export { quantizeDynamic } from './quantize-dynamic.js';
export {
  DEFAULT_STATIC_OP_TYPES,
  QuantizeStaticCodes,
  type QuantizeStaticOptions,
  quantizeStatic,
  type StaticActivationType,
  type StaticCalibrationTable,
  type StaticRange,
  type StaticTensorOverride,
  type StaticWeightType,
} from './quantize-static.js';
export { quantizeWeights } from './quantize-weights.js';

/** Whittle's quantization passes; the CLI registers this plugin. */
export const quantizePlugin: Plugin<Model> = {
  name: '@whittle/quantize',
  passes: [quantizeStatic, quantizeDynamic, convertFloat16, quantizeWeights, lowerQOperator],
};
