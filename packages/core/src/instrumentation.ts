import type { PassRunRecord } from '@whittle/spec';

/**
 * Hooks the pass manager calls around every pass: for timings, progress bars, IR dumps. A hook may be async; the
 * run waits for it. A hook that throws stops the run.
 */
export interface Instrumentation<TModel = unknown> {
  beforePass?(pass: string, model: TModel): void | Promise<void>;
  afterPass?(record: PassRunRecord, model: TModel): void | Promise<void>;
}
