/**
 * Bad inputs through the command line: each gives exit code 1 and one coded error line (no stack trace), leaves
 * no file behind (not even a temporary one) and never touches the input. Usage errors exit 2, --help exits 0.
 */
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './cli.js';

/** The corpus lives in @whittle/onnx's sources (test-only, not exported): loaded by path, outside this rootDir. */
interface BadInputCase {
  name: string;
  file: string;
  codes: readonly string[];
  description: string;
}
interface CorpusModule {
  writeBadInputCorpus(folder: string): BadInputCase[];
  validModel(): Uint8Array;
}
const corpusPath = resolve(fileURLToPath(import.meta.url), '../../../../packages/onnx/src/bad-input-corpus.ts');
const corpusModule = (await import(pathToFileURL(corpusPath).href)) as CorpusModule;

const root = mkdtempSync(join(tmpdir(), 'whittle-cli-bad-input-'));
const corpusFolder = join(root, 'corpus');
const cases = corpusModule.writeBadInputCorpus(corpusFolder);
const goodModel = join(root, 'good.onnx');
writeFileSync(goodModel, corpusModule.validModel());

afterAll(() => {
  // Read-only folders made by the tests must be writable again to be removed.
  for (const entry of readdirSync(root)) chmodSync(join(root, entry), 0o755);
  rmSync(root, { recursive: true, force: true });
});

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

async function whittle(argv: string[], cwd = root): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    cwd,
  });
  return { code, stdout, stderr };
}

/** Every file under `folder` (relative paths, links not followed), sorted: a snapshot to compare. */
function listing(folder: string): string[] {
  if (!existsSync(folder)) return [];
  return readdirSync(folder, { recursive: true, encoding: 'utf8' })
    .map((entry) => relative(folder, join(folder, entry)))
    .sort();
}

let folderCount = 0;
function freshFolder(): string {
  const folder = join(root, `out-${folderCount++}`);
  mkdirSync(folder);
  return folder;
}

/** stderr holds exactly one `whittle: error [CODE] ...` line (plus at most one hint line); returns the code. */
function errorCodeOf(stderr: string): string {
  const lines = stderr.split('\n');
  expect(lines.pop(), 'stderr ends with a newline').toBe('');
  expect(
    lines.filter((line) => /^\s+at /.test(line)),
    'no stack trace',
  ).toEqual([]);
  expect(lines.length === 1 || (lines.length === 2 && lines[1]!.startsWith('  hint: ')), stderr).toBe(true);
  const match = /^whittle: error \[([A-Z][A-Z0-9_]*)\] \S/.exec(lines[0]!);
  expect(match, lines[0]).not.toBeNull();
  return match![1]!;
}

describe('bad models through the CLI', () => {
  it('has the whole corpus', () => {
    expect(cases.length).toBeGreaterThanOrEqual(20);
  });

  it.each(cases.map((entry) => [entry.name, entry] as const))(
    '%s: run exits 1 with its code and leaves nothing behind',
    async (_name, entry) => {
      const input = join(corpusFolder, entry.file);
      const before = readFileSync(input);
      const corpusBefore = listing(corpusFolder);
      const outFolder = freshFolder();
      const out = join(outFolder, 'out.onnx');
      const result = await whittle(['run', input, '-o', out]);
      expect(result.code, result.stderr).toBe(1);
      expect(entry.codes).toContain(errorCodeOf(result.stderr));
      expect(result.stdout).toBe('');
      expect(existsSync(out)).toBe(false);
      expect(listing(outFolder)).toEqual([]);
      expect(readFileSync(input).equals(before)).toBe(true);
      expect(listing(corpusFolder)).toEqual(corpusBefore);
    },
  );

  it.each(cases.map((entry) => [entry.name, entry] as const))(
    '%s: inspect exits 1 with its code',
    async (_name, entry) => {
      const result = await whittle(['inspect', join(corpusFolder, entry.file)]);
      expect(result.code, result.stderr).toBe(1);
      expect(entry.codes).toContain(errorCodeOf(result.stderr));
      expect(result.stdout).toBe('');
    },
  );

  it('run with the output beside the input, relative paths: nothing new in the folder', async () => {
    const corpusBefore = listing(corpusFolder);
    for (const entry of cases) {
      const result = await whittle(['run', entry.file, '-o', `${entry.file}.out.onnx`], corpusFolder);
      expect([entry.name, result.code]).toEqual([entry.name, 1]);
      expect(entry.codes).toContain(errorCodeOf(result.stderr));
    }
    expect(listing(corpusFolder)).toEqual(corpusBefore);
  });

  it('a model file that does not exist: MODEL_FILE_NOT_FOUND, exit 1', async () => {
    const outFolder = freshFolder();
    const result = await whittle(['run', join(root, 'no-such.onnx'), '-o', join(outFolder, 'out.onnx')]);
    expect(result.code).toBe(1);
    expect(errorCodeOf(result.stderr)).toBe('MODEL_FILE_NOT_FOUND');
    expect(listing(outFolder)).toEqual([]);
    const inspected = await whittle(['inspect', join(root, 'no-such.onnx')]);
    expect(inspected.code).toBe(1);
    expect(errorCodeOf(inspected.stderr)).toBe('MODEL_FILE_NOT_FOUND');
  });
});

