import { existsSync, realpathSync } from 'node:fs';
import { resolve } from 'node:path';

/** True when two paths name the same file (links resolved), so an output never replaces its input. */
export function sameFile(first: string, second: string): boolean {
  if (resolve(first) === resolve(second)) return true;
  return existsSync(first) && existsSync(second) && realpathSync(first) === realpathSync(second);
}
