import { WhittleError } from '@whittle/spec';

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  cwd: string;
  /** stderr is a terminal: progress bars redraw in place. */
  interactive?: boolean;
}

/** Exit codes: 0 success, 1 a run that failed (bad model, bad pipeline), 2 a usage error. */
export const ExitCode = { success: 0, failure: 1, usage: 2 } as const;

/** A usage error found by whittle itself (not by the argument parser). */
export function usageError(message: string, hint?: string): WhittleError {
  return new WhittleError('USAGE', message, hint ? { hint } : {});
}

function describeLocation(error: WhittleError): string {
  const location = error.location;
  if (!location) return '';
  const parts: string[] = [];
  if (location.file) parts.push(location.file);
  if (location.graph) parts.push(`graph '${location.graph}'`);
  if (location.node) parts.push(`node '${location.node}'`);
  if (location.value && !error.message.includes(`'${location.value}'`)) parts.push(`value '${location.value}'`);
  if (location.path) parts.push(location.path);
  return parts.length > 0 ? ` (at ${parts.join(', ')})` : '';
}

/** One line `whittle: error [CODE] message`, a hint line where one helps; never a stack trace. */
export function reportError(error: unknown, io: CliIo): number {
  if (WhittleError.is(error)) {
    io.stderr(`whittle: error [${error.code}] ${error.message}${describeLocation(error)}\n`);
    if (error.hint) io.stderr(`  hint: ${error.hint}\n`);
    return error.code === 'USAGE' ? ExitCode.usage : ExitCode.failure;
  }
  const message = error instanceof Error ? error.message : String(error);
  io.stderr(`whittle: error [INTERNAL] ${message}\n`);
  io.stderr('  hint: this is a bug in whittle; please report it with the command that caused it\n');
  if (process.env.WHITTLE_DEBUG && error instanceof Error && error.stack) io.stderr(`${error.stack}\n`);
  return ExitCode.failure;
}
