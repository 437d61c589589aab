export type { Diagnostic, Location, Severity } from './diagnostics.js';
export { WHITTLE_ERROR_MARKER, WhittleError, type WhittleErrorOptions } from './errors.js';
export type {
  Executor,
  ExecutorElementType,
  ExecutorFactory,
  ExecutorOptions,
  ExecutorTensor,
  ExecutorValueInfo,
} from './executor.js';
export type {
  Analysis,
  DiagnosticInput,
  JsonSchema,
  Pass,
  PassContext,
  PassDefinition,
  PassResult,
  PassRunRecord,
  PipelineRunResult,
  PipelineStep,
  Plugin,
  Preserved,
} from './pass.js';
