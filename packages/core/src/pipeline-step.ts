import type { PipelineStep } from '@whittle/spec';
import { WhittleError } from '@whittle/spec';
import { PIPELINE_INVALID_STEP } from './codes.js';
import { preview } from './plain-values.js';

/** A step with its name and options pulled out of whichever of the three written forms it came in. */
export interface StepParts {
  pass: string;
  /** As written; undefined when the step gave none. */
  options: Record<string, unknown> | undefined;
}

/**
 * Reads a step written as `'name'`, `['name', options]` or `{ pass: 'name', options }`. Steps arrive from
 * JavaScript and from documents, so the shape is checked rather than trusted.
 *
 * @param path where the step sits, for error locations, such as `pipeline[2]`.
 */
export function stepParts(step: PipelineStep | unknown, path: string, file?: string): StepParts {
  const fail = (where: string, problem: string): never => {
    throw new WhittleError(PIPELINE_INVALID_STEP, `Pipeline step ${where}: ${problem}`, {
      location: { ...(file === undefined ? {} : { file }), path: where },
      hint: "A step is 'name', ['name', { ...options }] or { pass: 'name', options: { ...options } }.",
    });
  };
  const checkOptions = (options: unknown, where: string): Record<string, unknown> | undefined => {
    if (options === undefined) return undefined;
    if (typeof options !== 'object' || options === null || Array.isArray(options)) {
      return fail(where, `options must be an object, got ${preview(options)}`);
    }
    return options as Record<string, unknown>;
  };
  if (typeof step === 'string') return { pass: nonEmpty(step, path, fail), options: undefined };
  if (Array.isArray(step)) {
    if (step.length < 1 || step.length > 2)
      return fail(path, `a tuple step is [name, options?], got ${step.length} items`);
    if (typeof step[0] !== 'string')
      return fail(`${path}[0]`, `the pass name must be a string, got ${preview(step[0])}`);
    return { pass: nonEmpty(step[0], `${path}[0]`, fail), options: checkOptions(step[1], `${path}[1]`) };
  }
  if (typeof step === 'object' && step !== null) {
    const record = step as Record<string, unknown>;
    const extra = Object.keys(record).filter((key) => key !== 'pass' && key !== 'options');
    if (extra.length > 0) return fail(`${path}.${extra[0]}`, `unknown key '${extra[0]}' (a step has pass and options)`);
    if (typeof record.pass !== 'string')
      return fail(`${path}.pass`, `pass must be a name, got ${preview(record.pass)}`);
    return {
      pass: nonEmpty(record.pass, `${path}.pass`, fail),
      options: checkOptions(record.options, `${path}.options`),
    };
  }
  return fail(path, `expected a name, a tuple or an object, got ${preview(step)}`);
}

function nonEmpty(name: string, path: string, fail: (where: string, problem: string) => never): string {
  return name.length > 0 ? name : fail(path, 'the pass name is empty');
}
