/** Error codes of @whittle/runtime-ort, sorted. Stable: users and tests match on them. */
export const ExecutorCodes = {
  /** `run` or another use after `dispose()`. */
  DISPOSED: 'EXECUTOR_DISPOSED',
  /** An input's rank or a fixed dim differs from the model's declaration, or its data does not fill its dims. */
  INPUT_SHAPE: 'EXECUTOR_INPUT_SHAPE',
  /** An input's element type (or its data array's kind) differs from the model's declaration. */
  INPUT_TYPE: 'EXECUTOR_INPUT_TYPE',
  /** An executor option is out of range (threads, optimization level). */
  INVALID_OPTION: 'EXECUTOR_INVALID_OPTION',
  /** onnxruntime refused the model when creating the session. */
  LOAD_FAILED: 'EXECUTOR_LOAD_FAILED',
  /** A declared input was not given. */
  MISSING_INPUT: 'EXECUTOR_MISSING_INPUT',
  /** onnxruntime failed while running the model. */
  RUN_FAILED: 'EXECUTOR_RUN_FAILED',
  /** An input was given that the model does not declare. */
  UNKNOWN_INPUT: 'EXECUTOR_UNKNOWN_INPUT',
  /** A captured name is not a value of the main graph. */
  UNKNOWN_VALUE: 'EXECUTOR_UNKNOWN_VALUE',
  /** A tensor of an element type onnxruntime's JS API cannot carry (bfloat16, float8, complex...). */
  UNSUPPORTED_TYPE: 'EXECUTOR_UNSUPPORTED_TYPE',
} as const;

/** The first line of an error's message (onnxruntime's messages can run to many lines). */
export function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n', 1)[0]!.trim();
}
