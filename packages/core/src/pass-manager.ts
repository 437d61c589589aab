import type {
  Analysis,
  Diagnostic,
  DiagnosticInput,
  Pass,
  PassContext,
  PassResult,
  PassRunRecord,
  PipelineRunResult,
} from '@whittle/spec';
import { WhittleError } from '@whittle/spec';
import { AnalysisCache } from './analysis-cache.js';
import {
  PASS_BROKE_MODEL,
  PASS_FAILED,
  PASS_INVALID_RESULT,
  PIPELINE_ABORTED,
  PIPELINE_INPUT_INVALID,
  PLUGIN_INVALID,
} from './codes.js';
import type { Instrumentation } from './instrumentation.js';
import { preview } from './plain-values.js';
import { Pipeline, type PipelineInput } from './pipeline.js';
import type { PassRegistry } from './registry.js';

export interface RunOptions<TModel = unknown> {
  /** Run `verify` before the first pass and after every pass; passes see `context.debug === true`. */
  debug?: boolean;
  /** The model verifier, used in debug mode; an error-severity diagnostic stops the run. */
  verify?: (model: TModel) => Diagnostic[] | Promise<Diagnostic[]>;
  /** Checked between passes, and handed to passes that can stop early. */
  signal?: AbortSignal;
  instrumentation?: readonly Instrumentation<TModel>[];
}

interface ScheduledPass<TModel> {
  pass: Pass<TModel>;
  name: string;
  path: string;
}

/**
 * Runs pipelines over models. It holds no state between runs: each run creates its passes from their validated
 * options and starts with an empty analysis cache.
 */
export class PassManager<TModel = unknown> {
  constructor(readonly registry: PassRegistry<TModel>) {}

  async run(
    model: TModel,
    pipeline: PipelineInput,
    options: RunOptions<TModel> = {},
  ): Promise<PipelineRunResult<TModel>> {
    const started = performance.now();
    const { debug = false, verify, signal, instrumentation = [] } = options;
    // Create every pass first, so a bad option or factory fails before hours of work, not after.
    const scheduled = this.#schedule(Pipeline.from(pipeline, this.registry));
    const diagnostics: Diagnostic[] = [];
    const records: PassRunRecord[] = [];
    const cache = new AnalysisCache<TModel>();
    let current = model;
    let changed = false;

    if (debug && verify) {
      const problem = firstError(await verify(current));
      if (problem) {
        throw new WhittleError(PIPELINE_INPUT_INVALID, `The input model is invalid: ${describe(problem)}`, {
          ...(problem.location ? { location: problem.location } : {}),
          hint: 'The verifier found this before any pass ran; fix the model or its importer.',
        });
      }
    }

    for (const [index, { pass, name, path }] of scheduled.entries()) {
      throwIfAborted(signal, `before pass '${name}' (step ${index + 1} of ${scheduled.length})`);
      for (const hook of instrumentation) await hook.beforePass?.(name, current);
      const context: PassContext<TModel> = Object.freeze({
        report: (diagnostic: DiagnosticInput) => {
          diagnostics.push(tagDiagnostic(diagnostic, name));
        },
        analysis: <T>(analysis: Analysis<T, TModel>, of: TModel): T => cache.get(analysis, of, context),
        debug,
        ...(signal ? { signal } : {}),
      });
      const passStarted = performance.now();
      let result: PassResult<TModel>;
      try {
        result = await pass.run(current, context);
      } catch (error) {
        if (WhittleError.is(error)) throw error;
        throwIfAborted(signal, `during pass '${name}'`);
        throw new WhittleError(PASS_FAILED, `Pass '${name}' failed: ${(error as Error)?.message ?? String(error)}`, {
          location: { path },
          cause: error,
        });
      }
      const milliseconds = performance.now() - passStarted;
      checkResult(result, name, path);
      cache.update(current, result.model, result.changed, result.preserved);
      current = result.model;
      changed ||= result.changed;
      const record: PassRunRecord = {
        pass: name,
        changed: result.changed,
        milliseconds,
        statistics: { ...(result.statistics ?? {}) },
      };
      records.push(record);
      if (debug && verify) {
        const problem = firstError(await verify(current));
        if (problem) {
          throw new WhittleError(PASS_BROKE_MODEL, `Pass '${name}' broke the model: ${describe(problem)}`, {
            location: { ...problem.location, path: problem.location?.path ?? path },
            hint: `The model verified before '${name}' ran and not after; rerun without it to confirm.`,
          });
        }
      }
      for (const hook of instrumentation) await hook.afterPass?.(record, current);
    }
    return { model: current, changed, diagnostics, passes: records, milliseconds: performance.now() - started };
  }

