import { PassRegistry } from '@whittle/core';
import { loadPlugin } from '@whittle/core/node';
import type { Model } from '@whittle/ir';
import { builtinPlugins } from './builtin-plugins.js';

export interface PluginRequest {
  specifier: string;
  /** The folder the specifier resolves from. */
  from: string;
}

/** The built-in passes plus the plugins a user named, in order. */
export async function createRegistry(plugins: readonly PluginRequest[]): Promise<PassRegistry<Model>> {
  const registry = new PassRegistry<Model>();
  for (const plugin of builtinPlugins) registry.register(plugin);
  for (const { specifier, from } of plugins) registry.register(await loadPlugin<Model>(specifier, { from }));
  return registry;
}
