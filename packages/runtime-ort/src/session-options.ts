/** ExecutorOptions as onnxruntime session options. */
import type { ExecutorOptions } from '@whittle/spec';
import { WhittleError } from '@whittle/spec';
import type * as ort from 'onnxruntime-node';
import { ExecutorCodes } from './codes.js';

const LEVELS = ['disabled', 'basic', 'extended', 'all'] as const;

/** onnxruntime's log level for sessions: 3 = errors only (they are thrown anyway), so runs stay quiet. */
export const QUIET_LOG_LEVEL = 3;

/**
 * onnxruntime's log level for runs: fatal only. A failed run is thrown as EXECUTOR_RUN_FAILED with onnxruntime's
 * full message as its cause, so printing it as well would only repeat it on stderr.
 */
export const RUN_OPTIONS: ort.InferenceSession.RunOptions = { logSeverityLevel: 4 };

/**
 * CPU only; `threads` sets the threads inside one operator (operators run one at a time: inter-op 1);
 * `optimizationLevel` is onnxruntime's graph optimization level (default: onnxruntime's own, `all`).
 */
export function ortSessionOptions(options: ExecutorOptions = {}): ort.InferenceSession.SessionOptions {
  const { threads, optimizationLevel } = options;
  if (threads !== undefined && (!Number.isSafeInteger(threads) || threads < 1)) {
    throw new WhittleError(ExecutorCodes.INVALID_OPTION, `threads must be a positive integer, got ${threads}`, {
      location: { path: 'threads' },
    });
  }
  if (optimizationLevel !== undefined && !LEVELS.includes(optimizationLevel)) {
    throw new WhittleError(
      ExecutorCodes.INVALID_OPTION,
      `optimizationLevel must be one of ${LEVELS.join(', ')}, got '${String(optimizationLevel)}'`,
      { location: { path: 'optimizationLevel' } },
    );
  }
  return {
    executionProviders: ['cpu'],
    logSeverityLevel: QUIET_LOG_LEVEL,
    interOpNumThreads: 1,
    ...(threads !== undefined ? { intraOpNumThreads: threads } : {}),
    ...(optimizationLevel !== undefined ? { graphOptimizationLevel: optimizationLevel } : {}),
  };
}
