/** Element type names as onnxruntime spells them: `float32`, `float16`, `int64`, `uint8`, `bool`, `string`, ... */
export type ExecutorElementType = string;

/** A tensor handed to or returned by an executor. */
export interface ExecutorTensor {
  readonly type: ExecutorElementType;
  readonly dims: readonly number[];
  readonly data: ArrayBufferView | readonly string[];
}

/** A model input or output as the executor sees it; `null` dims are dynamic. */
export interface ExecutorValueInfo {
  readonly name: string;
  readonly type: ExecutorElementType;
  /** undefined when even the rank is unknown. */
  readonly dims: readonly (number | string | null)[] | undefined;
}

export interface ExecutorOptions {
  /**
   * Names of intermediate values (main graph) to return as extra outputs, for calibration and per-layer
   * comparison. Each is returned under its own name.
   */
  capture?: readonly string[];
  /** Threads for one operator (intra-op); default: the runtime's choice. */
  threads?: number;
  optimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
}

/** Runs one model. Created by an ExecutorFactory; release it with dispose(). */
export interface Executor {
  readonly inputs: readonly ExecutorValueInfo[];
  /** The model's outputs followed by the captured values. */
  readonly outputNames: readonly string[];
  run(inputs: Readonly<Record<string, ExecutorTensor>>): Promise<Record<string, ExecutorTensor>>;
  dispose(): Promise<void>;
}

/** Makes executors for models of type TModel: onnxruntime-node today, onnxruntime-web in a browser later. */
export interface ExecutorFactory<TModel = unknown> {
  readonly name: string;
  create(model: TModel, options?: ExecutorOptions): Promise<Executor>;
}
