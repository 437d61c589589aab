/** Diagnostic and error codes of the `quantize-static` pass, sorted. */
export const QuantizeStaticCodes = {
  /** info: the model already holds QuantizeLinear/DequantizeLinear (QAT or an earlier run); their parameters are kept. */
  ALREADY_QUANTIZED: 'QUANTIZE_ALREADY_QUANTIZED',
  /** warning: a bias did not fit int32 at scale input_scale × weight_scale and was saturated. */
  BIAS_OVERFLOW: 'QUANTIZE_BIAS_OVERFLOW',
  /** info: the model's default opset cannot express the Q/DQ needed; ONNX Runtime's com.microsoft ops are used. */
  CONTRIB_OPS: 'QUANTIZE_CONTRIB_OPS',
  /** error: an option value the schema cannot express the constraint of (a range with min > max, ...). */
  INVALID_OPTIONS: 'QUANTIZE_INVALID_OPTIONS',
  /**
   * info: an op left in float because its output reaches, through ops that keep small values small (Mul, Pow, Add,
   * MatMul, moves), an op that needs relative precision (Log, Reciprocal, Sqrt, a divisor): rounding to a fixed step
   * turns its small values into 0, and log(0) or 1/0 into infinities.
   */
  KEPT_FOR_RELATIVE_PRECISION: 'QUANTIZE_KEPT_FOR_RELATIVE_PRECISION',
  /** warning: a tensor that needs a range has none in the table nor in the overrides; its op stays float. */
  MISSING_RANGE: 'QUANTIZE_MISSING_RANGE',
  /**
   * warning: opset below 10 and the model holds ops whose meaning changed at opset 10: ONNX Runtime's QDQ fusions
   * (which create opset-10 QLinearConv / QLinearMatMul) cannot run on it.
   */
  OPSET_TOO_OLD: 'QUANTIZE_OPSET_TOO_OLD',
  /** info: the default opset was raised from 9 to 10 (Slice and TopK rewritten) so ONNX Runtime can fuse Q/DQ. */
  OPSET_UPGRADED: 'QUANTIZE_OPSET_UPGRADED',
  /** warning: an override that set nothing: the model has no tensor of that name, or leaves it in float. */
  OVERRIDE_UNUSED: 'QUANTIZE_OVERRIDE_UNUSED',
  /** error: the calibration table names none of the model's tensors: it was made for another model. */
  TABLE_MISMATCH: 'QUANTIZE_TABLE_MISMATCH',
  /** info: some tensors of the calibration table are not in the model (the model was edited after calibration). */
  TABLE_STALE: 'QUANTIZE_TABLE_STALE',
} as const;
