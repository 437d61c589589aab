import type { PipelineStep } from '@whittle/spec';
import { WhittleError } from '@whittle/spec';
import { PIPELINE_INVALID_OPTIONS, PIPELINE_SYNTAX } from './codes.js';
import { optionNameToCamelCase, optionNameToKebabCase } from './option-names.js';
import { isPassName, isPassNameCharacter } from './pass-name.js';
import { isPlainObject, preview, setOwn } from './plain-values.js';
import { stepParts } from './pipeline-step.js';

/**
 * The text form of a pipeline, one line such as
 *
 *     fold-constants,fuse-batchnorm,quantize{mode=static,per-channel=true,skip=["a,b",conv_1],bits=8}
 *
 * Steps are separated by commas; options sit in braces as `name=value`. A value is a number, `true`, `false`,
 * `null`, a bare word (a string), a double-quoted string with JSON escapes, a list `[...]` or a nested `{...}`.
 * Option names may be kebab-case or camelCase and are read as camelCase; a quoted name is taken literally.
 */
export interface ParsedStep {
  pass: string;
  options: Record<string, unknown>;
}

/** Parses the text form. Throws `PIPELINE_SYNTAX` with `location.path` `text:<column>` (1-based). */
export function parsePipelineText(text: string): ParsedStep[] {
  return new TextParser(text).pipeline();
}

/** Prints steps in canonical text form: no spaces, kebab-case option names, strings quoted only when needed. */
export function printPipelineText(steps: readonly PipelineStep[]): string {
  return steps
    .map((step, index) => {
      const parts = stepParts(step, `pipeline[${index}]`);
      const options = parts.options === undefined ? '' : printObject(parts.options, `pipeline[${index}].options`);
      return options === '{}' ? parts.pass : `${parts.pass}${options}`;
    })
    .join(',');
}

/** Prints one option value as it would appear after `name=`. */
export function printOptionValue(value: unknown): string {
  return printValue(value, 'value');
}

const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
const BARE_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/**
 * Characters of unquoted values: letters, digits and a few marks common in names and paths. Anything else (spaces,
 * separators, quotes, `;` or `()` that future syntax may claim) needs quotes.
 */