  #schedule(pipeline: Pipeline): ScheduledPass<TModel>[] {
    return pipeline.steps.map((step, index) => {
      const path = `pipeline[${index}]`;
      const definition = this.registry.getPass(step.pass, { path });
      let pass: Pass<TModel>;
      try {
        // Pipeline.from has validated the options against this registry and filled in defaults.
        pass = definition.create(step.options);
      } catch (error) {
        if (WhittleError.is(error)) throw error;
        throw new WhittleError(
          PASS_FAILED,
          `Pass '${step.pass}' could not be created: ${(error as Error)?.message ?? String(error)}`,
          { location: { path }, cause: error },
        );
      }
      if (typeof pass !== 'object' || pass === null || typeof pass.run !== 'function') {
        throw new WhittleError(
          PLUGIN_INVALID,
          `create() of pass '${step.pass}' returned ${preview(pass)}, not a pass.`,
          {
            location: { path },
            hint: 'create(options) returns { name, run(model, context) }.',
          },
        );
      }
      return { pass, name: step.pass, path };
    });
  }
}

function tagDiagnostic(input: DiagnosticInput, pass: string): Diagnostic {
  return {
    code: input.code,
    severity: input.severity ?? 'warning',
    message: input.message,
    pass,
    ...(input.location ? { location: { ...input.location } } : {}),
  };
}

function checkResult<TModel>(result: unknown, name: string, path: string): asserts result is PassResult<TModel> {
  const fail = (problem: string): never => {
    throw new WhittleError(PASS_INVALID_RESULT, `Pass '${name}' returned an invalid result: ${problem}`, {
      location: { path },
      hint: 'run() returns { model, changed: boolean, preserved?: "all" | "none" | string[], statistics? }.',
    });
  };
  if (typeof result !== 'object' || result === null) return fail(`expected an object, got ${preview(result)}`);
  const record = result as Record<string, unknown>;
  if (typeof record.changed !== 'boolean') fail(`changed must be a boolean, got ${preview(record.changed)}`);
  if (record.model === undefined || record.model === null) fail('model is missing');
  const preserved = record.preserved;
  const validPreserved =
    preserved === undefined ||
    preserved === 'all' ||
    preserved === 'none' ||
    (Array.isArray(preserved) && preserved.every((key) => typeof key === 'string'));
  if (!validPreserved) fail(`preserved must be 'all', 'none' or a list of analysis keys, got ${preview(preserved)}`);
  const statistics = record.statistics;
  if (statistics !== undefined) {
    const valid =
      typeof statistics === 'object' &&
      statistics !== null &&
      Object.values(statistics).every((value) => typeof value === 'number');
    if (!valid) fail(`statistics must map names to numbers, got ${preview(statistics)}`);
  }
}

function firstError(diagnostics: readonly Diagnostic[]): Diagnostic | undefined {
  return diagnostics.find((diagnostic) => diagnostic.severity === 'error');
}

function describe(diagnostic: Diagnostic): string {
  return `${diagnostic.message} (${diagnostic.code})`;
}

function throwIfAborted(signal: AbortSignal | undefined, when: string): void {
  if (!signal?.aborted) return;
  throw new WhittleError(PIPELINE_ABORTED, `Pipeline aborted ${when}.`, { cause: signal.reason });
}
