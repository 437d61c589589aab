import type { Location, PassDefinition, PipelineStep, Plugin } from '@whittle/spec';
import { WhittleError } from '@whittle/spec';
import { closeNames, didYouMean } from './close-names.js';
import { PIPELINE_UNKNOWN_PASS, PLUGIN_DUPLICATE_PASS } from './codes.js';
import { assertPlugin } from './plugin.js';

// biome-ignore lint/suspicious/noExplicitAny: passes take options of their own types, checked by their schemas
export type AnyPassDefinition<TModel = unknown> = PassDefinition<any, TModel>;

/** What a name in a pipeline stands for. */
export type RegistryEntry<TModel = unknown> =
  | { kind: 'pass'; name: string; plugin: string; definition: AnyPassDefinition<TModel> }
  | { kind: 'preset'; name: string; plugin: string; steps: readonly PipelineStep[] };

/**
 * The passes and presets a program knows about. It starts empty and is filled only by `register(plugin)`: nothing
 * registers itself on import, so two programs in one process never see each other's passes.
 */
export class PassRegistry<TModel = unknown> {
  readonly #entries = new Map<string, RegistryEntry<TModel>>();
  readonly #plugins: Plugin<TModel>[] = [];

  /** Adds every pass and preset of a plugin, or none of them when one name is already taken. */
  register(plugin: Plugin<TModel>): this {
    assertPlugin<TModel>(plugin);
    // The same plugin object registered twice (say, from a file and from a flag) is harmless.
    if (this.#plugins.includes(plugin)) return this;
    const incoming: RegistryEntry<TModel>[] = [
      ...plugin.passes.map((definition) => ({
        kind: 'pass' as const,
        name: definition.name,
        plugin: plugin.name,
        definition,
      })),
      ...Object.entries(plugin.presets ?? {}).map(([name, steps]) => ({
        kind: 'preset' as const,
        name,
        plugin: plugin.name,
        steps: Object.freeze([...steps]),
      })),
    ];
    const seen = new Map<string, RegistryEntry<TModel>>();
    for (const entry of incoming) {
      const existing = this.#entries.get(entry.name) ?? seen.get(entry.name);
      if (existing) {
        const owner = existing.plugin === plugin.name ? 'the same plugin' : `plugin '${existing.plugin}'`;
        throw new WhittleError(
          PLUGIN_DUPLICATE_PASS,
          `Plugin '${plugin.name}' registers ${entry.kind} '${entry.name}', already registered as a ${existing.kind} by ${owner}.`,
          {
            location: { path: entry.name },
            hint: 'Pass and preset names share one namespace; third-party names take a prefix, as in acme/fuse-gelu.',
          },
        );
      }
      seen.set(entry.name, entry);
    }
    for (const entry of incoming) this.#entries.set(entry.name, entry);
    this.#plugins.push(plugin);
    return this;
  }

  /** True when `name` is a registered pass or preset. */
  has(name: string): boolean {
    return this.#entries.has(name);
  }

  /** The pass or preset called `name`; throws `PIPELINE_UNKNOWN_PASS`, with close names, when there is none. */
  resolve(name: string, location?: Location): RegistryEntry<TModel> {
    const entry = this.#entries.get(name);
    if (!entry) throw this.#unknown(name, location, [...this.#entries.keys()], 'pass or preset');
    return entry;
  }

  /** The definition of pass `name`; throws `PIPELINE_UNKNOWN_PASS` when it is unknown or is a preset. */
  getPass(name: string, location?: Location): AnyPassDefinition<TModel> {
    const entry = this.#entries.get(name);
    if (entry?.kind === 'pass') return entry.definition;
    const passNames = this.passes().map((definition) => definition.name);
    if (entry?.kind === 'preset') {
      throw new WhittleError(PIPELINE_UNKNOWN_PASS, `'${name}' is a preset, not a pass.`, {
        ...(location ? { location } : {}),
        hint: 'Build a Pipeline to expand presets into their passes.',
      });
    }
    throw this.#unknown(name, location, passNames, 'pass');
  }

  /** The steps of preset `name`, or undefined. */
  getPreset(name: string): readonly PipelineStep[] | undefined {
    const entry = this.#entries.get(name);
    return entry?.kind === 'preset' ? entry.steps : undefined;
  }

  /** Every pass definition, sorted by name. */
  passes(): AnyPassDefinition<TModel>[] {
    return [...this.#entries.values()]
      .flatMap((entry) => (entry.kind === 'pass' ? [entry.definition] : []))
      .sort((left, right) => compareNames(left.name, right.name));
  }

  /** Every preset as `{ name, steps }`, sorted by name. */
  presets(): { name: string; steps: readonly PipelineStep[] }[] {
    return [...this.#entries.values()]
      .flatMap((entry) => (entry.kind === 'preset' ? [{ name: entry.name, steps: entry.steps }] : []))
      .sort((left, right) => compareNames(left.name, right.name));
  }

  /** The registered plugins, in registration order. */
  plugins(): readonly Plugin<TModel>[] {
    return [...this.#plugins];
  }

  #unknown(name: string, location: Location | undefined, candidates: string[], kind: string): WhittleError {
    const suggestions = closeNames(name, candidates);
    const known = candidates.length === 0 ? 'No passes are registered.' : didYouMean(suggestions);
    return new WhittleError(PIPELINE_UNKNOWN_PASS, `Unknown ${kind} '${name}'.${known ? ` ${known}` : ''}`, {
      ...(location ? { location } : {}),
      hint:
        candidates.length === 0
          ? 'Register a plugin that provides it, or load one with plugins: [...] in the pipeline file.'
          : `Known: ${[...candidates].sort(compareNames).join(', ')}.`,
    });
  }
}

/** Plain code-point order, so listings do not depend on the locale. */
function compareNames(left: string, right: string): number {
  return left < right ? -1 : left > right ? 1 : 0;
}
