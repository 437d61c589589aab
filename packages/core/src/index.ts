export { closeNames } from './close-names.js';
export * from './codes.js';
export type { Instrumentation } from './instrumentation.js';
export { type PipelineJsonSchemaSettings, pipelineJsonSchema } from './json-schema.js';
export { optionNameToCamelCase, optionNameToKebabCase } from './option-names.js';
export { closedOptionsSchema, type ValidateOptionsSettings, validateOptions } from './options.js';
export { PassManager, type RunOptions } from './pass-manager.js';
export { isPassName } from './pass-name.js';
export {
  Pipeline,
  type PipelineBuildSettings,
  type PipelineInput,
  type ResolvedStep,
} from './pipeline.js';
export { type PipelineDocument, type PipelineSource, readPipelineDocument } from './pipeline-document.js';
export { type StepParts, stepParts } from './pipeline-step.js';
export { type ParsedStep, parsePipelineText, printOptionValue, printPipelineText } from './pipeline-text.js';
export { assertPlugin } from './plugin.js';
export { type AnyPassDefinition, PassRegistry, type RegistryEntry } from './registry.js';
