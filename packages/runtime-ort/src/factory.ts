/** The ExecutorFactory of onnxruntime-node, for code that takes any executor. */
import type { Model } from '@whittle/ir';
import type { ExecutorFactory } from '@whittle/spec';
import { createOrtExecutor } from './executor.js';

export const ortExecutorFactory: ExecutorFactory<Model> = {
  name: 'onnxruntime-node',
  create: (model, options) => createOrtExecutor(model, options),
};
