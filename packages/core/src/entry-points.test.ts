import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as main from './index.js';
import * as node from './node.js';

/** Every module `file` imports, transitively, within this package; and the outside specifiers it imports. */
function importGraph(entry: URL): { files: string[]; external: string[] } {
  const files = new Set<string>();
  const external = new Set<string>();
  const visit = (url: URL) => {
    if (files.has(url.pathname)) return;
    files.add(url.pathname);
    const source = readFileSync(url, 'utf8');
    for (const match of source.matchAll(/^(?:import|export)\s[^;]*?from\s+'([^']+)'/gms)) {
      const specifier = match[1]!;
      if (specifier.startsWith('.')) visit(new URL(specifier.replace(/\.js$/, '.ts'), url));
      else external.add(specifier);
    }
  };
  visit(entry);
  return { files: [...files], external: [...external] };
}

describe('entry points', () => {
  it('keep Node APIs out of the main entry, so it runs in a browser', () => {
    const { files, external } = importGraph(new URL('./index.ts', import.meta.url));
    expect(files.length).toBeGreaterThan(10);
    expect(external.sort()).toEqual(['@whittle/spec', 'ajv', 'ajv/dist/2020.js']);
    for (const file of files) expect(readFileSync(file, 'utf8')).not.toMatch(/\bprocess\.|\bBuffer\b|require\(/);
  });

  it('export the public API, and the node entry adds the file and plugin helpers', () => {
    for (const name of ['PassManager', 'PassRegistry', 'Pipeline', 'parsePipelineText', 'pipelineJsonSchema']) {
      expect(main).toHaveProperty(name);
    }
    expect(main).not.toHaveProperty('loadPlugin');
    for (const name of ['loadPipelineFile', 'loadPlugin', 'resolvePipelineArgument', 'PassManager']) {
      expect(node).toHaveProperty(name);
    }
  });
});
