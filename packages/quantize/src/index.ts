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
