import { readFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { WhittleError } from '@whittle/spec';
import { parseDocument } from 'yaml';
import { PIPELINE_FILE_INVALID, PIPELINE_FILE_NOT_FOUND } from '../codes.js';
import { type PipelineSource, readPipelineDocument } from '../pipeline-document.js';

export interface LoadedPipelineFile extends PipelineSource {
  /** Absolute path of the file; its directory is where the file's `plugins` resolve from. */
  file: string;
}

/**
 * Reads a pipeline document from a `.json`, `.yaml` or `.yml` file and checks its shape. Names are not resolved
 * here: the file's plugins must be loaded first.
 */
export async function loadPipelineFile(path: string): Promise<LoadedPipelineFile> {
  const file = resolve(path);
  const extension = extname(file).toLowerCase();
  if (!['.json', '.yaml', '.yml'].includes(extension)) {
    throw new WhittleError(PIPELINE_FILE_INVALID, `Pipeline file '${path}' is neither .json, .yaml nor .yml.`, {
      location: { file },
    });
  }
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new WhittleError(PIPELINE_FILE_NOT_FOUND, `Pipeline file '${path}' does not exist.`, {
        location: { file },
        cause: error,
      });
    }
    throw new WhittleError(
      PIPELINE_FILE_INVALID,
      `Pipeline file '${path}' could not be read: ${(error as Error).message}`,
      {
        location: { file },
        cause: error,
      },
    );
  }
  // Editors on Windows may save a byte-order mark, which JSON.parse rejects.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const value = extension === '.json' ? parseJson(text, file) : parseYaml(text, file);
  return { ...readPipelineDocument(value, file), file };
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const message = (error as Error).message;
    // V8 tells either an offset ("at position 42") or, in newer versions, "(line 3 column 5)"; sometimes neither.
    const lineColumn = /line (\d+) column (\d+)/.exec(message);
    const offset = /at position (\d+)/.exec(message);
    const position = lineColumn
      ? { line: Number(lineColumn[1]), column: Number(lineColumn[2]) }
      : offset
        ? lineAndColumn(text, Number(offset[1]))
        : undefined;
    throw invalid(file, 'JSON', message, position, error);
  }
}

function parseYaml(text: string, file: string): unknown {
  const document = parseDocument(text, { prettyErrors: false });
  const error = document.errors[0];
  if (error) {
    // Positions are computed here rather than by the parser's "pretty" errors, which put them inside the message.
    const offset = error.pos?.[0];
    throw invalid(file, 'YAML', error.message, offset === undefined ? undefined : lineAndColumn(text, offset), error);
  }
  return document.toJS();
}

function invalid(
  file: string,
  format: string,
  message: string,
  position: { line: number; column: number } | undefined,
  cause: unknown,
): WhittleError {
  const where = position ? ` at line ${position.line}, column ${position.column}` : '';
  return new WhittleError(PIPELINE_FILE_INVALID, `Pipeline file '${file}' is not valid ${format}${where}: ${message}`, {
    location: { file, ...(position ? { path: `${position.line}:${position.column}` } : {}) },
    cause,
  });
}

/** 1-based line and column of a character offset. */
function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}
