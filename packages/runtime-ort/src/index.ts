export { ExecutorCodes } from './codes.js';
export { createOrtExecutor, OrtExecutor, type OrtExecutorOptions } from './executor.js';
export { ortExecutorFactory } from './factory.js';
export type { ModelSourceOptions } from './model-source.js';
export { ortSessionOptions, QUIET_LOG_LEVEL } from './session-options.js';
export { fromOrtTensor, ORT_ELEMENT_TYPES, toOrtTensor } from './tensor-conversion.js';
