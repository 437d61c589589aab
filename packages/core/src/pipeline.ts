import type { PipelineStep } from '@whittle/spec';
import { WhittleError } from '@whittle/spec';
import { PIPELINE_INVALID_OPTIONS, PIPELINE_PRESET_CYCLE } from './codes.js';
import { validateOptions } from './options.js';
import { deepFreeze } from './plain-values.js';
import { type PipelineDocument, readPipelineDocument } from './pipeline-document.js';
import { stepParts } from './pipeline-step.js';
import { parsePipelineText, printPipelineText } from './pipeline-text.js';
import type { PassRegistry } from './registry.js';

/** A step after presets are expanded and options are validated, with defaults filled in. */
export interface ResolvedStep {
  readonly pass: string;
  readonly options: Readonly<Record<string, unknown>>;
}

export interface PipelineBuildSettings {
  /** Convert option values to the schema's types (values typed as text, such as CLI flags). */
  coerceTypes?: boolean;
  /** Accept kebab-case option names, as the CLI does. */
  acceptKebabCase?: boolean;
}

/** Anything a pipeline can be built from. */
export type PipelineInput = Pipeline | string | readonly PipelineStep[] | PipelineDocument;

/**
 * An ordered, frozen list of resolved steps. Building one checks everything that can be checked without a model
 * (names, options), so a run never fails halfway through on a typo.
 */
export class Pipeline {
  readonly steps: readonly ResolvedStep[];

  private constructor(steps: ResolvedStep[]) {
    this.steps = deepFreeze(steps);
    Object.freeze(this);
  }

  /** Builds a pipeline from a Pipeline (re-resolved against `registry`), text, steps or a pipeline document. */
  static from<TModel>(
    input: PipelineInput,
    registry: PassRegistry<TModel>,
    settings?: PipelineBuildSettings,
  ): Pipeline {
    if (input instanceof Pipeline) return Pipeline.fromSteps(input.steps, registry);
    if (typeof input === 'string') return Pipeline.fromText(input, registry);
    if (Array.isArray(input)) return Pipeline.fromSteps(input as readonly PipelineStep[], registry, settings);
    return Pipeline.fromDocument(input, registry);
  }

  /** Builds a pipeline from steps written in code. */
  static fromSteps<TModel>(
    steps: readonly PipelineStep[],
    registry: PassRegistry<TModel>,
    settings: PipelineBuildSettings = {},
  ): Pipeline {
    const resolved: ResolvedStep[] = [];
    steps.forEach((step, index) => {
      expand(step, `pipeline[${index}]`, registry, settings, [], resolved);
    });
    return new Pipeline(resolved);
  }

  /** Builds a pipeline from its text form; option values are converted to their declared types. */
  static fromText<TModel>(text: string, registry: PassRegistry<TModel>): Pipeline {
    return Pipeline.fromSteps(parsePipelineText(text), registry, { coerceTypes: true });
  }

  /** Builds a pipeline from a parsed JSON or YAML document; its `plugins` must already be registered. */
  static fromDocument<TModel>(document: unknown, registry: PassRegistry<TModel>): Pipeline {
    return Pipeline.fromSteps(readPipelineDocument(document).steps, registry);
  }

  get length(): number {
    return this.steps.length;
  }

  [Symbol.iterator](): Iterator<ResolvedStep> {
    return this.steps[Symbol.iterator]();
  }

  /** Canonical text that parses back to this pipeline. */
  toText(): string {
    return printPipelineText(this.steps.map((step) => ({ pass: step.pass, options: step.options })));
  }

  toString(): string {
    return this.toText();
  }

  /** A pipeline document; steps without options are written as bare names. */
  toJSON(): PipelineDocument {
    return {
      pipeline: this.steps.map((step) =>
        Object.keys(step.options).length === 0 ? step.pass : { pass: step.pass, options: step.options },
      ),
    };
  }
}

function expand<TModel>(
  step: PipelineStep,
  path: string,
  registry: PassRegistry<TModel>,
  settings: PipelineBuildSettings,
  presets: readonly string[],
  into: ResolvedStep[],
): void {
  const parts = stepParts(step, path);
  const entry = registry.resolve(parts.pass, { path });
  if (entry.kind === 'pass') {
    const options = validateOptions(entry.definition, parts.options, { path: `${path}.options`, ...settings });
    into.push({ pass: entry.name, options });
    return;
  }
  if (parts.options !== undefined && Object.keys(parts.options).length > 0) {
    throw new WhittleError(PIPELINE_INVALID_OPTIONS, `Preset '${entry.name}' takes no options.`, {
      location: { path: `${path}.options` },
      hint: 'Name the passes of the preset one by one to give them options.',
    });
  }
  if (presets.includes(entry.name)) {
    throw new WhittleError(
      PIPELINE_PRESET_CYCLE,
      `Preset '${entry.name}' includes itself: ${[...presets, entry.name].join(' -> ')}.`,
      { location: { path } },
    );
  }
  // A preset's steps are written in code by its plugin, so they are read as code, not as text.
  entry.steps.forEach((inner, index) => {
    expand(inner, `presets.${entry.name}[${index}]`, registry, {}, [...presets, entry.name], into);
  });
}
