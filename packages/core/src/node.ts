/** Node-only helpers: reading pipeline files and importing plugins. Everything in the main entry is here too. */
export * from './index.js';
export { type LoadedPipelineFile, loadPipelineFile } from './node/load-pipeline-file.js';
export { type LoadPluginSettings, loadPlugin } from './node/load-plugin.js';
export {
  type ResolvedPipelineArgument,
  type ResolvePipelineArgumentSettings,
  resolvePipelineArgument,
} from './node/resolve-pipeline-argument.js';
