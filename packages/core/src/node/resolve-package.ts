import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** Conditions of an ESM import under Node, in the sense of package.json `exports`. */
const CONDITIONS = new Set(['node', 'import', 'default']);

export type PackageResolution = { file: string } | { problem: string };

/**
 * Finds the file `import(specifier)` would load from a module in `from`. Node 20 cannot resolve relative to another
 * directory without a flag (`import.meta.resolve(specifier, parent)`), and `require.resolve` uses the `require`
 * condition, which ESM-only packages lack; so `node_modules` is walked here with the `import` conditions, and
 * `require.resolve` is the fallback for layouts this does not know (NODE_PATH, global folders).
 */
export function resolvePackage(specifier: string, from: string): PackageResolution {
  const { name, subpath } = splitSpecifier(specifier);
  for (let directory = from; ; directory = dirname(directory)) {
    const packageDirectory = join(directory, 'node_modules', name);
    const manifest = readManifest(join(packageDirectory, 'package.json'));
    if (manifest) return resolveInPackage(packageDirectory, manifest, subpath, specifier);
    if (dirname(directory) === directory) break;
  }
  try {
    return { file: createRequire(join(from, 'index.js')).resolve(specifier) };
  } catch {
    return { problem: `no package '${name}' is installed in '${from}' or any folder above it` };
  }
}

function splitSpecifier(specifier: string): { name: string; subpath: string } {
  const parts = specifier.split('/');
  const length = specifier.startsWith('@') ? 2 : 1;
  const rest = parts.slice(length).join('/');
  return { name: parts.slice(0, length).join('/'), subpath: rest ? `./${rest}` : '.' };
}

function readManifest(path: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

function resolveInPackage(
  directory: string,
  manifest: Record<string, unknown>,
  subpath: string,
  specifier: string,
): PackageResolution {
  if (manifest.exports !== undefined && manifest.exports !== null) {
    const target = resolveExports(manifest.exports, subpath);
    if (target === undefined) return { problem: `package.json of '${specifier}' exports no '${subpath}' for import` };
    const file = join(directory, target);
    return isFile(file) ? { file } : { problem: `'${specifier}' exports '${target}', which does not exist` };
  }
  // Packages without `exports`: `main` for the package itself, plain paths below it.
  const base =
    subpath === '.'
      ? join(directory, typeof manifest.main === 'string' ? manifest.main : 'index.js')
      : join(directory, subpath);
  const file = [base, `${base}.js`, `${base}.mjs`, join(base, 'index.js')].find(isFile);
  return file ? { file } : { problem: `'${specifier}' has no file at '${base}'` };
}

/** The target of `subpath` in an `exports` field, following the `import` conditions. */
export function resolveExports(exports: unknown, subpath: string): string | undefined {
  const subpaths =
    typeof exports === 'object' &&
    exports !== null &&
    !Array.isArray(exports) &&
    Object.keys(exports).some((key) => key.startsWith('.'))
      ? (exports as Record<string, unknown>)
      : { '.': exports };
  if (Object.hasOwn(subpaths, subpath)) return resolveTarget(subpaths[subpath], undefined);
  // Subpath patterns such as "./passes/*": the longest matching prefix wins, as in Node.
  let best: { key: string; match: string } | undefined;
  for (const key of Object.keys(subpaths)) {
    const star = key.indexOf('*');
    if (star === -1) continue;
    const prefix = key.slice(0, star);
    const suffix = key.slice(star + 1);
    if (subpath.startsWith(prefix) && subpath.endsWith(suffix) && subpath.length >= key.length - 1) {
      if (!best || prefix.length > best.key.indexOf('*')) {
        best = { key, match: subpath.slice(prefix.length, subpath.length - suffix.length) };
      }
    }
  }
  return best ? resolveTarget(subpaths[best.key], best.match) : undefined;
}

function resolveTarget(target: unknown, match: string | undefined): string | undefined {
  if (typeof target === 'string') return match === undefined ? target : target.replaceAll('*', match);
  if (Array.isArray(target)) {
    for (const item of target) {
      const resolved = resolveTarget(item, match);
      if (resolved !== undefined) return resolved;
    }
    return undefined;
  }
  if (typeof target === 'object' && target !== null) {
    for (const [condition, value] of Object.entries(target)) {
      if (!CONDITIONS.has(condition)) continue;
      const resolved = resolveTarget(value, match);
      if (resolved !== undefined) return resolved;
    }
  }
  return undefined;
}

export function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
