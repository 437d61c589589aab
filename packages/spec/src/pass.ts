import type { Diagnostic, Location, Severity } from './diagnostics.js';

/** A JSON Schema object (draft 2020-12 subset) describing a pass's options. */
export type JsonSchema = Record<string, unknown>;

/** Which cached analyses stay valid after a pass that changed the model. */
export type Preserved = 'all' | 'none' | readonly string[];

export interface PassResult<TModel = unknown> {
  model: TModel;
  changed: boolean;
  /** Analyses still valid; when omitted, a changed model invalidates every analysis. */
  preserved?: Preserved;
  /** Counters the pass wants reported, such as `{ nodesRemoved: 3 }`. */
  statistics?: Record<string, number>;
}

/** An analysis computes a fact about a model; the pass manager caches it until a pass invalidates it. */
export interface Analysis<T, TModel = unknown> {
  readonly key: string;
  compute(model: TModel, context: PassContext<TModel>): T;
}

export interface DiagnosticInput {
  code: string;
  message: string;
  severity?: Severity;
  location?: Location;
}

export interface PassContext<TModel = unknown> {
  /** Report a warning or note; fatal problems are thrown as WhittleError instead. */
  report(diagnostic: DiagnosticInput): void;
  /** Cached analysis of the model, computed on first use. */
  analysis<T>(analysis: Analysis<T, TModel>, model: TModel): T;
  /** True when the verifier runs after every pass. */
  readonly debug: boolean;
  readonly signal?: AbortSignal;
}

/** A stateless transformation of a model. */
export interface Pass<TModel = unknown> {
  readonly name: string;
  run(model: TModel, context: PassContext<TModel>): PassResult<TModel> | Promise<PassResult<TModel>>;
}

/**
 * How a pass is made: a name, a description, the JSON Schema of its options (the single source for validation,
 * pipeline files and CLI help) and a factory taking validated options.
 */
export interface PassDefinition<TOptions = Record<string, unknown>, TModel = unknown> {
  /** kebab-case; third parties prefix theirs, as in `acme/fuse-gelu`. */
  readonly name: string;
  readonly description: string;
  /** JSON Schema of an object; property names in camelCase. Omitted: the pass takes no options. */
  readonly options?: JsonSchema;
  create(options: TOptions): Pass<TModel>;
}

/** One step of a pipeline as written by a user. */
export type PipelineStep =
  | string
  | readonly [name: string, options?: Record<string, unknown>]
  | { pass: string; options?: Record<string, unknown> };

/** What a plugin module exports (as its default export or as a named `plugin` export). */
export interface Plugin<TModel = unknown> {
  readonly name: string;
  // biome-ignore lint/suspicious/noExplicitAny: a plugin's passes take options of their own types
  readonly passes: readonly PassDefinition<any, TModel>[];
  /** Named pipelines usable as steps. */
  readonly presets?: Readonly<Record<string, readonly PipelineStep[]>>;
}

export interface PassRunRecord {
  pass: string;
  changed: boolean;
  milliseconds: number;
  statistics: Record<string, number>;
}

export interface PipelineRunResult<TModel = unknown> {
  model: TModel;
  changed: boolean;
  diagnostics: Diagnostic[];
  passes: PassRunRecord[];
  milliseconds: number;
}