describe('usage errors and help', () => {
  const usage = async (argv: string[]) => {
    const result = await whittle(argv);
    expect(result.code, `${argv.join(' ')}: ${result.stderr}`).toBe(2);
    expect(result.stderr.split('\n').filter((line) => /^\s+at /.test(line))).toEqual([]);
    return result;
  };

  it('no arguments: exit 2', async () => {
    await usage([]);
  });

  it('an unknown option: exit 2 with a USAGE error', async () => {
    for (const argv of [
      ['run', goodModel, '-o', join(root, 'never.onnx'), '--no-such-option'],
      ['inspect', goodModel, '--no-such-option'],
      ['--no-such-option'],
    ]) {
      const result = await usage(argv);
      expect(result.stderr).toMatch(/^whittle: error \[USAGE\] /);
    }
    expect(existsSync(join(root, 'never.onnx'))).toBe(false);
  });

  it('run without -o, and commands without their model: exit 2', async () => {
    expect((await usage(['run', goodModel])).stderr).toMatch(/^whittle: error \[USAGE\] .*--output/);
    await usage(['run']);
    await usage(['inspect']);
  });

  it('an unknown command: exit 2', async () => {
    await usage(['frobnicate', goodModel]);
  });

  it('an output that would overwrite the input: exit 2, input untouched', async () => {
    const before = readFileSync(goodModel);
    await usage(['run', goodModel, '-o', goodModel]);
    expect(readFileSync(goodModel).equals(before)).toBe(true);
  });

  it('--help exits 0 for the program and every command', async () => {
    for (const argv of [
      ['--help'],
      ['-h'],
      ['help'],
      ['run', '--help'],
      ['inspect', '--help'],
      ['help', 'run'],
      ['help', 'inspect'],
    ]) {
      const result = await whittle(argv);
      expect([argv.join(' '), result.code]).toEqual([argv.join(' '), 0]);
      expect(result.stdout, argv.join(' ')).toMatch(/Usage: whittle/);
    }
  });

  it('--version exits 0', async () => {
    const result = await whittle(['--version']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^\d+\.\d+\.\d+/);
  });
});

describe('write failures', () => {
  it('the good model runs (the control for the cases below)', async () => {
    const outFolder = freshFolder();
    const result = await whittle(['run', goodModel, '-o', join(outFolder, 'out.onnx')]);
    expect(result.code, result.stderr).toBe(0);
    expect(listing(outFolder)).toEqual(['out.onnx']);
  });

  it('an output folder that does not exist: a coded error, nothing created', async () => {
    const outFolder = freshFolder();
    const before = readFileSync(goodModel);
    const result = await whittle(['run', goodModel, '-o', join(outFolder, 'missing/deeper/out.onnx')]);
    expect(result.code).toBe(1);
    expect(['MODEL_OUTPUT_FOLDER_MISSING', 'MODEL_WRITE_FAILED']).toContain(errorCodeOf(result.stderr));
    expect(listing(outFolder)).toEqual([]);
    expect(readFileSync(goodModel).equals(before)).toBe(true);
  });

  it('an output path below a file: MODEL_WRITE_FAILED, nothing created', async () => {
    const outFolder = freshFolder();
    writeFileSync(join(outFolder, 'a-file'), 'x');
    const result = await whittle(['run', goodModel, '-o', join(outFolder, 'a-file/out.onnx')]);
    expect(result.code).toBe(1);
    expect(errorCodeOf(result.stderr)).toBe('MODEL_WRITE_FAILED');
    expect(listing(outFolder)).toEqual(['a-file']);
    expect(readFileSync(join(outFolder, 'a-file'), 'utf8')).toBe('x');
  });

  it.each(['auto', 'external'])(
    'an output path that is a folder (--external-data %s): MODEL_WRITE_FAILED, no temporary or data file left',
    async (mode) => {
      const outFolder = freshFolder();
      mkdirSync(join(outFolder, 'out.onnx'));
      const result = await whittle(['run', goodModel, '-o', join(outFolder, 'out.onnx'), '--external-data', mode]);
      expect(result.code).toBe(1);
      expect(errorCodeOf(result.stderr)).toBe('MODEL_WRITE_FAILED');
      expect(listing(outFolder)).toEqual(['out.onnx']);
    },
  );

  it('a read-only output folder: MODEL_WRITE_FAILED, nothing created', () => {
    // Root ignores folder permissions, so the CLI runs as the unprivileged user `nobody` when the tests run as root.
    const asRoot = process.getuid?.() === 0;
    const shared = mkdtempSync(join(tmpdir(), 'whittle-read-only-'));
    chmodSync(shared, 0o755);
    const model = join(shared, 'model.onnx');
    copyFileSync(goodModel, model);
    chmodSync(model, 0o644);
    const outFolder = join(shared, 'out');
    mkdirSync(outFolder, { mode: 0o555 });
    chmodSync(outFolder, 0o555);
    const main = resolve(fileURLToPath(import.meta.url), '../../dist/main.js');
    try {
      for (const mode of ['auto', 'external']) {
        const result = spawnSync(
          process.execPath,
          [main, 'run', model, '-o', join(outFolder, 'out.onnx'), '--external-data', mode],
          { encoding: 'utf8', ...(asRoot ? { uid: 65534, gid: 65534 } : {}) },
        );
        expect(result.status).toBe(1);
        expect(errorCodeOf(result.stderr)).toBe('MODEL_WRITE_FAILED');
        expect(listing(outFolder)).toEqual([]);
      }
    } finally {
      rmSync(shared, { recursive: true, force: true });
    }
  });
});
