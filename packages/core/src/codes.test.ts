import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as codes from './codes.js';

describe('codes', () => {
  const entries = Object.entries(codes);

  it('are constants whose value is their name', () => {
    for (const [name, value] of entries) expect(value).toBe(name);
  });

  it('are sorted in the source', () => {
    const source = readFileSync(new URL('./codes.ts', import.meta.url), 'utf8');
    const declared = [...source.matchAll(/export const (\w+)/g)].map((match) => match[1]!);
    expect(declared).toEqual([...declared].sort());
    expect(declared.length).toBe(entries.length);
  });

  it('cover every code the package raises', () => {
    const directory = new URL('.', import.meta.url).pathname;
    const files = readdirSync(directory, { recursive: true, encoding: 'utf8' }).filter(
      (file) => file.endsWith('.ts') && !file.endsWith('.test.ts') && !file.includes('__fixtures__'),
    );
    const used = new Set<string>();
    for (const file of files) {
      const source = readFileSync(join(directory, file), 'utf8');
      for (const match of source.matchAll(/new WhittleError\(\s*([A-Z_]+)/g)) used.add(match[1]!);
      expect(source, `${file} passes a string literal code`).not.toMatch(/new WhittleError\(\s*['"`]/);
    }
    for (const code of used) expect(codes).toHaveProperty(code);
    for (const [name] of entries) expect(used, `${name} is never raised`).toContain(name);
  });
});
