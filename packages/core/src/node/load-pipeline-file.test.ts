import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { rejected } from '../__fixtures__/errors.js';
import {
  PIPELINE_FILE_INVALID,
  PIPELINE_FILE_NOT_FOUND,
  PIPELINE_INVALID_DOCUMENT,
  PIPELINE_INVALID_STEP,
} from '../codes.js';
import { loadPipelineFile } from './load-pipeline-file.js';

const directory = mkdtempSync(join(tmpdir(), 'whittle-pipeline-file-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const path = join(directory, name);
  writeFileSync(path, text);
  return path;
}

const steps = [
  'fold-constants',
  ['quantize', { perChannel: true }],
  { pass: 'acme/fuse-gelu', options: { approximate: true } },
];

describe('loadPipelineFile', () => {
  it('reads a JSON document', async () => {
    const path = write(
      'pipeline.json',
      JSON.stringify({ $schema: './schema.json', plugins: ['./acme.mjs'], pipeline: steps }),
    );
    expect(await loadPipelineFile(path)).toEqual({ steps, plugins: ['./acme.mjs'], file: path });
  });

  it('reads YAML documents, .yaml and .yml', async () => {
    const yaml = [
      '# comments are welcome',
      'plugins: [acme-whittle]',
      'pipeline:',
      '  - fold-constants',
      '  - [quantize, { perChannel: true }]',
      '  - pass: acme/fuse-gelu',
      '    options:',
      '      approximate: true',
      '',
    ].join('\n');
    for (const name of ['pipeline.yaml', 'pipeline.YML']) {
      const path = write(name, yaml);
      expect(await loadPipelineFile(path)).toEqual({ steps, plugins: ['acme-whittle'], file: path });
    }
  });

  it('accepts a byte-order mark', async () => {
    const path = write('bom.json', `\ufeff${JSON.stringify({ pipeline: [] })}`);
    expect((await loadPipelineFile(path)).steps).toEqual([]);
  });

  it('reports a missing file', async () => {
    const path = join(directory, 'missing.yaml');
    const error = await rejected(loadPipelineFile(path));
    expect(error.code).toBe(PIPELINE_FILE_NOT_FOUND);
    expect(error.location).toEqual({ file: path });
  });

  it('reports JSON syntax errors with line and column', async () => {
    const path = write('broken.json', '{\n  "pipeline": [\n    "a" "b"\n  ]\n}\n');
    const error = await rejected(loadPipelineFile(path));
    expect(error.code).toBe(PIPELINE_FILE_INVALID);
    expect(error.location).toEqual({ file: path, path: '3:9' });
    expect(error.message).toMatch(/is not valid JSON at line 3, column 9: /);
  });

  it('reports JSON syntax errors without a position when the parser gives none', async () => {
    const path = write('token.json', '{"pipeline": ,}');
    const error = await rejected(loadPipelineFile(path));
    expect(error.code).toBe(PIPELINE_FILE_INVALID);
    expect(error.location?.file).toBe(path);
  });

  it('reports YAML syntax errors with line and column', async () => {
    const path = write('broken.yaml', 'pipeline:\n  - a\n  -b: [1\nplugins: x\n');
    const error = await rejected(loadPipelineFile(path));
    expect(error.code).toBe(PIPELINE_FILE_INVALID);
    expect(error.location).toEqual({ file: path, path: '3:1' });
    expect(error.message).toMatch(/is not valid YAML at line 3, column 1: All mapping items/);

    const duplicate = await rejected(loadPipelineFile(write('duplicate.yml', 'pipeline: []\npipeline: [a]\n')));
    expect(duplicate.location?.path).toBe('2:1');
  });

  it('checks the shape of the document', async () => {
    const wrongKey = await rejected(loadPipelineFile(write('shape.yaml', 'steps: [a]\n')));
    expect(wrongKey.code).toBe(PIPELINE_INVALID_DOCUMENT);
    expect(wrongKey.location).toEqual({ file: join(directory, 'shape.yaml'), path: 'steps' });

    const empty = await rejected(loadPipelineFile(write('empty.yaml', '')));
    expect(empty.code).toBe(PIPELINE_INVALID_DOCUMENT);

    const badStep = await rejected(loadPipelineFile(write('step.json', '{"pipeline": ["a", {"pass": 3}]}')));
    expect(badStep.code).toBe(PIPELINE_INVALID_STEP);
    expect(badStep.location).toEqual({ file: join(directory, 'step.json'), path: 'pipeline[1].pass' });
  });

  it('accepts only .json, .yaml and .yml', async () => {
    const error = await rejected(loadPipelineFile(write('pipeline.toml', 'x')));
    expect(error.code).toBe(PIPELINE_FILE_INVALID);
  });
});
