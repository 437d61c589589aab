import { describe, expect, it } from 'vitest';
import { ExecutorCodes } from './codes.js';
import { ortSessionOptions } from './session-options.js';
import { expectCode } from './test-support.js';

describe('ortSessionOptions', () => {
  it('is CPU, quiet, one operator at a time by default, leaving threads and level to onnxruntime', () => {
    expect(ortSessionOptions()).toEqual({ executionProviders: ['cpu'], logSeverityLevel: 3, interOpNumThreads: 1 });
  });

  it('maps threads to intra-op threads and the optimization level to the graph optimization level', () => {
    expect(ortSessionOptions({ threads: 4, optimizationLevel: 'disabled', capture: ['a'] })).toEqual({
      executionProviders: ['cpu'],
      logSeverityLevel: 3,
      interOpNumThreads: 1,
      intraOpNumThreads: 4,
      graphOptimizationLevel: 'disabled',
    });
    for (const level of ['basic', 'extended', 'all'] as const) {
      expect(ortSessionOptions({ optimizationLevel: level }).graphOptimizationLevel).toBe(level);
    }
  });

  it('refuses threads that are not a positive integer and unknown levels', async () => {
    for (const threads of [0, -1, 1.5, Number.NaN]) {
      const error = await expectCode(() => ortSessionOptions({ threads }), ExecutorCodes.INVALID_OPTION);
      expect(error.message).toContain('threads');
    }
    await expectCode(() => ortSessionOptions({ optimizationLevel: 'layout' as 'all' }), ExecutorCodes.INVALID_OPTION);
  });
});
