/** Reference kernels: evaluate default-domain ONNX nodes on constant tensors (for constant folding). */
export { bigintToFloat32 } from './cast.js';
export { constantNodeValue, constantValueOf } from './generators.js';
export { MATMUL_WORK_LIMIT } from './matmul.js';
export { evaluateNode, hasKernel, type KernelDefinition, kernelOperators } from './registry.js';
export { broadcastDims, DEFAULT_KERNEL_MAX_ELEMENTS, type EvaluateNodeOptions } from './support.js';
