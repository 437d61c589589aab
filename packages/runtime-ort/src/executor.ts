/** The Executor on onnxruntime-node (CPU): one session per model, captured values returned as extra outputs. */
import type { Model } from '@whittle/ir';
import type { Executor, ExecutorOptions, ExecutorTensor, ExecutorValueInfo } from '@whittle/spec';
import { WhittleError } from '@whittle/spec';
import * as ort from 'onnxruntime-node';
import { hasUsableType, resolveCaptures, withExtraOutputs } from './capture.js';
import { ExecutorCodes, firstLine } from './codes.js';
import { executorInputs, type InputSpec, inputSpecs, prepareFeeds } from './inputs.js';
import { type ModelSource, type ModelSourceOptions, modelSource } from './model-source.js';
import { ortSessionOptions, RUN_OPTIONS } from './session-options.js';
import { fromOrtTensor } from './tensor-conversion.js';

/** ExecutorOptions plus where a model too large for memory (or with external data) is written. */
export interface OrtExecutorOptions extends ExecutorOptions, ModelSourceOptions {}

/** An Executor on an onnxruntime-node session. Create it with `createOrtExecutor` or `ortExecutorFactory`. */
export class OrtExecutor implements Executor {
  readonly inputs: readonly ExecutorValueInfo[];
  readonly outputNames: readonly string[];
  private readonly pending = new Set<Promise<unknown>>();
  private disposal: Promise<void> | undefined;

  /** @internal use createOrtExecutor */
  constructor(
    private readonly session: ort.InferenceSession,
    private readonly source: ModelSource,
    private readonly specs: readonly InputSpec[],
    private readonly initializerInputs: ReadonlySet<string>,
    outputNames: readonly string[],
  ) {
    this.inputs = executorInputs(specs);
    this.outputNames = outputNames;
  }

  /** The model file onnxruntime opened, when the model went through a temporary folder (else undefined). */
  get modelPath(): string | undefined {
    return typeof this.source.model === 'string' ? this.source.model : undefined;
  }

  get disposed(): boolean {
    return this.disposal !== undefined;
  }

  async run(inputs: Readonly<Record<string, ExecutorTensor>>): Promise<Record<string, ExecutorTensor>> {
    if (this.disposal) {
      throw new WhittleError(ExecutorCodes.DISPOSED, 'this executor was disposed; create a new one to run the model');
    }
    const feeds = prepareFeeds(this.specs, inputs, this.initializerInputs);
    const running = this.session.run(feeds, RUN_OPTIONS);
    this.pending.add(running);
    let results: ort.InferenceSession.OnnxValueMapType;
    try {
      results = await running;
    } catch (error) {
      throw new WhittleError(ExecutorCodes.RUN_FAILED, `onnxruntime failed to run the model: ${firstLine(error)}`, {
        cause: error,
      });
    } finally {
      this.pending.delete(running);
    }
    const outputs: Record<string, ExecutorTensor> = {};
    for (const name of this.outputNames) {
      const tensor = results[name];
      if (tensor) outputs[name] = fromOrtTensor(tensor as ort.Tensor);
    }
    return outputs;
  }

  /** Release the session (after runs in flight end) and any temporary files. Calling it again does nothing. */
  dispose(): Promise<void> {
    this.disposal ??= (async () => {
      await Promise.allSettled([...this.pending]);
      try {
        await this.session.release();
      } finally {
        this.source.cleanup();
      }
    })();
    return this.disposal;
  }
}

/**
 * Open an onnxruntime-node session on a model. The model is serialized (the caller's Model is left exactly as it
 * was); captured values become extra graph outputs of the serialized form. Captured values need no declared type:
 * onnxruntime infers output types itself.
 */
export async function createOrtExecutor(model: Model, options: OrtExecutorOptions = {}): Promise<OrtExecutor> {
  const sessionOptions = ortSessionOptions(options);
  const extra = resolveCaptures(model, options.capture ?? []);
  const specs = inputSpecs(model);
  const outputNames = [...model.graph.outputs.map((value) => value.name), ...extra.map((value) => value.name)];
  const source = withExtraOutputs(model, extra, () =>
    modelSource(model, {
      ...(options.inlineLimit !== undefined ? { inlineLimit: options.inlineLimit } : {}),
      ...(options.temporaryDirectory !== undefined ? { temporaryDirectory: options.temporaryDirectory } : {}),
    }),
  );
  let session: ort.InferenceSession;
  try {
    session =
      typeof source.model === 'string'
        ? await ort.InferenceSession.create(source.model, sessionOptions)
        : await ort.InferenceSession.create(source.model, sessionOptions);
  } catch (error) {
    source.cleanup();
    const untyped = extra.filter((value) => !hasUsableType(value)).map((value) => value.name);
    const shown = untyped.slice(0, 10).join(', ') + (untyped.length > 10 ? `, ... (${untyped.length} in all)` : '');
    throw new WhittleError(ExecutorCodes.LOAD_FAILED, `onnxruntime could not load the model: ${firstLine(error)}`, {
      cause: error,
      ...(typeof source.model === 'string' ? { location: { file: source.model } } : {}),
      ...(untyped.length > 0
        ? {
            hint: `captured values without a declared type: ${shown}; onnxruntime infers their types, and if it cannot, run shape inference on the model first`,
          }
        : {}),
    });
  }
  const initializerInputs = new Set(model.graph.inputs.filter((value) => value.initializer).map((value) => value.name));
  return new OrtExecutor(session, source, specs, initializerInputs, outputNames);
}
