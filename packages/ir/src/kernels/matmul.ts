/**
 * MatMul with numpy semantics (1-D operands promoted and squeezed back, batch dims broadcast) for float, int32,
 * uint32, int64 and uint64. Float dot products accumulate in float64 and round once; integer ones wrap. Work is
 * capped (batch × M × N × K multiply-adds), as a reference kernel is for small, constant operands.
 */
import { DataType } from '../data-type.js';
import type { KernelDefinition, KernelTable } from './registry.js';
import {
  type BigIntValues,
  broadcastDims,
  broadcastMap,
  computeStorage,
  isBigIntType,
  isFloatType,
  type NumberValues,
  refuse,
  tensorOfValues,
} from './support.js';

/** Most multiply-adds one MatMul may take (about a second of JavaScript). */
export const MATMUL_WORK_LIMIT = 2 ** 27;

const matmul: KernelDefinition = {
  evaluate(context) {
    const a = context.input(0);
    const b = context.input(1);
    const type = a.dataType;
    if (b.dataType !== type) refuse('MatMul operands differ in type');
    const integer = type === DataType.INT32 || type === DataType.UINT32 || isBigIntType(type);
    if (!isFloatType(type) && !integer) refuse(`MatMul of type ${type}`);
    if (a.dims.length === 0 || b.dims.length === 0) refuse('MatMul of a scalar');
    const aDims = a.dims.length === 1 ? [1, a.dims[0]!] : [...a.dims];
    const bDims = b.dims.length === 1 ? [b.dims[0]!, 1] : [...b.dims];
    const m = aDims[aDims.length - 2]!;
    const k = aDims[aDims.length - 1]!;
    const n = bDims[bDims.length - 1]!;
    if (bDims[bDims.length - 2] !== k) refuse('MatMul inner dims differ');
    const aBatch = aDims.slice(0, -2);
    const bBatch = bDims.slice(0, -2);
    const batch = broadcastDims([aBatch, bBatch]);
    const dims = [...batch];
    if (a.dims.length > 1) dims.push(m);
    if (b.dims.length > 1) dims.push(n);
    context.outputDims(dims);
    const batches = batch.reduce((product, dim) => product * dim, 1);
    if (batches * m * n * k > MATMUL_WORK_LIMIT) refuse('MatMul too large to evaluate');
    const aOffsets = broadcastMap(aBatch, batch);
    const bOffsets = broadcastMap(bBatch, batch);
    const out = computeStorage(type, batches * m * n);
    if (isBigIntType(type)) {
      const left = context.bigints(a);
      const right = context.bigints(b);
      const result = out as BigIntValues;
      for (let index = 0; index < batches; index++) {
        const aBase = aOffsets[index]! * m * k;
        const bBase = bOffsets[index]! * k * n;
        for (let row = 0; row < m; row++) {
          for (let column = 0; column < n; column++) {
            let sum = 0n;
            for (let inner = 0; inner < k; inner++) {
              sum += left[aBase + row * k + inner]! * right[bBase + inner * n + column]!;
            }
            result[(index * m + row) * n + column] = sum;
          }
        }
      }
      return [tensorOfValues(type, dims, result)];
    }
    const left = context.numbers(a);
    const right = context.numbers(b);
    const result = out as NumberValues;
    for (let index = 0; index < batches; index++) {
      const aBase = aOffsets[index]! * m * k;
      const bBase = bOffsets[index]! * k * n;
      for (let row = 0; row < m; row++) {
        for (let column = 0; column < n; column++) {
          let sum = 0;
          if (integer) {
            for (let inner = 0; inner < k; inner++) {
              sum = (sum + Math.imul(left[aBase + row * k + inner]!, right[bBase + inner * n + column]!)) | 0;
            }
          } else {
            for (let inner = 0; inner < k; inner++) {
              sum += left[aBase + row * k + inner]! * right[bBase + inner * n + column]!;
            }
          }
          result[(index * m + row) * n + column] = sum;
        }
      }
    }
    return [tensorOfValues(type, dims, result)];
  },
};

export const matmulKernels: KernelTable = { MatMul: matmul };
