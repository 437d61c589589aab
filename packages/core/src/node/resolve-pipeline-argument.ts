import { dirname, resolve } from 'node:path';
import { WhittleError } from '@whittle/spec';
import { PIPELINE_FILE_NOT_FOUND } from '../codes.js';
import type { PipelineSource } from '../pipeline-document.js';
import { parsePipelineText } from '../pipeline-text.js';
import { loadPipelineFile } from './load-pipeline-file.js';
import { isFile } from './resolve-package.js';

export interface ResolvePipelineArgumentSettings {
  /** Directory relative file names resolve from; default `process.cwd()`. */
  cwd?: string;
}

export interface ResolvedPipelineArgument extends PipelineSource {
  /** The pipeline file, when the argument named one. */
  file?: string;
  /** Where the plugins resolve from: the file's folder, or `cwd` for text. */
  directory: string;
}

const FILE_EXTENSION = /\.(json|ya?ml)$/i;

/**
 * Reads a command-line pipeline argument: the name of a `.json`, `.yaml` or `.yml` file, or else the text form.
 */
export async function resolvePipelineArgument(
  text: string,
  settings: ResolvePipelineArgumentSettings = {},
): Promise<ResolvedPipelineArgument> {
  const cwd = settings.cwd ?? process.cwd();
  const argument = text.trim();
  if (FILE_EXTENSION.test(argument)) {
    const path = resolve(cwd, argument);
    if (isFile(path)) {
      const loaded = await loadPipelineFile(path);
      return { ...loaded, directory: dirname(loaded.file) };
    }
    // `pipeline.yaml` would also parse as one pass name; a missing file is the likelier meaning.
    if (!/[{,]/.test(argument)) {
      throw new WhittleError(PIPELINE_FILE_NOT_FOUND, `Pipeline file '${argument}' does not exist.`, {
        location: { file: path },
        hint: 'Give an existing .json/.yaml file, or a pipeline as text such as fold-constants,quantize{mode=static}.',
      });
    }
  }
  return { steps: parsePipelineText(text), plugins: [], directory: cwd };
}
