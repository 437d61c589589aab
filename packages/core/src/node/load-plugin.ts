import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Plugin } from '@whittle/spec';
import { WhittleError } from '@whittle/spec';
import { PLUGIN_INVALID, PLUGIN_LOAD_FAILED, PLUGIN_NOT_FOUND } from '../codes.js';
import { assertPlugin } from '../plugin.js';
import { isFile, resolvePackage } from './resolve-package.js';

export interface LoadPluginSettings {
  /** Directory that relative paths and package names resolve from: the user's project, or a pipeline file's folder. */
  from: string;
}

/**
 * Imports a plugin: an npm package name (found in `node_modules` at or above `from`) or a local module path
 * (relative to `from`). The module's default export or its named `plugin` export must be a Plugin. Loading a
 * plugin registers nothing: hand it to `PassRegistry.register`.
 */
export async function loadPlugin<TModel = unknown>(
  specifier: string,
  settings: LoadPluginSettings,
): Promise<Plugin<TModel>> {
  const file = locate(specifier, settings.from);
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (error) {
    throw new WhittleError(
      PLUGIN_LOAD_FAILED,
      `Plugin '${specifier}' could not be loaded: ${(error as Error)?.message ?? String(error)}`,
      {
        location: { file: specifier },
        hint: `The module was found at ${file} but threw while being imported.`,
        cause: error,
      },
    );
  }
  const plugin = pickExport(module);
  if (plugin === undefined) {
    throw new WhittleError(PLUGIN_INVALID, `Module '${specifier}' exports no plugin.`, {
      location: { file: specifier },
      hint: 'Export the plugin as the default export or as a named export called `plugin`.',
    });
  }
  assertPlugin<TModel>(plugin, specifier);
  return plugin;
}

function isLocal(specifier: string): boolean {
  return (
    specifier === '.' ||
    specifier === '..' ||
    specifier.startsWith('./') ||
    specifier.startsWith('../') ||
    specifier.startsWith('.\\') ||
    specifier.startsWith('..\\') ||
    specifier.startsWith('file:') ||
    isAbsolute(specifier)
  );
}

function locate(specifier: string, from: string): string {
  const notFound = (problem: string, hint?: string): never => {
    throw new WhittleError(PLUGIN_NOT_FOUND, `Plugin '${specifier}' was not found: ${problem}.`, {
      location: { file: specifier },
      ...(hint ? { hint } : {}),
    });
  };
  if (!isLocal(specifier)) {
    const resolution = resolvePackage(specifier, from);
    if ('file' in resolution) return resolution.file;
    return notFound(
      resolution.problem,
      `Install it in the project (npm install ${specifier}) or give a path such as ./my-plugin.mjs.`,
    );
  }
  const base = specifier.startsWith('file:') ? fileURLToPath(specifier) : resolve(from, specifier);
  // Node's ESM loader wants extensions; accept the common ones being left out, as people write them in configs.
  const file = [
    base,
    `${base}.mjs`,
    `${base}.js`,
    `${base}.cjs`,
    resolve(base, 'index.mjs'),
    resolve(base, 'index.js'),
  ].find(isFile);
  return file ?? notFound(`no module at '${base}'`);
}

/** The default export, a named `plugin` export, or either of those inside a CommonJS module's exports. */
function pickExport(module: Record<string, unknown>): unknown {
  const candidates = [module.default, module.plugin];
  const commonJs = module.default as Record<string, unknown> | undefined;
  if (typeof commonJs === 'object' && commonJs !== null) candidates.push(commonJs.default, commonJs.plugin);
  const looksLikePlugin = (value: unknown) =>
    typeof value === 'object' && value !== null && 'passes' in value && 'name' in value;
  return candidates.find(looksLikePlugin) ?? candidates.find((value) => value !== undefined);
}
