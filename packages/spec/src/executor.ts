/** A tensor handed to or returned by an executor: element type name as in ONNX (`float32`, `int64`, ...). */
export interface ExecutorTensor {
  readonly type: string;
  readonly dims: readonly number[];
  readonly data: ArrayBufferView | readonly string[];
}

export interface ExecutorRunOptions {
  /** Names of intermediate values to capture in addition to the model's outputs. */
  capture?: readonly string[];
}

/** Runs a model. Implemented by @whittle/runtime-ort today; another runtime can implement it later. */
export interface Executor {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(
    inputs: Readonly<Record<string, ExecutorTensor>>,
    options?: ExecutorRunOptions,
  ): Promise<Record<string, ExecutorTensor>>;
  dispose(): Promise<void>;
}
