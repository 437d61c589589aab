import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { rejected } from '../__fixtures__/errors.js';
import { PIPELINE_FILE_NOT_FOUND, PIPELINE_SYNTAX } from '../codes.js';
import { resolvePipelineArgument } from './resolve-pipeline-argument.js';

const cwd = mkdtempSync(join(tmpdir(), 'whittle-argument-'));
afterAll(() => rmSync(cwd, { recursive: true, force: true }));
mkdirSync(join(cwd, 'configs'));
writeFileSync(join(cwd, 'configs', 'int8.yaml'), 'plugins: [./acme.mjs]\npipeline: [fold-constants]\n');

describe('resolvePipelineArgument', () => {
  it('loads a pipeline file named relative to cwd; its plugins resolve from its folder', async () => {
    expect(await resolvePipelineArgument('configs/int8.yaml', { cwd })).toEqual({
      steps: ['fold-constants'],
      plugins: ['./acme.mjs'],
      file: join(cwd, 'configs', 'int8.yaml'),
      directory: join(cwd, 'configs'),
    });
  });

  it('reads anything else as text', async () => {
    expect(await resolvePipelineArgument('fold-constants,quantize{per-channel=true}', { cwd })).toEqual({
      steps: [
        { pass: 'fold-constants', options: {} },
        { pass: 'quantize', options: { perChannel: true } },
      ],
      plugins: [],
      directory: cwd,
    });
    expect((await resolvePipelineArgument('export{to=model.json}', { cwd })).steps).toHaveLength(1);
  });

  it('reports a missing file rather than an unknown pass', async () => {
    const error = await rejected(resolvePipelineArgument('configs/missing.yml', { cwd }));
    expect(error.code).toBe(PIPELINE_FILE_NOT_FOUND);
    expect(error.location?.file).toBe(join(cwd, 'configs', 'missing.yml'));
  });

  it('reports text syntax errors', async () => {
    expect((await rejected(resolvePipelineArgument('a,,b', { cwd }))).code).toBe(PIPELINE_SYNTAX);
  });
});
