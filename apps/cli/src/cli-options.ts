import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { usageError } from './cli-error.js';
import { sameFile } from './same-file.js';

/** Commander's reducer for repeatable options. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Resolve the input and output paths; refuse an output that would replace the input. */
export function inputAndOutput(cwd: string, model: string, output: string): { input: string; output: string } {
  const paths = { input: resolve(cwd, model), output: resolve(cwd, output) };
  if (existsSync(paths.input) && sameFile(paths.input, paths.output)) {
    throw usageError(
      'the output would overwrite the input model',
      'write to another file: whittle never modifies its input',
    );
  }
  return paths;
}

/** A whole-number option, or a usage error naming the option. */
export function integerOption(name: string, text: string, minimum = 0): number {
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < minimum) {
    throw usageError(`${name} takes a whole number of at least ${minimum}, not '${text}'`);
  }
  return value;
}

/** A value from a fixed list (undefined stays undefined), or a usage error listing the choices. */
export function oneOf<T extends string>(
  option: string,
  value: string | undefined,
  allowed: readonly T[],
): T | undefined {
  if (value === undefined) return undefined;
  if (!allowed.includes(value as T)) throw usageError(`${option} must be one of ${allowed.join(', ')}, not '${value}'`);
  return value as T;
}