function isBareCharacter(character: string): boolean {
  return /^[\p{L}\p{N}\p{M}_.+\-/:@#%*~^!?$&]$/u.test(character);
}

/** What a bare word means: a number, a boolean, null, or itself as a string. */
function bareWordValue(word: string): unknown {
  if (word === 'true') return true;
  if (word === 'false') return false;
  if (word === 'null') return null;
  if (NUMBER.test(word)) {
    const number = Number(word);
    // Too large for a double: keep the digits rather than turn them into Infinity.
    if (Number.isFinite(number)) return number;
  }
  return word;
}

function printKey(key: string): string {
  const kebab = optionNameToKebabCase(key);
  if (BARE_KEY.test(kebab) && optionNameToCamelCase(kebab) === key) return kebab;
  return JSON.stringify(key);
}

function printValue(value: unknown, path: string): string {
  if (value === null || typeof value === 'boolean') return String(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return unprintable(value, path);
    return Object.is(value, -0) ? '-0' : String(value);
  }
  if (typeof value === 'string') {
    const bare = value.length > 0 && [...value].every(isBareCharacter) && bareWordValue(value) === value;
    return bare ? value : JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    return `[${value.map((item, index) => (item === undefined ? 'null' : printValue(item, `${path}[${index}]`))).join(',')}]`;
  }
  if (isPlainObject(value)) return printObject(value, path);
  return unprintable(value, path);
}

function printObject(options: Record<string, unknown>, path: string): string {
  const entries = Object.entries(options).filter(([, value]) => value !== undefined);
  return `{${entries.map(([key, value]) => `${printKey(key)}=${printValue(value, `${path}.${key}`)}`).join(',')}}`;
}

function unprintable(value: unknown, path: string): never {
  throw new WhittleError(PIPELINE_INVALID_OPTIONS, `The value at ${path} (${preview(value)}) has no text form.`, {
    location: { path },
    hint: 'Text pipelines hold numbers, booleans, null, strings, lists and objects; build such a pipeline in code.',
  });
}

class TextParser {
  #index = 0;

  constructor(readonly text: string) {}

  pipeline(): ParsedStep[] {
    const steps: ParsedStep[] = [];
    this.#skipSpace();
    if (this.#atEnd()) return steps;
    for (;;) {
      steps.push(this.#step());
      this.#skipSpace();
      if (this.#atEnd()) return steps;
      if (this.#peek() !== ',') this.#fail(`Expected ',' between steps, found ${this.#found()}`);
      this.#index++;
      this.#skipSpace();
    }
  }

  #step(): ParsedStep {
    const start = this.#index;
    while (!this.#atEnd() && isPassNameCharacter(this.#peek())) this.#index++;
    const pass = this.text.slice(start, this.#index);
    if (pass.length === 0) this.#fail(`Expected a pass name, found ${this.#found()}`);
    if (!isPassName(pass)) this.#fail(`'${pass}' is not a valid pass name`, start);
    this.#skipSpace();
    const options = this.#peek() === '{' ? this.#object() : {};
    return { pass, options };
  }

  #object(): Record<string, unknown> {
    const open = this.#index;
    this.#index++;
    const result: Record<string, unknown> = {};
    this.#skipSpace();
    if (this.#peek() === '}') {
      this.#index++;
      return result;
    }
    for (;;) {
      this.#skipSpace();
      const keyStart = this.#index;
      const key = this.#key();
      if (Object.hasOwn(result, key)) this.#fail(`Option '${key}' is given twice`, keyStart);
      this.#skipSpace();
      if (this.#peek() !== '=') this.#fail(`Expected '=' after option '${key}', found ${this.#found()}`);
      this.#index++;
      this.#skipSpace();
      setOwn(result, key, this.#value());
      this.#skipSpace();
      const next = this.#peek();
      this.#index++;
      if (next === '}') return result;
      if (next !== ',') {
        this.#index--;
        this.#fail(
          this.#atEnd() ? `Unclosed '{' opened at column ${open + 1}` : `Expected ',' or '}', found ${this.#found()}`,
        );
      }
    }
  }

  #key(): string {
    if (this.#peek() === '"') return this.#string();
    const start = this.#index;
    while (!this.#atEnd() && /[A-Za-z0-9_-]/.test(this.#peek())) this.#index++;
    const key = this.text.slice(start, this.#index);
    if (!BARE_KEY.test(key)) this.#fail(`Expected an option name, found ${this.#found(start)}`, start);
    return optionNameToCamelCase(key);
  }

  #value(): unknown {
    const character = this.#peek();
    if (character === '"') return this.#string();
    if (character === '[') return this.#list();
    if (character === '{') return this.#object();
    if (character === "'") this.#fail('Strings are quoted with double quotes (")');
    const start = this.#index;
    while (!this.#atEnd() && isBareCharacter(this.#peek())) this.#index++;
    if (this.#index === start) this.#fail(`Expected a value, found ${this.#found()}`);
    return bareWordValue(this.text.slice(start, this.#index));
  }

  #list(): unknown[] {
    const open = this.#index;
    this.#index++;
    const items: unknown[] = [];
    this.#skipSpace();
    if (this.#peek() === ']') {
      this.#index++;
      return items;
    }
    for (;;) {
      this.#skipSpace();
      items.push(this.#value());
      this.#skipSpace();
      const next = this.#peek();
      this.#index++;
      if (next === ']') return items;
      if (next !== ',') {
        this.#index--;
        this.#fail(
          this.#atEnd() ? `Unclosed '[' opened at column ${open + 1}` : `Expected ',' or ']', found ${this.#found()}`,
        );
      }
    }
  }

  #string(): string {
    const open = this.#index;
    this.#index++;
    let result = '';
    for (;;) {
      if (this.#atEnd()) this.#fail('Unterminated string', open);
      const character = this.#peek();
      this.#index++;
      if (character === '"') return result;
      if (character !== '\\') {
        result += character;
        continue;
      }
      if (this.#atEnd()) this.#fail('Unterminated string', open);
      const escaped = this.#peek();
      this.#index++;
      const simple: Record<string, string> = {
        '"': '"',
        '\\': '\\',
        '/': '/',
        b: '\b',
        f: '\f',
        n: '\n',
        r: '\r',
        t: '\t',
      };
      if (Object.hasOwn(simple, escaped)) {
        result += simple[escaped];
      } else if (escaped === 'u' && /^[0-9a-fA-F]{4}$/.test(this.text.slice(this.#index, this.#index + 4))) {
        result += String.fromCharCode(Number.parseInt(this.text.slice(this.#index, this.#index + 4), 16));
        this.#index += 4;
      } else {
        this.#fail(`Unknown escape '\\${escaped}' in string`, this.#index - 2);
      }
    }
  }

  #skipSpace(): void {
    while (!this.#atEnd() && /\s/.test(this.#peek())) this.#index++;
  }

  #peek(): string {
    return this.text[this.#index] ?? '';
  }

  #atEnd(): boolean {
    return this.#index >= this.text.length;
  }

  #found(at = this.#index): string {
    const character = this.text[at];
    return character === undefined ? 'the end of the text' : `'${character}'`;
  }

  #fail(problem: string, at = this.#index): never {
    throw new WhittleError(PIPELINE_SYNTAX, `${problem} at column ${at + 1}:\n${caret(this.text, at)}`, {
      location: { path: `text:${at + 1}` },
      hint: 'The text form is name,name{option=value,...}; quote values that hold , { } [ ] = or spaces.',
    });
  }
}

/** The line holding `at`, trimmed to a window around it, with a caret under the offending character. */
function caret(text: string, at: number): string {
  const lineStart = text.lastIndexOf('\n', at - 1) + 1;
  const newline = text.indexOf('\n', at);
  const line = text.slice(lineStart, newline === -1 ? text.length : newline);
  let column = at - lineStart;
  let shown = line;
  const width = 80;
  if (line.length > width) {
    const from = Math.max(0, Math.min(column - width / 2, line.length - width));
    shown = `${from > 0 ? '...' : ''}${line.slice(from, from + width)}${from + width < line.length ? '...' : ''}`;
    column = column - from + (from > 0 ? 3 : 0);
  }
  return `  ${shown}\n  ${' '.repeat(column)}^`;
}
