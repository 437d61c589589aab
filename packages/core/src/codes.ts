/**
 * Every diagnostic and error code that @whittle/core raises, sorted. Codes are part of the public contract: tools
 * match on them, so a code is never renamed, only added.
 */

/** An analysis asked, directly or not, for its own result while computing it. */
export const ANALYSIS_CYCLE = 'ANALYSIS_CYCLE';
/** In debug mode, the verifier found an error in the model a pass returned. */
export const PASS_BROKE_MODEL = 'PASS_BROKE_MODEL';
/** A pass (or its factory) threw an error that was not a WhittleError. */
export const PASS_FAILED = 'PASS_FAILED';
/** A pass returned something other than `{ model, changed: boolean, ... }`. */
export const PASS_INVALID_RESULT = 'PASS_INVALID_RESULT';
/** The run was aborted through its AbortSignal. */
export const PIPELINE_ABORTED = 'PIPELINE_ABORTED';
/** A pipeline file could not be read as JSON or YAML. */
export const PIPELINE_FILE_INVALID = 'PIPELINE_FILE_INVALID';
/** A pipeline file does not exist. */
export const PIPELINE_FILE_NOT_FOUND = 'PIPELINE_FILE_NOT_FOUND';
/** In debug mode, the verifier found an error in the model before any pass ran. */
export const PIPELINE_INPUT_INVALID = 'PIPELINE_INPUT_INVALID';
/** A pipeline document is not `{ $schema?, plugins?, pipeline }`. */
export const PIPELINE_INVALID_DOCUMENT = 'PIPELINE_INVALID_DOCUMENT';
/** Options given to a pass do not match its schema. */
export const PIPELINE_INVALID_OPTIONS = 'PIPELINE_INVALID_OPTIONS';
/** A pipeline step is neither a name, a `[name, options]` tuple nor a `{ pass, options }` object. */
export const PIPELINE_INVALID_STEP = 'PIPELINE_INVALID_STEP';
/** A preset names itself, directly or through other presets. */
export const PIPELINE_PRESET_CYCLE = 'PIPELINE_PRESET_CYCLE';
/** The text form of a pipeline does not parse. */
export const PIPELINE_SYNTAX = 'PIPELINE_SYNTAX';
/** A step names no registered pass or preset. */
export const PIPELINE_UNKNOWN_PASS = 'PIPELINE_UNKNOWN_PASS';
/** Two passes or presets share a name. */
export const PLUGIN_DUPLICATE_PASS = 'PLUGIN_DUPLICATE_PASS';
/** A plugin module does not export a valid plugin, or a pass definition is malformed. */
export const PLUGIN_INVALID = 'PLUGIN_INVALID';
/** A plugin module was found but threw while loading. */
export const PLUGIN_LOAD_FAILED = 'PLUGIN_LOAD_FAILED';
/** A plugin module or package could not be resolved. */
export const PLUGIN_NOT_FOUND = 'PLUGIN_NOT_FOUND';
