export { runCli, VERSION } from './cli.js';
export type { CliIo } from './cli-error.js';
export { constantTensors, type ModelSummary, summarizeModel } from './inspect-model.js';
