/**
 * The one error type of Whittle. It is recognised by a marker property rather than by `instanceof`, so that two
 * installed copies of Whittle packages still agree on what a Whittle error is.
 */
import type { Location } from './diagnostics.js';

export const WHITTLE_ERROR_MARKER = 'whittle.error' as const;

export interface WhittleErrorOptions {
  location?: Location;
  hint?: string;
  cause?: unknown;
}

export class WhittleError extends Error {
  readonly [WHITTLE_ERROR_MARKER] = true;
  readonly code: string;
  readonly location: Location | undefined;
  readonly hint: string | undefined;

  constructor(code: string, message: string, options: WhittleErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'WhittleError';
    this.code = code;
    this.location = options.location;
    this.hint = options.hint;
  }

  static is(value: unknown): value is WhittleError {
    return (
      typeof value === 'object' &&
      value !== null &&
      (value as Record<string, unknown>)[WHITTLE_ERROR_MARKER] === true &&
      typeof (value as { code?: unknown }).code === 'string'
    );
  }
}
